//! `utter bench`: time to first audio at the device, real-time factor and underruns, measured
//! with a warm engine over several runs (medians), as JSON plus a readable table.

use std::time::Duration;

use serde::Serialize;
use utter_audio::UtteranceStats;
use utter_core::Core;

/// One text measured several times.
#[derive(Debug, Serialize)]
pub struct CaseResult {
    /// Case name.
    pub case: String,
    /// Characters in the text.
    pub chars: usize,
    /// Runs measured.
    pub runs: usize,
    /// Median request → first PCM chunk, ms.
    pub first_chunk_ms: Option<f64>,
    /// Median request → first non-silent sample at the device callback, ms.
    pub first_audio_ms: Option<f64>,
    /// Median real-time factor.
    pub real_time_factor: Option<f64>,
    /// Underruns over all runs.
    pub underruns: u64,
    /// Underrun silence over all runs, ms.
    pub gap_ms: f64,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Speaks `text` `runs` times to the end and summarizes.
pub fn measure(core: &Core, case: &str, text: &str, runs: usize) -> anyhow::Result<CaseResult> {
    let mut all: Vec<UtteranceStats> = Vec::new();
    for _ in 0..runs {
        core.speak(text)?;
        while !core.wait_idle(Duration::from_millis(200)) {}
        if let Some(s) = core.stats().last {
            all.push(s);
        }
    }
    let pick = |f: fn(&UtteranceStats) -> Option<f64>| median(all.iter().filter_map(f).collect());
    Ok(CaseResult {
        case: case.to_string(),
        chars: text.chars().count(),
        runs: all.len(),
        first_chunk_ms: pick(|s| s.first_chunk_ms),
        first_audio_ms: pick(|s| s.first_audio_ms),
        real_time_factor: pick(|s| s.real_time_factor),
        underruns: all.iter().map(|s| s.underruns).sum(),
        gap_ms: all.iter().map(|s| s.gap_ms).sum(),
    })
}

/// The table.
pub fn table(results: &[CaseResult]) -> String {
    let f = |v: Option<f64>, d: usize| v.map_or("-".into(), |x| format!("{x:.d$}"));
    let mut out = format!(
        "{:<12} {:>6} {:>5} {:>14} {:>14} {:>6} {:>9} {:>8}\n",
        "case", "chars", "runs", "first chunk ms", "first audio ms", "RTF", "underruns", "gap ms"
    );
    for r in results {
        out += &format!(
            "{:<12} {:>6} {:>5} {:>14} {:>14} {:>6} {:>9} {:>8.0}\n",
            r.case,
            r.chars,
            r.runs,
            f(r.first_chunk_ms, 0),
            f(r.first_audio_ms, 0),
            f(r.real_time_factor, 2),
            r.underruns,
            r.gap_ms
        );
    }
    out
}
