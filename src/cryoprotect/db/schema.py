"""The database schema as SQLAlchemy 2 ORM classes.

ON DELETE rules (also in docs/database.md):

* ``owner_id``/``verifier_id`` -> users: RESTRICT. Measurements are irreplaceable; a user's
  content is handed to someone else before the user can be removed.
* molecule_synonyms, mixture_components -> their molecule/mixture parent: CASCADE (they are
  part of it); mixture_components -> molecules: RESTRICT (a molecule in use stays).
* experiments -> molecules/mixtures/properties: RESTRICT (deleting a subject never silently
  drops measurements).
* lab_verifications -> experiments: CASCADE; -> predictions: SET NULL.
* predictions -> model_versions, molecules, mixtures: CASCADE (predictions can be recomputed).
* shares -> users and the shared row: CASCADE (a share means nothing without either).

Every foreign-key column has an index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cryoprotect.vocabulary import (
    AMOUNT_MAXIMA,
    AMOUNT_UNITS,
    MODEL_STAGES,
    PROPERTIES,
    SHARE_PERMISSIONS,
    USER_KINDS,
    VERIFICATION_STATUSES,
    VISIBILITIES,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _exactly_one(*columns: str) -> str:
    terms = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns)
    return f"{terms} = 1"


_MAXIMUM_NAMES = {
    "mole fraction": "mole_fraction_at_most_one",
    "%v/v": "volume_percent_at_most_100",
    "%w/v": "weight_percent_at_most_100",
}


def amount_maxima_checks(amount: str, unit: str, prefix: str = "") -> list[CheckConstraint]:
    """Return one CHECK per unit of :data:`~cryoprotect.vocabulary.AMOUNT_MAXIMA`.

    Each keeps the column ``amount``, when ``unit`` is that unit, at most the unit's maximum.
    """
    return [
        CheckConstraint(
            f"{unit} NOT IN ('{name}') OR {amount} <= {most:g}",
            name=prefix + _MAXIMUM_NAMES[name],
        )
        for name, most in AMOUNT_MAXIMA.items()
    ]


def value_range_check() -> str:
    """Return the SQL CHECK that keeps an experiment's value in its property's range."""
    cases = " ".join(
        f"WHEN '{p.code}' THEN value >= {p.min_value!r} AND value <= {p.max_value!r}"
        for p in PROPERTIES.values()
    )
    return f"CASE property {cases} ELSE 0 = 1 END"


def check_name(constraint: CheckConstraint) -> str:
    """Return the name a CHECK constraint of the models has in the database."""
    name, prefix = str(constraint.name), f"ck_{constraint.table.name}_"
    return name if name.startswith(prefix) else prefix + name  # once named by the convention


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations can name every constraint."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _owner() -> Mapped[int]:
    return mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=False)


def _visibility() -> Mapped[str]:
    return mapped_column(String(16), nullable=False, server_default="private")


class User(Base):
    """A person (or a system account such as the owner of the reference data).

    ``db_role`` names the person's own PostgreSQL login: a session of that login acts as this
    user and no other (see :mod:`cryoprotect.db.access`).
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("kind", USER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="person")
    db_role: Mapped[str | None] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = _now()


class PropertyDef(Base):
    """A measurable property with its unit and allowed range."""

    __tablename__ = "properties"
    __table_args__ = (
        UniqueConstraint("code", "unit", name="uq_properties_code_unit"),
        CheckConstraint("min_value < max_value", name="range"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False)
    min_value: Mapped[float] = mapped_column(Float, nullable=False)
    max_value: Mapped[float] = mapped_column(Float, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    in_solution: Mapped[bool] = mapped_column(Boolean, nullable=False)


class Molecule(Base):
    """A standardised structure, identified by its InChIKey within its owner's rows.

    Each owner (and the public reference set) holds at most one row per InChIKey; under Row
    Level Security a user cannot see others' private copies, so the key cannot be global.
    """

    __tablename__ = "molecules"
    __table_args__ = (
        CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
        CheckConstraint("molecular_weight > 0", name="molecular_weight_positive"),
        CheckConstraint("length(inchikey) = 27", name="inchikey_length"),
        UniqueConstraint("owner_id", "inchikey"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inchikey: Mapped[str] = mapped_column(String(27), index=True, nullable=False)
    canonical_smiles: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(String(300), index=True)
    formula: Mapped[str] = mapped_column(String(100), nullable=False)
    molecular_weight: Mapped[float] = mapped_column(Float, nullable=False)
    owner_id: Mapped[int] = _owner()
    visibility: Mapped[str] = _visibility()
    created_at: Mapped[datetime] = _now()

    synonyms: Mapped[list[MoleculeSynonym]] = relationship(
        back_populates="molecule", cascade="all, delete-orphan", passive_deletes=True
    )


class MoleculeSynonym(Base):
    """Another name of a molecule, used to resolve names in imports and predictions."""

    __tablename__ = "molecule_synonyms"
    __table_args__ = (UniqueConstraint("molecule_id", "synonym"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    molecule_id: Mapped[int] = mapped_column(
        ForeignKey("molecules.id", ondelete="CASCADE"), index=True, nullable=False
    )
    synonym: Mapped[str] = mapped_column(String(300), index=True, nullable=False)

    molecule: Mapped[Molecule] = relationship(back_populates="synonyms")


class Mixture(Base):
    """A formulation of several molecules; its composition key identifies it per owner."""

    __tablename__ = "mixtures"
    __table_args__ = (
        UniqueConstraint("owner_id", "composition_key"),
        CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    composition_key: Mapped[str] = mapped_column(Text, nullable=False)
    owner_id: Mapped[int] = _owner()
    visibility: Mapped[str] = _visibility()
    created_at: Mapped[datetime] = _now()

    components: Mapped[list[MixtureComponent]] = relationship(
        back_populates="mixture", cascade="all, delete-orphan", passive_deletes=True
    )


class MixtureComponent(Base):
    """One molecule of a mixture with its amount in a controlled unit."""

    __tablename__ = "mixture_components"
    __table_args__ = (
        UniqueConstraint("mixture_id", "molecule_id"),
        CheckConstraint(_in("unit", AMOUNT_UNITS), name="unit"),
        CheckConstraint("amount >= 0", name="amount_nonnegative"),
        *amount_maxima_checks("amount", "unit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mixture_id: Mapped[int] = mapped_column(
        ForeignKey("mixtures.id", ondelete="CASCADE"), index=True, nullable=False
    )
    molecule_id: Mapped[int] = mapped_column(
        ForeignKey("molecules.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(16), nullable=False)

    mixture: Mapped[Mixture] = relationship(back_populates="components")
    molecule: Mapped[Molecule] = relationship()


class Experiment(Base):
    """One measured value of one property for exactly one molecule or one mixture."""

    __tablename__ = "experiments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["property", "unit"],
            ["properties.code", "properties.unit"],
            ondelete="RESTRICT",
            name="fk_experiments_property_unit_properties",
        ),
        Index("ix_experiments_property_unit", "property", "unit"),
        CheckConstraint(_exactly_one("molecule_id", "mixture_id"), name="exactly_one_subject"),
        CheckConstraint(value_range_check(), name="value_in_property_range"),
        CheckConstraint("uncertainty IS NULL OR uncertainty >= 0", name="uncertainty_nonnegative"),
        CheckConstraint(
            "concentration IS NULL OR concentration >= 0", name="concentration_nonnegative"
        ),
        CheckConstraint(
            "(concentration IS NULL) = (concentration_unit IS NULL)", name="concentration_has_unit"
        ),
        CheckConstraint(
            f"concentration_unit IS NULL OR {_in('concentration_unit', AMOUNT_UNITS)}",
            name="concentration_unit",
        ),
        *amount_maxima_checks("concentration", "concentration_unit", prefix="concentration_"),
        CheckConstraint(
            "cooling_rate_k_per_min IS NULL OR cooling_rate_k_per_min > 0",
            name="cooling_rate_positive",
        ),
        CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
        UniqueConstraint("owner_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str | None] = mapped_column(String(100), index=True)
    property: Mapped[str] = mapped_column(String(32), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False)
    uncertainty: Mapped[float | None] = mapped_column(Float)
    molecule_id: Mapped[int | None] = mapped_column(
        ForeignKey("molecules.id", ondelete="RESTRICT"), index=True
    )
    mixture_id: Mapped[int | None] = mapped_column(
        ForeignKey("mixtures.id", ondelete="RESTRICT"), index=True
    )
    reported_name: Mapped[str | None] = mapped_column(String(300))
    concentration: Mapped[float | None] = mapped_column(Float)
    concentration_unit: Mapped[str | None] = mapped_column(String(16))
    assay: Mapped[str | None] = mapped_column(String(200))
    cell_type: Mapped[str | None] = mapped_column(String(200))
    cooling_rate_k_per_min: Mapped[float | None] = mapped_column(Float)
    medium: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100), index=True)
    reference: Mapped[str | None] = mapped_column(String(300))
    citation: Mapped[str] = mapped_column(Text, nullable=False)
    doi: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = _owner()
    visibility: Mapped[str] = _visibility()
    created_at: Mapped[datetime] = _now()

    molecule: Mapped[Molecule | None] = relationship()
    mixture: Mapped[Mixture | None] = relationship()


SAME_MEASUREMENT: tuple[str, ...] = (
    "property",
    "molecule_id",
    "mixture_id",
    "value",
    "unit",
    "concentration",
    "concentration_unit",
    "source",
    "reference",
    "citation",
    "owner_id",
)
"""Experiment columns that make two rows one measurement entered twice (without their own
``record_id``s the importer refuses the second; the health check warns of them)."""


class ModelVersion(Base):
    """A trained model of one property, as registered by the model registry."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("property", "version"),
        CheckConstraint(_in("stage", MODEL_STAGES), name="stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    property: Mapped[str] = mapped_column(
        ForeignKey("properties.code", ondelete="RESTRICT"), index=True, nullable=False
    )
    version: Mapped[str] = mapped_column(String(100), nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False, server_default="candidate")
    artifact_path: Mapped[str | None] = mapped_column(Text)
    data_hash: Mapped[str | None] = mapped_column(String(128))
    metrics: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = _now()


class Prediction(Base):
    """A model's prediction for one molecule or mixture, with its interval and domain flag.

    ``inputs`` keeps the row as it was asked (JSON: ``smiles`` and ``concentration_mM``, or
    ``components``); ``confidence`` is the coverage the interval was calibrated for.
    """

    __tablename__ = "predictions"
    __table_args__ = (
        CheckConstraint(_exactly_one("molecule_id", "mixture_id"), name="exactly_one_subject"),
        CheckConstraint(
            "(lower IS NULL AND upper IS NULL) OR (lower <= value AND value <= upper)",
            name="interval_contains_value",
        ),
        CheckConstraint(
            "confidence IS NULL OR (confidence > 0 AND confidence < 1)",
            name="confidence_fraction",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True, nullable=False
    )
    molecule_id: Mapped[int | None] = mapped_column(
        ForeignKey("molecules.id", ondelete="CASCADE"), index=True
    )
    mixture_id: Mapped[int | None] = mapped_column(
        ForeignKey("mixtures.id", ondelete="CASCADE"), index=True
    )
    concentration: Mapped[float | None] = mapped_column(Float)
    concentration_unit: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float, nullable=False)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    in_domain: Mapped[bool | None] = mapped_column(Boolean)
    inputs: Mapped[dict | None] = mapped_column(JSON)
    confidence: Mapped[float | None] = mapped_column(Float)
    owner_id: Mapped[int] = _owner()
    created_at: Mapped[datetime] = _now()


class LabVerification(Base):
    """A lab experiment that checks a prediction, with who verifies it and how it went.

    A planned verification (e.g. from ``cryoprotect suggest``) has no experiment yet: it
    names the prediction to check, and the experiment is attached once measured.
    """

    __tablename__ = "lab_verifications"
    __table_args__ = (
        CheckConstraint(_in("status", VERIFICATION_STATUSES), name="status"),
        CheckConstraint(
            "completed_at IS NULL OR completed_at >= requested_at", name="completed_after_requested"
        ),
        CheckConstraint(
            "experiment_id IS NOT NULL OR prediction_id IS NOT NULL", name="something_to_verify"
        ),
        CheckConstraint(
            "experiment_id IS NOT NULL OR status IN ('planned', 'in_progress')",
            name="measured_unless_pending",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    prediction_id: Mapped[int | None] = mapped_column(
        ForeignKey("predictions.id", ondelete="SET NULL"), index=True
    )
    verifier_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="planned")
    notes: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = _now()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Share(Base):
    """Access to one molecule, mixture or experiment granted by its owner to another user."""

    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint(
            _exactly_one("molecule_id", "mixture_id", "experiment_id"), name="exactly_one_target"
        ),
        CheckConstraint(_in("permission", SHARE_PERMISSIONS), name="permission"),
        CheckConstraint("owner_id <> grantee_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    grantee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    molecule_id: Mapped[int | None] = mapped_column(
        ForeignKey("molecules.id", ondelete="CASCADE"), index=True
    )
    mixture_id: Mapped[int | None] = mapped_column(
        ForeignKey("mixtures.id", ondelete="CASCADE"), index=True
    )
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    permission: Mapped[str] = mapped_column(String(8), nullable=False, server_default="read")
    created_at: Mapped[datetime] = _now()
