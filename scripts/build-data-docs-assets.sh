#!/usr/bin/env bash
# Fetch the styles, scripts and fonts that Great Expectations' Data Docs pages load from CDNs,
# into src/cryoprotect/health/data_docs_assets/, so that the pages render offline
# (cryoprotect.health.data_docs points the pages at these copies). The versions are the ones
# great-expectations 1.24's page templates name. Needs npm and the npm registry; the result is
# committed, so users need neither. Rerun it when a new great-expectations names other versions.
set -euo pipefail

PACKAGES=(
  bootstrap@4.3.1
  @forevolve/bootstrap-dark@1.1.0
  jquery@3.7.1
  popper.js@1.12.9
  bootstrap-table@1.19.1
  bootstrap-datepicker@1.9.0
  @fortawesome/fontawesome-free@6.6.0
  vega@5.33.1
  vega-lite@5.23.0
  vega-embed@6.29.0
)
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/src/cryoprotect/health/data_docs_assets"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

npm install --silent --legacy-peer-deps --prefix "$WORK" "${PACKAGES[@]}"
M="$WORK/node_modules"
rm -rf "$OUT"
mkdir -p "$OUT/fontawesome/css" "$OUT/fontawesome/webfonts" "$OUT/licenses"
cp "$M/bootstrap/dist/css/bootstrap.min.css" "$M/bootstrap/dist/js/bootstrap.min.js" \
  "$M/@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.min.css" \
  "$M/jquery/dist/jquery.min.js" "$M/popper.js/dist/umd/popper.min.js" \
  "$M/bootstrap-table/dist/bootstrap-table.min.css" "$M/bootstrap-table/dist/bootstrap-table.min.js" \
  "$M/bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css" \
  "$M/bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js" \
  "$M/bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css" \
  "$M/bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js" \
  "$M/vega/build/vega.min.js" "$M/vega-lite/build/vega-lite.min.js" \
  "$M/vega-embed/build/vega-embed.min.js" "$OUT/"
cp "$M/@fortawesome/fontawesome-free/css/all.min.css" "$OUT/fontawesome/css/"
cp "$M"/@fortawesome/fontawesome-free/webfonts/*.woff2 "$OUT/fontawesome/webfonts/"
for package in bootstrap @forevolve/bootstrap-dark jquery popper.js bootstrap-table \
    bootstrap-datepicker @fortawesome/fontawesome-free vega vega-lite vega-embed; do
  license="$(find "$M/$package" -maxdepth 1 -iname 'licen[cs]e*' | head -n 1)"
  name="${package//\//-}"
  if [[ -n "$license" ]]; then
    cp "$license" "$OUT/licenses/${name#@}.txt"
  else  # popper.js and vega ship their license in package.json only
    node -e "const p = require('$M/$package/package.json'); \
      console.log(p.name + ' ' + p.version + ': ' + p.license + ', (c) ' + \
      (typeof p.author === 'string' ? p.author : (p.author || {}).name))" \
      > "$OUT/licenses/${name#@}.txt"
  fi
done
{
  echo "Copies of the files Great Expectations' Data Docs pages load from CDNs, from npm:"
  for package in "${PACKAGES[@]}"; do echo "- $package"; done
  echo "Written by scripts/build-data-docs-assets.sh; licenses in licenses/."
} > "$OUT/README.md"
echo "wrote $OUT ($(du -sh "$OUT" | cut -f1))"
