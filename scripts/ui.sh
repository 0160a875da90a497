#!/usr/bin/env bash
# Fetches the web UI's one third-party library, the uPlot chart (npm, version and sha512 pinned
# in ui/package-lock.json), and copies it into ui/app/vendor/ (git-ignored), which the app
# embeds at build time. Idempotent: with the files in place it runs nothing.
set -euo pipefail
cd "$(dirname "$0")/../ui"
vendor=app/vendor
want=$(python3 -c 'import json; print(json.load(open("package-lock.json"))["packages"]["node_modules/uplot"]["version"])')
have=$(cat "$vendor/VERSION" 2>/dev/null || true)
if [ "$have" = "uplot@$want" ] && [ -f "$vendor/uPlot.iife.min.js" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "ui.sh: npm is missing (apt install npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error >&2
mkdir -p "$vendor"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$vendor/"
cp node_modules/uplot/LICENSE "$vendor/uPlot.LICENSE"
echo "uplot@$want" >"$vendor/VERSION"
echo "ui.sh: uPlot $want in ui/$vendor" >&2
