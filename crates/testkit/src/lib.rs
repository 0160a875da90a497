//! Helpers for Utter's integration tests (a dev-dependency only): recording the PulseAudio null
//! sink that `scripts/test.sh` starts ([`capture`]) and knowing whether it is there.

pub mod capture;

/// True when the PulseAudio null sink of `scripts/test.sh` is running. Where it is not, tests
/// that need it print why and return — except in CI, where its absence is a failure.
pub fn sink_available() -> bool {
    if std::env::var_os("PULSE_SERVER").is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI runs these with the null sink: use scripts/test.sh"
    );
    eprintln!("skipped: no PulseAudio null sink (run scripts/test.sh)");
    false
}
