"""The access rules of the PostgreSQL policies, applied by the application's own queries.

SQLite has no Row Level Security, so a session acting for a user (see
:func:`cryoprotect.db.access.user_session`) enforces the same rules in the ORM:

- every ORM ``SELECT`` sees only the rows the user may read (``with_loader_criteria``);
- every ORM ``UPDATE`` and ``DELETE`` statement touches only rows the user may write;
- every flush checks each new, changed and deleted object (:class:`AccessDenied` if one
  breaks a rule), including what it points at: no forged owner, no component in someone
  else's mixture, no reference to a molecule, mixture or experiment the user cannot see, nor
  to a prediction that is not the user's own;
- a user changes only the display name and e-mail of their own ``users`` row;
- a public molecule, mixture or experiment is not deleted or made private, its identifying
  columns do not change (only those in :data:`PUBLISHED`), and a public mixture's
  components are fixed: others' rows may depend on them. ORM ``UPDATE`` statements skip
  public rows altogether; change a public row's name through its object.

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
PUBLISHED = {Molecule: {"name"}, Mixture: {"name"}, Experiment: {"notes"}}
"""Models whose public rows others depend on, and the columns their owner may still change."""
USER_EDITABLE = {"display_name", "email"}
"""The columns of their own ``users`` row a user may change."""


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
        return LabVerification.verifier_id == user
    return or_(Share.owner_id == user, Share.grantee_id == user)


def _draft_mixtures(user: int | None):
    return select(Mixture.id).where(Mixture.owner_id == user, Mixture.visibility != "public")


def writable(model, user: int | None, deleting: bool = False) -> ColumnElement[bool]:
    """Return the condition under which ``user`` may update (or delete) a row of ``model``.

    Users may edit their own ``users`` row but not delete it. Public rows of the
    :data:`PUBLISHED` models are not written by ORM ``UPDATE``/``DELETE`` statements at all.
    """
    if model is User:
        return false() if deleting else User.id == user
    if model in (PropertyDef, ModelVersion):
        return false()
    if model in PUBLISHED:
        return (model.owner_id == user) & (model.visibility != "public")
    if model in OWNED or model is Share:
        return model.owner_id == user
    if model is MoleculeSynonym:
        return MoleculeSynonym.molecule_id.in_(select(Molecule.id).where(Molecule.owner_id == user))
    if model is MixtureComponent:
        return MixtureComponent.mixture_id.in_(_draft_mixtures(user))
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


def _changed(obj) -> set[str]:
    """Return the names of the columns of ``obj`` changed since it was loaded."""
    state = inspect(obj)
    return {a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()}


def _stored(obj, key: str):
    """Return the value of ``obj``'s column ``key`` as it is stored (before this change)."""
    history = inspect(obj).attrs[key].history
    return history.deleted[0] if history.deleted else getattr(obj, key)


def _check_change(obj) -> str | None:
    """Return why the acting user may not change the stored ``obj`` this way, or ``None``."""
    model = type(obj)
    if model is User and not _changed(obj) <= USER_EDITABLE:
        fields = ", ".join(sorted(_changed(obj) - USER_EDITABLE))
        return f"a user may change only their display name and e-mail, not {fields}"
    if model in PUBLISHED and _stored(obj, "visibility") == "public":
        fixed = _changed(obj) - PUBLISHED[model]
        if fixed:
            return f"row {obj.id} is public, so its {', '.join(sorted(fixed))} may not change"
    return None


def _check_delete(obj) -> str | None:
    """Return why the acting user may not delete the stored ``obj``, or ``None``."""
    model = type(obj)
    if model in REFERENCE:
        return "only the service role deletes it"
    if model in PUBLISHED and _stored(obj, "visibility") == "public":
        return f"row {obj.id} is public: others' rows may depend on it"
    return None


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
        if not _exists(session, Mixture, obj.mixture_id, Mixture.id.in_(_draft_mixtures(user))):
            return f"mixture {obj.mixture_id} is not the acting user's, or it is public"
        if not _exists(session, Molecule, obj.molecule_id, visible(Molecule, user)):
            return f"molecule {obj.molecule_id} is not visible to user {user}"
    if model is LabVerification:
        if obj.verifier_id != user:
            return "only the verifier writes a verification"
        if not _exists(session, Experiment, obj.experiment_id, visible(Experiment, user)):
            return f"experiment {obj.experiment_id} is not visible to user {user}"
        if not _exists(session, Prediction, obj.prediction_id, visible(Prediction, user)):
            return f"prediction {obj.prediction_id} is not the acting user's"
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


def _was_writable(session: Session, obj, user: int | None) -> bool:
    """Whether the stored version of a changed or deleted object was the user's to write."""
    model = type(obj)
    if model is MixtureComponent:  # a public mixture's components are fixed
        return _exists(
            session, Mixture, _stored(obj, "mixture_id"), Mixture.id.in_(_draft_mixtures(user))
        )
    key = {
        User: "id",
        LabVerification: "verifier_id",
    }.get(model, "owner_id" if model in OWNED or model is Share else None)
    if key is None:
        return True  # synonyms: judged by their (checked) molecule
    return user is not None and _stored(obj, key) == user


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
        if operation != "insert" and not _was_writable(session, obj, user):
            raise AccessDenied(f"user {user} may not {operation} this row of {table}")
        if operation == "delete":
            reason = _check_delete(obj)
        else:
            reason = _check(session, obj, user)
            if operation == "update":
                reason = reason or _check_change(obj)
        if reason:
            raise AccessDenied(f"user {user} may not {operation} {table}: {reason}")


def apply_rules(session: Session, actor: Actor) -> None:
    """Make ``session`` enforce the access rules for ``actor`` in its queries and flushes."""
    event.listen(session, "do_orm_execute", lambda state: _filter(state, actor))
    event.listen(session, "before_flush", lambda s, context, objects: _guard_flush(s, actor))
