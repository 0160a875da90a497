//! Pacing a streamed reading: how long synthesis takes on this machine, and how large each chunk
//! may be so that it is ready before the listener runs out of buffered speech.
//!
//! A Kokoro run costs a fixed part plus a part per token (on a slow 2-core box ~0.55 s +
//! ~32 ms per token, for ~57 ms of speech per token). A chunk can be ready in time only if its
//! synthesis fits in the speech still buffered, so the first chunk must be long enough that the
//! pipeline can sustain itself: `N₀ > fixed / (margin·speech − per_token)` tokens. On a fast
//! machine that is a few words; on a slow one it is a clause.

use std::collections::VecDeque;
use std::time::Instant;

use serde::Serialize;

use crate::model::SAMPLE_RATE;

/// Share of the buffered speech a chunk's synthesis may use (the rest absorbs jitter).
const MARGIN: f64 = 0.8;
/// The same for a decoder window. Smaller: at a reading's start, when little is buffered, a
/// window's decoding on this 2-core box ran 10-20% over the fitted cost, and at 0.8 the third
/// window sometimes ended with under 10 ms of audio left to play.
const WINDOW_MARGIN: f64 = 0.7;
/// Runs remembered for the fit.
const HISTORY: usize = 48;
/// Bounds of a first chunk.
const FIRST_MIN: usize = 8;
const FIRST_MAX: usize = 200;

/// One synthesis run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Tokens in.
    pub tokens: usize,
    /// Seconds it took.
    pub synth_secs: f64,
    /// Seconds of speech out (leading and trailing silence excluded), as at speed 1.
    pub speech_secs: f64,
}

impl Run {
    /// A run of `tokens` at `speed` that produced `samples` in `synth_secs`; its speech is
    /// counted as if spoken at speed 1.
    pub fn new(tokens: usize, samples: &[f32], synth_secs: f64, speed: f32) -> Self {
        Self {
            tokens,
            synth_secs,
            speech_secs: speech_secs(samples) * f64::from(speed),
        }
    }
}

/// Seconds between the first and last sample above -46 dBFS.
pub fn speech_secs(samples: &[f32]) -> f64 {
    let loud = |s: &f32| s.abs() > 0.005;
    let first = samples.iter().position(loud).unwrap_or(0);
    let last = samples.iter().rposition(loud).map_or(0, |i| i + 1);
    last.saturating_sub(first) as f64 / f64::from(SAMPLE_RATE)
}

/// Synthesis cost on this machine: `fixed_secs + per_token_secs × tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct CostModel {
    /// Fixed cost of a run, seconds.
    pub fixed_secs: f64,
    /// Cost per token, seconds.
    pub per_token_secs: f64,
    /// Speech produced per token, seconds (at speed 1).
    pub speech_per_token_secs: f64,
}

impl CostModel {
    /// Least-squares fit over `runs`; with a single size of run, its time is split 40% fixed.
    pub fn fit(runs: &[Run]) -> Option<Self> {
        let (fixed, per_token) = fit_line(runs.iter().map(|r| (r.tokens as f64, r.synth_secs)))?;
        let tokens: usize = runs.iter().map(|r| r.tokens).sum();
        let speech: f64 = runs.iter().map(|r| r.speech_secs).sum();
        (tokens > 0).then(|| Self {
            fixed_secs: fixed,
            per_token_secs: per_token,
            speech_per_token_secs: speech / tokens as f64,
        })
    }

    /// Seconds to synthesize `tokens`.
    pub fn synth_secs(&self, tokens: usize) -> f64 {
        self.fixed_secs + self.per_token_secs * tokens as f64
    }

    /// The shortest first chunk after which each following chunk can be ready before the
    /// speech buffered ahead of it runs out (25% headroom), at `speed`. Where synthesis is slower
    /// than speech, no chunk size keeps up, so the first chunk is as long as allowed.
    pub fn sustainable_first_chunk(&self, speed: f32) -> usize {
        let speech = self.speech_per_token_secs / f64::from(speed.max(0.1));
        let gain = MARGIN * speech - self.per_token_secs;
        if gain <= 0.0 {
            return FIRST_MAX;
        }
        ((self.fixed_secs / gain * 1.25).ceil() as usize).clamp(FIRST_MIN, FIRST_MAX)
    }

    /// The most tokens that can be synthesized before `buffered_secs` of speech run out.
    pub fn affordable(&self, buffered_secs: f64) -> usize {
        ((buffered_secs * MARGIN - self.fixed_secs) / self.per_token_secs.max(1e-4)).max(0.0)
            as usize
    }
}

/// The engine's recent runs, across readings, so each reading starts with a model.
#[derive(Debug, Default)]
pub struct CostHistory {
    runs: VecDeque<Run>,
    /// Runs measured in this process (the prior's pseudo-runs excluded).
    measured: usize,
}

impl CostHistory {
    /// A history that starts from a model measured earlier (two runs it predicts), so the first
    /// reading after start-up is paced before anything has been measured; real runs soon
    /// outweigh it.
    pub fn with_prior(prior: Option<CostModel>) -> Self {
        let mut history = Self::default();
        if let Some(m) = prior.filter(|m| m.per_token_secs > 0.0 && m.speech_per_token_secs > 0.0) {
            for tokens in [20, 100] {
                history.runs.push_back(Run {
                    tokens,
                    synth_secs: m.synth_secs(tokens),
                    speech_secs: m.speech_per_token_secs * tokens as f64,
                });
            }
        }
        history
    }

    /// Runs measured since the engine started.
    pub fn runs_this_session(&self) -> usize {
        self.measured
    }

    /// Remembers a run.
    pub fn push(&mut self, run: Run) {
        self.measured += 1;
        if self.runs.len() == HISTORY {
            self.runs.pop_front();
        }
        self.runs.push_back(run);
    }

    /// The current model.
    pub fn model(&self) -> Option<CostModel> {
        CostModel::fit(&self.runs.iter().copied().collect::<Vec<_>>())
    }
}

/// Least-squares line `y = a + b·x` through `points` as `(a, b)`, with `a ≥ 0`; where every x
/// is the same (or y falls with x), the mean is split 40% fixed, 60% proportional.
fn fit_line(points: impl Iterator<Item = (f64, f64)> + Clone) -> Option<(f64, f64)> {
    let n = points.clone().count() as f64;
    if n == 0.0 {
        return None;
    }
    let mx = points.clone().map(|p| p.0).sum::<f64>() / n;
    let my = points.clone().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.clone().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx > 1.0 && sxy > 0.0 {
        let b = sxy / sxx;
        Some(((my - b * mx).max(0.0), b))
    } else if mx > 0.0 {
        Some((0.4 * my, 0.6 * my / mx))
    } else {
        None
    }
}

/// Seconds of audio in one decoder frame (600 samples at 24 kHz, at any speed).
pub const FRAME_SECS: f64 = 0.025;

/// The decoder's cost on this machine: `fixed_secs + per_frame_secs × frames`, where frames are
/// what the decoder is handed (new audio plus context).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct DecodeCost {
    /// Fixed cost of a decoder run, seconds.
    pub fixed_secs: f64,
    /// Cost per frame decoded, seconds (its real-time factor is `per_frame_secs / 0.025`).
    pub per_frame_secs: f64,
}

impl DecodeCost {
    /// Seconds to decode `frames`.
    pub fn secs(&self, frames: usize) -> f64 {
        self.fixed_secs + self.per_frame_secs * frames as f64
    }

    /// The smallest first window (frames of new audio) after which each window can be decoded
    /// while the one before it plays, each carrying `overhead` frames of context; 25% headroom.
    /// The window after the first is at least `min_next` frames, so the first must also play for
    /// as long as that one takes to decode. Where decoding is slower than speech, the answer is
    /// `cap`.
    pub fn sustainable_first(&self, overhead: usize, min_next: usize, cap: usize) -> usize {
        let gain = WINDOW_MARGIN * FRAME_SECS - self.per_frame_secs;
        if gain <= 0.0 {
            return cap;
        }
        let cost = self.fixed_secs + self.per_frame_secs * overhead as f64;
        let growing = (cost / gain * 1.25).ceil() as usize;
        let next = (self.secs(min_next + overhead) / (WINDOW_MARGIN * FRAME_SECS)).ceil() as usize;
        growing.max(next).min(cap)
    }

    /// The most frames of new audio that can be decoded (with `overhead` frames of context)
    /// before `buffered_secs` of audio run out.
    pub fn affordable(&self, buffered_secs: f64, overhead: usize) -> usize {
        let budget = buffered_secs * WINDOW_MARGIN - self.secs(overhead);
        (budget / self.per_frame_secs.max(1e-5)).max(0.0) as usize
    }
}

/// Recent decoder runs: (frames decoded, seconds).
#[derive(Debug, Default)]
pub struct DecodeHistory {
    runs: VecDeque<(usize, f64)>,
    measured: usize,
}

impl DecodeHistory {
    /// A history primed with a cost measured earlier (two runs it predicts).
    pub fn with_prior(prior: Option<DecodeCost>) -> Self {
        let mut history = Self::default();
        if let Some(c) = prior.filter(|c| c.per_frame_secs > 0.0) {
            for frames in [16, 160] {
                history.runs.push_back((frames, c.secs(frames)));
            }
        }
        history
    }

    /// Remembers a run.
    pub fn push(&mut self, frames: usize, secs: f64) {
        self.measured += 1;
        if self.runs.len() == HISTORY {
            self.runs.pop_front();
        }
        self.runs.push_back((frames, secs));
    }

    /// Runs measured since the engine started.
    pub fn runs_this_session(&self) -> usize {
        self.measured
    }

    /// The current cost.
    pub fn cost(&self) -> Option<DecodeCost> {
        let (fixed, per_frame) = fit_line(self.runs.iter().map(|&(f, s)| (f as f64, s)))?;
        Some(DecodeCost {
            fixed_secs: fixed,
            per_frame_secs: per_frame,
        })
    }
}

/// What is kept between runs (the user cache's `cost-model.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SavedCosts {
    /// Whole-chunk synthesis (models that cannot be split).
    pub whole: Option<CostModel>,
    /// Windowed decoding.
    pub decode: Option<DecodeCost>,
}

/// Reads costs saved by [`save`] (defaults if absent or unreadable).
pub fn load(path: &std::path::Path) -> SavedCosts {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Saves costs for the next start (written to a temporary file, then renamed).
pub fn save(path: &std::path::Path, model: &SavedCosts) {
    let Ok(json) = serde_json::to_string(model) else {
        return;
    };
    let tmp = path.with_extension("tmp");
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = written {
        tracing::debug!("cannot save the cost model to {}: {e}", path.display());
    }
}

/// How far one reading is ahead of its listener, assuming playback starts when the first chunk
/// is ready and runs on without pause.
#[derive(Debug, Default)]
pub struct Pace {
    first_ready: Option<Instant>,
    speech_secs: f64,
}

impl Pace {
    /// Counts a finished chunk spoken at `speed`.
    pub fn record(&mut self, run: &Run, speed: f32) {
        self.first_ready.get_or_insert_with(Instant::now);
        self.speech_secs += run.speech_secs / f64::from(speed.max(0.1));
    }

    /// Counts `secs` of finished audio (played at the rate it was synthesized for).
    pub fn record_secs(&mut self, secs: f64) {
        self.first_ready.get_or_insert_with(Instant::now);
        self.speech_secs += secs;
    }

    /// Seconds of speech synthesized but not yet heard.
    pub fn buffered_secs(&self) -> f64 {
        let played = self.first_ready.map_or(0.0, |t| t.elapsed().as_secs_f64());
        (self.speech_secs - played).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tokens: usize, synth: f64) -> Run {
        Run {
            tokens,
            synth_secs: synth,
            speech_secs: 0.057 * tokens as f64,
        }
    }

    #[test]
    fn the_fit_recovers_fixed_and_per_token_cost() {
        let runs: Vec<Run> = [6, 17, 24, 48, 79]
            .iter()
            .map(|&n| run(n, 0.55 + 0.032 * n as f64))
            .collect();
        let m = CostModel::fit(&runs).expect("a model");
        assert!((m.fixed_secs - 0.55).abs() < 1e-6 && (m.per_token_secs - 0.032).abs() < 1e-6);
        assert!((m.speech_per_token_secs - 0.057).abs() < 1e-9);
    }

    #[test]
    fn slow_machines_get_a_longer_first_chunk_and_fast_ones_a_short_one() {
        let slow = CostModel {
            fixed_secs: 0.55,
            per_token_secs: 0.032,
            speech_per_token_secs: 0.057,
        };
        let fast = CostModel {
            fixed_secs: 0.27,
            per_token_secs: 0.016,
            speech_per_token_secs: 0.057,
        };
        assert_eq!(
            slow.sustainable_first_chunk(1.0),
            51,
            "0.55 / (0.8·0.057 − 0.032) × 1.25"
        );
        assert_eq!(fast.sustainable_first_chunk(1.0), 12);
        let hopeless = CostModel {
            fixed_secs: 0.5,
            per_token_secs: 0.06,
            speech_per_token_secs: 0.057,
        };
        assert_eq!(
            hopeless.sustainable_first_chunk(1.0),
            FIRST_MAX,
            "slower than real time"
        );
    }

    #[test]
    fn a_saved_model_primes_the_next_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cost.json");
        let m = CostModel {
            fixed_secs: 0.5,
            per_token_secs: 0.02,
            speech_per_token_secs: 0.06,
        };
        let d = DecodeCost {
            fixed_secs: 0.01,
            per_frame_secs: 0.006,
        };
        save(
            &path,
            &SavedCosts {
                whole: Some(m),
                decode: Some(d),
            },
        );
        let saved = load(&path);
        let back = CostHistory::with_prior(saved.whole)
            .model()
            .expect("primed");
        assert!((back.fixed_secs - 0.5).abs() < 1e-9 && (back.per_token_secs - 0.02).abs() < 1e-9);
        let back = DecodeHistory::with_prior(saved.decode)
            .cost()
            .expect("primed");
        assert!((back.per_frame_secs - 0.006).abs() < 1e-9);
        assert_eq!(load(&dir.path().join("none")), SavedCosts::default());
    }

    #[test]
    fn affordable_tokens_fit_in_the_buffer() {
        let m = CostModel {
            fixed_secs: 0.5,
            per_token_secs: 0.02,
            speech_per_token_secs: 0.06,
        };
        let n = m.affordable(3.0);
        assert!(m.synth_secs(n) <= 3.0 * MARGIN + 1e-9 && m.synth_secs(n + 1) > 3.0 * MARGIN);
        assert_eq!(m.affordable(0.1), 0);
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    #[test]
    fn a_fast_decoder_starts_small_and_a_slow_one_starts_larger() {
        let fast = DecodeCost {
            fixed_secs: 0.012,
            per_frame_secs: 0.0061,
        };
        let slow = DecodeCost {
            fixed_secs: 0.02,
            per_frame_secs: 0.015,
        };
        assert_eq!(
            fast.sustainable_first(8, 0, 400),
            7,
            "(0.012 + 8·0.0061) / (0.7·0.025 − 0.0061) × 1.25"
        );
        assert_eq!(
            fast.sustainable_first(8, 24, 400),
            12,
            "long enough to cover decoding a 24-frame second window: (0.012 + 32·0.0061) / 0.0175"
        );
        assert_eq!(slow.sustainable_first(8, 24, 400), 71);
        let hopeless = DecodeCost {
            fixed_secs: 0.02,
            per_frame_secs: 0.03,
        };
        assert_eq!(
            hopeless.sustainable_first(8, 24, 400),
            400,
            "slower than real time"
        );
    }

    #[test]
    fn affordable_windows_fit_in_what_is_buffered() {
        let c = DecodeCost {
            fixed_secs: 0.012,
            per_frame_secs: 0.006,
        };
        let n = c.affordable(1.0, 8);
        assert!(c.secs(n + 8) <= 0.7 + 1e-9 && c.secs(n + 9) > 0.7, "{n}");
        assert_eq!(c.affordable(0.01, 8), 0);
    }
}
