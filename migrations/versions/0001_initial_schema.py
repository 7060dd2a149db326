"""Initial schema: users, molecules, mixtures, experiments, verifications, models, shares.

The property definitions are inserted here because the CHECK constraint on experiment values
and the foreign key on (property, unit) depend on them.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "properties",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=False),
        sa.Column("max_value", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("in_solution", sa.Boolean(), nullable=False),
        sa.CheckConstraint("min_value < max_value", name=op.f("ck_properties_range")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_properties")),
        sa.UniqueConstraint("code", "unit", name="uq_properties_code_unit"),
    )
    op.bulk_insert(
        sa.table(
            "properties",
            sa.column("code", sa.String),
            sa.column("name", sa.String),
            sa.column("unit", sa.String),
            sa.column("min_value", sa.Float),
            sa.column("max_value", sa.Float),
            sa.column("description", sa.Text),
            sa.column("in_solution", sa.Boolean),
        ),
        [
            {
                "code": "tg",
                "name": "glass transition temperature",
                "unit": "K",
                "min_value": 30.0,
                "max_value": 800.0,
                "description": "Glass transition temperature of the pure compound, in kelvin.",
                "in_solution": False,
            },
            {
                "code": "iri",
                "name": "ice recrystallization inhibition",
                "unit": "%MGS",
                "min_value": 0.0,
                "max_value": 300.0,
                "description": "Mean ice grain size relative to a control, in percent (lower is "
                "more active; 100 means no effect).",
                "in_solution": True,
            },
            {
                "code": "viability",
                "name": "post-thaw cell viability",
                "unit": "% recovery",
                "min_value": 0.0,
                "max_value": 150.0,
                "description": "Post-thaw recovery of cells, in percent of the cells frozen "
                "(counting error can put it slightly above 100).",
                "in_solution": True,
            },
        ],
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("kind", sa.String(length=16), server_default="person", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("kind IN ('person', 'system')", name=op.f("ck_users_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "mixtures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("composition_key", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=16), server_default="private", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "visibility IN ('private', 'public')", name=op.f("ck_mixtures_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_mixtures_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mixtures")),
        sa.UniqueConstraint(
            "owner_id", "composition_key", name=op.f("uq_mixtures_owner_id_composition_key")
        ),
    )
    op.create_index(op.f("ix_mixtures_owner_id"), "mixtures", ["owner_id"], unique=False)

    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=16), server_default="candidate", nullable=False),
        sa.Column("artifact_path", sa.Text(), nullable=True),
        sa.Column("data_hash", sa.String(length=128), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "stage IN ('candidate', 'production', 'archived')", name=op.f("ck_model_versions_stage")
        ),
        sa.ForeignKeyConstraint(
            ["property"],
            ["properties.code"],
            name=op.f("fk_model_versions_property_properties"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("property", "version", name=op.f("uq_model_versions_property_version")),
    )
    op.create_index(
        op.f("ix_model_versions_property"), "model_versions", ["property"], unique=False
    )

    op.create_table(
        "molecules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inchikey", sa.String(length=27), nullable=False),
        sa.Column("canonical_smiles", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("formula", sa.String(length=100), nullable=False),
        sa.Column("molecular_weight", sa.Float(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=16), server_default="private", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "visibility IN ('private', 'public')", name=op.f("ck_molecules_visibility")
        ),
        sa.CheckConstraint("length(inchikey) = 27", name=op.f("ck_molecules_inchikey_length")),
        sa.CheckConstraint(
            "molecular_weight > 0", name=op.f("ck_molecules_molecular_weight_positive")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_molecules_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_molecules")),
        sa.UniqueConstraint("inchikey", name=op.f("uq_molecules_inchikey")),
    )
    op.create_index(op.f("ix_molecules_name"), "molecules", ["name"], unique=False)
    op.create_index(op.f("ix_molecules_owner_id"), "molecules", ["owner_id"], unique=False)

    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=True),
        sa.Column("property", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("uncertainty", sa.Float(), nullable=True),
        sa.Column("molecule_id", sa.Integer(), nullable=True),
        sa.Column("mixture_id", sa.Integer(), nullable=True),
        sa.Column("reported_name", sa.String(length=300), nullable=True),
        sa.Column("concentration", sa.Float(), nullable=True),
        sa.Column("concentration_unit", sa.String(length=16), nullable=True),
        sa.Column("assay", sa.String(length=200), nullable=True),
        sa.Column("cell_type", sa.String(length=200), nullable=True),
        sa.Column("cooling_rate_k_per_min", sa.Float(), nullable=True),
        sa.Column("medium", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("reference", sa.String(length=300), nullable=True),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("doi", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=16), server_default="private", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "CASE property WHEN 'tg' THEN value >= 30.0 AND value <= 800.0 WHEN 'iri' THEN value >= 0.0 AND value <= 300.0 WHEN 'viability' THEN value >= 0.0 AND value <= 150.0 ELSE 0 = 1 END",
            name=op.f("ck_experiments_value_in_property_range"),
        ),
        sa.CheckConstraint(
            "concentration_unit IS NULL OR concentration_unit IN ('mM', 'M', 'molal', '%w/v', '%v/v', 'mole fraction', 'level')",
            name=op.f("ck_experiments_concentration_unit"),
        ),
        sa.CheckConstraint(
            "visibility IN ('private', 'public')", name=op.f("ck_experiments_visibility")
        ),
        sa.CheckConstraint(
            "(CASE WHEN molecule_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN mixture_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_experiments_exactly_one_subject"),
        ),
        sa.CheckConstraint(
            "(concentration IS NULL) = (concentration_unit IS NULL)",
            name=op.f("ck_experiments_concentration_has_unit"),
        ),
        sa.CheckConstraint(
            "concentration IS NULL OR concentration >= 0",
            name=op.f("ck_experiments_concentration_nonnegative"),
        ),
        sa.CheckConstraint(
            "cooling_rate_k_per_min IS NULL OR cooling_rate_k_per_min > 0",
            name=op.f("ck_experiments_cooling_rate_positive"),
        ),
        sa.CheckConstraint(
            "uncertainty IS NULL OR uncertainty >= 0",
            name=op.f("ck_experiments_uncertainty_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["mixture_id"],
            ["mixtures.id"],
            name=op.f("fk_experiments_mixture_id_mixtures"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["molecule_id"],
            ["molecules.id"],
            name=op.f("fk_experiments_molecule_id_molecules"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_experiments_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["property", "unit"],
            ["properties.code", "properties.unit"],
            name="fk_experiments_property_unit_properties",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("record_id", name=op.f("uq_experiments_record_id")),
    )
    op.create_index(op.f("ix_experiments_mixture_id"), "experiments", ["mixture_id"], unique=False)
    op.create_index(
        op.f("ix_experiments_molecule_id"), "experiments", ["molecule_id"], unique=False
    )
    op.create_index(op.f("ix_experiments_owner_id"), "experiments", ["owner_id"], unique=False)
    op.create_index(op.f("ix_experiments_source"), "experiments", ["source"], unique=False)
    op.create_index(
        "ix_experiments_property_unit", "experiments", ["property", "unit"], unique=False
    )

    op.create_table(
        "mixture_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mixture_id", sa.Integer(), nullable=False),
        sa.Column("molecule_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "unit IN ('mM', 'M', 'molal', '%w/v', '%v/v', 'mole fraction', 'level')",
            name=op.f("ck_mixture_components_unit"),
        ),
        sa.CheckConstraint(
            "unit NOT IN ('%v/v') OR amount <= 100",
            name=op.f("ck_mixture_components_volume_percent_at_most_100"),
        ),
        sa.CheckConstraint(
            "unit NOT IN ('mole fraction') OR amount <= 1",
            name=op.f("ck_mixture_components_mole_fraction_at_most_one"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_mixture_components_amount_nonnegative")),
        sa.ForeignKeyConstraint(
            ["mixture_id"],
            ["mixtures.id"],
            name=op.f("fk_mixture_components_mixture_id_mixtures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["molecule_id"],
            ["molecules.id"],
            name=op.f("fk_mixture_components_molecule_id_molecules"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mixture_components")),
        sa.UniqueConstraint(
            "mixture_id", "molecule_id", name=op.f("uq_mixture_components_mixture_id_molecule_id")
        ),
    )
    op.create_index(
        op.f("ix_mixture_components_mixture_id"), "mixture_components", ["mixture_id"], unique=False
    )
    op.create_index(
        op.f("ix_mixture_components_molecule_id"),
        "mixture_components",
        ["molecule_id"],
        unique=False,
    )

    op.create_table(
        "molecule_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("molecule_id", sa.Integer(), nullable=False),
        sa.Column("synonym", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["molecule_id"],
            ["molecules.id"],
            name=op.f("fk_molecule_synonyms_molecule_id_molecules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_molecule_synonyms")),
        sa.UniqueConstraint(
            "molecule_id", "synonym", name=op.f("uq_molecule_synonyms_molecule_id_synonym")
        ),
    )
    op.create_index(
        op.f("ix_molecule_synonyms_molecule_id"), "molecule_synonyms", ["molecule_id"], unique=False
    )
    op.create_index(
        op.f("ix_molecule_synonyms_synonym"), "molecule_synonyms", ["synonym"], unique=False
    )

    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("molecule_id", sa.Integer(), nullable=True),
        sa.Column("mixture_id", sa.Integer(), nullable=True),
        sa.Column("concentration", sa.Float(), nullable=True),
        sa.Column("concentration_unit", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("in_domain", sa.Boolean(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(CASE WHEN molecule_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN mixture_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_predictions_exactly_one_subject"),
        ),
        sa.CheckConstraint(
            "(lower IS NULL AND upper IS NULL) OR (lower <= value AND value <= upper)",
            name=op.f("ck_predictions_interval_contains_value"),
        ),
        sa.ForeignKeyConstraint(
            ["mixture_id"],
            ["mixtures.id"],
            name=op.f("fk_predictions_mixture_id_mixtures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_predictions_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["molecule_id"],
            ["molecules.id"],
            name=op.f("fk_predictions_molecule_id_molecules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_predictions_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    op.create_index(op.f("ix_predictions_mixture_id"), "predictions", ["mixture_id"], unique=False)
    op.create_index(
        op.f("ix_predictions_model_version_id"), "predictions", ["model_version_id"], unique=False
    )
    op.create_index(
        op.f("ix_predictions_molecule_id"), "predictions", ["molecule_id"], unique=False
    )
    op.create_index(op.f("ix_predictions_owner_id"), "predictions", ["owner_id"], unique=False)

    op.create_table(
        "lab_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=True),
        sa.Column("verifier_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="planned", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'confirmed', 'refuted', 'inconclusive')",
            name=op.f("ck_lab_verifications_status"),
        ),
        sa.CheckConstraint(
            "completed_at IS NULL OR completed_at >= requested_at",
            name=op.f("ck_lab_verifications_completed_after_requested"),
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_lab_verifications_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
            name=op.f("fk_lab_verifications_prediction_id_predictions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["users.id"],
            name=op.f("fk_lab_verifications_verifier_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_verifications")),
    )
    op.create_index(
        op.f("ix_lab_verifications_experiment_id"),
        "lab_verifications",
        ["experiment_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_lab_verifications_prediction_id"),
        "lab_verifications",
        ["prediction_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_lab_verifications_verifier_id"), "lab_verifications", ["verifier_id"], unique=False
    )

    op.create_table(
        "shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("grantee_id", sa.Integer(), nullable=False),
        sa.Column("molecule_id", sa.Integer(), nullable=True),
        sa.Column("mixture_id", sa.Integer(), nullable=True),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("permission", sa.String(length=8), server_default="read", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("permission IN ('read', 'write')", name=op.f("ck_shares_permission")),
        sa.CheckConstraint(
            "(CASE WHEN molecule_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN mixture_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN experiment_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_shares_exactly_one_target"),
        ),
        sa.CheckConstraint("owner_id <> grantee_id", name=op.f("ck_shares_not_self")),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_shares_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grantee_id"],
            ["users.id"],
            name=op.f("fk_shares_grantee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mixture_id"],
            ["mixtures.id"],
            name=op.f("fk_shares_mixture_id_mixtures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["molecule_id"],
            ["molecules.id"],
            name=op.f("fk_shares_molecule_id_molecules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_shares_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    op.create_index(op.f("ix_shares_experiment_id"), "shares", ["experiment_id"], unique=False)
    op.create_index(op.f("ix_shares_grantee_id"), "shares", ["grantee_id"], unique=False)
    op.create_index(op.f("ix_shares_mixture_id"), "shares", ["mixture_id"], unique=False)
    op.create_index(op.f("ix_shares_molecule_id"), "shares", ["molecule_id"], unique=False)
    op.create_index(op.f("ix_shares_owner_id"), "shares", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_shares_owner_id"), table_name="shares")
    op.drop_index(op.f("ix_shares_molecule_id"), table_name="shares")
    op.drop_index(op.f("ix_shares_mixture_id"), table_name="shares")
    op.drop_index(op.f("ix_shares_grantee_id"), table_name="shares")
    op.drop_index(op.f("ix_shares_experiment_id"), table_name="shares")
    op.drop_table("shares")
    op.drop_index(op.f("ix_lab_verifications_verifier_id"), table_name="lab_verifications")
    op.drop_index(op.f("ix_lab_verifications_prediction_id"), table_name="lab_verifications")
    op.drop_index(op.f("ix_lab_verifications_experiment_id"), table_name="lab_verifications")
    op.drop_table("lab_verifications")
    op.drop_index(op.f("ix_predictions_owner_id"), table_name="predictions")
    op.drop_index(op.f("ix_predictions_molecule_id"), table_name="predictions")
    op.drop_index(op.f("ix_predictions_model_version_id"), table_name="predictions")
    op.drop_index(op.f("ix_predictions_mixture_id"), table_name="predictions")
    op.drop_table("predictions")
    op.drop_index(op.f("ix_molecule_synonyms_synonym"), table_name="molecule_synonyms")
    op.drop_index(op.f("ix_molecule_synonyms_molecule_id"), table_name="molecule_synonyms")
    op.drop_table("molecule_synonyms")
    op.drop_index(op.f("ix_mixture_components_molecule_id"), table_name="mixture_components")
    op.drop_index(op.f("ix_mixture_components_mixture_id"), table_name="mixture_components")
    op.drop_table("mixture_components")
    op.drop_index("ix_experiments_property_unit", table_name="experiments")
    op.drop_index(op.f("ix_experiments_source"), table_name="experiments")
    op.drop_index(op.f("ix_experiments_owner_id"), table_name="experiments")
    op.drop_index(op.f("ix_experiments_molecule_id"), table_name="experiments")
    op.drop_index(op.f("ix_experiments_mixture_id"), table_name="experiments")
    op.drop_table("experiments")
    op.drop_index(op.f("ix_molecules_owner_id"), table_name="molecules")
    op.drop_index(op.f("ix_molecules_name"), table_name="molecules")
    op.drop_table("molecules")
    op.drop_index(op.f("ix_model_versions_property"), table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_index(op.f("ix_mixtures_owner_id"), table_name="mixtures")
    op.drop_table("mixtures")
    op.drop_table("users")
    op.drop_table("properties")
