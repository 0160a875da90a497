//! Playback tests on real audio: the core speaks through cpal into a PulseAudio null sink whose
//! monitor is recorded with `parecord`, and the tests assert on the captured samples.
//!
//! They need the sink: `scripts/test.sh` starts it (tests/audio/pulse-env.sh) and exports
//! `PULSE_SERVER`. Without it they fail in CI and are skipped with a message elsewhere.

mod speech;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use utter_audio::PlayerConfig;
use utter_core::Core;
use utter_engine::EngineConfig;
pub use utter_testkit::sink_available;

/// One core for the binary (one ONNX Runtime environment per process), used by one test at a
/// time since they share the sink.
pub fn core() -> (MutexGuard<'static, ()>, &'static Core) {
    static SERIAL: Mutex<()> = Mutex::new(());
    static CORE: OnceLock<Core> = OnceLock::new();
    let guard = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let core = CORE.get_or_init(|| {
        // Warnings (a failed decode, a reopened output) reach stderr; RUST_LOG shows more.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_writer(std::io::stderr)
            .try_init();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let config = EngineConfig::new(
            root.join("models/kokoro-v1.0.int8.onnx"),
            root.join("voices"),
            root.join("models/onnxruntime/libonnxruntime.so.1.32.0"),
        );
        let core = Core::start(config, PlayerConfig::default()).expect("core starts on the sink");
        assert!(
            core.engine()
                .wait_ready(Duration::from_secs(180))
                .expect("engine loads")
        );
        core
    });
    (guard, core)
}
