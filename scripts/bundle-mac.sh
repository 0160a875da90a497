#!/usr/bin/env bash
# Builds Utter.app on a Mac with the Tauri CLI, then checks what was built: the bundle's code
# signature, the ONNX Runtime library's signature in Contents/Frameworks, and that the app
# loads that library and speaks (`utter-app --self-check`).
#
# Signing:
# - By default, ad hoc (identity "-") without the hardened runtime: an app for this Mac. Library
#   validation (part of the hardened runtime) refuses libraries without a Team ID, and an ad hoc
#   signature has none, so the hardened runtime is for a real identity.
# - With APPLE_SIGNING_IDENTITY set to a Developer ID Application identity in the keychain: the
#   hardened runtime, the app and the library in Frameworks signed with that identity (one Team
#   ID, so library validation lets the app load it). With APPLE_ID, APPLE_PASSWORD (an
#   app-specific password) and APPLE_TEAM_ID, or APPLE_API_KEY, APPLE_API_ISSUER and
#   APPLE_API_KEY_PATH, the Tauri bundler also notarizes and staples it.
#
# UTTER_BUNDLES picks the bundle formats (default "app"; "app,dmg" adds a disk image).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)" != Darwin ]; then
  echo "bundle-mac.sh builds the macOS app: run it on a Mac" >&2
  exit 1
fi
bash scripts/prereqs.sh
bash scripts/ui.sh
# The assets before the app: tauri-build copies them into the bundle at build time.
cargo build --release --quiet -p utter-cli
./target/release/utter setup
if ! cargo tauri --version >/dev/null 2>&1; then
  echo "bundle-mac.sh: installing the Tauri CLI (cargo install tauri-cli; once, a few minutes)" >&2
  cargo install tauri-cli --version 2.12.4 --locked --quiet
fi
bundles="${UTTER_BUNDLES:-app}"
if [ -n "${APPLE_SIGNING_IDENTITY:-}" ] && [ "$APPLE_SIGNING_IDENTITY" != "-" ]; then
  echo "bundle-mac.sh: signing with \"$APPLE_SIGNING_IDENTITY\", hardened runtime" >&2
  (cd src-tauri && cargo tauri build --bundles "$bundles")
else
  echo "bundle-mac.sh: signing ad hoc, for this Mac (set APPLE_SIGNING_IDENTITY to release)" >&2
  (cd src-tauri && APPLE_SIGNING_IDENTITY=- cargo tauri build --bundles "$bundles" \
    --config '{"bundle":{"macOS":{"hardenedRuntime":false}}}')
fi
app=target/release/bundle/macos/Utter.app
echo "== the bundle's signature" >&2
codesign --verify --deep --strict --verbose=2 "$app"
echo "== the ONNX Runtime library in Contents/Frameworks" >&2
codesign --display --verbose=2 "$app/Contents/Frameworks/libonnxruntime.dylib" 2>&1 |
  grep -E '^(Identifier|Format|Signature|Authority|TeamIdentifier|CodeDirectory)' >&2 || true
echo "== the app loads it and speaks (utter-app --self-check)" >&2
report=$("$app/Contents/MacOS/utter-app" --self-check)
echo "$report"
# From the bundle, not from this checkout: the runtime in Frameworks, the model in Resources.
contents=$(cd "$app/Contents" && pwd -P)
python3 - "$contents" "$report" <<'EOF'
import json, os, sys
contents, report = sys.argv[1], json.loads(sys.argv[2])
checks = {
    "the check passed": report.get("ok") is True,
    "ONNX Runtime from Contents/Frameworks":
        os.path.realpath(report["ort_library"]).startswith(contents + "/Frameworks/"),
    "assets from Contents/Resources":
        os.path.realpath(report["assets"]).startswith(contents + "/Resources"),
}
for what, ok in checks.items():
    print(("ok   " if ok else "FAIL ") + what, file=sys.stderr)
sys.exit(0 if all(checks.values()) else 1)
EOF
echo "bundle-mac.sh: $app is ready" >&2
