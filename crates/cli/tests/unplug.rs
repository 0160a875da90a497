//! The output disappears mid-utterance (headphones unplugged): `utter say` continues on the
//! default output and finishes; it never hangs or crashes.
//!
//! Its own test target because it changes the PulseAudio server's default sink, which would
//! send the other tests' speech elsewhere while it runs (cargo runs test targets one at a time).

#[allow(dead_code)] // each test target uses some of the helpers
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use utter_testkit::capture::Recording;

fn pactl(args: &[&str]) -> String {
    let out = Command::new("pactl")
        .args(args)
        .output()
        .expect("pactl runs");
    assert!(
        out.status.success(),
        "pactl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Puts the recorded sink back as the default however the test ends.
struct RestoreDefault(String);

impl Drop for RestoreDefault {
    fn drop(&mut self) {
        let _ = Command::new("pactl")
            .args(["set-default-sink", &self.0])
            .status();
    }
}

#[test]
fn say_continues_on_the_default_output_when_its_device_disappears() {
    if !utter_testkit::sink_available() {
        return;
    }
    // "Headphones": a second sink, made the system default, that the speech starts on. Utter
    // follows the default (no PULSE_SINK pin), as it does on a Mac.
    let recorded = std::env::var("PULSE_SINK").unwrap_or_else(|_| "utter_sink".into());
    let module = pactl(&["load-module", "module-null-sink", "sink_name=utter_phones"]);
    let _restore = RestoreDefault(recorded);
    pactl(&["set-default-sink", "utter_phones"]);
    let rec = Recording::start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_utter"))
        .args(["say", "--stats"])
        .arg(
            "Reading by ear has quietly become a habit of people who work with long documents. \
             Instead of staring at a screen for another hour, they select a report, press a key, \
             and listen while their eyes rest. The voice must start quickly, flow without gaps, \
             and stop the instant they ask.",
        )
        .env("UTTER_HOME", support::root())
        .env_remove("PULSE_SINK")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("utter runs");
    std::thread::sleep(Duration::from_secs(5));
    let unplugged = Instant::now();
    pactl(&["unload-module", &module]);
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("waitable").is_none() {
        assert!(
            Instant::now() < deadline,
            "utter say hung after its device disappeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let t = rec.at(unplugged);
    let capture = rec.finish();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "no crash: {stderr}");
    assert!(out.status.success(), "say finishes normally: {stderr}");
    let resumed = capture
        .first_sound(t)
        .expect("speech continued on the default output");
    assert!(
        resumed - t < 2.0,
        "speech resumed {:.2} s after the unplug",
        resumed - t
    );
}
