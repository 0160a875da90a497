//! English G2P: misaki-rs (a port of misaki 0.9.4, the G2P Kokoro was trained on) with a neural
//! post-pass for the words misaki cannot resolve.
//!
//! misaki-rs without its GPL espeak-ng fallback writes `❓` for unknown words, which Kokoro
//! silently skips, so names would vanish. Those words (alphabetic ones only) get `loqui-g2p`'s
//! neural guess instead; short unknown ALL-CAPS words are spelled letter by letter, as a reader
//! would say an unfamiliar acronym. Whatever is still unresolved (emoji, other scripts) is
//! dropped with a debug log.

use std::sync::{Mutex, OnceLock, PoisonError};

use loqui_g2p::NeuralG2p;
use misaki_rs::{G2P, Language};

use crate::cache::{CacheStats, PHONEME_CACHE_ENTRIES, WeightedLru};
use crate::voices::Dialect;

const UNKNOWN: &str = "❓";
/// Words longer than this are not words a person can say; they are skipped.
pub const MAX_WORD_CHARS: usize = 64;
/// Unknown ALL-CAPS words up to this length are spelled out (acronyms).
const SPELL_MAX: usize = 5;

struct DialectG2p {
    misaki: G2P,
    neural: Option<NeuralG2p>,
}

impl DialectG2p {
    fn new(dialect: Dialect) -> Self {
        let (language, neural) = match dialect {
            Dialect::American => (Language::EnglishUS, loqui_g2p::Dialect::American),
            Dialect::British => (Language::EnglishGB, loqui_g2p::Dialect::British),
        };
        let neural = NeuralG2p::load(neural)
            .inspect_err(|e| {
                tracing::warn!("neural G2P unavailable, unknown words will be skipped: {e}")
            })
            .ok();
        Self {
            misaki: G2P::with_fallback(language, None),
            neural,
        }
    }
}

/// Text → phonemes for both English dialects. Each dialect's tables load on first use
/// (~150 ms); call [`Phonemizer::warm`] to pay that up front.
pub struct Phonemizer {
    american: OnceLock<DialectG2p>,
    british: OnceLock<DialectG2p>,
    /// Sentence → phonemes, so a repeated text skips the G2P.
    cache: Mutex<WeightedLru<(Dialect, String), String>>,
}

impl Default for Phonemizer {
    fn default() -> Self {
        Self {
            american: OnceLock::new(),
            british: OnceLock::new(),
            cache: Mutex::new(WeightedLru::new(PHONEME_CACHE_ENTRIES)),
        }
    }
}

impl std::fmt::Debug for Phonemizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phonemizer")
            .field("american_loaded", &self.american.get().is_some())
            .field("british_loaded", &self.british.get().is_some())
            .finish()
    }
}

impl Phonemizer {
    /// A phonemizer with nothing loaded yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, dialect: Dialect) -> &DialectG2p {
        let cell = match dialect {
            Dialect::American => &self.american,
            Dialect::British => &self.british,
        };
        cell.get_or_init(|| DialectG2p::new(dialect))
    }

    /// True once `dialect`'s tables are loaded.
    pub fn is_loaded(&self, dialect: Dialect) -> bool {
        match dialect {
            Dialect::American => self.american.get().is_some(),
            Dialect::British => self.british.get().is_some(),
        }
    }

    /// Loads the tables for `dialect` now and runs one sentence through them.
    pub fn warm(&self, dialect: Dialect) {
        let _ = self.phonemize("Warm up, please.", dialect);
    }

    /// Phonemizes one piece of already-normalized text (a sentence or clause). The result holds
    /// only what Kokoro can say: no `❓`. Recent results are remembered.
    pub fn phonemize(&self, text: &str, dialect: Dialect) -> String {
        let key = (dialect, text.to_string());
        if let Some(hit) = self.lock_cache().get(&key) {
            return hit;
        }
        let phonemes = self.phonemize_uncached(text, dialect);
        self.lock_cache().put(key, phonemes.clone(), 1);
        phonemes
    }

    /// Forgets every remembered sentence.
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    /// Hits and misses of the sentence cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.lock_cache().stats()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, WeightedLru<(Dialect, String), String>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn phonemize_uncached(&self, text: &str, dialect: Dialect) -> String {
        let g2p = self.get(dialect);
        let tokens = match g2p.misaki.g2p(text) {
            Ok((_, tokens)) => tokens,
            Err(e) => {
                tracing::debug!("misaki could not phonemize {text:?}: {e}");
                return String::new();
            }
        };
        let mut out = String::with_capacity(text.len() * 2);
        let mut dropped = false;
        for token in &tokens {
            match token.phonemes.as_deref() {
                Some(p) if !p.contains(UNKNOWN) => out.push_str(p),
                resolved => {
                    if let Some(guess) = self.guess(g2p, &token.text, dialect) {
                        out.push_str(&guess);
                    } else if let Some(p) = resolved {
                        // A merged word with an unresolvable part: keep the parts misaki knew.
                        out.push_str(&p.replace(UNKNOWN, ""));
                    } else {
                        tracing::debug!(word = %token.text, "unspeakable word skipped");
                        dropped = true;
                    }
                }
            }
            out.push_str(&token.whitespace);
        }
        // Keep misaki's spacing exactly unless a dropped word left a gap.
        if dropped {
            tidy(&out)
        } else {
            out.trim().to_string()
        }
    }

    /// Phonemes for a word misaki could not resolve, if it is a word at all.
    fn guess(&self, g2p: &DialectG2p, word: &str, dialect: Dialect) -> Option<String> {
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        let wordlike = letters > 0
            && word
                .chars()
                .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '.'))
            && word.chars().count() <= MAX_WORD_CHARS;
        if !wordlike {
            return None;
        }
        let is_acronym = letters <= SPELL_MAX
            && letters > 1
            && word
                .chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| c.is_ascii_uppercase());
        if is_acronym {
            let spelled: String = word
                .chars()
                .filter(char::is_ascii_uppercase)
                .map(|c| format!("{c} "))
                .collect();
            let p = self.phonemize(spelled.trim_end(), dialect);
            if !p.is_empty() {
                return Some(p);
            }
        }
        let guess = g2p.neural.as_ref()?.phonemize(word)?;
        // misaki's own last step maps the flap and glottal stop to Kokoro's symbols.
        Some(guess.replace('ɾ', "T").replace('ʔ', "t"))
    }
}

/// Collapses the whitespace left where words were dropped.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_gaps_left_by_dropped_words() {
        assert_eq!(tidy("  a   b \n c  "), "a b c");
    }
}
