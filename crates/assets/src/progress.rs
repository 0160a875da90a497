//! Progress reporting for [`crate::setup`].
//!
//! Setup runs a sequence of steps ("model part 2/4 (14 MB) via pip", "verify
//! voices", ...). Each step is announced with [`Progress::begin`], may report bytes
//! processed with [`Progress::advance`], and ends with [`Progress::finish`]. The CLI
//! uses [`IndicatifProgress`] (a bar when the size is known, else a spinner); tests
//! use [`NoProgress`].

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Receives setup progress. All methods have do-nothing defaults.
pub trait Progress {
    /// A step starts. `total_bytes` is the amount of data it will hash or unpack,
    /// when known (downloads by pip/npm are opaque: `None`, show a spinner).
    fn begin(&self, label: &str, total_bytes: Option<u64>) {
        let _ = (label, total_bytes);
    }
    /// `bytes` more bytes of the current step have been processed.
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }
    /// The current step ended; `outcome` is a short word ("ok", "present", "failed").
    fn finish(&self, outcome: &str) {
        let _ = outcome;
    }
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Draws one `indicatif` bar or spinner per step on stderr.
#[derive(Debug, Default)]
pub struct IndicatifProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl IndicatifProgress {
    /// A new reporter; nothing is drawn until the first step begins.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        // A poisoned lock only means an earlier step panicked mid-draw: keep going.
        let mut guard = match self.bar.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }
}

impl Progress for IndicatifProgress {
    fn begin(&self, label: &str, total_bytes: Option<u64>) {
        self.with_bar(|slot| {
            if let Some(old) = slot.take() {
                old.finish_and_clear();
            }
            let bar = match total_bytes {
                Some(total) => {
                    let bar = ProgressBar::new(total);
                    if let Ok(style) = ProgressStyle::with_template(
                        "{msg:40} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    ) {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar
                }
                None => {
                    let bar = ProgressBar::new_spinner();
                    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                        bar.set_style(style);
                    }
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                }
            };
            bar.set_message(label.to_string());
            *slot = Some(bar);
        });
    }

    fn advance(&self, bytes: u64) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.as_ref() {
                bar.inc(bytes);
            }
        });
    }

    fn finish(&self, outcome: &str) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.take() {
                let msg = format!("{} — {outcome}", bar.message());
                bar.disable_steady_tick();
                if let Ok(style) = ProgressStyle::with_template("  {msg} ({elapsed})") {
                    bar.set_style(style);
                }
                bar.finish_with_message(msg);
            }
        });
    }
}
