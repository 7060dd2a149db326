"""Settings, read once from the environment (prefix ``CRYOPROTECT_``) and an optional ``.env``.

Every other module receives a :class:`Settings` object (or the values it needs) from its
caller; only the faces (CLI, service, notebooks) call :func:`get_settings`.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

from cryoprotect.resources import checkout_root, resource_dir


def find_project_root() -> Path:
    """Return the checkout this package runs from, or the working directory for a plain install."""
    return checkout_root() or Path.cwd()


PROJECT_ROOT = find_project_root()


SECRETS_DIR = "/run/secrets"
"""Docker and Kubernetes mount secrets here; a file named like a variable (e.g.
``cryoprotect_database_url``) sets that setting."""
DEFAULT_PASSWORDS = frozenset(
    {"postgres", "password", "changeme", "cryoprotect", "secret", "admin"}
)
"""Passwords production refuses: the defaults of images, examples and tutorials."""


class FileVariables(EnvSettingsSource):
    """Settings read from the file a ``CRYOPROTECT_<NAME>_FILE`` variable names (Docker style).

    The file's text, without its final line break, is the value. Setting both
    ``CRYOPROTECT_<NAME>`` and ``CRYOPROTECT_<NAME>_FILE`` is an error.
    """

    def __call__(self) -> dict:
        """Return the values of every setting given through a ``_FILE`` variable."""
        found = {}
        environ = {k.upper(): v for k, v in os.environ.items()}
        for name, info in self.settings_cls.model_fields.items():
            variable = f"CRYOPROTECT_{name.upper()}"
            path = environ.get(f"{variable}_FILE")
            if not path:
                continue
            if variable in environ:
                raise ValueError(f"set {variable} or {variable}_FILE, not both")
            try:
                text = Path(path).read_text(encoding="utf-8").removesuffix("\n")
            except OSError as error:
                raise ValueError(f"{variable}_FILE: cannot read {path}: {error.strerror}") from None
            found[name] = json.loads(text) if info.annotation is dict else text
        return found


class Settings(BaseSettings):
    """All settings of CryoProtect; environment variables are ``CRYOPROTECT_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="CRYOPROTECT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        secrets_dir=SECRETS_DIR,
    )

    env: Literal["development", "staging", "production"] = Field(
        default="development",
        description="Profile: development (console logs), staging and production (JSON logs); "
        "production refuses the SQLite default and default passwords.",
    )
    root_dir: Path = Field(default=PROJECT_ROOT, description="The project checkout.")
    database_url: str = Field(
        default="",
        repr=False,
        description="Any SQLAlchemy URL; empty means the SQLite file data/cryoprotect.db. "
        "A secret when it holds a password: give it as CRYOPROTECT_DATABASE_URL_FILE.",
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
        repr=False,
        description='fsspec options of the backup store, as JSON, e.g. {"endpoint_url": ...}.',
    )
    backup_keep_last: int = Field(default=7, ge=1, description="Backups prune keeps: newest N.")
    backup_keep_daily: int = Field(
        default=7,
        ge=0,
        description="Backups prune also keeps the newest of each of the last N days.",
    )
    backup_keep_weekly: int = Field(
        default=4,
        ge=0,
        description="Backups prune also keeps the newest of each of the last N weeks.",
    )
    backup_keep_monthly: int = Field(
        default=6,
        ge=0,
        description="Backups prune also keeps the newest of each of the last N months.",
    )
    backup_replay_user: str = Field(
        default="postgres",
        description="OS user that runs the private PostgreSQL server of a point-in-time "
        "restore when cryoprotect runs as root (PostgreSQL refuses to run as root).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log lines written."
    )
    log_format: Literal["console", "json"] = Field(
        default="console",
        description="console (readable) or json (one object per line); staging and production "
        "default to json.",
    )
    progress: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Progress bars of long commands on standard error: auto (only to a "
        "terminal and never with --format json), always, or never.",
    )
    schedule_backup_hours: float = Field(
        default=24,
        gt=0,
        description="Hours between the backup and prune rounds of 'cryoprotect jobs run'.",
    )
    schedule_health_hours: float = Field(
        default=24,
        gt=0,
        description="Hours between the health checks of 'cryoprotect jobs run'.",
    )
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
    database_connect_timeout: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Seconds to wait for the database to accept a connection (PostgreSQL).",
    )
    ready_check_interval: float = Field(
        default=5,
        gt=0,
        description="Seconds between the service's background checks of the database.",
    )
    service_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Predictor processes of the service (each loads the models; serve --workers).",
    )
    prediction_time_limit: float = Field(
        default=30,
        gt=0,
        description="Seconds a prediction request may take; then 504 and its work is stopped.",
    )
    prediction_max_waiting: int = Field(
        default=10_000,
        ge=1,
        description="Items that may wait for a predictor; more get 503 until the queue drains.",
    )
    max_request_bytes: int = Field(
        default=2_000_000,
        ge=1024,
        description="Largest request body the service reads; larger ones get 413.",
    )
    prediction_cache_size: int = Field(
        default=100_000, ge=0, description="Results the service keeps for repeated subjects."
    )
    prediction_confidence: float = Field(
        default=0.9, gt=0, lt=1, description="Coverage of the intervals the service returns."
    )
    service_user_header: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9-]*$",
        description="Request header naming the user a prediction request acts for (e.g. "
        "X-Forwarded-User), set by the authenticating proxy in front of the service, which "
        "must overwrite it on every request; such requests are recorded in the predictions "
        "table for that user. Unset: requests act for nobody and nothing is recorded.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _profile(self) -> Settings:
        if self.env != "development" and "log_format" not in self.model_fields_set:
            self.log_format = "json"
        problems = self.refusals()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read, in this order: arguments, environment, ``*_FILE`` files, ``.env``, secrets."""
        sources = (init_settings, env_settings, FileVariables(settings_cls), dotenv_settings)
        return (*sources, file_secret_settings) if Path(SECRETS_DIR).is_dir() else sources

    def refusals(self) -> list[str]:
        """Return why these settings may not run in their profile (only production refuses)."""
        if self.env != "production":
            return []
        if not self.database_url or make_url(self.database_url).get_backend_name() == "sqlite":
            return [
                "production needs a PostgreSQL database: set CRYOPROTECT_DATABASE_URL or "
                "CRYOPROTECT_DATABASE_URL_FILE (the SQLite default is for one user on one machine)"
            ]
        password = make_url(self.database_url).password
        if not password or password.lower() in DEFAULT_PASSWORDS:
            return ["production refuses a database URL with an empty or default password"]
        return []

    def public(self) -> dict:
        """Return the settings that may be logged: secrets left out, passwords masked."""
        url = make_url(self.resolved_database_url).render_as_string(hide_password=True)
        return {
            "env": self.env,
            "database": url,
            "models_dir": str(self.resolved_models_dir),
            "backup_dir": self.resolved_backup_dir,
            "log_level": self.log_level,
            "log_format": self.log_format,
        }

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
        """The directory holding the curated reference tables.

        The setting, else the project's ``data/reference``; outside a project (an installed
        package run elsewhere) the copy the package carries.
        """
        if self.reference_dir:
            return self.reference_dir
        project = self.root_dir / "data" / "reference"
        return project if project.is_dir() else resource_dir("reference")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
