#!/usr/bin/env bash
# Build .dvc/plots/offline.html, the page `dvc plots show` fills: DVC's default page loads
# vega, vega-lite and vega-embed from a CDN and stays blank offline, so this one inlines them.
# Needs npm and access to the npm registry; the result is committed, so users need neither.
#   scripts/build-offline-plots-template.sh && dvc config plots.html_template plots/offline.html
set -euo pipefail

VERSIONS=(vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0)
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/.dvc/plots/offline.html"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

npm install --silent --prefix "$WORK" "${VERSIONS[@]}"
mkdir -p "$(dirname "$OUT")"
{
  printf '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
  printf '{refresh_tag}\n<title>CryoProtect plots (DVC)</title>\n'
  printf '<!-- %s, inlined from npm -->\n' "${VERSIONS[*]}"
  for bundle in vega/build/vega.min.js vega-lite/build/vega-lite.min.js \
      vega-embed/build/vega-embed.min.js; do
    printf '<script>\n'
    cat "$WORK/node_modules/$bundle"
    printf '\n</script>\n'
  done
  printf '<style>table { border-spacing: 15px; }</style>\n</head>\n<body>\n{plot_divs}\n</body>\n</html>\n'
} > "$OUT"
echo "wrote $OUT"
