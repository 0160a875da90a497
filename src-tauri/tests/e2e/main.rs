//! The menu-bar app end to end, as a user meets it, on this display-less machine: the real app
//! binary under Xvfb, its web UI driven through tauri-driver + WebKitWebDriver, the selection
//! set in X11's PRIMARY with xsel, the shortcut pressed with xdotool, and the speech recorded
//! from the PulseAudio null sink. `scripts/test.sh` provides all of it (Xvfb, the sink,
//! tauri-driver, WebKitWebDriver, xsel, xdotool).
//!
//! Artifacts land in `target/e2e/`: a screenshot of the performance panel, one of the whole
//! screen, the captured audio's analysis and the app's log.

mod driver;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use driver::{Driver, Ui};
use utter_testkit::capture::Recording;

/// Where the artifacts go.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

fn settings_json(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("settings.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Waits until the saved settings satisfy `ok` (they are written on every change).
fn wait_saved(dir: &std::path::Path, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = settings_json(dir);
        if ok(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} was saved: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn xsel_primary(text: &str) {
    use std::io::Write;
    let mut child = Command::new("xsel")
        .args(["-p", "-i"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("xsel runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("selection written");
    assert!(child.wait().expect("xsel").success());
    let deadline = Instant::now() + Duration::from_secs(2);
    while Command::new("xsel")
        .args(["-p", "-o"])
        .output()
        .map(|o| o.stdout != text.as_bytes())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "xsel owns PRIMARY");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn press(keys: &str) -> Instant {
    let at = Instant::now();
    let ok = Command::new("xdotool")
        .args(["key", keys])
        .status()
        .expect("xdotool runs");
    assert!(ok.success(), "xdotool key {keys}");
    at
}

fn ms(text: &str) -> Option<f64> {
    text.trim()
        .strip_suffix(" ms")
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn select_press_the_shortcut_hear_it_see_it_in_the_panel_and_find_the_voice_kept() {
    driver::require_tools();
    let config = tempfile::tempdir().expect("a fresh config dir: a first launch");
    let driver = Driver::start(config.path());

    // First launch: the welcome page, then the voices.
    let ui = Ui::open(&driver);
    assert!(
        ui.visible("#welcome"),
        "a first launch opens on the welcome page"
    );
    ui.click("#welcome-go");
    ui.wait_for(".voice[data-voice=\"bf_emma\"]", Duration::from_secs(180));

    // Choose a voice: it is marked and saved.
    ui.click(".voice[data-voice=\"bf_emma\"]");
    ui.wait_until("bf_emma is marked selected", || {
        ui.attr(".voice[data-voice=\"bf_emma\"]", "aria-checked") == Some("true".into())
    });
    wait_saved(config.path(), "the voice", |s| s["voice"] == "bf_emma");
    // The search box narrows the list.
    ui.type_into("#voice-search", "george");
    ui.wait_until("the search leaves George", || {
        ui.count(".voice") == 1 && ui.exists(".voice[data-voice=\"bm_george\"]")
    });
    ui.clear("#voice-search");

    // Move the speed slider five steps to the right: 1.25×, saved.
    for _ in 0..5 {
        ui.keys("#speed", "\u{E014}"); // ArrowRight
    }
    ui.wait_until("the speed reads 1.25×", || {
        ui.text("#speed-value") == "1.25×"
    });
    wait_saved(config.path(), "the speed", |s| s["speed"] == 1.25);

    // Open the performance panel: nothing measured yet.
    ui.click("#tab-performance");
    assert_eq!(ui.text("#perf-ttfa-last"), "—", "no reading yet");
    let engine_state = ui.text("#fact-state");
    assert_eq!(engine_state, "ready", "the panel shows the engine's state");

    // Select text in "another app" (X11 PRIMARY) and press the shortcut.
    let recording = Recording::start();
    xsel_primary("Reading by ear is a habit of people who work with long documents.");
    std::thread::sleep(Duration::from_millis(300));
    let pressed = press("ctrl+alt+s");
    ui.wait_until_for(
        "the panel's time to first audio updates",
        Duration::from_secs(60),
        || ui.text("#perf-ttfa-last") != "—",
    );
    // The panel updates at the first sample; the recording runs until the reading has ended.
    ui.wait_until_for("the reading ends", Duration::from_secs(60), || {
        ui.text("#phase") != "Speaking"
    });
    let key_at = recording.at(pressed);
    let capture = recording.finish();
    let onset = capture
        .first_sound(key_at)
        .expect("speech arrived at the sink after the shortcut");
    let end = capture.last_sound().expect("speech ended");
    let heard = end - onset;
    assert!(
        heard > 2.0,
        "the whole sentence was heard, not a blip: {heard:.2} s"
    );
    let key_to_sound = onset - key_at;
    assert!(
        key_to_sound < 8.0,
        "speech followed the shortcut promptly: {key_to_sound:.3} s"
    );
    let panel_ttfa = ms(&ui.text("#perf-ttfa-last")).expect("a number of ms");
    println!(
        "shortcut → first sound: {:.0} ms at the sink (xdotool key → capture onset), \
         {panel_ttfa:.0} ms in the panel (shortcut handler → first sample at the device)",
        key_to_sound * 1e3
    );
    assert!(
        panel_ttfa > 0.0 && panel_ttfa < key_to_sound * 1e3 + 100.0,
        "the panel's figure fits what the sink heard: {panel_ttfa} ms vs {:.0} ms",
        key_to_sound * 1e3
    );
    let capture_fact = ui.text("#fact-capture");
    assert!(
        capture_fact.contains("from the selection"),
        "the panel says where the text came from: {capture_fact}"
    );

    // A second reading: the figures and the chart move.
    xsel_primary("Second reading.");
    press("ctrl+alt+s");
    ui.wait_until_for(
        "the panel counts the second reading",
        Duration::from_secs(60),
        || ui.text("#fact-utterances") == "2",
    );
    ui.wait_until("the chart draws both readings", || {
        ui.eval_num("return document.querySelectorAll('#chart canvas').length") >= 1.0
            && ui.eval_num("return state.chart ? state.chart.data[0].length : 0") == 2.0
    });
    for id in [
        "#perf-rtf-last",
        "#perf-mem-app",
        "#perf-underruns-last",
        "#perf-ttfa-p95",
    ] {
        let v = ui.text(id);
        assert!(
            v != "—" && v.chars().any(|c| c.is_ascii_digit()),
            "{id} shows a measured number: {v:?}"
        );
    }
    let panel = artifacts().join("performance-panel.png");
    std::fs::write(&panel, ui.screenshot()).expect("screenshot saved");
    let _ = Command::new("import")
        .args(["-window", "root"])
        .arg(artifacts().join("screen.png"))
        .status();
    let memory = ui.text("#perf-mem-app");
    println!(
        "panel after two readings: ttfa {} / p50 {} / p95 {}, rtf {}, memory {memory}; \
         screenshot {}",
        ui.text("#perf-ttfa-last"),
        ui.text("#perf-ttfa-p50"),
        ui.text("#perf-ttfa-p95"),
        ui.text("#perf-rtf-last"),
        panel.display()
    );

    // The engine's facts: the provider that runs.
    assert_eq!(
        ui.text("#fact-ep"),
        "CPU",
        "the panel names the provider that runs"
    );

    // Settings: the selection needs no permission here, and the execution provider can be
    // changed (for the next start), saved, and changed back.
    ui.click("#tab-settings");
    ui.wait_until("the selection's access is shown", || {
        ui.attr("#access-text", "data-access") == Some("not_needed".into())
    });
    assert!(!ui.visible("#access-grant"), "nothing to grant on Linux");
    assert!(
        ui.text("#ep-status").starts_with("Running on CPU"),
        "the provider that runs: {}",
        ui.text("#ep-status")
    );
    ui.select("#execution-provider", "auto");
    wait_saved(config.path(), "the execution provider", |s| {
        s["execution_provider"] == "auto"
    });
    ui.wait_until("the window offers a restart", || {
        ui.visible("#ep-restart-row")
    });
    std::fs::write(artifacts().join("settings.png"), ui.screenshot()).expect("screenshot");
    ui.select("#execution-provider", "cpu");
    wait_saved(config.path(), "the execution provider", |s| {
        s["execution_provider"] == "cpu"
    });
    ui.wait_until("no restart needed", || !ui.visible("#ep-restart-row"));
    ui.click("#tab-performance");

    // Nothing selected and nothing copied: a notice, no sound.
    let quiet = Recording::start();
    Command::new("xsel")
        .args(["-p", "-c"])
        .status()
        .expect("xsel");
    Command::new("xsel")
        .args(["-b", "-c"])
        .status()
        .expect("xsel");
    let key_at = quiet.at(press("ctrl+alt+s"));
    ui.wait_until_for(
        "the app says there is nothing to read",
        Duration::from_secs(10),
        || ui.text("#banner-title").contains("select"),
    );
    std::thread::sleep(Duration::from_millis(800));
    let silent = quiet.finish();
    assert_eq!(
        silent.first_sound(key_at),
        None,
        "nothing to read: no sound"
    );

    // Restart the app: the voice and speed are what the user chose.
    ui.close();
    let ui = Ui::open(&driver);
    ui.wait_for(".voice[data-voice=\"bf_emma\"]", Duration::from_secs(180));
    ui.wait_until("bf_emma is still the voice after a restart", || {
        ui.attr(".voice[data-voice=\"bf_emma\"]", "aria-checked") == Some("true".into())
    });
    assert_eq!(ui.text("#speed-value"), "1.25×", "the speed persisted");
    assert!(!ui.visible("#welcome"), "not a first launch any more");
    ui.close();
}
