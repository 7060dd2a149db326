#!/usr/bin/env bash
# Build the service image from the project's Dockerfile with buildah (no Docker daemon), run
# it, and check it answers: GET /health is 200 and POST /predict returns a prediction.
#
#   scripts/build-image.sh base     # only the local base image (kept until 'clean')
#   scripts/build-image.sh build    # the local base image if missing, then the image; its size
#   scripts/build-image.sh smoke    # start the built image, check /health and /predict, stop it
#   scripts/build-image.sh clean    # remove the image, the local base and their containers
#   scripts/build-image.sh all      # build, then smoke
#
# Needs root, buildah and debootstrap (apt-get install buildah debootstrap), and the trained
# models in models/ (`python3 scripts/quickstart.py run`): the Dockerfile copies them in.
#
# Docker Hub is not reachable from the machines the project runs on, so the Dockerfile's base
# (python:3.11-slim-bookworm) is replaced by a local one made the same way: Debian 12 minbase
# from deb.debian.org with Debian's Python 3.11, venv and pip, committed as BASE_IMAGE and given
# to the Dockerfile as its PYTHON_IMAGE build argument. RUN steps reach PyPI with this machine's
# CA certificates, mounted over the image's /etc/ssl/certs at build time only (no layer keeps
# them; the base's /etc/pip.conf points pip at that store).
#
# Settings (environment):
#   IMAGE           the image built         (default localhost/cryoprotect:local)
#   BASE_IMAGE      the local base image    (default localhost/cryoprotect-python:3.11-bookworm)
#   REQUIREMENTS    the locked set installed: service, or operations for the scheduled jobs'
#                   image (default service)
#   STORAGE_DRIVER  buildah's storage       (default vfs: works everywhere, ~1 GB per image)
#   WORK_DIR        the base's root file system and scratch files
#                                           (default ${TMPDIR:-/var/tmp}/cryoprotect-image)
#   PORT            the smoke test's port on the host (default 18000; chroot isolation
#                   shares the host's network)
#   DEBIAN_MIRROR   (default http://deb.debian.org/debian)
#   HOST_CERTS      the host's CA store for the build (default /etc/ssl/certs)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-localhost/cryoprotect:local}"
BASE_IMAGE="${BASE_IMAGE:-localhost/cryoprotect-python:3.11-bookworm}"
STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
WORK_DIR="${WORK_DIR:-${TMPDIR:-/var/tmp}/cryoprotect-image}"
PORT="${PORT:-18000}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CERTS="${HOST_CERTS:-/etc/ssl/certs}"
REQUIREMENTS="${REQUIREMENTS:-service}"
SMOKE_CONTAINER="cryoprotect-smoke"

BUILDAH=(buildah --storage-driver "$STORAGE_DRIVER")

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing; install it with: apt-get install $2"
}

image_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

image_size() {
    "${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$1"
}

# The local stand-in for python:3.11-slim-bookworm: Debian's Python 3.11 with pip and setuptools
# in /usr/local like the official image (not Debian's python3-pip), `python` on PATH, useradd for the
# Dockerfile's service user, and no "externally managed" marker.
make_base() {
    if image_exists "$BASE_IMAGE"; then
        log "base image $BASE_IMAGE exists"
        return
    fi
    need debootstrap debootstrap
    local rootfs="$WORK_DIR/rootfs"
    if [ ! -f "$rootfs/.cryoprotect-base" ]; then
        if [ ! -f "$rootfs/.debootstrapped" ]; then
            rm -rf "$rootfs"
            mkdir -p "$WORK_DIR"
            log "debootstrap Debian 12 into $rootfs (about 2 minutes)"
            nice debootstrap --variant=minbase \
                --include=python3,python3-venv,python-is-python3,passwd,ca-certificates \
                bookworm "$rootfs" "$DEBIAN_MIRROR"
            touch "$rootfs/.debootstrapped"
        fi
        # Debian disables ensurepip for its own Python: pip installs itself from the wheel
        # python3-venv ships, into /usr/local, where python:slim has it.
        rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
        local wheel in_root=(chroot "$rootfs" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin)
        wheel="$(cd "$rootfs/usr/share/python-wheels" && compgen -G 'pip-*.whl' | head -n 1)"
        "${in_root[@]}" python3 "/usr/share/python-wheels/$wheel/pip" install --quiet \
            --root-user-action=ignore --disable-pip-version-check --no-index \
            --find-links /usr/share/python-wheels pip setuptools
        "${in_root[@]}" apt-get clean
        rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
        touch "$rootfs/.cryoprotect-base"
    fi
    # pip trusts the system's CA store (Debian's ca-certificates; at build time the host's,
    # mounted over it), so the registries are reached as from the host.
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
    local container mountpoint
    container="$("${BUILDAH[@]}" from scratch)"
    mountpoint="$("${BUILDAH[@]}" mount "$container")"
    tar -C "$rootfs" --exclude=./.cryoprotect-base --exclude=./.debootstrapped -cf - . | tar -C "$mountpoint" -xf -
    "${BUILDAH[@]}" umount "$container" >/dev/null
    "${BUILDAH[@]}" config \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 \
        --cmd python3 \
        --label "org.opencontainers.image.description=Debian 12 minbase with Python 3.11 (local stand-in for python:3.11-slim-bookworm)" \
        "$container"
    "${BUILDAH[@]}" commit --quiet "$container" "$BASE_IMAGE" >/dev/null
    "${BUILDAH[@]}" rm "$container" >/dev/null
    log "base image: $(image_size "$BASE_IMAGE")"
}

build() {
    need buildah buildah
    for target in tg iri viability; do
        compgen -G "$REPO/models/$target/*/" >/dev/null \
            || die "models/$target has no trained version: run 'python3 scripts/quickstart.py run' first"
    done
    make_base
    [ -f "$HOST_CERTS/ca-certificates.crt" ] \
        || die "no CA bundle at $HOST_CERTS/ca-certificates.crt (set HOST_CERTS)"
    local started=$SECONDS
    log "building $IMAGE from $REPO/Dockerfile on $BASE_IMAGE"
    nice "${BUILDAH[@]}" bud \
        --isolation chroot \
        --file "$REPO/Dockerfile" \
        --build-arg "PYTHON_IMAGE=$BASE_IMAGE" \
        --build-arg "REQUIREMENTS=$REQUIREMENTS" \
        --build-arg "REVISION=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)" \
        --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --volume "$HOST_CERTS:/etc/ssl/certs:ro" \
        --tag "$IMAGE" \
        "$REPO"
    log "built in $((SECONDS - started)) s"
    echo "image size: $(image_size "$IMAGE")"
}

# Runs the built image with chroot isolation (the host's network): `db upgrade`, then
# `cryoprotect serve` in the staging profile on its embedded SQLite database (production refuses
# SQLite; the Docker smoke test in CI runs production against PostgreSQL).
smoke() {
    need buildah buildah
    need curl curl
    image_exists "$IMAGE" || die "no image $IMAGE: run '$0 build' first"
    "${BUILDAH[@]}" rm "$SMOKE_CONTAINER" >/dev/null 2>&1 || true
    "${BUILDAH[@]}" from --name "$SMOKE_CONTAINER" "$IMAGE" >/dev/null
    local run=("${BUILDAH[@]}" run --isolation chroot --env CRYOPROTECT_ENV=staging
               --env CRYOPROTECT_LOG_FORMAT=console "$SMOKE_CONTAINER" --)
    local user
    user="$("${BUILDAH[@]}" inspect --format '{{.OCIv1.Config.User}}' "$IMAGE")"
    [ "$user" = 10001:10001 ] || die "the image runs as '$user', not 10001:10001"
    "${run[@]}" cryoprotect db upgrade
    if [ "$REQUIREMENTS" = operations ]; then  # the scheduled jobs' image runs the health checks
        "${run[@]}" cryoprotect db seed
        "${run[@]}" cryoprotect jobs run --only health --once
        echo "scheduled health check: $("${run[@]}" cryoprotect jobs status --only health 2>&1)"
    fi
    local log_file="$WORK_DIR/serve.log" server
    mkdir -p "$WORK_DIR"
    setsid "${run[@]}" cryoprotect serve --host 127.0.0.1 --port "$PORT" >"$log_file" 2>&1 &
    server=$!
    # shellcheck disable=SC2064 # the server's id is known now
    trap "kill -- -$server 2>/dev/null || true" EXIT
    local status=""
    for _ in $(seq 1 120); do
        status="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health" || true)"
        [ "$status" = 200 ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 1
    done
    if [ "$status" != 200 ]; then
        tail -n 50 "$log_file" >&2
        die "GET /health answered '$status', not 200"
    fi
    echo "GET /health: $status $(curl -fsS "http://127.0.0.1:$PORT/health")"
    local answer
    answer="$(curl -fsS -H 'Content-Type: application/json' \
        -d '{"target": "tg", "smiles": "OCC(O)CO"}' "http://127.0.0.1:$PORT/predict")"
    python3 - "$answer" <<'PY'
import json
import sys

(row,) = json.loads(sys.argv[1])["predictions"]
assert row["error"] is None, row
assert isinstance(row["prediction"], float) and row["lower"] <= row["upper"], row
print(f"POST /predict: Tg of glycerol {row['prediction']:.1f} K [{row['lower']:.1f}, {row['upper']:.1f}]")
PY
    kill -- "-$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    trap - EXIT
    "${BUILDAH[@]}" rm "$SMOKE_CONTAINER" >/dev/null
}

clean() {
    "${BUILDAH[@]}" rm "$SMOKE_CONTAINER" >/dev/null 2>&1 || true
    for image in "$IMAGE" "$BASE_IMAGE"; do
        if image_exists "$image"; then
            "${BUILDAH[@]}" rmi --force "$image" >/dev/null && log "removed $image"
        fi
    done
    # Dangling intermediate images of the builder stage.
    "${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true
    rm -rf "$WORK_DIR"
}

[ "$(id -u)" = 0 ] || die "run as root (buildah's chroot isolation and debootstrap need it)"
case "${1:-}" in
    base) need buildah buildah && make_base ;;
    build) build ;;
    smoke) smoke ;;
    clean) clean ;;
    all) build && smoke ;;
    *) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
