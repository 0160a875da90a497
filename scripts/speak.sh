#!/usr/bin/env bash
# Build the CLI, fetch whatever assets are missing, then speak a sample
# sentence (or, where there is no audio output yet, write it to a WAV and say where).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
cargo build --release --quiet -p utter-cli
./target/release/utter setup
default_text="Hello! I am Utter. I read whatever you select, on your own machine, in a natural voice."
text="${*:-$default_text}"
if ! ./target/release/utter say "$text"; then
  echo "No audio output here: writing the speech to speech.wav instead." >&2
  ./target/release/utter synth "$text" -o speech.wav
fi
