//! Stops the build with one line when the patched sources are not in upstream/ yet: a fresh
//! clone has only this manifest until scripts/vendor.sh has run.

fn main() {
    let stamp = std::path::Path::new("upstream/.utter-vendored");
    println!("cargo::rerun-if-changed={}", stamp.display());
    if !stamp.is_file() {
        println!(
            "cargo::error=vendor/misaki-rs/upstream/ is missing: run scripts/vendor.sh first \
             (scripts/app.sh and scripts/test.sh run it for you)"
        );
    }
}
