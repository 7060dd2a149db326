#!/usr/bin/env bash
# Deploy a release to the green instance: back up, migrate, start, health gate, switch nginx.
#   scripts/deploy-green.sh RELEASE_FOLDER   (see scripts/deploy-lib.sh for the layout)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=deploy-lib.sh
source "$(dirname "$0")/deploy-lib.sh"
deploy green "$@"
