#!/usr/bin/env bash
# README command 1: set up whatever is missing (packages, the model, voices and ONNX Runtime,
# the UI's chart library), build Utter, and start the menu-bar app with its window open.
# Select text anywhere and press Ctrl+Alt+S (⌃⌥S on a Mac) to hear it.
# On a machine with no display (a server, CI) it says so and speaks a sample sentence through
# the `utter` CLI instead — or, with no audio output either, writes it to speech.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
bash scripts/ui.sh
cargo build --release --quiet -p utter-cli -p utter-app
./target/release/utter setup
if [ "$(uname -s)" = Darwin ] || [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "Starting Utter: it lives in the menu bar / tray. Quit it from there." >&2
  exec ./target/release/utter-app --window
fi
echo "No display here, so no menu-bar app; speaking a sample with the CLI instead." >&2
exec bash scripts/speak.sh "$@"
