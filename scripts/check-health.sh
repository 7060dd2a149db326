#!/usr/bin/env bash
# Probe the CryoProtect prediction service's health endpoint, for cron jobs and uptime checks.
#
#   scripts/check-health.sh [--url http://127.0.0.1:8000] [--timeout 5] [--ready]
#
# Asks GET <url>/health (liveness), or GET <url>/health/ready with --ready (readiness: database
# reachable, models loaded), and prints one line:
#   OK <url> <http status> <seconds>
#   FAIL <url> <reason>
# Exit status: 0 healthy; 1 unhealthy (an HTTP status other than 200, or a JSON body whose
# "status" is not "ok", which includes a readiness answer of "degraded"); 2 unreachable
# (connection refused, timeout, ...) or a usage error.
# An unhealthy readiness answer lists its checks that are not ok, e.g.
#   FAIL http://127.0.0.1:8000/health/ready HTTP 503, status fail, checks not ok: database=fail
# Needs curl and python3.
set -euo pipefail

usage() {
  echo "usage: $(basename "$0") [--url URL] [--timeout SECONDS] [--ready]"
}

base_url="http://127.0.0.1:8000"
timeout=5
path="/health"

while (($# > 0)); do
  case "$1" in
    --url)
      [[ $# -ge 2 ]] || { usage >&2; exit 2; }
      base_url="$2"
      shift 2
      ;;
    --url=*)
      base_url="${1#--url=}"
      shift
      ;;
    --timeout)
      [[ $# -ge 2 ]] || { usage >&2; exit 2; }
      timeout="$2"
      shift 2
      ;;
    --timeout=*)
      timeout="${1#--timeout=}"
      shift
      ;;
    --ready)
      path="/health/ready"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "unknown argument: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

if [[ ! "$base_url" =~ ^https?://[^[:space:]]+$ ]]; then
  echo "--url must be an http:// or https:// URL, got: $base_url" >&2
  exit 2
fi
if [[ ! "$timeout" =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ "$timeout" =~ ^0+([.]0+)?$ ]]; then
  echo "--timeout must be a positive number of seconds, got: $timeout" >&2
  exit 2
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing" >&2; exit 2; }
done

url="${base_url%/}${path}"
body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT

# curl exits non-zero only when no HTTP answer came back; any HTTP status is judged below.
curl_status=0
curl_output="$(
  curl --silent --show-error --max-time "$timeout" --connect-timeout "$timeout" \
    --output "$body_file" --write-out '%{http_code} %{time_total}' \
    --header 'Accept: application/json' "$url" 2>&1
)" || curl_status=$?

if ((curl_status != 0)); then
  case "$curl_status" in
    7) reason="connection refused" ;;
    28) reason="timed out after ${timeout}s" ;;
    6) reason="could not resolve host" ;;
    *) reason="curl exit ${curl_status}: $(tail -n 1 <<<"$curl_output")" ;;
  esac
  echo "FAIL $url unreachable: $reason"
  exit 2
fi

read -r http_status seconds <<<"$curl_output"

# The body's "status" field (line 1) and the readiness checks that are not ok, as
# name=status (line 2).
body_summary="$(
  python3 - "$body_file" <<'PY'
import json
import sys

try:
    with open(sys.argv[1], encoding="utf-8") as handle:
        body = json.load(handle)
except (OSError, ValueError):
    body = None
if not isinstance(body, dict):
    print("<no JSON object>")
    print("")
    sys.exit(0)
status = body.get("status")
not_ok = []
checks = body.get("checks")
if isinstance(checks, dict):
    for name, check in sorted(checks.items()):
        value = check.get("status") if isinstance(check, dict) else check
        if value not in ("ok", True):
            not_ok.append(f"{name}={value}")
print("<no status field>" if status is None else str(status).replace("\n", " "))
print(",".join(not_ok).replace("\n", " "))
PY
)"
body_status="$(sed -n 1p <<<"$body_summary")"
checks_not_ok="$(sed -n 2p <<<"$body_summary")"
detail="status ${body_status}"
if [[ -n "$checks_not_ok" ]]; then
  detail+=", checks not ok: ${checks_not_ok}"
fi

if [[ "$http_status" != "200" || "$body_status" != "ok" ]]; then
  echo "FAIL $url HTTP ${http_status}, ${detail}"
  exit 1
fi
echo "OK $url $http_status $seconds"
