//! `utter-app --self-check`, the check a macOS CI job runs on the built and signed `Utter.app`:
//! here on Linux, the same code finds the checkout's assets, loads the runtime and speaks; and
//! with the assets missing it fails with a JSON error that says what to do. No display needed:
//! it runs before anything graphical.

use std::process::Command;

fn self_check(home: Option<&std::path::Path>, ep: Option<&str>) -> (i32, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_utter-app"));
    cmd.arg("--self-check").env_remove("UTTER_EP");
    if let Some(home) = home {
        cmd.env("UTTER_HOME", home);
    }
    if let Some(ep) = ep {
        cmd.env("UTTER_EP", ep);
    }
    let out = cmd.output().expect("utter-app runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let json = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "one JSON line ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn the_app_loads_its_runtime_and_speaks_or_says_what_is_missing() {
    let (code, report) = self_check(None, None);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["ort_version"], "1.32.0",
        "the pinned runtime: {report}"
    );
    assert_eq!(report["execution_provider"]["running"], "CPU");
    assert!(
        report["audio_secs"].as_f64().unwrap_or(0.0) > 0.5,
        "{report}"
    );

    // UTTER_EP reaches the app too. CoreML runs on a Mac where it can; anywhere it cannot (on
    // Linux, always), its absence is a fallback to the CPU with the reason, not a failure.
    let (code, report) = self_check(None, Some("coreml"));
    assert_eq!(code, 0, "{report}");
    let ep = &report["execution_provider"];
    assert_eq!(ep["requested"], "coreml");
    let fell_back = ep["running"] == "CPU"
        && ep["fallback_reason"]
            .as_str()
            .is_some_and(|r| r.contains("CoreML"));
    let coreml_ran = cfg!(target_os = "macos") && ep["running"] == "CoreML";
    assert!(fell_back || coreml_ran, "{report}");
    if cfg!(target_os = "linux") {
        assert!(fell_back, "Linux's ONNX Runtime has no CoreML: {report}");
    }

    let empty = tempfile::tempdir().expect("tempdir");
    let (code, report) = self_check(Some(empty.path()), None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("utter setup"), "says the fix: {report}");
}
