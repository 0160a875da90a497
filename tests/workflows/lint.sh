#!/usr/bin/env bash
# Lints .github/workflows/ with actionlint (syntax, expressions, runner labels, action inputs,
# and the `run:` scripts through shellcheck when it is installed). Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
lint=.cache/actionlint/bin/actionlint
if [ ! -x "$lint" ]; then
  lint=$(command -v actionlint || true)
fi
if [ -z "$lint" ]; then
  if [ "$(uname -s)" = Linux ]; then
    echo "lint.sh: actionlint is missing: run tests/workflows/setup.sh" >&2
    exit 1
  fi
  echo "lint.sh: skipped, no actionlint here (brew install actionlint); the Linux job lints them" >&2
  exit 0
fi
command -v shellcheck >/dev/null || echo "lint.sh: shellcheck not found: run: scripts unchecked" >&2
"$lint" -no-color .github/workflows/*.yml
echo "lint.sh: $(ls .github/workflows/*.yml | wc -l) workflow(s) clean" >&2
