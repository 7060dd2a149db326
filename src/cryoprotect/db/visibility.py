"""The access rules of the PostgreSQL policies, applied by the application's own queries.

SQLite has no Row Level Security, so a session acting for a user (see
:func:`cryoprotect.db.access.user_session`) enforces the same rules in the ORM:

- every ORM ``SELECT`` sees only the rows the user may read (``with_loader_criteria``);
- every ORM ``UPDATE`` and ``DELETE`` statement touches only rows the user may write;
- every flush checks each new, changed and deleted object (:class:`AccessDenied` if one
  breaks a rule), including what it points at: no forged owner, no component in someone
  else's mixture, no reference to a molecule, mixture or experiment the user cannot see.

Raw SQL (``text()``, driver connections) bypasses these rules on SQLite: only PostgreSQL
enforces them below the application.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, event, false, inspect, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    Mixture,
    MixtureComponent,
    ModelVersion,
    Molecule,
    MoleculeSynonym,
    Prediction,
    PropertyDef,
    Share,
    User,
)

OWNED = (Molecule, Mixture, Experiment, Prediction)
REFERENCE = (User, PropertyDef, ModelVersion)


class AccessDenied(PermissionError):
    """The acting user may not make this change; the message names the table and the rule."""


@dataclass(frozen=True)
class Actor:
    """Who a session acts for: a user id (``None``: nobody) and a role (app, reviewer, service)."""

    user_id: int | None
    role: str

    @property
    def bypasses(self) -> bool:
        """The service role is not bound by the rules."""
        return self.role == "cryoprotect_service"


def visible(model, user: int | None) -> ColumnElement[bool]:
    """Return the condition under which ``user`` may read a row of ``model``."""
    if model in REFERENCE:
        return true()
    if model in (Molecule, Mixture, Experiment):
        column = {Molecule: Share.molecule_id, Mixture: Share.mixture_id}.get(
            model, Share.experiment_id
        )
        return or_(
            model.visibility == "public",
            model.owner_id == user,
            model.id.in_(select(column).where(Share.grantee_id == user, column.is_not(None))),
        )
    if model is MoleculeSynonym:
        return MoleculeSynonym.molecule_id.in_(select(Molecule.id).where(visible(Molecule, user)))
    if model is MixtureComponent:
        return MixtureComponent.mixture_id.in_(select(Mixture.id).where(visible(Mixture, user)))
    if model is Prediction:
        return Prediction.owner_id == user
    if model is LabVerification:
        return or_(
            LabVerification.verifier_id == user,
            LabVerification.experiment_id.in_(
                select(Experiment.id).where(visible(Experiment, user))
            ),
        )
    return or_(Share.owner_id == user, Share.grantee_id == user)


def writable(model, user: int | None, deleting: bool = False) -> ColumnElement[bool]:
    """Return the condition under which ``user`` may update (or delete) a row of ``model``.

    Users may edit their own ``users`` row but not delete it.
    """
    if model is User:
        return false() if deleting else User.id == user
    if model in (PropertyDef, ModelVersion):
        return false()
    if model in OWNED or model is Share:
        return model.owner_id == user
    if model is MoleculeSynonym:
        return MoleculeSynonym.molecule_id.in_(select(Molecule.id).where(Molecule.owner_id == user))
    if model is MixtureComponent:
        return MixtureComponent.mixture_id.in_(select(Mixture.id).where(Mixture.owner_id == user))
    return LabVerification.verifier_id == user


MODELS = (
    *REFERENCE,
    Molecule,
    MoleculeSynonym,
    Mixture,
    MixtureComponent,
    Experiment,
    Prediction,
    LabVerification,
    Share,
)


def _filter(state: ORMExecuteState, actor: Actor) -> None:
    if actor.bypasses or state.is_column_load:
        return
    if state.is_select:
        rule = visible
    elif state.is_update or state.is_delete:
        if actor.role == "cryoprotect_reviewer":
            raise AccessDenied("the reviewer role may only read")
        deleting = state.is_delete

        def rule(model, user):
            return writable(model, user, deleting)
    else:
        if state.is_insert:
            raise AccessDenied("bulk ORM inserts are not checked row by row: add objects instead")
        return
    state.statement = state.statement.options(
        *(
            with_loader_criteria(model, rule(model, actor.user_id), include_aliases=True)
            for model in MODELS
        )
    )


def _exists(session: Session, model, ident, condition) -> bool:
    if ident is None:
        return True
    with session.no_autoflush:
        return session.scalar(select(model.id).where(model.id == ident, condition)) is not None


def _check(session: Session, obj, user: int | None) -> str | None:
    """Return why ``user`` may not store ``obj`` as it now is, or ``None`` when it may."""
    model = type(obj)
    if model in (PropertyDef, ModelVersion):
        return "only the service role writes it"
    if model is User:
        return None if obj.id is not None and obj.id == user else "only the service role adds users"
    if (model in OWNED or model is Share) and (user is None or obj.owner_id != user):
        return f"owner_id must be the acting user ({user})"
    if model in (Experiment, Prediction):
        if not _exists(session, Molecule, obj.molecule_id, visible(Molecule, user)):
            return f"molecule {obj.molecule_id} is not visible to user {user}"
        if not _exists(session, Mixture, obj.mixture_id, visible(Mixture, user)):
            return f"mixture {obj.mixture_id} is not visible to user {user}"
    if model is MoleculeSynonym and not _exists(
        session, Molecule, obj.molecule_id, Molecule.owner_id == user
    ):
        return f"molecule {obj.molecule_id} is not the acting user's"
    if model is MixtureComponent:
        if not _exists(session, Mixture, obj.mixture_id, Mixture.owner_id == user):
            return f"mixture {obj.mixture_id} is not the acting user's"
        if not _exists(session, Molecule, obj.molecule_id, visible(Molecule, user)):
            return f"molecule {obj.molecule_id} is not visible to user {user}"
    if model is LabVerification:
        if obj.verifier_id != user:
            return "only the verifier writes a verification"
        if not _exists(session, Experiment, obj.experiment_id, visible(Experiment, user)):
            return f"experiment {obj.experiment_id} is not visible to user {user}"
    if model is Share:
        for column, target in (
            ("molecule_id", Molecule),
            ("mixture_id", Mixture),
            ("experiment_id", Experiment),
        ):
            ident = getattr(obj, column)
            if not _exists(session, target, ident, target.owner_id == user):
                return f"{target.__tablename__} {ident} is not the acting user's"
    return None


def _was_writable(obj, user: int | None) -> bool:
    """Whether the stored version of a changed or deleted object was the user's to write."""
    state = inspect(obj)
    model = type(obj)
    key = {
        User: "id",
        LabVerification: "verifier_id",
    }.get(model, "owner_id" if model in OWNED or model is Share else None)
    if key is None:
        return True  # synonyms and components: judged by their (checked) parent
    history = state.attrs[key].history
    stored = history.deleted[0] if history.deleted else getattr(obj, key)
    return user is not None and stored == user


def _guard_flush(session: Session, actor: Actor) -> None:
    if actor.bypasses:
        return
    user = actor.user_id
    changes = (
        [("insert", o) for o in session.new]
        + [("update", o) for o in session.dirty if session.is_modified(o)]
        + [("delete", o) for o in session.deleted]
    )
    for operation, obj in changes:
        table = type(obj).__tablename__
        if actor.role == "cryoprotect_reviewer":
            raise AccessDenied(f"the reviewer role may not {operation} {table}")
        if operation != "insert" and not _was_writable(obj, user):
            raise AccessDenied(f"user {user} may not {operation} this row of {table}")
        reason = None if operation == "delete" else _check(session, obj, user)
        if operation == "delete" and type(obj) in REFERENCE:
            reason = "only the service role deletes it"
        if reason:
            raise AccessDenied(f"user {user} may not {operation} {table}: {reason}")


def apply_rules(session: Session, actor: Actor) -> None:
    """Make ``session`` enforce the access rules for ``actor`` in its queries and flushes."""
    event.listen(session, "do_orm_execute", lambda state: _filter(state, actor))
    event.listen(session, "before_flush", lambda s, context, objects: _guard_flush(s, actor))
