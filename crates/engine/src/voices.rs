//! Voices: the catalog of installed Kokoro voice packs, loading on demand, and blends.
//!
//! A voice pack is a raw little-endian f32 array [510, 1, 256]: row L is the style vector for a
//! sequence of L phoneme tokens. A name like `af_heart` encodes language (a = American English,
//! b = British English, e, f, h, i, j, p, z), gender (f/m) and a display name. A blend such as
//! `af_heart:0.6+af_bella:0.4` is the weighted mean of its packs (weights normalized).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::EngineError;

/// Rows in a voice pack (one per possible token count).
pub const STYLE_ROWS: usize = 510;
/// Width of one style vector.
pub const STYLE_DIM: usize = 256;
const PACK_BYTES: u64 = (STYLE_ROWS * STYLE_DIM * 4) as u64;

/// Which English G2P reads text for a voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Dialect {
    /// American English (misaki en-us).
    American,
    /// British English (misaki en-gb).
    British,
}

/// Gender of a voice, as Kokoro's naming declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// `?f_*`
    Female,
    /// `?m_*`
    Male,
}

/// What the catalog knows about one installed voice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceInfo {
    /// The id used in requests, e.g. `af_heart`.
    pub id: String,
    /// Display name, e.g. `Heart`.
    pub name: String,
    /// BCP 47 language tag, e.g. `en-US`.
    pub language: &'static str,
    /// Language in English, e.g. `English`.
    pub language_name: &'static str,
    /// Accent or variety, e.g. `American`.
    pub accent: &'static str,
    /// Female or male.
    pub gender: Gender,
    /// The G2P used for this voice. Utter's G2P is English-only, so non-English voices read
    /// English text with their own accent.
    pub dialect: Dialect,
}

impl VoiceInfo {
    /// Parses a Kokoro voice id such as `bf_emma`. `None` if it does not follow the scheme.
    pub fn from_id(id: &str) -> Option<Self> {
        let mut chars = id.chars();
        let (lang, gender, sep) = (chars.next()?, chars.next()?, chars.next()?);
        let rest: String = chars.collect();
        if sep != '_' || rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let gender = match gender {
            'f' => Gender::Female,
            'm' => Gender::Male,
            _ => return None,
        };
        let (language, language_name, accent) = match lang {
            'a' => ("en-US", "English", "American"),
            'b' => ("en-GB", "English", "British"),
            'e' => ("es", "Spanish", "Spanish"),
            'f' => ("fr-FR", "French", "French"),
            'h' => ("hi", "Hindi", "Indian"),
            'i' => ("it", "Italian", "Italian"),
            'j' => ("ja", "Japanese", "Japanese"),
            'p' => ("pt-BR", "Portuguese", "Brazilian"),
            'z' => ("zh", "Chinese", "Mandarin"),
            _ => return None,
        };
        let mut name = rest;
        if let Some(first) = name.get(..1) {
            name = first.to_uppercase() + &name[1..];
        }
        Some(Self {
            id: id.to_string(),
            name,
            language,
            language_name,
            accent,
            gender,
            dialect: if lang == 'b' {
                Dialect::British
            } else {
                Dialect::American
            },
        })
    }
}

/// One voice pack (or blend) in memory: [510 × 256] f32.
#[derive(Debug, Clone, PartialEq)]
pub struct VoicePack {
    data: Vec<f32>,
    /// The G2P dialect of the voice (for a blend: of its heaviest part).
    pub dialect: Dialect,
}

impl VoicePack {
    /// The style vector for a sequence of `tokens` phoneme tokens.
    pub fn style(&self, tokens: usize) -> &[f32] {
        let row = tokens.min(STYLE_ROWS - 1);
        &self.data[row * STYLE_DIM..(row + 1) * STYLE_DIM]
    }

    fn read(path: &Path, dialect: Dialect) -> Result<Self, EngineError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => EngineError::MissingFile {
                what: format!("voice file {}", file_name(path)),
                path: path.to_path_buf(),
            },
            _ => EngineError::Io {
                path: path.to_path_buf(),
                source,
            },
        })?;
        if bytes.len() as u64 != PACK_BYTES {
            return Err(EngineError::CorruptFile {
                what: format!("voice file {}", file_name(path)),
                path: path.to_path_buf(),
                why: format!("{} bytes, expected {PACK_BYTES}", bytes.len()),
            });
        }
        let data: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if data.iter().any(|x| !x.is_finite()) {
            return Err(EngineError::CorruptFile {
                what: format!("voice file {}", file_name(path)),
                path: path.to_path_buf(),
                why: "it holds values that are not finite numbers".to_string(),
            });
        }
        Ok(Self { data, dialect })
    }

    fn blend(parts: &[(Arc<VoicePack>, f32)]) -> Self {
        let mut data = vec![0.0f32; STYLE_ROWS * STYLE_DIM];
        for (pack, weight) in parts {
            for (acc, x) in data.iter_mut().zip(&pack.data) {
                *acc += weight * x;
            }
        }
        let dialect = parts
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(Dialect::American, |(p, _)| p.dialect);
        Self { data, dialect }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// The installed voices and a cache of the packs loaded so far.
#[derive(Debug)]
pub struct VoiceBank {
    dir: PathBuf,
    catalog: Vec<VoiceInfo>,
    cache: Mutex<HashMap<String, Arc<VoicePack>>>,
}

impl VoiceBank {
    /// Lists the voice packs in `dir` (files `<id>.bin`). Packs are read when first used.
    pub fn open(dir: &Path) -> Result<Self, EngineError> {
        let entries = std::fs::read_dir(dir).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => EngineError::MissingFile {
                what: "the voices folder".to_string(),
                path: dir.to_path_buf(),
            },
            _ => EngineError::Io {
                path: dir.to_path_buf(),
                source,
            },
        })?;
        let mut catalog: Vec<VoiceInfo> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let path = e.path();
                if path.extension()? != "bin" {
                    return None;
                }
                VoiceInfo::from_id(path.file_stem()?.to_str()?)
            })
            .collect();
        if catalog.is_empty() {
            return Err(EngineError::MissingFile {
                what: "voice files (*.bin)".to_string(),
                path: dir.to_path_buf(),
            });
        }
        // English first (American, then British), then by language, gender and name.
        catalog.sort_by(|a, b| {
            let rank = |v: &VoiceInfo| match v.language {
                "en-US" => 0,
                "en-GB" => 1,
                _ => 2,
            };
            (rank(a), a.language_name, a.gender as u8, &a.id).cmp(&(
                rank(b),
                b.language_name,
                b.gender as u8,
                &b.id,
            ))
        });
        Ok(Self {
            dir: dir.to_path_buf(),
            catalog,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Every installed voice, English first.
    pub fn list(&self) -> &[VoiceInfo] {
        &self.catalog
    }

    /// Information about one installed voice.
    pub fn info(&self, id: &str) -> Option<&VoiceInfo> {
        self.catalog.iter().find(|v| v.id == id)
    }

    /// Resolves a voice id or blend (`af_heart:0.6+af_bella:0.4`, `af_heart+am_adam`) to a pack.
    pub fn load(&self, spec: &str) -> Result<Arc<VoicePack>, EngineError> {
        let spec = spec.trim();
        if let Some(pack) = self.cached(spec) {
            return Ok(pack);
        }
        let parts = parse_blend(spec)?;
        let pack = if let [(id, _)] = parts.as_slice() {
            self.load_one(id)?
        } else {
            let loaded = parts
                .iter()
                .map(|(id, w)| Ok((self.load_one(id)?, *w)))
                .collect::<Result<Vec<_>, EngineError>>()?;
            Arc::new(VoicePack::blend(&loaded))
        };
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(spec.to_string(), Arc::clone(&pack));
        Ok(pack)
    }

    fn cached(&self, spec: &str) -> Option<Arc<VoicePack>> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(spec)
            .cloned()
    }

    fn load_one(&self, id: &str) -> Result<Arc<VoicePack>, EngineError> {
        if let Some(pack) = self.cached(id) {
            return Ok(pack);
        }
        let info = self.info(id).ok_or_else(|| EngineError::UnknownVoice {
            name: id.to_string(),
            close: self.close_names(id),
        })?;
        let pack = Arc::new(VoicePack::read(
            &self.dir.join(format!("{id}.bin")),
            info.dialect,
        )?);
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string(), Arc::clone(&pack));
        Ok(pack)
    }

    /// Installed voice ids closest to `name`, best first (at most four).
    pub fn close_names(&self, name: &str) -> Vec<String> {
        let lower = name.to_lowercase();
        let mut scored: Vec<(f64, &str)> = self
            .catalog
            .iter()
            .map(|v| {
                let whole = strsim::jaro_winkler(&lower, &v.id);
                let bare = strsim::jaro_winkler(&lower, &v.name.to_lowercase());
                (whole.max(bare), v.id.as_str())
            })
            .filter(|(s, _)| *s >= 0.75)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .take(4)
            .map(|(_, id)| id.to_string())
            .collect()
    }
}

/// Splits a blend into (voice id, normalized weight) pairs.
fn parse_blend(spec: &str) -> Result<Vec<(String, f32)>, EngineError> {
    let bad = |why| EngineError::BadBlend {
        spec: spec.to_string(),
        why,
    };
    if spec.is_empty() {
        return Err(bad("no voice named"));
    }
    let mut parts = Vec::new();
    for part in spec.split('+') {
        let (id, weight) = match part.split_once(':') {
            Some((id, w)) => {
                let w: f32 = w
                    .trim()
                    .parse()
                    .map_err(|_| bad("a weight is not a number"))?;
                (id.trim(), w)
            }
            None => (part.trim(), 1.0),
        };
        if id.is_empty() {
            return Err(bad("an empty voice name"));
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(bad("weights must be zero or positive"));
        }
        parts.push((id.to_string(), weight));
    }
    let total: f32 = parts.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return Err(bad("the weights add up to zero"));
    }
    for p in &mut parts {
        p.1 /= total;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pack(dir: &Path, id: &str, value: f32) {
        let bytes: Vec<u8> = std::iter::repeat_n(value.to_le_bytes(), STYLE_ROWS * STYLE_DIM)
            .flatten()
            .collect();
        std::fs::write(dir.join(format!("{id}.bin")), bytes).expect("write test pack");
    }

    #[test]
    fn names_are_parsed_into_language_gender_and_display_name() {
        let v = VoiceInfo::from_id("bf_emma").expect("a valid id");
        assert_eq!(
            (v.language, v.accent, v.gender, v.name.as_str()),
            ("en-GB", "British", Gender::Female, "Emma")
        );
        assert_eq!(v.dialect, Dialect::British);
        assert!(
            VoiceInfo::from_id("xx_bad").is_none(),
            "unknown language letter"
        );
        assert!(VoiceInfo::from_id("af").is_none(), "too short");
    }

    #[test]
    fn blends_are_weighted_means_with_normalized_weights() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_pack(dir.path(), "af_heart", 1.0);
        write_pack(dir.path(), "am_adam", 3.0);
        let bank = VoiceBank::open(dir.path()).expect("open");
        let pack = bank.load("af_heart:3+am_adam:1").expect("blend");
        assert!(
            (pack.style(10)[0] - 1.5).abs() < 1e-6,
            "0.75·1 + 0.25·3 = 1.5"
        );
        let equal = bank.load("af_heart+am_adam").expect("equal blend");
        assert!((equal.style(0)[5] - 2.0).abs() < 1e-6);
        assert_eq!(pack.dialect, Dialect::American);
    }

    #[test]
    fn unknown_voice_lists_close_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_pack(dir.path(), "af_heart", 1.0);
        write_pack(dir.path(), "af_bella", 1.0);
        let bank = VoiceBank::open(dir.path()).expect("open");
        let err = bank.load("af_hart").expect_err("no such voice");
        let msg = err.to_string();
        assert!(msg.contains("af_heart"), "suggests the near miss: {msg}");
        assert!(bank.load("af_heart:x").is_err(), "non-numeric weight");
        assert!(
            bank.load("af_heart:0+af_bella:0").is_err(),
            "zero total weight"
        );
    }

    #[test]
    fn a_truncated_pack_is_reported_as_corrupt() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("af_heart.bin"), [0u8; 100]).expect("write");
        let bank = VoiceBank::open(dir.path()).expect("open");
        let err = bank.load("af_heart").expect_err("truncated");
        assert!(matches!(err, EngineError::CorruptFile { .. }), "{err}");
        assert!(
            err.to_string().contains("utter setup"),
            "names the fix: {err}"
        );
    }
}
