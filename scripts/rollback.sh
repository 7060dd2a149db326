#!/usr/bin/env bash
# Send traffic back to the previous colour (started again if it stopped); with
# --restore-backup, first restore the database backup taken before the last deployment.
#   scripts/rollback.sh [--restore-backup]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=deploy-lib.sh
source "$(dirname "$0")/deploy-lib.sh"
rollback "$@"
