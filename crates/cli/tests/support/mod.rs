//! Shared by the CLI's test targets.

use std::path::PathBuf;

/// The checkout (holds `models/`, `voices/`, `tests/data/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("checkout root")
}
