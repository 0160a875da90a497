#!/usr/bin/env bash
# Installs what Utter's build, set-up and tests need and is missing, on Debian/Ubuntu (apt).
# Elsewhere it only says what is missing. Idempotent: with everything present it installs nothing.
# `--test` adds what only the tests need (the HTTP load tool).
set -euo pipefail
for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true

need_cmd=()   # commands that must exist
pkgs=()       # Debian packages that provide what is missing

command -v cargo >/dev/null || need_cmd+=("cargo (install Rust with rustup: https://rustup.rs)")
command -v cc >/dev/null || pkgs+=(build-essential)
command -v pkg-config >/dev/null || pkgs+=(pkg-config)
command -v python3 >/dev/null || pkgs+=(python3)
python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || pkgs+=(python3-venv)
command -v npm >/dev/null || pkgs+=(npm)
# cpal's ALSA backend links libasound.
pkg-config --exists alsa 2>/dev/null || pkgs+=(libasound2-dev)
if $for_tests; then
  # The API's load test: hey, a standard HTTP load generator.
  command -v hey >/dev/null || pkgs+=(hey)
  command -v curl >/dev/null || pkgs+=(curl)
fi

if [ ${#pkgs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "prereqs: installing ${pkgs[*]}" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  else
    echo "prereqs: please install: ${pkgs[*]}" >&2
    exit 1
  fi
fi
if [ ${#need_cmd[@]} -gt 0 ]; then
  printf 'prereqs: missing %s\n' "${need_cmd[@]}" >&2
  exit 1
fi
