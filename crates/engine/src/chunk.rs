//! Chunking: normalized text → pieces (sentences, at most [`MAX_PIECE_CHARS`]) → phonemes →
//! token chunks the model can take.
//!
//! Kokoro accepts at most 510 tokens, and ONNX Runtime's memory grows with input length
//! (509 tokens ≈ 820 MB RSS), so chunks aim at 100–200 tokens. Chunks break at sentence ends
//! first, then after clause punctuation, then between words; never inside a word unless a
//! single "word" is longer than a chunk. The first chunk can have its own, smaller limit so a
//! player starts speaking early ([`ChunkPolicy::first_max_tokens`]).
//!
//! The planner is lazy: it phonemizes only as far as the next chunk needs, so a 1 MB text
//! starts as fast as a sentence.

use std::collections::VecDeque;
use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use crate::phonemize::{MAX_WORD_CHARS, Phonemizer};
use crate::vocab;
use crate::voices::Dialect;

/// Longest piece of text handed to the G2P at once; longer sentences are cut at clauses/words.
pub const MAX_PIECE_CHARS: usize = 400;

/// Token limit of a chunk in a windowed reading (about a long sentence).
pub const WINDOWED_MAX_TOKENS: usize = 128;

/// How text is cut into model inputs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChunkPolicy {
    /// Token limit for the first chunk (smaller = earlier first audio).
    pub first_max_tokens: usize,
    /// Token limit for every later chunk (at most 510).
    pub max_tokens: usize,
    /// Each chunk's limit is the previous one's times this (until `max_tokens`), so a short
    /// first chunk is followed by chunks that grow while the audio buffered ahead grows.
    pub growth: f32,
    /// Frames in a streamed reading's first decoder window (see [`crate::stream`]); `None`
    /// sizes it by this machine's measured speed.
    #[serde(default)]
    pub first_window: Option<usize>,
    /// Frames in each later decoder window; `None` sizes them by the speech buffered ahead
    /// (the player's case). Fixed sizes make a reading's windows, and so its audio, the same on
    /// every machine (tests, studies of the seams).
    #[serde(default)]
    pub window: Option<usize>,
}

impl Default for ChunkPolicy {
    /// 200 tokens throughout: good prosody, bounded memory.
    fn default() -> Self {
        Self {
            first_max_tokens: 200,
            max_tokens: 200,
            growth: 1.0,
            first_window: None,
            window: None,
        }
    }
}

impl ChunkPolicy {
    /// The same policy with limits clamped to what the model accepts (1..=510).
    pub fn clamped(self) -> Self {
        let clamp = |n: usize| n.clamp(1, vocab::MAX_TOKENS);
        Self {
            first_max_tokens: clamp(self.first_max_tokens),
            max_tokens: clamp(self.max_tokens),
            growth: if self.growth.is_finite() {
                self.growth.clamp(1.0, 10.0)
            } else {
                1.0
            },
            first_window: self.first_window,
            window: self.window,
        }
    }

    /// For a player: a first chunk of about the first clause or few words, then chunks growing
    /// by half each time up to 200 tokens, so synthesis stays ahead of playback.
    pub fn streaming() -> Self {
        Self {
            first_max_tokens: 32,
            max_tokens: 200,
            growth: 1.5,
            first_window: None,
            window: None,
        }
    }

    /// For a player with windowed decoding (see [`crate::stream`]): the decoder's first window
    /// gives the early audio, so chunks follow the text — a sentence or two — and only a long
    /// sentence is cut (at a clause). The first chunk is kept short so the front's first run
    /// is quick; later ones stay at about a sentence so a speed change is heard within seconds.
    pub fn windowed(max_tokens: usize) -> Self {
        Self {
            first_max_tokens: 96,
            max_tokens: max_tokens.min(WINDOWED_MAX_TOKENS),
            growth: 2.0,
            first_window: None,
            window: None,
        }
    }

    /// The token limit of chunk `index`.
    pub fn limit(&self, index: usize) -> usize {
        let grown = self.first_max_tokens as f32 * self.growth.powi(index.min(64) as i32);
        (grown as usize).clamp(
            self.first_max_tokens.min(self.max_tokens),
            self.max_tokens.max(1),
        )
    }
}

/// One model input.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Chunk {
    /// Position in the plan, from 0.
    pub index: usize,
    /// The phonemes the model will read.
    pub phonemes: String,
    /// Their token ids (unpadded).
    pub tokens: Vec<i64>,
    /// Byte range of the normalized text this chunk covers (sentence granularity: a sentence
    /// split across chunks gives each part the whole sentence's range).
    pub text_range: Range<usize>,
}

/// A stretch of phonemes with the text it came from.
#[derive(Debug)]
struct Segment {
    phonemes: String,
    tokens: usize,
    text_range: Range<usize>,
}

/// Lazily turns normalized text into [`Chunk`]s.
pub struct Planner<'a> {
    phonemizer: &'a Phonemizer,
    dialect: Dialect,
    policy: ChunkPolicy,
    text: String,
    pieces: std::vec::IntoIter<Range<usize>>,
    pending: VecDeque<Segment>,
    next_index: usize,
    next_limit: Option<usize>,
}

impl<'a> Planner<'a> {
    /// Plans `normalized` text (see [`crate::normalize`]) for a voice of `dialect`.
    pub fn new(
        phonemizer: &'a Phonemizer,
        normalized: String,
        dialect: Dialect,
        policy: ChunkPolicy,
    ) -> Self {
        Self::starting_at(phonemizer, normalized, dialect, policy, 0)
    }

    /// Like [`Planner::new`], but skips the pieces that start before byte `offset` (so reading
    /// resumes at the first sentence piece at or after it).
    pub fn starting_at(
        phonemizer: &'a Phonemizer,
        normalized: String,
        dialect: Dialect,
        policy: ChunkPolicy,
        offset: usize,
    ) -> Self {
        let mut pieces = pieces(&normalized);
        pieces.retain(|r| r.start >= offset);
        Self {
            phonemizer,
            dialect,
            policy: policy.clamped(),
            text: normalized,
            pieces: pieces.into_iter(),
            pending: VecDeque::new(),
            next_index: 0,
            next_limit: None,
        }
    }

    /// Overrides the token limit of the next chunk only (clamped to the policy's bounds): the
    /// engine sizes chunks by how much audio is buffered ahead of the listener.
    pub fn set_next_limit(&mut self, tokens: usize) {
        let low = self.policy.first_max_tokens.min(self.policy.max_tokens);
        self.next_limit = Some(tokens.clamp(low, self.policy.max_tokens));
    }

    /// The normalized text being planned.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Makes sure at least one segment is pending, phonemizing the next piece(s).
    fn fill(&mut self) -> bool {
        while self.pending.is_empty() {
            let Some(range) = self.pieces.next() else {
                return false;
            };
            let phonemes = self
                .phonemizer
                .phonemize(&self.text[range.clone()], self.dialect);
            let tokens = vocab::count(&phonemes);
            if tokens == 0 {
                tracing::debug!(text = %&self.text[range], "nothing speakable in this piece");
                continue;
            }
            self.pending.push_back(Segment {
                phonemes,
                tokens,
                text_range: range,
            });
        }
        true
    }
}

impl Iterator for Planner<'_> {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        let limit = self
            .next_limit
            .take()
            .unwrap_or_else(|| self.policy.limit(self.next_index));
        if !self.fill() {
            return None;
        }
        let mut phonemes = String::new();
        let mut tokens = 0usize;
        let mut text_range: Option<Range<usize>> = None;
        while let Some(seg) = self.pending.pop_front() {
            let joint = usize::from(!phonemes.is_empty());
            if tokens + joint + seg.tokens > limit {
                // Over the limit. A segment too long for an empty chunk is cut at its best
                // boundary. In a streamed reading (growing chunks), a chunk still under half its
                // limit (a short first sentence such as a heading) is also filled up with the
                // head of the next segment, so it carries the audio its limit was sized for;
                // otherwise sentences stay whole.
                let room = limit.saturating_sub(tokens + joint);
                let top_up = self.policy.growth > 1.0 && tokens * 2 < limit;
                if (tokens == 0 || top_up) && room > 0 {
                    let (head, tail) = split_phonemes(&seg.phonemes, room);
                    let (mut head, mut tail) = (head.trim_end().to_string(), tail.to_string());
                    if vocab::count(&head) == 0 && tokens == 0 {
                        // No usable boundary: a hard cut, so the chunk is never empty.
                        let cut = hard_cut(&seg.phonemes, room);
                        head = seg.phonemes[..cut].to_string();
                        tail = seg.phonemes[cut..].to_string();
                    }
                    let head_tokens = vocab::count(&head);
                    if head_tokens > 0 {
                        if joint == 1 {
                            phonemes.push(' ');
                        }
                        phonemes.push_str(&head);
                        tokens += joint + head_tokens;
                        text_range = Some(match text_range {
                            Some(r) => r.start..seg.text_range.end,
                            None => seg.text_range.clone(),
                        });
                    } else {
                        tail = seg.phonemes.clone();
                    }
                    let tail_tokens = vocab::count(&tail);
                    if tail_tokens > 0 {
                        let text_range = seg.text_range;
                        self.pending.push_front(Segment {
                            phonemes: tail,
                            tokens: tail_tokens,
                            text_range,
                        });
                    }
                } else {
                    self.pending.push_front(seg);
                }
                break;
            }
            if joint == 1 {
                phonemes.push(' ');
            }
            phonemes.push_str(&seg.phonemes);
            tokens += joint + seg.tokens;
            text_range = Some(match text_range {
                Some(r) => r.start..seg.text_range.end,
                None => seg.text_range,
            });
            if !self.fill() {
                break;
            }
        }
        let index = self.next_index;
        self.next_index += 1;
        let tokens_ids = vocab::tokenize(&phonemes);
        debug_assert_eq!(tokens_ids.len(), tokens);
        Some(Chunk {
            index,
            phonemes,
            tokens: tokens_ids,
            text_range: text_range.unwrap_or(0..0),
        })
    }
}

/// Cuts a phoneme string so the head has at most `limit` tokens, at the most natural boundary
/// that keeps at least half the limit: after sentence punctuation, else after clause
/// punctuation, else at a space; failing all of those, the latest boundary of any kind, and only
/// then anywhere. Returns (head, tail); the tail starts at the next non-space character.
pub fn split_phonemes(phonemes: &str, limit: usize) -> (&str, &str) {
    // Latest boundary of each kind: (byte index of the space, tokens before it).
    let (mut sentence, mut clause, mut space) = (None, None, None);
    let mut hard = phonemes.len();
    let mut count = 0usize;
    let mut prev: Option<char> = None;
    for (i, c) in phonemes.char_indices() {
        if c == ' ' && i > 0 {
            let slot = match prev {
                Some('.' | '!' | '?' | '…') => &mut sentence,
                Some(',' | ';' | ':' | '—') => &mut clause,
                _ => &mut space,
            };
            *slot = Some((i, count));
        }
        if vocab::token_id(c).is_some() {
            count += 1;
            if count > limit {
                hard = i;
                break;
            }
        }
        prev = Some(c);
    }
    if count <= limit {
        return (phonemes, "");
    }
    let long_enough = |b: &Option<(usize, usize)>| b.filter(|&(_, n)| n * 2 >= limit);
    let cut = long_enough(&sentence)
        .or(long_enough(&clause))
        .or(long_enough(&space))
        .or([sentence, clause, space].into_iter().flatten().max())
        .map_or(hard, |(i, _)| i);
    (&phonemes[..cut], phonemes[cut..].trim_start())
}

/// Byte index after the first `limit` tokens of `phonemes` (at least one character in).
fn hard_cut(phonemes: &str, limit: usize) -> usize {
    let mut count = 0;
    for (i, c) in phonemes.char_indices() {
        if vocab::token_id(c).is_some() {
            if count == limit.max(1) {
                return i;
            }
            count += 1;
        }
    }
    phonemes.len()
}

/// Splits normalized text into pieces for the G2P: sentences (Unicode sentence boundaries, plus
/// every line break), each at most [`MAX_PIECE_CHARS`] (longer ones are cut after clause
/// punctuation or between words). Words longer than [`MAX_WORD_CHARS`] are left out.
pub fn pieces(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for (line_start, line) in line_ranges(text) {
        for (start, sentence) in line.split_sentence_bound_indices() {
            let start = line_start + start;
            cut_long(text, start..start + sentence.len(), &mut out);
        }
    }
    out
}

fn line_ranges(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        (start, line)
    })
}

/// Pushes `range` (trimmed) onto `out`, cut into pieces of at most MAX_PIECE_CHARS, with
/// over-long words removed.
fn cut_long(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let mut start = range.start;
    let end = range.end;
    while start < end {
        // Skip leading whitespace and unsayable over-long words.
        let rest = &text[start..end];
        let trimmed = rest.trim_start();
        start += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            return;
        }
        let word_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        if trimmed[..word_len].chars().take(MAX_WORD_CHARS + 1).count() > MAX_WORD_CHARS {
            tracing::debug!(chars = word_len, "over-long word skipped");
            start += word_len;
            continue;
        }
        let piece_end = piece_end(text, start, end);
        let piece = text[start..piece_end].trim_end();
        if !piece.is_empty() {
            out.push(start..start + piece.len());
        }
        start = piece_end;
    }
}

/// Where the piece starting at `start` should end: `end` if it is short enough, else after the
/// last clause punctuation (or space) within [`MAX_PIECE_CHARS`]; always before a word too long
/// to say, so that `cut_long` skips it on its own.
fn piece_end(text: &str, start: usize, end: usize) -> usize {
    let slice = &text[start..end];
    let (mut clause, mut space, mut prev) = (None, None, None);
    for (n, (i, c)) in slice.char_indices().enumerate() {
        if n == MAX_PIECE_CHARS {
            return start + clause.or(space).unwrap_or(i);
        }
        if c.is_whitespace() && i > 0 {
            let next = slice[i + c.len_utf8()..]
                .split(char::is_whitespace)
                .next()
                .unwrap_or("");
            if next.chars().take(MAX_WORD_CHARS + 1).count() > MAX_WORD_CHARS {
                return start + i;
            }
            if matches!(prev, Some(',' | ';' | ':' | '—' | '.' | '!' | '?')) {
                clause = Some(i);
            }
            space = Some(i);
        }
        prev = Some(c);
    }
    end
}

/// The whole plan at once (for inspection and tests; synthesis uses the lazy [`Planner`]).
pub fn plan(
    phonemizer: &Phonemizer,
    normalized: String,
    dialect: Dialect,
    policy: ChunkPolicy,
) -> Vec<Chunk> {
    Planner::new(phonemizer, normalized, dialect, policy).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_prefers_sentence_then_clause_then_space() {
        let p = "ab. cd, ef gh";
        assert_eq!(split_phonemes(p, 10), ("ab. cd,", "ef gh"));
        assert_eq!(split_phonemes(p, 5), ("ab.", "cd, ef gh"));
        assert_eq!(
            split_phonemes("abcdef", 3),
            ("abc", "def"),
            "hard cut when no boundary"
        );
        assert_eq!(split_phonemes("abc", 3), ("abc", ""), "fits");
    }

    #[test]
    fn pieces_follow_sentences_and_lines() {
        let text = "One two. Three four!\nFive";
        let got: Vec<&str> = pieces(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(got, vec!["One two.", "Three four!", "Five"]);
    }

    #[test]
    fn long_sentences_are_cut_and_monster_words_skipped() {
        let long = "word, ".repeat(200);
        for r in pieces(&long) {
            assert!(
                long[r].chars().count() <= MAX_PIECE_CHARS,
                "piece within limit"
            );
        }
        let monster = format!("Hello {} world.", "x".repeat(10_000));
        let got: Vec<&str> = pieces(&monster).into_iter().map(|r| &monster[r]).collect();
        assert_eq!(
            got,
            vec!["Hello", "world."],
            "the 10,000-char word is skipped"
        );
    }

    #[test]
    fn streaming_limits_grow_to_the_maximum() {
        let p = ChunkPolicy::streaming();
        let limits: Vec<usize> = (0..8).map(|i| p.limit(i)).collect();
        assert_eq!(limits, vec![32, 48, 72, 108, 162, 200, 200, 200]);
        assert_eq!(ChunkPolicy::default().limit(5), 200, "no growth by default");
    }

    #[test]
    fn a_short_first_sentence_is_topped_up_from_the_next_one() {
        let phonemizer = Phonemizer::new();
        let text = "Part one. Reading by ear has quietly become one of the most useful habits of \
                    people who work with long documents every day of the week."
            .to_string();
        let policy = ChunkPolicy {
            first_max_tokens: 60,
            max_tokens: 200,
            growth: 1.5,
            first_window: None,
            window: None,
        };
        let chunks = plan(&phonemizer, text.clone(), Dialect::American, policy);
        let first = chunks[0].tokens.len();
        assert!(
            (30..=60).contains(&first),
            "the heading is joined by part of the sentence: {first}"
        );
        let whole = ChunkPolicy {
            growth: 1.0,
            ..policy
        };
        let unstreamed = plan(&phonemizer, text, Dialect::American, whole);
        assert!(
            unstreamed[0].tokens.len() < 15,
            "without streaming, sentences stay whole"
        );
        let total: usize = chunks.iter().map(|c| c.tokens.len()).sum();
        let whole = vocab::count(&phonemizer.phonemize("Part one.", Dialect::American));
        assert!(total > whole + 60, "nothing is lost: {total} tokens in all");
    }

    #[test]
    fn no_pieces_from_blank_text() {
        assert!(pieces(" \n\t ").is_empty());
    }
}
