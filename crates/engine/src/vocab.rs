//! Kokoro v1.0's phoneme vocabulary: phoneme characters → model token ids.
//!
//! `vocab.json` is the `vocab` table of Kokoro v1.0's `config.json` (114 symbols). Characters
//! outside it are dropped, as the reference implementation does, with a debug log.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The longest token sequence the model accepts, padding excluded (its context is 512).
pub const MAX_TOKENS: usize = 510;

static VOCAB: LazyLock<HashMap<char, i64>> = LazyLock::new(|| {
    #[derive(serde::Deserialize)]
    struct Config {
        vocab: HashMap<String, i64>,
    }
    // The file is part of the source tree and checked by a unit test, so this cannot fail.
    let config: Config = serde_json::from_str(include_str!("vocab.json")).unwrap_or(Config {
        vocab: HashMap::new(),
    });
    config
        .vocab
        .into_iter()
        .filter_map(|(k, v)| {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some((c, v)),
                _ => None,
            }
        })
        .collect()
});

/// Token id of one phoneme character, if the model knows it.
pub fn token_id(c: char) -> Option<i64> {
    VOCAB.get(&c).copied()
}

/// Converts a phoneme string to token ids, dropping characters the model does not know.
pub fn tokenize(phonemes: &str) -> Vec<i64> {
    let mut dropped = 0usize;
    let ids: Vec<i64> = phonemes
        .chars()
        .filter_map(|c| {
            let id = token_id(c);
            if id.is_none() {
                dropped += 1;
            }
            id
        })
        .collect();
    if dropped > 0 {
        tracing::debug!(
            dropped,
            "phoneme characters outside Kokoro's vocabulary were skipped"
        );
    }
    ids
}

/// Number of tokens a phoneme string will produce.
pub fn count(phonemes: &str) -> usize {
    phonemes.chars().filter(|c| VOCAB.contains_key(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_kokoros_114_symbols() {
        assert_eq!(
            VOCAB.len(),
            114,
            "the embedded vocab.json must parse completely"
        );
        assert_eq!(token_id(' '), Some(16));
        assert_eq!(token_id('ˈ'), Some(156));
    }

    #[test]
    fn unknown_characters_are_dropped() {
        assert_eq!(
            tokenize("a❓b"),
            vec![43, 44],
            "❓ is not in the vocabulary"
        );
        assert_eq!(count("a❓b"), 2);
    }
}
