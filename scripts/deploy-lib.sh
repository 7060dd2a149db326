#!/usr/bin/env bash
# Blue/green deployment of the CryoProtect service on one host, behind nginx.
# Sourced by deploy-blue.sh, deploy-green.sh and rollback.sh; not run on its own.
#
# Layout under CRYOPROTECT_DEPLOY_ROOT (default /srv/cryoprotect):
#   deploy.env            settings shared by both colours (CRYOPROTECT_* variables, secrets as
#                         *_FILE paths), and optionally BLUE_PORT, GREEN_PORT, READY_TIMEOUT,
#                         NGINX_TEST, NGINX_RELOAD
#   nginx/upstream.conf   written here: the live colour's address, included by nginx
#   state/live            the colour nginx sends traffic to
#   state/<colour>.release  the release folder each colour runs
#   state/backup          the backup taken before the latest deployment
#   run/<colour>.pid      log/<colour>.log
# A release is a project folder with models/ and its own .venv (cryoprotect installed); a
# release without .venv gets one from requirements/service.txt (the lock) before it starts.

set -euo pipefail

DEPLOY_ROOT="${CRYOPROTECT_DEPLOY_ROOT:-/srv/cryoprotect}"

say() { printf '%s deploy: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

load_config() {
  [[ -f "$DEPLOY_ROOT/deploy.env" ]] || die "$DEPLOY_ROOT/deploy.env is missing"
  set -a
  # shellcheck source=/dev/null
  source "$DEPLOY_ROOT/deploy.env"
  set +a
  BLUE_PORT="${BLUE_PORT:-8001}"
  GREEN_PORT="${GREEN_PORT:-8002}"
  READY_TIMEOUT="${READY_TIMEOUT:-120}"
  NGINX_TEST="${NGINX_TEST:-nginx -t -q}"
  NGINX_RELOAD="${NGINX_RELOAD:-nginx -s reload}"
  mkdir -p "$DEPLOY_ROOT"/{nginx,state,run,log}
}

port_of() {
  case "$1" in
    blue) echo "$BLUE_PORT" ;;
    green) echo "$GREEN_PORT" ;;
    *) die "unknown colour '$1' (blue or green)" ;;
  esac
}

other_of() { [[ "$1" == blue ]] && echo green || echo blue; }

live_colour() { cat "$DEPLOY_ROOT/state/live" 2>/dev/null || true; }

running() {
  local pidfile="$DEPLOY_ROOT/run/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

cli() {  # cli RELEASE ARGS...: run the release's cryoprotect command with the shared settings
  local release="$1"
  shift
  CRYOPROTECT_ROOT_DIR="$release" "$release/.venv/bin/cryoprotect" "$@"
}

start_colour() {  # start_colour COLOUR RELEASE
  local colour="$1" release="$2" port
  port="$(port_of "$colour")"
  stop_colour "$colour"
  say "starting $colour on 127.0.0.1:$port from $release"
  CRYOPROTECT_ROOT_DIR="$release" CRYOPROTECT_LOG_FILE="$DEPLOY_ROOT/log/$colour.log" \
    setsid "$release/.venv/bin/cryoprotect" serve --host 127.0.0.1 --port "$port" \
    >>"$DEPLOY_ROOT/log/$colour.out" 2>&1 </dev/null &
  echo $! >"$DEPLOY_ROOT/run/$colour.pid"
}

stop_colour() {
  local pidfile="$DEPLOY_ROOT/run/$1.pid" pid
  running "$1" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  say "stopping $1 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

wait_ready() {  # wait_ready COLOUR: 0 once /health/ready answers 200; 1 on timeout, exit or no models
  local colour="$1" url deadline body code
  url="http://127.0.0.1:$(port_of "$colour")/health/ready"
  deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    running "$colour" || { say "$colour exited while starting (see $DEPLOY_ROOT/log/$colour.out)"; return 1; }
    # one request: the body, then the status code on a line of its own
    body="$(curl -sS --max-time 5 -w '\n%{http_code}' "$url" 2>/dev/null || true)"
    code="${body##*$'\n'}"
    body="${body%$'\n'*}"
    if [[ "$code" == 200 ]]; then
      say "$colour is ready: $body"
      return 0
    fi
    # the service loads its models before it answers: once it says they failed, they stay failed
    if [[ "$body" =~ \"models\":\ ?\{\"status\":\ ?\"fail\" ]]; then
      say "$colour cannot serve: $body"
      return 1
    fi
    sleep 0.5
  done
  body="$(curl -sS --max-time 5 "$url" 2>&1 || true)"
  say "$colour did not become ready within ${READY_TIMEOUT}s: $body"
  return 1
}

switch_to() {  # switch_to COLOUR: point nginx at COLOUR and reload it gracefully
  local colour="$1" upstream="$DEPLOY_ROOT/nginx/upstream.conf" previous=""
  [[ -f "$upstream" ]] && previous="$(cat "$upstream")"
  printf '# written by scripts/deploy-lib.sh: the live colour is %s\nserver 127.0.0.1:%s;\n' \
    "$colour" "$(port_of "$colour")" >"$upstream.new"
  mv "$upstream.new" "$upstream"
  if ! $NGINX_TEST; then
    [[ -n "$previous" ]] && printf '%s\n' "$previous" >"$upstream"
    die "nginx rejected the configuration; traffic is unchanged"
  fi
  $NGINX_RELOAD
  echo "$colour" >"$DEPLOY_ROOT/state/live"
  say "traffic now goes to $colour"
}

install_release() {  # install_release RELEASE: its .venv from the locked service set, if missing
  local release="$1" pip
  [[ -x "$release/.venv/bin/cryoprotect" ]] && return 0
  [[ -f "$release/requirements/service.txt" ]] \
    || die "$release has neither .venv/bin/cryoprotect nor requirements/service.txt"
  say "installing $release/.venv from requirements/service.txt (the locked service set)"
  python3 -m venv "$release/.venv"
  pip=("$release/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps)
  "${pip[@]}" --require-hashes --requirement "$release/requirements/service.txt"
  "${pip[@]}" --editable "$release"
}

deploy() {  # deploy COLOUR RELEASE
  local colour="$1" release="${2:-}" backup
  [[ -n "$release" ]] || die "usage: deploy-$colour.sh RELEASE_FOLDER"
  release="$(cd "$release" && pwd)"
  load_config
  [[ "$(live_colour)" != "$colour" ]] || die "$colour is live; deploy to $(other_of "$colour")"
  install_release "$release"
  say "backing up the database before deploying $release to $colour"
  backup="$(cli "$release" backup create --format json)"
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$backup" \
    >"$DEPLOY_ROOT/state/backup"
  say "migrating the database (migrations are expand-only: the live colour keeps working)"
  cli "$release" db upgrade
  start_colour "$colour" "$release"
  if ! wait_ready "$colour"; then
    stop_colour "$colour"
    die "health gate failed: $colour stopped, traffic stays on $(live_colour || echo none)"
  fi
  echo "$release" >"$DEPLOY_ROOT/state/$colour.release"
  switch_to "$colour"
  say "deployed $release to $colour; $(other_of "$colour") keeps running for rollback"
}

rollback() {  # rollback [--restore-backup]
  local restore="" live previous release
  [[ "${1:-}" == "--restore-backup" ]] && restore=yes
  [[ -z "${1:-}" || -n "$restore" ]] || die "usage: rollback.sh [--restore-backup]"
  load_config
  live="$(live_colour)"
  [[ -n "$live" ]] || die "nothing is live yet"
  previous="$(other_of "$live")"
  release="$(cat "$DEPLOY_ROOT/state/$previous.release" 2>/dev/null || true)"
  [[ -n "$release" ]] || die "$previous has never been deployed: nothing to roll back to"
  if ! running "$previous"; then
    start_colour "$previous" "$release"
  fi
  wait_ready "$previous" || die "$previous is not ready; traffic stays on $live"
  if [[ -n "$restore" ]]; then
    local id
    id="$(cat "$DEPLOY_ROOT/state/backup")"
    say "restoring backup $id taken before the last deployment"
    cli "$release" backup restore "$id" --force
  fi
  switch_to "$previous"
  say "rolled back to $previous ($release); $live keeps running until the next deployment"
}
