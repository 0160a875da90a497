//! The commands do what they say.

use crate::{read_wav, stderr, utter};

#[test]
fn synth_writes_a_24khz_mono_wav_of_speech() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("out.wav");
    let out = utter(
        &[
            "synth",
            "The quick brown fox.",
            "-o",
            wav.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(out.status.success(), "synth succeeds: {}", stderr(&out));
    let (rate, channels, samples) = read_wav(&wav);
    assert_eq!((rate, channels), (24_000, 1), "Kokoro's native format");
    let secs = samples.len() as f32 / 24_000.0;
    assert!(
        (0.8..4.0).contains(&secs),
        "a four-word sentence lasts about a second, got {secs}"
    );
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.05, "there is audible speech (peak {peak})");
}

#[test]
fn synth_reads_stdin_when_no_text_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("stdin.wav");
    let out = utter(
        &["synth", "-o", wav.to_str().expect("utf-8")],
        Some(b"Hello from stdin."),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        read_wav(&wav).2.len() > 12_000,
        "half a second or more of audio"
    );
}

#[test]
fn phonemes_gives_one_line_per_input_line() {
    let out = utter(&["phonemes"], Some(b"Hello world.\n\nRead the report.\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec!["həlˈO wˈɜɹld.", "", "ɹˈid ðə ɹəpˈɔɹt."],
        "misaki's phonemes, line by line"
    );
}

#[test]
fn names_misaki_does_not_know_are_not_dropped() {
    let out = utter(&["phonemes", "Zorblax met Quentavius."], None);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        !text.contains('❓'),
        "no unknown marker reaches the model: {text}"
    );
    assert!(
        text.split_whitespace().count() >= 3,
        "all three words are phonemized: {text}"
    );
}

#[test]
fn voices_lists_all_54_with_english_first() {
    let out = utter(&["voices", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let voices: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(voices.len(), 54, "every voice of kokoro-js 1.2.1");
    assert_eq!(voices[0]["language"], "en-US");
    for v in &voices {
        for field in ["id", "name", "language", "accent", "gender"] {
            assert!(v.get(field).is_some(), "{field} in {v}");
        }
    }
}

#[test]
fn say_plays_and_reports_its_timing() {
    if !crate::sink_available() {
        return;
    }
    let out = utter(&["say", "--stats", "Hi there."], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
    assert!(
        stats["last"]["first_audio_ms"].as_f64().is_some(),
        "audio reached the device: {stats}"
    );
}

/// The Linux twin of a Mac with no output: PulseAudio pointed at nothing.
#[test]
#[cfg(target_os = "linux")]
fn say_without_an_audio_device_suggests_synth() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_utter"))
        .args(["say", "Hi."])
        .env("UTTER_HOME", crate::root())
        .env("PULSE_SERVER", "unix:/nonexistent/socket")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "no device is a runtime failure: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("utter synth -o"),
        "suggests writing a file: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn setup_twice_is_quick_and_offline() {
    // The assets are in place (the test command runs setup first): a second run must not
    // need pip or npm at all.
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_utter"))
        .arg("setup")
        .env("UTTER_HOME", crate::root())
        .env("PATH", "/nonexistent")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "no network tool needed: {}",
        stderr(&out)
    );
    assert!(
        started.elapsed().as_secs_f32() < 1.0,
        "well under a second: {:?}",
        started.elapsed()
    );
}
