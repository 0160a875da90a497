#!/usr/bin/env bash
# Puts the patched dependency the workspace builds from (Cargo.toml's [patch.crates-io]) in
# vendor/misaki-rs/upstream/ before cargo first needs it. Idempotent; scripts/prereqs.sh runs it.
#
# misaki-rs 0.8.0 (the G2P): its `G2P::new` also builds a part-of-speech tagger it never uses
# (the crate's own comment says so): 28 MB of heap, and 43–46 MB of peak RSS with the JSON it
# parses, in every Utter process. vendor/misaki-rs.patch removes that and changes nothing
# else. The release is fetched by cargo itself (a throwaway project that depends on it, then
# `cargo fetch`, which fills cargo's download cache as any build would), checked against the
# sha256 cargo recorded for it, then patched into upstream/ (git-ignored). The manifest that
# points at upstream/ (vendor/misaki-rs/Cargo.toml) is committed; its dependencies must be the
# release's, which is checked here.
set -euo pipefail
cd "$(dirname "$0")/.."

name=misaki-rs
version=0.8.0
sha256=c2144cfa31ae6627d9b8bb330873d4e27f5d521f8394bf1c6aeb0b4282cae8ff
dir=vendor/$name/upstream
patch=vendor/$name.patch
sha() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }
stamp="$version $sha256 $(sha "$patch")"

if [ -f "$dir/.utter-vendored" ] && [ "$(cat "$dir/.utter-vendored")" = "$stamp" ]; then
  exit 0
fi
command -v cargo >/dev/null || { echo "vendor: cargo is missing (install Rust with rustup)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cache="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
cached() { ls "$cache"/*/"$name-$version.crate" 2>/dev/null | head -1 || true; }
if [ -z "$(cached)" ]; then
  echo "vendor: fetching $name $version with cargo" >&2
  mkdir -p "$tmp/fetch/src"
  printf '[package]\nname = "utter-vendor-fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = { version = "=%s", default-features = false }\n' \
    "$name" "$version" >"$tmp/fetch/Cargo.toml"
  : >"$tmp/fetch/src/lib.rs"
  cargo fetch --quiet --manifest-path "$tmp/fetch/Cargo.toml" >&2
fi
crate=$(cached)
[ -n "$crate" ] || { echo "vendor: cargo did not fetch $name $version" >&2; exit 1; }
[ "$(sha "$crate")" = "$sha256" ] || {
  echo "vendor: $crate does not match its sha256 (cargo's checksum); not used" >&2
  exit 1
}
tar -xzf "$crate" -C "$tmp"
# Outside any repository, `git apply` patches plain files (and refuses a patch that does not fit).
git -C "$tmp/$name-$version" apply "$PWD/$patch"
# The committed manifest must declare what the release declares (it builds the release's code).
deps() {
  cargo metadata --quiet --offline --no-deps --format-version 1 --manifest-path "$1" | python3 -c '
import json, sys
for d in sorted(json.load(sys.stdin)["packages"][0]["dependencies"], key=lambda d: (d["name"], d["kind"] or "")):
    if d["kind"] != "dev":
        print(d["name"], d["req"], sorted(d["features"]), d["optional"], d["kind"])'
}
if [ "$(deps "$tmp/$name-$version/Cargo.toml")" != "$(deps "vendor/$name/Cargo.toml")" ]; then
  echo "vendor: vendor/$name/Cargo.toml's [dependencies] differ from $name $version's own:" >&2
  diff <(deps "vendor/$name/Cargo.toml") <(deps "$tmp/$name-$version/Cargo.toml") >&2 || true
  exit 1
fi
echo "$stamp" > "$tmp/$name-$version/.utter-vendored"
rm -rf "$dir"
mv "$tmp/$name-$version" "$dir"
echo "vendor: $dir ready ($name $version with $patch)" >&2
