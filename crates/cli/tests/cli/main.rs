//! End-to-end tests of the `utter` binary with the real model, voices and ONNX Runtime.

mod bad_input;
mod commands;
mod intelligibility;
#[allow(dead_code)] // each test target uses some of the helpers
#[path = "../support/mod.rs"]
mod support;

pub use support::root;
pub use utter_testkit::sink_available;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `utter` with `args`, stdin from `input`; the environment points at the checkout's assets.
pub fn utter(args: &[&str], input: Option<&[u8]>) -> Output {
    utter_in(&root(), args, input)
}

/// `utter` with its assets under `home`.
pub fn utter_in(home: &Path, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_utter"))
        .args(args)
        .env("UTTER_HOME", home)
        .env_remove("UTTER_MODEL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("utter runs");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // Ignore a broken pipe: a command that fails early may not read its input.
        let _ = stdin.write_all(input.unwrap_or_default());
    }
    child.wait_with_output().expect("utter finishes")
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Reads a WAV back: (sample rate, channels, samples as f32).
pub fn read_wav(path: &Path) -> (u32, u16, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).expect("a valid WAV");
    let spec = reader.spec();
    let samples = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / f32::from(i16::MAX))
        .collect();
    (spec.sample_rate, spec.channels, samples)
}
