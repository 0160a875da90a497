#!/usr/bin/env bash
# README command: set up what the benchmark needs (build, assets, the Python kokoro-onnx peer,
# and on a Linux machine with no sound server a private PulseAudio null sink), then run
# `utter bench` with any arguments given (e.g. --quick, --runs 10). JSON on stdout, table on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
cargo build --release --quiet -p utter-cli
./target/release/utter setup
peer=.cache/bench-peer
if [ ! -x "$peer/bin/python" ] || ! "$peer/bin/python" -c 'import kokoro_onnx' 2>/dev/null; then
  echo "bench: installing the Python peer (kokoro-onnx) into $peer" >&2
  python3 -m venv "$peer"
  "$peer/bin/pip" install --quiet --disable-pip-version-check \
    kokoro-onnx==0.6.1 onnxruntime==1.32.0 >&2
fi
source tests/audio/pulse-env.sh
utter_audio_ensure
utter_audio_trap
./target/release/utter bench "$@"
