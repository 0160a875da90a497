#!/usr/bin/env bash
# README command 2 (and CI's .ci/run): set up whatever is missing, then run every check and test
# this platform can run, with the real model, voices and ONNX Runtime: rustfmt, clippy
# (warnings are errors), the workflows' linter, and the workspace's tests, including the
# Whisper intelligibility round trip.
#
# - Linux: everything, including playback recorded from a PulseAudio null sink, the X11
#   selection and clipboard, the app end to end under Xvfb, and a type-check of the macOS
#   pasteboard code.
# - macOS: everything but what needs Linux's twins (listed, with why, before the tests run).
# A failing test fails the script on both.
set -euo pipefail
cd "$(dirname "$0")/.."
os=$(uname -s)
bash scripts/prereqs.sh --test
echo "== set-up: assets (utter setup), the UI's chart library, the Whisper judge, the linter" >&2
bash scripts/ui.sh
cargo build --quiet -p utter-cli
./target/debug/utter setup
bash tests/asr-judge/setup.sh >/dev/null
bash tests/api/setup.sh >/dev/null
bash tests/workflows/setup.sh >/dev/null
echo "== rustfmt" >&2
cargo fmt --all -- --check
echo "== clippy" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== workflows (actionlint)" >&2
bash tests/workflows/lint.sh

if [ "$os" = Darwin ]; then
  # The playback tests record a PulseAudio null sink; the X11 tests need an X server; the
  # app's end-to-end test drives WebKitGTK through tauri-driver, which has no macOS driver.
  export UTTER_NO_SINK="playback is recorded from a PulseAudio null sink, which only the Linux run has"
  cat >&2 <<'EOF'
== tests (macOS). Skipped here, run by the Linux CI job instead:
   - crates/core/tests/playback, `utter say` and crates/cli/tests/unplug.rs: they record speech
     from a PulseAudio null sink (tests/audio/pulse-env.sh), which macOS does not have;
   - crates/selection/tests/x11 and the clipboard twin: they need an X server (Xvfb);
   - src-tauri/tests/e2e: tauri-driver drives WebKitGTK's WebDriver; macOS has none;
   - crates/cli/tests/provider.rs and the no-device test of `utter say`: Linux twins
     (on a Mac, CoreML is really there; the CI job times it with `utter bench --ep auto`).
EOF
  failed=0
  cargo test --workspace --exclude utter-app --no-fail-fast || failed=1
  cargo test -p utter-app --lib --test self_check --no-fail-fast || failed=1
  exit $failed
fi

echo "== the macOS pasteboard code, type-checked against objc2-app-kit (GNUstep's headers)" >&2
cargo check --quiet -p utter-selection --features mac-check
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
