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
# scripts/vendor.sh fetches a patched dependency from crates.io.
command -v curl >/dev/null || pkgs+=(curl)
# cpal's ALSA backend links libasound.
pkg-config --exists alsa 2>/dev/null || pkgs+=(libasound2-dev)
if [ "$(uname -s)" = Linux ]; then
  # The menu-bar app (Tauri 2): WebKitGTK, GTK, the tray (appindicator), icons, xdo, TLS.
  pkg-config --exists webkit2gtk-4.1 2>/dev/null || pkgs+=(libwebkit2gtk-4.1-dev)
  pkg-config --exists gtk+-3.0 2>/dev/null || pkgs+=(libgtk-3-dev)
  pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || pkgs+=(libayatana-appindicator3-dev)
  pkg-config --exists librsvg-2.0 2>/dev/null || pkgs+=(librsvg2-dev)
  [ -e /usr/include/xdo.h ] || pkgs+=(libxdo-dev)
  pkg-config --exists openssl 2>/dev/null || pkgs+=(libssl-dev)
  command -v file >/dev/null || pkgs+=(file)
fi
if $for_tests; then
  # The API's load test: hey, a standard HTTP load generator.
  command -v hey >/dev/null || pkgs+=(hey)
  # An X display with no screen, and the other apps' side of the selection.
  command -v Xvfb >/dev/null || pkgs+=(xvfb xauth)
  command -v xsel >/dev/null || pkgs+=(xsel)
  command -v xdotool >/dev/null || pkgs+=(xdotool)
  # The app's end-to-end test: WebKit's WebDriver, and screenshots of the whole screen.
  command -v WebKitWebDriver >/dev/null || pkgs+=(webkit2gtk-driver)
  command -v import >/dev/null || pkgs+=(imagemagick)
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
# Before any cargo command: the workspace builds misaki-rs from vendor/ (see scripts/vendor.sh).
bash "$(dirname "$0")/vendor.sh"
if $for_tests && ! command -v tauri-driver >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  # tauri-driver bridges WebDriver to the app's web view (crates.io, about a minute to build).
  echo "prereqs: installing tauri-driver (cargo install)" >&2
  cargo install tauri-driver --locked --version '^2' --quiet >&2
fi
