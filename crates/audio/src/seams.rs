//! Seams between chunks: each chunk is trimmed to its speech, then followed by a pause whose
//! length fits the punctuation at the boundary, with short fades so no edge clicks. A chunk may
//! arrive in pieces that continue one another (windowed decoding): those are joined as they
//! are, with no trim, fade or pause between them.

/// What separates a chunk from the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Boundary {
    /// A sentence ends (. ! ? …).
    Sentence,
    /// A clause ends (, ; : —).
    Clause,
    /// A chunk was cut between words.
    Word,
    /// The utterance ends.
    End,
    /// The next piece continues this stretch of speech (it was already blended at the seam).
    Continue,
}

impl Boundary {
    /// Classifies the end of a chunk from its phonemes (or text).
    pub fn after(text: &str) -> Self {
        match text.trim_end().chars().next_back() {
            Some('.' | '!' | '?' | '…' | '"' | '”') => Self::Sentence,
            Some(',' | ';' | ':' | '—' | '-') => Self::Clause,
            _ => Self::Word,
        }
    }

    /// Silence after a chunk ending here, in seconds.
    pub fn pause(self) -> f32 {
        match self {
            Self::Sentence => 0.32,
            Self::Clause => 0.16,
            Self::Word => 0.03,
            Self::End | Self::Continue => 0.0,
        }
    }
}

/// Magnitude below which a sample is silence for trimming (-46 dBFS).
const QUIET: f32 = 0.005;
/// Audio kept before the first loud sample, in seconds. The engine already cuts a streamed
/// chunk's start this way (`utter_engine::stream`, so its pacing counts what is heard); here it
/// covers audio from elsewhere, e.g. a model that runs whole. Kokoro's onsets rise from -60 to -46 dBFS
/// in the last 0-5 ms before it (measured on plosives, fricatives, /h/ and vowels): 6 ms keeps
/// them, where a longer lead-in would only be near-silence the listener waits through.
const LEAD_IN: f32 = 0.006;
/// Audio kept after the last loud sample (decays are longer than onsets), in seconds.
const TAIL: f32 = 0.02;
/// Fade length at trimmed edges, in seconds.
const FADE: f32 = 0.004;

/// Trims `samples` (mono, `rate` Hz) to its speech plus a lead-in and a tail, fades the cut edges and
/// appends the pause for `boundary`. All-silent input becomes just the pause. A piece that
/// `joins` the previous one keeps its start as it is; one followed by [`Boundary::Continue`]
/// keeps its end.
pub fn shape(samples: &[f32], rate: u32, boundary: Boundary, joins: bool) -> Vec<f32> {
    let rate = rate as f32;
    let lead_in = (LEAD_IN * rate) as usize;
    let tail = (TAIL * rate) as usize;
    let pause = (boundary.pause() * rate) as usize;
    let continues = boundary == Boundary::Continue;
    let first = samples.iter().position(|s| s.abs() > QUIET);
    let last = samples.iter().rposition(|s| s.abs() > QUIET);
    let (Some(first), Some(last)) = (first, last) else {
        if joins || continues {
            // Quiet audio inside a stretch of speech is part of it (a pause between words).
            return samples.to_vec();
        }
        return vec![0.0; pause];
    };
    let start = if joins {
        0
    } else {
        first.saturating_sub(lead_in)
    };
    let end = if continues {
        samples.len()
    } else {
        (last + tail + 1).min(samples.len())
    };
    let mut out = Vec::with_capacity(end - start + pause);
    out.extend_from_slice(&samples[start..end]);
    let fade = ((FADE * rate) as usize).min(out.len() / 2);
    for i in 0..fade {
        let g = i as f32 / fade as f32;
        if !joins {
            out[i] *= g;
        }
        if !continues {
            let j = out.len() - 1 - i;
            out[j] *= g;
        }
    }
    out.resize(out.len() + pause, 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_punctuation() {
        assert_eq!(Boundary::after("həlˈO."), Boundary::Sentence);
        assert_eq!(Boundary::after("wˈʌn, "), Boundary::Clause);
        assert_eq!(Boundary::after("wˈʌn tˈu"), Boundary::Word);
    }

    #[test]
    fn silence_is_trimmed_and_the_pause_appended() {
        let mut chunk = vec![0.0f32; 2400];
        chunk.extend(std::iter::repeat_n(0.5, 2400));
        chunk.extend(vec![0.0f32; 4800]);
        let out = shape(&chunk, 24_000, Boundary::Clause, false);
        let expected = 144 + 2400 + 480 + (0.16 * 24_000.0) as usize;
        assert!(
            out.len().abs_diff(expected) <= 2,
            "6 ms lead-in + speech + 20 ms tail + pause: {} vs {expected}",
            out.len()
        );
        assert_eq!(out[0], 0.0, "starts from silence (faded)");
        assert!(out.iter().all(|s| s.abs() <= 0.5));
    }

    #[test]
    fn an_all_silent_chunk_is_only_its_pause() {
        assert_eq!(shape(&[0.0; 100], 24_000, Boundary::Word, false).len(), 720);
    }

    #[test]
    fn pieces_of_one_chunk_join_untouched() {
        let mut piece = vec![0.0f32; 1000];
        piece.extend(std::iter::repeat_n(0.5, 960));
        let middle = shape(&piece, 24_000, Boundary::Continue, true);
        assert_eq!(middle, piece, "no trim, fade or pause inside a chunk");
        let head = shape(&piece, 24_000, Boundary::Continue, false);
        assert_eq!(
            head.len(),
            144 + 960,
            "the chunk's start is trimmed, its end kept"
        );
        assert_eq!(
            *head.last().expect("samples"),
            0.5,
            "no fade-out before the next piece"
        );
        let quiet = shape(&[0.0; 100], 24_000, Boundary::Continue, true);
        assert_eq!(
            quiet.len(),
            100,
            "a quiet piece inside speech is kept, not dropped"
        );
    }
}
