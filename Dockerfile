# syntax=docker/dockerfile:1
#
# The CryoProtect prediction service (`cryoprotect serve`) and its command line.
#
#   python3 scripts/quickstart.py run          # the pipeline builds models/<target>/<version>/
#   docker build -t cryoprotect:latest .
#   docker run --rm -p 8000:8000 \
#     -v "$PWD/secrets/database_url:/run/secrets/database_url:ro" \
#     -e CRYOPROTECT_DATABASE_URL_FILE=/run/secrets/database_url cryoprotect:latest
#
# The image runs in the production profile (CRYOPROTECT_ENV=production): it refuses to start
# on the embedded SQLite database or a default database password. Secrets never enter the
# image: give each at run time as a file named by CRYOPROTECT_<NAME>_FILE (Docker or compose
# secrets under /run/secrets/). `docker run IMAGE db upgrade` migrates the database; any other
# CLI command works the same way (`backup create`, `predict`, ...). The scheduled jobs' image,
# which also runs `cryoprotect health`, is built from the `operations` set (the service set
# with Great Expectations): `docker build --build-arg REQUIREMENTS=operations -t
# cryoprotect-operations:latest .` (compose.yaml builds it for its scheduled-* services).

# Debian 12 (bookworm), like the development and CI machines: its postgresql-client-15 matches
# the PostgreSQL 15 server, so `cryoprotect backup create|restore` (pg_dump/pg_restore) work.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The locked set installed: service (the HTTP service and CLI) or operations (also health).
ARG REQUIREMENTS=service

# ---------------------------------------------------------------------------------------------
# builder: the pinned dependencies and the package, in a virtual environment under /opt/venv.
# Every locked package of the service set ships a manylinux wheel for CPython 3.11, so no
# compiler is needed here; add build-essential to this stage if a future pin needs one.
FROM ${PYTHON_IMAGE} AS builder
ARG REQUIREMENTS

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /app

# The dependencies first (their own layer, reused while the lock is unchanged): the locked
# service set, every package at its locked version and hash (requirements/service.txt, exported
# from uv.lock; no workbench, test or development tools), or the operations set.
COPY requirements/${REQUIREMENTS}.txt /tmp/requirements.txt
RUN pip install --require-hashes --no-deps --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the package itself, installed in place from /app/src: the code and the project folder
# (migrations/, params.yaml, models/) stay together, so `cryoprotect` finds them from any
# working directory. Nothing is installed at run time, so the installers the venv was created
# with go (Python 3.11's bundled setuptools has known vulnerabilities the image scan reports).
# The build backend (hatchling) needs pyproject.toml and every file its wheel force-includes:
# the migrations, the reference tables and the Great Expectations project files.
COPY pyproject.toml README.md ./
COPY src/ src/
COPY migrations/ migrations/
COPY data/reference/ data/reference/
COPY gx/great_expectations.yml gx/
COPY gx/expectations/ gx/expectations/
COPY gx/checkpoints/ gx/checkpoints/
COPY gx/validation_definitions/ gx/validation_definitions/
RUN pip install --no-deps --editable . \
    && pip uninstall --yes setuptools pip

# ---------------------------------------------------------------------------------------------
# runtime: the virtual environment, the code, the migrations and the trained models; no
# compilers, no pip cache, no secrets, a fixed non-root user.
FROM ${PYTHON_IMAGE} AS runtime

# Shared libraries the wheels need beyond the slim base: RDKit's drawing code (rdMolDraw2D,
# imported by rdkit.Chem.Draw and the dashboard's depictions) links libX11, libXext and
# libXrender; numba's OpenMP thread pool (pulled in by shap) links libgomp. PostgreSQL backups
# run pg_dump/pg_restore (postgresql-client-15). Versions come with the base image's Debian
# release; rebuild the image to pick up security updates. The base image's own build tools
# (setuptools, wheel) are not needed to run anything and go too.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends \
       libx11-6 libxext6 libxrender1 libgomp1 postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/* \
    && python -m pip uninstall --yes --root-user-action=ignore setuptools wheel

RUN groupadd --gid 10001 cryoprotect \
    && useradd --uid 10001 --gid cryoprotect --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin cryoprotect

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    CRYOPROTECT_ENV=production \
    CRYOPROTECT_ROOT_DIR=/app \
    CRYOPROTECT_MODELS_DIR=/app/models \
    CRYOPROTECT_LOG_FORMAT=json \
    MPLCONFIGDIR=/tmp/matplotlib \
    NUMBA_CACHE_DIR=/tmp/numba

WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
COPY pyproject.toml README.md params.yaml ./
COPY src/ src/
COPY migrations/ migrations/
COPY data/reference/ data/reference/
COPY models/ models/
# The Great Expectations project the health checks read (suites, checkpoints; read only).
COPY gx/great_expectations.yml gx/
COPY gx/expectations/ gx/expectations/
COPY gx/checkpoints/ gx/checkpoints/
COPY gx/validation_definitions/ gx/validation_definitions/

# Fail the build when the pipeline has not produced a model for every target, and compile the
# package's bytecode now (PYTHONDONTWRITEBYTECODE stops it being written at run time).
# The service user may write to data/ (backups, feature cache) and reports/ (health reports)
# only; the code, the models and the curated tables in data/reference/ stay root's.
RUN for target in tg iri viability; do \
        ls -d "models/$target"/*/ >/dev/null 2>&1 \
        || { echo "models/$target has no trained version: run 'python3 scripts/quickstart.py run' before building" >&2; exit 1; }; \
    done \
    && python -m compileall -q src \
    && mkdir -p data/backups data/cache reports \
    && chown cryoprotect:cryoprotect data data/backups data/cache reports

USER 10001:10001

EXPOSE 8000

# Liveness only (the process answers HTTP); readiness, which also needs the database and the
# models, is GET /health/ready. python:slim has no curl: urllib does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]

# Build metadata last: an ARG that changes on every commit (REVISION) would otherwise invalidate
# the cache of every RUN after it.
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="cryoprotect" \
      org.opencontainers.image.description="CryoProtect prediction service: Tg, ice recrystallization inhibition and post-thaw viability models over HTTP" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

ENTRYPOINT ["cryoprotect"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
