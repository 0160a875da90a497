//! Caches that make repeated text start from memory.
//!
//! * [`AudioCache`]: finished audio of the first [`CACHED_CHUNKS`] chunks of each reading, keyed
//!   by the chunk's tokens, the voice and the speed, bounded in bytes and evicted
//!   least-recently-used first. A reading whose first chunk is cached starts as soon as the
//!   text is planned.
//! * The phonemizer keeps its own small cache of sentence → phonemes (see
//!   [`crate::Phonemizer`]), so planning a repeated text skips the G2P.

use std::hash::Hash;
use std::sync::Arc;

use lru::LruCache;
use serde::Serialize;

/// What identifies a chunk's audio.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AudioKey {
    /// The chunk's phoneme tokens.
    pub tokens: Vec<i64>,
    /// The voice or blend, as requested.
    pub voice: String,
    /// The speed, as f32 bits.
    pub speed_bits: u32,
}

/// Hit and size counters of one cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CacheStats {
    /// Entries held.
    pub entries: usize,
    /// Bytes held (audio cache; 0 where not counted).
    pub bytes: usize,
    /// The byte budget (audio cache) or entry capacity (phoneme cache).
    pub capacity: usize,
    /// Look-ups that found their entry.
    pub hits: u64,
    /// Look-ups that did not.
    pub misses: u64,
}

impl CacheStats {
    /// Hits over look-ups (None before the first look-up).
    pub fn hit_rate(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 / total as f64)
    }
}

/// A least-recently-used map bounded by the total weight of its values.
#[derive(Debug)]
pub struct WeightedLru<K: Hash + Eq, V> {
    map: LruCache<K, (V, usize)>,
    weight: usize,
    budget: usize,
    hits: u64,
    misses: u64,
}

impl<K: Hash + Eq, V: Clone> WeightedLru<K, V> {
    /// An empty cache holding at most `budget` weight.
    pub fn new(budget: usize) -> Self {
        Self {
            map: LruCache::unbounded(),
            weight: 0,
            budget,
            hits: 0,
            misses: 0,
        }
    }

    /// The value for `key`, marking it most recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        let found = self.map.get(key).map(|(v, _)| v.clone());
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    /// Stores `value` of `weight`, evicting the least recently used entries to stay within the
    /// budget. A value heavier than the whole budget is not stored.
    pub fn put(&mut self, key: K, value: V, weight: usize) {
        if weight > self.budget {
            return;
        }
        if let Some((_, old)) = self.map.put(key, (value, weight)) {
            self.weight -= old;
        }
        self.weight += weight;
        while self.weight > self.budget {
            match self.map.pop_lru() {
                Some((_, (_, w))) => self.weight -= w,
                None => break,
            }
        }
    }

    /// Drops every entry (the counters stay).
    pub fn clear(&mut self) {
        self.map.clear();
        self.weight = 0;
    }

    /// Counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.map.len(),
            bytes: self.weight,
            capacity: self.budget,
            hits: self.hits,
            misses: self.misses,
        }
    }
}

/// A chunk's finished audio as kept in the cache: 16-bit samples, half the memory of the f32
/// the model makes (the difference, at most half a step of 2⁻¹⁵, is 90 dB below full scale and
/// inaudible; the device's own format is often 16-bit anyway).
#[derive(Debug, Clone)]
pub struct CachedAudio(Arc<[i16]>);

impl CachedAudio {
    /// Rounds `samples` to 16 bits (clamped to full scale).
    pub fn from_f32(samples: &[f32]) -> Self {
        Self(
            samples
                .iter()
                .map(|x| (x.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16)
                .collect(),
        )
    }

    /// The samples as f32 again.
    pub fn to_f32(&self) -> Vec<f32> {
        let scale = 1.0 / f32::from(i16::MAX);
        self.0.iter().map(|&x| f32::from(x) * scale).collect()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(&*self.0)
    }
}

/// Finished audio per chunk, bounded in bytes.
pub type AudioCache = WeightedLru<AudioKey, CachedAudio>;

impl AudioCache {
    /// Keeps a chunk's `samples` (as 16-bit audio, weighed by its bytes).
    pub fn keep(&mut self, key: AudioKey, samples: &[f32]) {
        let audio = CachedAudio::from_f32(samples);
        let bytes = audio.bytes();
        self.put(key, audio, bytes);
    }
}

/// Chunks kept per reading: its opening (the first chunk is at most 96 tokens, the second 192:
/// 10-20 s of speech). A repeated text starts from memory and the rest is synthesized well ahead
/// of the listener; a skip re-plans from a sentence, whose chunks differ anyway. Keeping every
/// chunk of a long article would fill the budget with audio that is not heard again.
pub const CACHED_CHUNKS: usize = 2;

/// Entries of the phonemizer's sentence cache (each weighs 1).
pub const PHONEME_CACHE_ENTRIES: usize = 4096;

/// Default audio cache budget: 32 MB, about 11 minutes of 24 kHz 16-bit audio.
pub const DEFAULT_AUDIO_CACHE_BYTES: usize = 32 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first_when_over_budget() {
        let mut c: WeightedLru<&str, u32> = WeightedLru::new(10);
        c.put("a", 1, 4);
        c.put("b", 2, 4);
        assert_eq!(c.get(&"a"), Some(1), "a is now the most recent");
        c.put("c", 3, 4);
        assert_eq!(c.get(&"b"), None, "b was least recently used");
        assert_eq!(c.get(&"a"), Some(1));
        assert_eq!(c.get(&"c"), Some(3));
        let s = c.stats();
        assert_eq!((s.entries, s.bytes, s.hits, s.misses), (2, 8, 3, 1));
        assert_eq!(s.hit_rate(), Some(0.75));
    }

    #[test]
    fn a_value_heavier_than_the_budget_is_not_kept_and_replacing_reweighs() {
        let mut c: WeightedLru<&str, u32> = WeightedLru::new(10);
        c.put("big", 1, 11);
        assert_eq!(c.stats().entries, 0);
        c.put("a", 1, 6);
        c.put("a", 2, 3);
        assert_eq!(c.stats().bytes, 3, "the old weight is released");
        assert_eq!(c.get(&"a"), Some(2));
    }

    #[test]
    fn cached_audio_keeps_every_sample_within_half_a_16_bit_step_in_half_the_bytes() {
        let samples: Vec<f32> = (0..24_000)
            .map(|i| 0.8 * (i as f32 * 0.0173).sin() + if i == 5 { 1.7 } else { 0.0 })
            .collect();
        let cached = CachedAudio::from_f32(&samples);
        assert_eq!(cached.bytes(), samples.len() * 2);
        let back = cached.to_f32();
        assert_eq!(back.len(), samples.len());
        for (i, (a, b)) in samples.iter().zip(&back).enumerate() {
            let want = a.clamp(-1.0, 1.0);
            assert!(
                (want - b).abs() <= 0.5 / 32767.0 + 1e-7,
                "sample {i}: {a} came back as {b}"
            );
        }
    }
}
