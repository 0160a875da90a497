//! Engine integration tests with the real model, voices and ONNX Runtime (fetched by
//! `utter setup` into the checkout's `models/` and `voices/`).

mod bad_input;
mod parity;
mod synthesis;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use utter_engine::{Engine, EngineConfig};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The engine config for the checkout's assets (as `utter setup` lays them out, the library's
/// version checked as the shells check it); panics with the fix if they are missing.
pub fn config() -> EngineConfig {
    let paths = utter_assets::AssetPaths::at(root());
    assert!(
        paths.model.is_file(),
        "{} is missing: run `utter setup` first",
        paths.model.display()
    );
    let mut config = EngineConfig::new(paths.model, paths.voices_dir, paths.ort_library);
    config.ort_version = paths.ort_version;
    config.warm_up = false;
    config
}

/// One engine shared by the tests of this binary (ONNX Runtime allows one environment per
/// process, and loading the model per test would dominate the run time).
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| {
        let engine = Engine::start(config()).expect("engine starts");
        assert!(
            engine
                .wait_ready(Duration::from_secs(120))
                .expect("engine loads"),
            "ready in time"
        );
        Arc::new(engine)
    }))
}
