//! Per-utterance timings and a rolling summary for the UI and the API.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

/// How many recent utterances the summary covers.
pub const HISTORY: usize = 100;

/// What one utterance measured.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct UtteranceStats {
    /// Request → first PCM chunk ready (engine side), ms.
    pub first_chunk_ms: Option<f64>,
    /// Request → first non-silent sample handed to the device callback, ms. This is Utter's
    /// time to first audio.
    pub first_audio_ms: Option<f64>,
    /// Callback invocations that found the buffer empty mid-utterance.
    pub underruns: u64,
    /// Times the device itself ran dry because the callback was late (CPU starvation; the
    /// ring may still have held audio).
    pub device_xruns: u64,
    /// Silence inserted by underruns, ms (unplanned gaps between chunks).
    pub gap_ms: f64,
    /// Longest wait between one chunk being queued and the next being ready beyond what was
    /// still buffered, ms (0 when synthesis always stayed ahead).
    pub max_starved_ms: f64,
    /// Synthesis time / audio duration.
    pub real_time_factor: Option<f64>,
    /// Seconds of audio played.
    pub audio_secs: f64,
    /// Chunks played.
    pub chunks: usize,
    /// True if the utterance was stopped or replaced before its end.
    pub interrupted: bool,
}

/// A percentile summary of one figure over recent utterances.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Values summarized.
    pub count: usize,
}

impl Summary {
    /// Nearest-rank percentiles of `values` (None if empty).
    pub fn of(mut values: Vec<f64>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank =
            |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Self {
            p50: rank(0.5),
            p95: rank(0.95),
            count: values.len(),
        })
    }
}

/// The stats snapshot the UI and API show.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StatsSnapshot {
    /// The most recent utterance.
    pub last: Option<UtteranceStats>,
    /// Time to first audio over recent utterances.
    pub first_audio_ms: Option<Summary>,
    /// Time to first chunk over recent utterances.
    pub first_chunk_ms: Option<Summary>,
    /// Real-time factor over recent utterances.
    pub real_time_factor: Option<Summary>,
    /// Underruns over all recent utterances.
    pub underruns_total: u64,
    /// Utterances summarized.
    pub utterances: usize,
}

/// Recent utterances.
#[derive(Debug, Default)]
pub struct StatsHistory {
    recent: VecDeque<UtteranceStats>,
}

impl StatsHistory {
    /// Records a finished (or interrupted) utterance.
    pub fn push(&mut self, stats: UtteranceStats) {
        if self.recent.len() == HISTORY {
            self.recent.pop_front();
        }
        self.recent.push_back(stats);
    }

    /// The last `n` utterances, oldest first.
    pub fn recent(&self, n: usize) -> Vec<UtteranceStats> {
        let skip = self.recent.len().saturating_sub(n);
        self.recent.iter().skip(skip).cloned().collect()
    }

    /// The summary.
    pub fn snapshot(&self) -> StatsSnapshot {
        let pick = |f: fn(&UtteranceStats) -> Option<f64>| {
            Summary::of(self.recent.iter().filter_map(f).collect())
        };
        StatsSnapshot {
            last: self.recent.back().cloned(),
            first_audio_ms: pick(|s| s.first_audio_ms),
            first_chunk_ms: pick(|s| s.first_chunk_ms),
            real_time_factor: pick(|s| s.real_time_factor),
            underruns_total: self.recent.iter().map(|s| s.underruns).sum(),
            utterances: self.recent.len(),
        }
    }
}

/// Milliseconds of a duration, as f64.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = Summary::of((1..=20).map(f64::from).collect()).expect("values");
        assert_eq!((s.p50, s.p95, s.count), (10.0, 19.0, 20));
        assert!(Summary::of(Vec::new()).is_none());
    }

    #[test]
    fn history_is_bounded() {
        let mut h = StatsHistory::default();
        for i in 0..(HISTORY + 5) {
            h.push(UtteranceStats {
                first_audio_ms: Some(i as f64),
                ..Default::default()
            });
        }
        let snap = h.snapshot();
        assert_eq!(snap.utterances, HISTORY);
        assert_eq!(
            snap.last.and_then(|l| l.first_audio_ms),
            Some((HISTORY + 4) as f64)
        );
    }
}
