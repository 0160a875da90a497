#!/usr/bin/env bash
# Puts the patched dependencies the workspace builds from (Cargo.toml's [patch.crates-io]) in
# vendor/, from crates.io, before cargo first needs them. Idempotent; scripts/prereqs.sh runs it.
#
# misaki-rs 0.8.0 (the G2P): its `G2P::new` also builds a part-of-speech tagger it never uses
# (the crate's own comment says so): 28 MB of heap, and 43–46 MB of peak RSS with the JSON it
# parses, in every Utter process. vendor/misaki-rs.patch removes that and changes nothing
# else. The crate is fetched as cargo fetches it (cargo's download cache first, else
# static.crates.io), checked against the sha256 cargo recorded for it, then patched; the result
# is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

name=misaki-rs
version=0.8.0
sha256=c2144cfa31ae6627d9b8bb330873d4e27f5d521f8394bf1c6aeb0b4282cae8ff
dir=vendor/$name
patch=vendor/$name.patch
sha() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }
stamp="$version $sha256 $(sha "$patch")"

if [ -f "$dir/.utter-vendored" ] && [ "$(cat "$dir/.utter-vendored")" = "$stamp" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
crate="$tmp/$name-$version.crate"
cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -1 || true)
if [ -n "$cached" ]; then
  cp "$cached" "$crate"
else
  echo "vendor: fetching $name $version from crates.io" >&2
  curl -fsSL --retry 3 -o "$crate" "https://static.crates.io/crates/$name/$name-$version.crate"
fi
[ "$(sha "$crate")" = "$sha256" ] || {
  echo "vendor: $name-$version.crate does not match its sha256 (cargo's checksum); not used" >&2
  exit 1
}
tar -xzf "$crate" -C "$tmp"
# Outside any repository, `git apply` patches plain files (and refuses a patch that does not fit).
git -C "$tmp/$name-$version" apply "$PWD/$patch"
echo "$stamp" > "$tmp/$name-$version/.utter-vendored"
rm -rf "$dir"
mv "$tmp/$name-$version" "$dir"
echo "vendor: $dir ready ($name $version with $patch)" >&2
