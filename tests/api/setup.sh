#!/usr/bin/env bash
# Sets up (once) a venv with the official `openai` Python client from PyPI for the API tests,
# in .cache/api-client of the checkout, and prints the python to use.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.cache/api-client
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'openai==2.*' >&2
fi
echo "$PWD/$venv/bin/python"
