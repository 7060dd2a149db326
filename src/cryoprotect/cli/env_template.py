"""The ``.env.template`` file: every setting with its description and default, from the code."""

from __future__ import annotations

import textwrap

from cryoprotect.config import SECRETS_DIR, Settings

SECRET_SETTINGS = ("database_url", "backup_storage_options")
"""Settings that may hold credentials: give them as files."""
HEADER = f"""\
# CryoProtect settings. Copy to .env (development) or give them as environment variables.
# Every setting is CRYOPROTECT_<NAME>. Secrets are better given as a file: set
# CRYOPROTECT_<NAME>_FILE=/path/to/file (the file's text is the value), or mount a file named
# cryoprotect_<name> in {SECRETS_DIR} (Docker and Kubernetes secrets). Values never go to logs.
# Profiles (CRYOPROTECT_ENV): development (default), staging, production. Staging and
# production log JSON; production refuses the SQLite default and empty or default passwords.
# This file is generated: cryoprotect config template > .env.template
"""
FOOTER = """\
# The deployment scripts (scripts/deploy-blue.sh, deploy-green.sh, rollback.sh) read
# CRYOPROTECT_DEPLOY_ROOT (default /srv/cryoprotect) and, from its deploy.env, these settings
# plus BLUE_PORT, GREEN_PORT, READY_TIMEOUT, NGINX_TEST and NGINX_RELOAD.
"""


def _default(name: str, info) -> str:
    if name == "root_dir":
        return "(this checkout)"
    value = info.default_factory() if info.default_factory is not None else info.default
    return "(empty)" if value in (None, "", {}) else str(value)


def render() -> str:
    """Return the text of ``.env.template``."""
    parts = [HEADER]
    for name, info in Settings.model_fields.items():
        variable = f"CRYOPROTECT_{name.upper()}"
        lines = [f"# {line}" for line in textwrap.wrap(info.description or "", 94)]
        if name in SECRET_SETTINGS:
            lines.append(f"# Secret: prefer {variable}_FILE.")
        lines.append(f"# default: {_default(name, info)}")
        lines.append(f"{variable}=development" if name == "env" else f"# {variable}=")
        parts.append("\n".join(lines) + "\n")
    parts.append(FOOTER)
    return "\n".join(parts)
