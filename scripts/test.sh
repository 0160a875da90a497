#!/usr/bin/env bash
# README command 2 (and CI's .ci/run): set up whatever is missing, then run every check and test:
# rustfmt, clippy (warnings are errors), and the whole workspace's tests with the real model,
# voices and ONNX Runtime, including the Whisper intelligibility round trip and playback tests
# that record real audio from a PulseAudio null sink (no sound card needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh --test
echo "== set-up: assets (utter setup), the UI's chart library, the Whisper judge" >&2
bash scripts/ui.sh
cargo build --quiet -p utter-cli
./target/debug/utter setup
bash tests/asr-judge/setup.sh >/dev/null
bash tests/api/setup.sh >/dev/null
echo "== rustfmt" >&2
cargo fmt --all -- --check
echo "== clippy" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== audio: a private PulseAudio server with a null sink (tests/audio/pulse-env.sh)" >&2
source tests/audio/pulse-env.sh
utter_audio_install
utter_audio_start
utter_audio_trap
echo "== X11: a private Xvfb display unless one is set (tests/x11/xvfb-env.sh)" >&2
source tests/x11/xvfb-env.sh
utter_x11_start
trap 'utter_x11_stop; utter_audio_stop' EXIT
echo "== tests" >&2
cargo test --workspace --no-fail-fast
