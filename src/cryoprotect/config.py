"""Settings, read once from the environment (prefix ``CRYOPROTECT_``) and an optional ``.env``.

Every other module receives a :class:`Settings` object (or the values it needs) from its
caller; only the faces (CLI, service, notebooks) call :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def find_project_root() -> Path:
    """Return the checkout this package runs from, or the working directory for a plain install.

    The package lives at ``<root>/src/cryoprotect``; a checkout is recognised by the
    ``pyproject.toml`` beside ``src``.
    """
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file() and (candidate / "src" / "cryoprotect").is_dir():
        return candidate
    return Path.cwd()


PROJECT_ROOT = find_project_root()


class Settings(BaseSettings):
    """All settings of CryoProtect; environment variables are ``CRYOPROTECT_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="CRYOPROTECT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    root_dir: Path = Field(default=PROJECT_ROOT, description="The project checkout.")
    database_url: str = Field(
        default="",
        description="Any SQLAlchemy URL; empty means the SQLite file data/cryoprotect.db.",
    )
    reference_dir: Path | None = Field(
        default=None, description="Curated reference tables; default <root>/data/reference."
    )
    models_dir: Path | None = Field(
        default=None, description="Model registry; default <root>/models."
    )
    cache_dir: Path | None = Field(
        default=None, description="Feature cache; default <root>/data/cache."
    )
    optuna_storage: str = Field(
        default="", description="Optuna storage URL; empty means the SQLite file data/optuna.db."
    )
    backup_dir: str = Field(
        default="",
        description="Where backups go: a folder or an fsspec URL (s3://bucket/prefix); "
        "empty means <root>/data/backups.",
    )
    backup_storage_options: dict = Field(
        default_factory=dict,
        description='fsspec options of the backup store, as JSON, e.g. {"endpoint_url": ...}.',
    )
    backup_keep_last: int = Field(default=7, ge=1, description="Backups prune keeps: newest N.")
    backup_keep_daily: int = Field(default=7, ge=0, description="...and the newest per day.")
    backup_keep_weekly: int = Field(default=4, ge=0, description="...and the newest per week.")
    backup_keep_monthly: int = Field(default=6, ge=0, description="...and per month.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    log_file: Path | None = Field(
        default=None, description="Also write log lines to this file (rotated by size)."
    )
    log_max_bytes: int = Field(default=10_000_000, ge=1024, description="Rotate the log file here.")
    log_backups: int = Field(default=7, ge=0, description="Rotated log files kept.")
    ready_min_free_disk: float = Field(
        default=0.05, ge=0, le=1, description="/health/ready fails below this free disk share."
    )
    ready_max_backup_age_hours: float = Field(
        default=26, gt=0, description="/health/ready warns when the newest backup is older."
    )
    ready_max_health_age_hours: float = Field(
        default=26, gt=0, description="/health/ready warns when the newest health check is older."
    )
    prediction_cache_size: int = Field(
        default=100_000, ge=0, description="Results the service keeps for repeated subjects."
    )
    prediction_confidence: float = Field(
        default=0.9, gt=0, lt=1, description="Coverage of the intervals the service returns."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the setting, or the embedded SQLite default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.root_dir / 'data' / 'cryoprotect.db'}"

    @property
    def resolved_models_dir(self) -> Path:
        """The model registry folder."""
        return self.models_dir or self.root_dir / "models"

    @property
    def resolved_cache_dir(self) -> Path:
        """The feature cache folder."""
        return self.cache_dir or self.root_dir / "data" / "cache"

    @property
    def resolved_optuna_storage(self) -> str:
        """The Optuna storage URL in force."""
        return self.optuna_storage or f"sqlite:///{self.root_dir / 'data' / 'optuna.db'}"

    @property
    def resolved_backup_dir(self) -> str:
        """The backup store in force: the setting, or the folder data/backups."""
        return self.backup_dir or str(self.root_dir / "data" / "backups")

    @property
    def resolved_reference_dir(self) -> Path:
        """The directory holding the curated reference tables."""
        return self.reference_dir or self.root_dir / "data" / "reference"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
