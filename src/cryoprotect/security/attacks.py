"""Attacks on identity and on the access rules, tried on a live PostgreSQL database.

Each attack is a :class:`~cryoprotect.security.probes.Probe` made inside the verifier's
transaction (rolled back at the end) on the made-up probe rows; "owner" is the victim,
"other" the attacker, who owns public rows the owner's private rows depend on.

- **Logins.** Throwaway roles stand for a person's login (linked to "other" through
  ``users.db_role``), a login linked to nobody, and the service's dedicated login (a member
  of ``cryoprotect_delegate``); the verifier becomes each with ``SET LOCAL SESSION
  AUTHORIZATION``, which needs a superuser. The person's login forges the owner's id in
  ``app.current_user_id`` with ``set_config`` and with ``SET``, before and after ``SET ROLE
  cryoprotect_app``, and then runs the whole access matrix: it must get exactly the other
  user's rights. It also tries to switch to or grant itself a trusted role and to relink the
  owner's user to itself. The service's login must get the owner's rights when acting for
  them.
- **Rules**, as the attacker acting through the application's path: reading someone's lab
  verification of a public experiment; inserting rows that point at someone's private row
  and at a missing one (both must be refused alike, or the refusal tells that the private
  row exists); renaming one's account onto another username or claiming a login; deleting,
  hiding or rewriting one's public rows that others' rows depend on; reading a new table
  and a new view granted to the application without policies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Connection, text

from cryoprotect.db.access import (
    APP_ROLE,
    DELEGATE_ROLE,
    REVIEWER_ROLE,
    SERVICE_ROLE,
    USER_SETTING,
    act_as,
    forget_login,
)
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.security.probes import Fixture, Probe, attempt, role_of, run_matrix

FORGERIES = {
    "set_config": "SELECT set_config('{setting}', '{victim}', false)",
    "SET": "SET {setting} = '{victim}'",
    "SET ROLE then set_config": "SET ROLE {app}; SELECT set_config('{setting}', '{victim}', false)",
    "SET ROLE then SET": "SET ROLE {app}; SET {setting} = '{victim}'",
}
"""Ways a person's login may try to claim another user's id."""

OWNER_VERIFICATION = "SELECT count(*) FROM lab_verifications WHERE id = :owner_verification"
ORACLES = (
    (
        "lab_verifications",
        "verify against a prediction",
        "INSERT INTO lab_verifications (experiment_id, prediction_id, verifier_id) "
        "VALUES (:public_experiment, :target, :other)",
        "owner_prediction",
    ),
    (
        "lab_verifications",
        "verify an experiment",
        "INSERT INTO lab_verifications (experiment_id, verifier_id) VALUES (:target, :other)",
        "owner_experiment",
    ),
    (
        "experiments",
        "measure a molecule",
        "INSERT INTO experiments (property, value, unit, molecule_id, citation, owner_id) "
        "VALUES ('tg', 200, 'K', :target, 'made-up probe row', :other)",
        "owner_molecule",
    ),
    (
        "predictions",
        "predict for a molecule",
        "INSERT INTO predictions (model_version_id, molecule_id, value, owner_id) "
        "VALUES (:model_version, :target, 200, :other)",
        "owner_molecule",
    ),
    (
        "shares",
        "share a molecule",
        "INSERT INTO shares (owner_id, grantee_id, molecule_id) VALUES (:other, :grantee, :target)",
        "owner_molecule",
    ),
)
"""Inserts pointing at a row: the owner's private one, or a missing one, must fail alike."""

RULES = (
    ("users", "rename onto a new username", "UPDATE users SET username = 'rls-verify-carol'"),
    ("users", "rename onto another's username", "UPDATE users SET username = 'rls-verify-owner'"),
    ("users", "claim a database login", "UPDATE users SET db_role = current_user"),
    ("users", "become a system account", "UPDATE users SET kind = 'system'"),
    ("users", "change the display name", "UPDATE users SET display_name = 'made up'", True),
    ("users", "change the e-mail", "UPDATE users SET email = 'made-up@example.org'", True),
    ("molecules", "delete a public molecule others use", "DELETE FROM molecules"),
    ("molecules", "make a public molecule private", "UPDATE molecules SET visibility = 'private'"),
    (
        "molecules",
        "rewrite a public molecule's SMILES",
        "UPDATE molecules SET canonical_smiles = 'CCCl'",
    ),
    (
        "molecules",
        "rewrite a public molecule's InChIKey",
        "UPDATE molecules SET inchikey = 'RLSVERIFYREWRI-UHFFFAOYSA-N'",
    ),
    ("molecules", "give a public molecule away", "UPDATE molecules SET owner_id = :owner"),
    ("molecules", "rename a public molecule", "UPDATE molecules SET name = 'made up'", True),
    ("experiments", "delete a public experiment others verify", "DELETE FROM experiments"),
    (
        "experiments",
        "make a public experiment private",
        "UPDATE experiments SET visibility = 'private'",
    ),
    ("experiments", "rewrite a public experiment's value", "UPDATE experiments SET value = 250"),
    (
        "experiments",
        "annotate a public experiment",
        "UPDATE experiments SET notes = 'made up'",
        True,
    ),
    ("mixtures", "delete a public mixture", "DELETE FROM mixtures"),
    ("mixtures", "make a public mixture private", "UPDATE mixtures SET visibility = 'private'"),
    ("mixtures", "rewrite a public mixture's key", "UPDATE mixtures SET composition_key = 'x'"),
    ("mixtures", "rename a public mixture", "UPDATE mixtures SET name = 'made up'", True),
    (
        "mixture_components",
        "change a public mixture's amount",
        "UPDATE mixture_components SET amount = 2",
    ),
    ("mixture_components", "remove a public mixture's component", "DELETE FROM mixture_components"),
)
"""Changes the attacker ("other") tries on their own rows; True: the rules allow it."""

TARGETS = {
    "users": ":other",
    "molecules": ":public_molecule",
    "experiments": ":public_experiment",
    "mixtures": ":public_mixture",
    "mixture_components": ":public_component",
}


def _values(fixture: Fixture) -> dict[str, int]:
    users, rows, public = fixture.users, fixture.rows, fixture.public
    return {
        **users,
        "owner_prediction": rows["predictions"],
        "owner_experiment": rows["experiments"],
        "owner_molecule": rows["molecules"],
        "model_version": rows["model_versions"],
        "owner_verification": public["owner_verification"],
        "public_molecule": public["molecule"],
        "public_experiment": public["experiment"],
        "public_mixture": public["mixture"],
        "public_component": public["component"],
    }


def _count(connection: Connection, sql: str, values: dict) -> int:
    result = connection.execute(text(sql), values)
    return result.scalar_one() if sql.lstrip().upper().startswith("SELECT") else result.rowcount


class _Attacker:
    """Runs attempts acting as a probe user (through :func:`act_as`) and records the probes."""

    def __init__(self, connection: Connection, fixture: Fixture) -> None:
        self.connection, self.fixture = connection, fixture
        self.values = _values(fixture)
        self.probes: list[Probe] = []

    def act(self, actor: str) -> None:
        role = role_of(actor)
        act_as(self.connection, self.fixture.users.get(actor), role)

    def attempt(
        self, table: str, what: str, actor: str, action: Callable[[], int], allowed: bool = False
    ) -> Probe:
        denied: list[str] = []

        def guarded() -> int:
            try:
                return action()
            except AccessDenied as error:
                denied.append(str(error))
                return 0

        done, detail = attempt(self.connection, guarded)
        detail = denied[0] if denied else detail
        probe = Probe(table, what, actor, done, allowed, detail)
        self.probes.append(probe)
        return probe

    def sql(self, table: str, what: str, actor: str, sql: str, allowed: bool = False, **extra):
        def action() -> int:
            self.act(actor)
            return _count(self.connection, sql, self.values | extra)

        return self.attempt(table, what, actor, action, allowed)


def rule_attacks(connection: Connection, fixture: Fixture) -> list[Probe]:
    """Try the attacks on the rules as the other user (and readers), through :func:`act_as`."""
    attacker = _Attacker(connection, fixture)
    for actor in ("other", "anonymous", "grantee", "reviewer", "owner"):
        attacker.sql(
            "lab_verifications",
            "read a verification of a public experiment",
            actor,
            OWNER_VERIFICATION,
            allowed=actor == "owner",
        )
    for table, what, sql, private in ORACLES:
        target = attacker.values[private]
        mine = attacker.sql(table, f"{what}: another's private one", "other", sql, target=target)
        missing = attacker.sql(table, f"{what}: a missing one", "other", sql, target=-1)
        attacker.probes.append(
            Probe(
                table,
                f"{what}: tell another's private one from a missing one",
                "other",
                (mine.allowed, mine.detail) != (missing.allowed, missing.detail),
                False,
                f"private: {mine.detail!r}; missing: {missing.detail!r}",
            )
        )
    for table, what, sql, *allowed in RULES:
        attacker.sql(table, what, "other", f"{sql} WHERE id = {TARGETS[table]}", *allowed)
    attacker.sql(
        "mixture_components",
        "add a component to a public mixture",
        "other",
        "INSERT INTO mixture_components (mixture_id, molecule_id, amount, unit) "
        "VALUES (:public_mixture, :public_molecule, 1, 'level')",
    )
    return attacker.probes


def relation_attacks(connection: Connection, fixture: Fixture) -> list[Probe]:
    """Create a table and a view granted to the application (no policy); try to read them."""
    suffix = uuid.uuid4().hex[:8]
    table, view = f"rls_verify_table_{suffix}", f"rls_verify_view_{suffix}"
    readers = f"{APP_ROLE}, {REVIEWER_ROLE}"
    for statement in (
        f"CREATE TABLE {table} (secret text)",
        f"INSERT INTO {table} VALUES ('made-up secret')",
        f"GRANT ALL ON {table} TO {readers}",
        f"CREATE VIEW {view} AS SELECT id FROM molecules",
        f"GRANT SELECT ON {view} TO {readers}",
    ):
        connection.exec_driver_sql(statement)
    attacker = _Attacker(connection, fixture)
    for actor in ("other", "reviewer"):
        attacker.sql(
            "(new table)", "read a new table granted to it", actor, f"SELECT count(*) FROM {table}"
        )
    attacker.sql(
        "(new table)",
        "write a new table granted to it",
        "other",
        f"INSERT INTO {table} VALUES ('x')",
    )
    attacker.sql(
        "(new view)",
        "read another's private molecule through a new view",
        "other",
        f"SELECT count(*) FROM {view} WHERE id = :owner_molecule",
    )
    return attacker.probes


def _roles(connection: Connection, fixture: Fixture) -> dict[str, str]:
    """Create the throwaway logins (in the transaction) and link the person's to "other"."""
    suffix = uuid.uuid4().hex[:8]
    roles = {
        "person": (f"rls_verify_person_{suffix}", APP_ROLE),
        "stranger": (f"rls_verify_stranger_{suffix}", APP_ROLE),
        "service": (f"rls_verify_service_{suffix}", f"{APP_ROLE}, {DELEGATE_ROLE}"),
    }
    for name, member_of in roles.values():
        connection.exec_driver_sql(f"CREATE ROLE {name} NOLOGIN IN ROLE {member_of}")
    connection.execute(
        text("UPDATE users SET db_role = :r WHERE id = :u"),
        {"r": roles["person"][0], "u": fixture.users["other"]},
    )
    return {kind: name for kind, (name, _) in roles.items()}


def login_attacks(connection: Connection, fixture: Fixture) -> list[Probe]:
    """Become a person's login, a login of nobody and the service's login; try to forge.

    The connection must be a superuser's (``SET SESSION AUTHORIZATION``).
    """
    roles = _roles(connection, fixture)
    owner = fixture.users["owner"]

    def become(kind: str, statements: str = "") -> Callable[[], None]:
        def setup() -> None:
            connection.exec_driver_sql(f"SET LOCAL SESSION AUTHORIZATION {roles[kind]}")
            forget_login(connection)  # trusted or not depends on the session user
            if statements:
                connection.exec_driver_sql(
                    statements.format(setting=USER_SETTING, victim=owner, app=APP_ROLE)
                )

        return setup

    probes = []
    for name, forgery in FORGERIES.items():
        label = f"person's login forging the owner by {name}"
        probes += run_matrix(connection, fixture, label, become("person", forgery), like="other")
    label = "login of nobody forging the owner by set_config"
    probes += run_matrix(
        connection, fixture, label, become("stranger", FORGERIES["set_config"]), like="anonymous"
    )

    def service_for_owner() -> None:
        become("service")()
        act_as(connection, owner)

    probes += run_matrix(
        connection, fixture, "service's login acting for the owner", service_for_owner, like="owner"
    )
    attacker = _Attacker(connection, fixture)
    person = "person's login"
    for what, sql in (
        ("switch to the service role", f"SET ROLE {SERVICE_ROLE}"),
        ("switch to the delegate role", f"SET ROLE {DELEGATE_ROLE}"),
        ("switch to the service's login", f"SET ROLE {roles['service']}"),
        ("grant itself the delegate role", f"GRANT {DELEGATE_ROLE} TO {roles['person']}"),
    ):

        def escalate(sql=sql) -> int:
            become("person")()
            connection.exec_driver_sql(sql)
            return 1

        attacker.attempt("(roles)", what, person, escalate)

    def act_for_owner() -> int:
        become("person")()
        act_as(connection, owner)
        return 1

    attacker.attempt("(application)", "act for the owner through act_as", person, act_for_owner)

    def relink() -> int:
        become("person", "SET ROLE {app}")()
        return connection.execute(
            text("UPDATE users SET db_role = :r WHERE id = :u"), {"r": roles["person"], "u": owner}
        ).rowcount

    attacker.attempt("users", "link the owner's user to its own login", person, relink)
    forget_login(connection)
    return probes + attacker.probes
