#!/usr/bin/env bash
# README command 1: set up whatever is missing (packages on Linux; on a Mac it says what to
# install), the model, voices and ONNX Runtime, the UI's chart library; build Utter; start the
# menu-bar app with its window open. Select text anywhere and press Ctrl+Alt+S (⌃⌥S on a Mac).
#
# On a Mac it builds Utter.app (scripts/bundle-mac.sh: ad hoc signed, checked) and opens it, so
# that macOS asks for the Accessibility permission on behalf of Utter, not of Terminal. On a
# machine with no display (a server, CI) it says so and speaks a sample sentence through the
# `utter` CLI instead, or, with no audio output either, writes it to speech.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)" = Darwin ]; then
  bash scripts/bundle-mac.sh
  # A running Utter is the previous build: `open` would only bring its window forward.
  if pkill -x utter-app 2>/dev/null; then
    echo "Stopped the Utter that was running (the previous build)." >&2
    sleep 1
  fi
  echo "Starting Utter: it lives in the menu bar. Quit it from there." >&2
  exec open target/release/bundle/macos/Utter.app --args --window
fi
bash scripts/prereqs.sh
bash scripts/ui.sh
# The assets first: the app's build checks for them (on a Mac it bundles them).
cargo build --release --quiet -p utter-cli
./target/release/utter setup
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  cargo build --release --quiet -p utter-app
  echo "Starting Utter: it lives in the tray. Quit it from there." >&2
  exec ./target/release/utter-app --window
fi
echo "No display here, so no menu-bar app; speaking a sample with the CLI instead." >&2
exec bash scripts/speak.sh "$@"
