#!/usr/bin/env bash
# README command 2 (and CI's .ci/run): set up whatever is missing, then run every check and test:
# rustfmt, clippy (warnings are errors), and the whole workspace's tests with the real model,
# voices and ONNX Runtime, including the Whisper intelligibility round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
echo "== set-up: assets (utter setup) and the Whisper judge" >&2
cargo build --quiet -p utter-cli
./target/debug/utter setup
bash tests/asr-judge/setup.sh >/dev/null
echo "== rustfmt" >&2
cargo fmt --all -- --check
echo "== clippy" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== tests" >&2
cargo test --workspace --no-fail-fast
