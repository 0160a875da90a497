//! Helpers for Utter's integration tests (a dev-dependency only): recording the PulseAudio null
//! sink that `scripts/test.sh` starts ([`capture`]) and knowing whether it is there.

pub mod capture;

/// True when the PulseAudio null sink of `scripts/test.sh` is running. Where it is not, tests
/// that need it print why and return — except in CI, where its absence is a failure unless the
/// run says why there is none (`UTTER_NO_SINK`, set by `scripts/test.sh` on macOS).
pub fn sink_available() -> bool {
    if std::env::var_os("PULSE_SERVER").is_some() {
        return true;
    }
    if let Ok(why) = std::env::var("UTTER_NO_SINK") {
        eprintln!("skipped: {why}");
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI runs these with the null sink: use scripts/test.sh"
    );
    eprintln!("skipped: no PulseAudio null sink (run scripts/test.sh)");
    false
}
