//! Streamed decoding: one chunk's frames (from the model's front) are decoded window by window,
//! so the first audio is ready after a few hundred milliseconds of speech have been decoded
//! rather than the whole chunk.
//!
//! * Silence the model puts before and after the speech (about 0.3 s each) is never decoded:
//!   the energy curve says where the speech is ([`speech_span`]).
//! * Each cut falls on the quietest frame within the window's allowed range (a pause between
//!   words or a stop consonant), where a seam is least audible.
//! * Each window is decoded with [`CONTEXT`] frames beyond its cut, so the convolutions see
//!   what follows, and the next window starts [`CONTEXT`] frames before the cut. The two are
//!   blended over [`CROSSFADE`] samples with a raised cosine; the harmonic source's phase is
//!   carried from one window to the next so the voice's pitch has no jump.
//!
//! The decoder normalizes its activations over the frames it is given, so a window's audio is
//! not bit-identical to a whole-chunk decode (it sounds like the same voice reading the same
//! words); the seams sit in quiet frames for that reason.

use std::ops::Range;

use crate::model::{Decoded, Frames};
use crate::split::{HARMONICS, SAMPLES_PER_FRAME};

/// Frames decoded beyond each cut (on both sides), so every kept sample saw its neighbours.
pub const CONTEXT: usize = 4;
/// Samples blended at each cut (10 ms at 24 kHz).
pub const CROSSFADE: usize = 240;
/// The smallest window after a chunk's first, in frames of new audio, but for a reading's
/// second ([`SECOND_WINDOW`]): each window decodes 2·[`CONTEXT`] frames it does not keep, so
/// smaller ones cost more than they gain.
pub const MIN_WINDOW: usize = 24;
/// The smallest window a planner may ask for after a chunk's first: a reading's second window,
/// which must be decoded while the short first one plays, may be this small; later ones are at
/// least [`MIN_WINDOW`].
pub const SECOND_WINDOW: usize = 16;
/// Frames of the model's lead-in silence decoded before a chunk's first window (not played):
/// the decoder normalizes over what it is given, and without them the first word comes out
/// about 3 dB softer than the same word decoded with the whole chunk (about 1 dB with them).
pub const FIRST_LEFT_CONTEXT: usize = 6;
/// A reading's first window on a fast machine, in frames of new audio (0.3 s, two of them
/// lead-in): cut at the quietest of its last 30%.
pub const FIRST_WINDOW: usize = 13;
/// The smallest first window, in frames.
const FIRST_MIN: usize = 8;
/// The largest window, in frames (2.4 s of audio): ONNX Runtime's memory grows with the frames
/// of one run (about 0.5 MB a frame), so this bounds the engine's peak memory whatever the
/// length of a chunk. Measured reading an article: peak RSS 301 MB with 128, 288 MB with 96,
/// 265 MB with 64; decoding took 3–7 % longer with 96 than with 160 (each window decodes
/// 2·[`CONTEXT`] frames it does not keep), about 10 % with 64.
pub const MAX_WINDOW: usize = 96;
/// Energy-curve value below which a frame counts as silence (speech is about 0…8, silence −9).
const QUIET: f32 = -6.0;
/// Frames kept before the first and after the last loud frame (attack and release).
const LEAD: usize = 2;
const TRAIL: usize = 4;

/// The frames that hold speech, with a little margin; empty when nothing is loud.
pub fn speech_span(frames: &Frames) -> Range<usize> {
    let loud = |t: &usize| energy(frames, *t) > QUIET;
    let all = 0..frames.frames;
    match (all.clone().find(loud), all.rev().find(loud)) {
        (Some(first), Some(last)) => {
            first.saturating_sub(LEAD)..(last + 1 + TRAIL).min(frames.frames)
        }
        _ => 0..0,
    }
}

/// Mean of the two energy-curve steps of frame `t`.
fn energy(frames: &Frames, t: usize) -> f32 {
    let steps = &frames.n[2 * t..2 * t + 2];
    (steps[0] + steps[1]) / 2.0
}

/// Magnitude below which a sample is quiet at the start of speech (-46 dBFS). The player's
/// `seams::shape` (utter-audio, which does not depend on the engine) trims with the same
/// threshold and lead-in, so a chunk cut here reaches it with nothing more to cut.
const QUIET_SAMPLE: f32 = 0.005;
/// Samples kept before the first loud one (6 ms): Kokoro's onsets rise from -60 dBFS to
/// [`QUIET_SAMPLE`] within 5 ms.
const LEAD_IN_SAMPLES: usize = 144;
/// The ramp over the start of a cut lead-in (4 ms).
const FADE_IN_SAMPLES: usize = 96;

/// Where the audible part of a chunk's first window begins: its frame-level lead (see
/// [`speech_span`]) is still up to ~90 ms of near-silence, which the player would cut anyway.
/// Cut here, the reading's pacing counts only audio that will be heard. All-quiet audio is kept.
fn quiet_start(samples: &[f32]) -> usize {
    samples
        .iter()
        .position(|s| s.abs() > QUIET_SAMPLE)
        .map_or(0, |first| first.saturating_sub(LEAD_IN_SAMPLES))
}

/// One planned window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Frames handed to the decoder (the new frames plus context).
    pub decode: Range<usize>,
    /// Frames of new audio this window contributes (up to its cut).
    pub emit: Range<usize>,
    /// The first window of the chunk.
    pub first: bool,
    /// The last window of the chunk.
    pub last: bool,
}

/// Plans and stitches the windows of one chunk.
#[derive(Debug)]
pub struct Windows {
    span: Range<usize>,
    /// First frame not yet emitted.
    next: usize,
    /// The source's phase at the start of the next window's decode range.
    phase: [f32; HARMONICS],
    /// The previous window's last [`CROSSFADE`] samples, to blend with the next one's first.
    tail: Vec<f32>,
    /// Cut the first window's quiet start at the sample (streamed readings).
    trim_start: bool,
}

impl Windows {
    /// Windows over the speech in `frames` (the model's lead-in and trailing silence skipped).
    pub fn new(frames: &Frames) -> Self {
        Self {
            trim_start: true,
            ..Self::over(speech_span(frames))
        }
    }

    /// Windows over every frame, silence included: for chunks that fit one window this is
    /// exactly the whole model's output (files, where the first sample's time does not matter).
    pub fn whole(frames: &Frames) -> Self {
        Self::over(0..frames.frames)
    }

    fn over(span: Range<usize>) -> Self {
        Self {
            next: span.start,
            span,
            phase: [0.0; HARMONICS],
            tail: Vec::new(),
            trim_start: false,
        }
    }

    /// The speech frames of this chunk.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// True when every frame has been emitted.
    pub fn is_done(&self) -> bool {
        self.next >= self.span.end
    }

    /// Frames not yet emitted.
    pub fn remaining(&self) -> usize {
        self.span.end.saturating_sub(self.next)
    }

    /// The sine source's phase where the next window's decoding starts.
    pub fn phase(&self) -> &[f32; HARMONICS] {
        &self.phase
    }

    /// Plans the next window: at most `limit` frames of new audio (at least [`SECOND_WINDOW`]
    /// after the chunk's first window), cut at the quietest frame of its last 30% (15% for a
    /// chunk's first window, whose length the pacing counts on to cover decoding the next); the
    /// rest of the chunk when that is not much more than `limit`.
    pub fn plan(&self, frames: &Frames, limit: usize) -> Window {
        let a = self.next;
        let first = a == self.span.start;
        let limit = limit.max(if first { FIRST_MIN } else { SECOND_WINDOW });
        let cut = if self.remaining() <= limit + MIN_WINDOW / 2 {
            self.span.end
        } else {
            let keep = if first { 85 } else { 70 };
            let lo = a + (limit * keep / 100).max(FIRST_MIN / 2);
            let hi = a + limit;
            // The latest of equally quiet frames: the longest window that cut allows.
            (lo..=hi)
                .rev()
                .min_by(|&x, &y| energy(frames, x).total_cmp(&energy(frames, y)))
                .unwrap_or(hi)
        };
        let last = cut >= self.span.end;
        let start = a.saturating_sub(if first { FIRST_LEFT_CONTEXT } else { CONTEXT });
        let end = if last {
            self.span.end
        } else {
            (cut + CONTEXT).min(frames.frames)
        };
        Window {
            decode: start..end,
            emit: a..cut,
            first,
            last,
        }
    }

    /// Takes a decoded `window` and returns the samples to play now: its new audio, blended
    /// with the previous window at the seam, minus the end kept back to blend with the next.
    pub fn take(&mut self, window: &Window, decoded: &Decoded) -> Vec<f32> {
        let h = CROSSFADE / 2;
        let origin = window.decode.start * SAMPLES_PER_FRAME;
        let sample = |frame: usize| frame * SAMPLES_PER_FRAME;
        let at = |abs: usize| decoded.samples.get(abs - origin).copied().unwrap_or(0.0);
        let begin = if window.first {
            sample(window.emit.start)
        } else {
            sample(window.emit.start) - h
        };
        let stop = if window.last {
            sample(window.emit.end)
        } else {
            sample(window.emit.end) - h
        };
        let mut out: Vec<f32> = (begin..stop.max(begin)).map(at).collect();
        if window.first && self.trim_start {
            let cut = quiet_start(&out);
            if cut > 0 {
                out.drain(..cut);
                // The cut lands in near-silence, not on zero: ramp in so it cannot step.
                let ramp = FADE_IN_SAMPLES.min(out.len());
                for (i, s) in out[..ramp].iter_mut().enumerate() {
                    *s *= i as f32 / ramp as f32;
                }
            }
        }
        if !window.first {
            for (i, (s, old)) in out.iter_mut().zip(&self.tail).enumerate() {
                let g =
                    0.5 - 0.5 * (std::f32::consts::PI * (i as f32 + 0.5) / CROSSFADE as f32).cos();
                *s = *s * g + old * (1.0 - g);
            }
        }
        if window.last {
            self.tail.clear();
        } else {
            self.tail = (stop..stop + CROSSFADE).map(at).collect();
            // The next window starts decoding CONTEXT frames before this cut: its phase is
            // this window's phase just before that F0 step.
            let next_start = window.emit.end - CONTEXT;
            let step = 2 * (next_start - window.decode.start);
            if step > 0
                && let Some(p) = decoded.phase.get((step - 1) * HARMONICS..step * HARMONICS)
            {
                self.phase.copy_from_slice(p);
            }
        }
        self.next = window.emit.end;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `frames` frames whose energy is given per frame (both F0 steps alike).
    fn frames(energy: &[f32]) -> Frames {
        let n: Vec<f32> = energy.iter().flat_map(|&e| [e, e]).collect();
        Frames {
            asr: vec![0.0; energy.len() * crate::split::ASR_DIM],
            f0: vec![100.0; n.len()],
            n,
            frames: energy.len(),
        }
    }

    /// A decoder stand-in: each sample is its absolute position, so stitching is checkable.
    fn decode(w: &Window) -> Decoded {
        let range = w.decode.start * SAMPLES_PER_FRAME..w.decode.end * SAMPLES_PER_FRAME;
        let steps = 2 * w.decode.len();
        Decoded {
            samples: range.map(|i| i as f32).collect(),
            phase: (0..steps * HARMONICS)
                .map(|i| (i / HARMONICS) as f32)
                .collect(),
        }
    }

    #[test]
    fn leading_and_trailing_silence_are_not_decoded() {
        let mut e = vec![-9.0; 10];
        e.extend([5.0; 20]);
        e.extend([-9.0; 12]);
        assert_eq!(
            speech_span(&frames(&e)),
            8..34,
            "2 frames of lead, 4 of trail"
        );
        assert_eq!(speech_span(&frames(&[-9.0; 5])), 0..0, "all silent");
    }

    #[test]
    fn cuts_fall_on_the_quietest_frame_and_the_stitch_is_seamless() {
        let mut e = vec![5.0; 100];
        e[14] = -3.0; // a pause between words inside the first window's range
        let f = frames(&e);
        let mut w = Windows::new(&f);
        let first = w.plan(&f, 16);
        assert_eq!(first.emit, 0..14, "cut at the quiet frame");
        assert_eq!(first.decode, 0..18, "decoded with context beyond the cut");
        assert_eq!(
            w.plan(&f, 30).emit,
            0..30,
            "no quieter frame in the last 30%: the limit"
        );
        let mut all = w.take(&first, &decode(&first));
        while !w.is_done() {
            let win = w.plan(&f, 40);
            assert!(win.decode.start + CONTEXT == win.emit.start, "left context");
            all.extend(w.take(&win, &decode(&win)));
        }
        assert_eq!(all.len(), 100 * SAMPLES_PER_FRAME, "every sample once");
        for (i, s) in all.iter().enumerate() {
            assert!(
                (s - i as f32).abs() < 1e-2,
                "sample {i} is {s}: seams blend like with like"
            );
        }
    }

    #[test]
    fn the_first_window_is_decoded_with_the_lead_in_before_it() {
        let mut e = vec![-9.0; 12];
        e.extend([5.0; 60]);
        let f = frames(&e);
        let w = Windows::new(&f);
        let first = w.plan(&f, 13);
        assert_eq!(
            first.emit.start, 10,
            "played from 2 frames before the speech"
        );
        assert_eq!(
            first.decode.start,
            10 - FIRST_LEFT_CONTEXT,
            "decoded from further back"
        );
        let mut w = w;
        let out = w.take(&first, &decode(&first));
        assert_eq!(
            out[0],
            (10 * SAMPLES_PER_FRAME) as f32,
            "the lead-in is not played"
        );
    }

    #[test]
    fn a_streamed_chunk_starts_6_ms_before_its_first_loud_sample() {
        let mut e = vec![-9.0; 12];
        e.extend([5.0; 60]);
        let f = frames(&e);
        // Quiet (below -46 dBFS) until 1,000 samples into the first emitted frame, then speech.
        let speech_at = 10 * SAMPLES_PER_FRAME + 1_000;
        let decoded = |w: &Window| Decoded {
            samples: (w.decode.start * SAMPLES_PER_FRAME..w.decode.end * SAMPLES_PER_FRAME)
                .map(|i| if i < speech_at { 0.001 } else { 0.1 })
                .collect(),
            phase: vec![0.0; 2 * w.decode.len() * HARMONICS],
        };
        let mut streamed = Windows::new(&f);
        let first = streamed.plan(&f, 13);
        let out = streamed.take(&first, &decoded(&first));
        let kept_quiet = out.iter().take_while(|s| s.abs() < 0.005).count();
        assert_eq!(
            kept_quiet, LEAD_IN_SAMPLES,
            "6 ms of lead-in before the speech"
        );
        assert_eq!(
            out.len(),
            first.emit.end * SAMPLES_PER_FRAME - CROSSFADE / 2 - (speech_at - LEAD_IN_SAMPLES),
            "the rest of the window is all there"
        );
        let next = streamed.plan(&f, 24);
        let out = streamed.take(&next, &decoded(&next));
        assert!(
            out.len() > 20 * SAMPLES_PER_FRAME,
            "later windows are not cut"
        );
        let mut whole = Windows::whole(&f);
        let all = whole.plan(&f, MAX_WINDOW);
        let out = whole.take(&all, &decoded(&all));
        assert_eq!(
            out.len(),
            f.frames * SAMPLES_PER_FRAME,
            "files keep every sample"
        );
        let quiet = frames(&[5.0; 30]);
        let mut w = Windows::new(&quiet);
        let only = w.plan(&quiet, 40);
        let silent = Decoded {
            samples: vec![0.0; only.decode.len() * SAMPLES_PER_FRAME],
            phase: vec![0.0; 2 * only.decode.len() * HARMONICS],
        };
        assert_eq!(
            w.take(&only, &silent).len(),
            30 * SAMPLES_PER_FRAME,
            "an all-quiet window is kept whole"
        );
    }

    #[test]
    fn the_phase_is_carried_to_the_next_window() {
        let f = frames(&[5.0; 60]);
        let mut w = Windows::new(&f);
        let first = w.plan(&f, 20);
        w.take(&first, &decode(&first));
        let next_start = first.emit.end - CONTEXT;
        let expected = (2 * (next_start - first.decode.start) - 1) as f32;
        assert_eq!(
            w.phase()[0],
            expected,
            "the phase just before the next window's first step"
        );
    }

    #[test]
    fn whole_windows_keep_the_silence_and_one_window_is_the_whole_decode() {
        let mut e = vec![-9.0; 10];
        e.extend([5.0; 40]);
        e.extend([-9.0; 10]);
        let f = frames(&e);
        let w = Windows::whole(&f);
        let only = w.plan(&f, 320);
        assert!(only.first && only.last);
        assert_eq!((only.decode.clone(), only.emit.clone()), (0..60, 0..60));
    }

    #[test]
    fn a_short_remainder_joins_the_window() {
        let f = frames(&[5.0; 30]);
        let w = Windows::new(&f);
        let only = w.plan(&f, 24);
        assert!(only.last && only.emit == (0..30), "30 ≤ 24 + 6: one window");
    }
}
