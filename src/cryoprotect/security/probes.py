"""Made-up probe rows and single attempts, shared by the access matrix and the attacks.

The probe rows (users, a private molecule, mixture, experiment, prediction, verification,
synonym, component and share of one user, some shared with another, plus public rows of a
second user that the first one's rows depend on) are created as the connecting role inside
the caller's transaction, which the caller rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from cryoprotect.db.access import APP_ROLE, REVIEWER_ROLE, SERVICE_ROLE, refused
from cryoprotect.db.schema import Base

ACTORS = ("owner", "other", "anonymous", "grantee", "reviewer", "service")
OPERATIONS = ("select", "insert", "update", "delete")
REFERENCE = ("users", "properties", "model_versions")
"""Tables everyone reads and only the service role writes (a user may update their own row)."""
UPDATED_COLUMN = {"users": "display_name", "properties": "code"}
"""The column an update probe sets to itself (``id`` elsewhere)."""


@dataclass
class Probe:
    """The outcome of one attempt: what happened against what the rules expect."""

    table: str
    operation: str
    actor: str
    allowed: bool
    expected: bool
    detail: str = ""

    @property
    def leak(self) -> bool:
        """Allowed although the rules deny it."""
        return self.allowed and not self.expected

    @property
    def blocked(self) -> bool:
        """Denied although the rules allow it."""
        return self.expected and not self.allowed


@dataclass
class Fixture:
    """Ids of the made-up probe rows.

    ``users`` maps each actor to a user id; ``rows`` holds the owner's private row per table;
    ``public`` the other user's public rows and the owner's rows that depend on them.
    """

    users: dict[str, int]
    rows: dict[str, int]
    public: dict[str, int]

    @property
    def public_molecule(self) -> int:
        """The other user's public molecule."""
        return self.public["molecule"]


def role_of(actor: str) -> str:
    """Return the database role a matrix actor acts in."""
    return {"reviewer": REVIEWER_ROLE, "service": SERVICE_ROLE}.get(actor, APP_ROLE)


def table_order() -> list[str]:
    """Return the schema's tables, parents first."""
    return [table.name for table in Base.metadata.sorted_tables]


def _insert(connection: Connection, sql: str, **values) -> int:
    return connection.execute(text(sql + " RETURNING id"), values).scalar_one()


def _molecule(connection: Connection, key: str, smiles: str, owner: int, visibility: str) -> int:
    return _insert(
        connection,
        "INSERT INTO molecules (inchikey, canonical_smiles, formula, molecular_weight, owner_id, "
        "visibility) VALUES (:k, :s, 'CxHyO', 46.07, :o, :v)",
        k=f"RLSVERIFY{key}-UHFFFAOYSA-N",
        s=smiles,
        o=owner,
        v=visibility,
    )


def _measurement(connection: Connection, molecule: int, owner: int, visibility: str) -> int:
    return _insert(
        connection,
        "INSERT INTO experiments (property, value, unit, molecule_id, citation, owner_id, "
        "visibility) VALUES ('tg', 200, 'K', :m, 'made-up probe row', :o, :v)",
        m=molecule,
        o=owner,
        v=visibility,
    )


def _prediction(connection: Connection, version: int, molecule: int, owner: int) -> int:
    return _insert(
        connection,
        "INSERT INTO predictions (model_version_id, molecule_id, value, owner_id) "
        "VALUES (:v, :m, 200, :o)",
        v=version,
        m=molecule,
        o=owner,
    )


def make_fixture(connection: Connection) -> Fixture:
    """Create the probe rows (as the connecting role, which bypasses RLS)."""
    users = {
        actor: _insert(
            connection,
            "INSERT INTO users (username, kind) VALUES (:name, 'person')",
            name=f"rls-verify-{actor}",
        )
        for actor in ("owner", "other", "grantee", "reviewer")
    }
    owner, other, grantee = users["owner"], users["other"], users["grantee"]
    rows = {"molecules": _molecule(connection, "PRIVA", "CCO", owner, "private")}
    molecule = rows["molecules"]
    rows["molecule_synonyms"] = _insert(
        connection,
        "INSERT INTO molecule_synonyms (molecule_id, synonym) VALUES (:m, 'rls verify')",
        m=molecule,
    )
    rows["mixtures"] = _insert(
        connection,
        "INSERT INTO mixtures (composition_key, owner_id) VALUES ('rls-verify', :o)",
        o=owner,
    )
    public = {"molecule": _molecule(connection, "PUBLI", "CO", other, "public")}
    rows["mixture_components"] = _insert(
        connection,
        "INSERT INTO mixture_components (mixture_id, molecule_id, amount, unit) "
        "VALUES (:x, :m, 1, 'level')",
        x=rows["mixtures"],
        m=molecule,
    )
    rows["experiments"] = _measurement(connection, molecule, owner, "private")
    rows["model_versions"] = _insert(
        connection,
        "INSERT INTO model_versions (property, version) VALUES ('tg', 'rls-verify')",
    )
    version = rows["model_versions"]
    rows["predictions"] = _prediction(connection, version, molecule, owner)
    rows["lab_verifications"] = _insert(
        connection,
        "INSERT INTO lab_verifications (experiment_id, prediction_id, verifier_id) "
        "VALUES (:e, :p, :o)",
        e=rows["experiments"],
        p=rows["predictions"],
        o=owner,
    )
    shared = (("molecule_id", "molecules"), ("mixture_id", "mixtures"))
    for column, target in (*shared, ("experiment_id", "experiments")):  # the last is probed
        rows["shares"] = _insert(
            connection,
            f"INSERT INTO shares (owner_id, grantee_id, {column}) VALUES (:o, :g, :t)",
            o=owner,
            g=grantee,
            t=rows[target],
        )
    rows["users"] = owner
    public["experiment"] = _measurement(connection, public["molecule"], other, "public")
    public["mixture"] = _insert(
        connection,
        "INSERT INTO mixtures (composition_key, owner_id, visibility) "
        "VALUES ('rls-verify-public', :o, 'public')",
        o=other,
    )
    public["component"] = _insert(
        connection,
        "INSERT INTO mixture_components (mixture_id, molecule_id, amount, unit) "
        "VALUES (:x, :m, 1, 'level')",
        x=public["mixture"],
        m=public["molecule"],
    )
    public["owner_prediction"] = _prediction(connection, version, public["molecule"], owner)
    public["owner_experiment"] = _measurement(connection, public["molecule"], owner, "private")
    public["owner_verification"] = _insert(
        connection,
        "INSERT INTO lab_verifications (experiment_id, prediction_id, verifier_id, notes) "
        "VALUES (:e, :p, :o, 'made-up private notes')",
        e=public["experiment"],
        p=rows["predictions"],
        o=owner,
    )
    return Fixture(users, rows, public)


def inserts(fixture: Fixture) -> dict[str, dict]:
    """Per table, the values of a new row claiming the owner's ownership or their rows."""
    owner, rows = fixture.users["owner"], fixture.rows
    molecule = {
        "inchikey": "RLSVERIFYNEWMO-UHFFFAOYSA-N",
        "canonical_smiles": "CCCO",
        "formula": "C3H8O",
        "molecular_weight": 60.1,
        "owner_id": owner,
    }
    measurement = {"property": "tg", "unit": "K", "citation": "made-up probe row"}
    return {
        "users": {"username": "rls-verify-new"},
        "properties": {
            "code": "rlsverify",
            "name": "probe",
            "unit": "K",
            "min_value": 0,
            "max_value": 1,
            "description": "probe",
            "in_solution": False,
        },
        "model_versions": {"property": "tg", "version": "rls-verify-new"},
        "molecules": molecule,
        "molecule_synonyms": {"molecule_id": rows["molecules"], "synonym": "rls new"},
        "mixtures": {"composition_key": "rls-verify-new", "owner_id": owner},
        "mixture_components": {
            "mixture_id": rows["mixtures"],
            "molecule_id": fixture.public_molecule,
            "amount": 2,
            "unit": "level",
        },
        "experiments": measurement
        | {"value": 210, "molecule_id": rows["molecules"], "owner_id": owner},
        "predictions": {
            "model_version_id": rows["model_versions"],
            "molecule_id": rows["molecules"],
            "value": 210,
            "owner_id": owner,
        },
        "lab_verifications": {"experiment_id": rows["experiments"], "verifier_id": owner},
        "shares": {
            "owner_id": owner,
            "grantee_id": fixture.users["other"],
            "molecule_id": rows["molecules"],
        },
    }


def expected(table: str, operation: str, actor: str) -> bool:
    """Return whether the rules allow ``actor`` to ``operation`` the owner's row of ``table``.

    The owner's rows are private; the molecule, mixture and experiment are shared with the
    grantee, which makes their synonyms and components visible too (predictions and lab
    verifications stay their owner's alone).
    """
    if actor == "service":
        return True
    if table in REFERENCE:
        if operation == "select":
            return True
        return table == "users" and operation == "update" and actor == "owner"
    if actor == "owner":
        return True
    if actor == "grantee" and operation == "select":
        return table not in ("predictions", "lab_verifications")
    return False


def attempt(connection: Connection, action: Callable[[], int]) -> tuple[bool, str]:
    """Run ``action`` in a savepoint; return whether the rules let it through, and why not.

    ``action`` returns the number of rows it read or changed (an insert: 1). Everything it
    did, including role and setting changes, is rolled back with the savepoint.
    """
    savepoint = connection.begin_nested()
    try:
        affected = action()
        return affected > 0, "" if affected > 0 else "no row visible"
    except DBAPIError as error:
        if refused(error):
            return False, str(error.orig).splitlines()[0]
        return True, f"passed the rules, stopped by: {str(error.orig).splitlines()[0]}"
    finally:
        savepoint.rollback()


def run_matrix(
    connection: Connection,
    fixture: Fixture,
    actor: str,
    setup: Callable[[], None],
    like: str,
) -> list[Probe]:
    """Try every operation on the owner's row of every table after ``setup``.

    ``setup`` runs in each attempt's savepoint and makes the connection act as someone;
    the rules should give that someone the rights of the matrix's actor ``like``. The
    probes are labelled ``actor``.
    """
    values = inserts(fixture)
    probes = []
    for table in table_order():
        key = "code" if table == "properties" else "id"
        target = "tg" if table == "properties" else fixture.rows[table]
        column = UPDATED_COLUMN.get(table, "id")
        statements = {
            "select": f"SELECT count(*) FROM {table} WHERE {key} = :t",  # noqa: S608
            "insert": None,
            "update": f"UPDATE {table} SET {column} = {column} WHERE {key} = :t",  # noqa: S608
            "delete": f"DELETE FROM {table} WHERE {key} = :t",  # noqa: S608
        }
        insert = Base.metadata.tables[table].insert().values(values[table])
        for operation, statement in statements.items():

            def action(statement=statement, operation=operation, insert=insert, target=target):
                setup()
                if statement is None:
                    connection.execute(insert)  # refused rows raise
                    return 1
                result = connection.execute(text(statement), {"t": target})
                return result.scalar_one() if operation == "select" else result.rowcount

            allowed, detail = attempt(connection, action)
            probes.append(
                Probe(table, operation, actor, allowed, expected(table, operation, like), detail)
            )
    return probes
