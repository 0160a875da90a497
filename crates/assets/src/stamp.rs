//! The verification stamp: `models/.verified.toml` remembers, for each file that
//! setup hashed and found correct, its size, mtime and sha256. A later setup trusts
//! the file without re-hashing it while size and mtime are unchanged and the
//! recorded sha256 is still the one the manifest wants.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::AssetError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_secs: u64,
    mtime_nanos: u32,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StampFile {
    #[serde(default)]
    files: BTreeMap<String, Entry>,
}

/// The loaded stamp file.
#[derive(Debug)]
pub(crate) struct Stamp {
    path: PathBuf,
    data: StampFile,
    dirty: bool,
}

fn mtime(meta: &Metadata) -> Option<(u64, u32)> {
    let d = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((d.as_secs(), d.subsec_nanos()))
}

impl Stamp {
    /// Load `path`; a missing or unreadable stamp is an empty one (it is only a cache).
    pub(crate) fn load(path: PathBuf) -> Stamp {
        let data = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| toml::from_str(&s).ok())
            .unwrap_or_default();
        Stamp {
            path,
            data,
            dirty: false,
        }
    }

    /// Whether `key` was verified with hash `sha256` and still has the same size and mtime.
    pub(crate) fn trusts(&self, key: &str, meta: &Metadata, sha256: &str) -> bool {
        let Some(e) = self.data.files.get(key) else {
            return false;
        };
        let Some((secs, nanos)) = mtime(meta) else {
            return false;
        };
        e.size == meta.len() && e.mtime_secs == secs && e.mtime_nanos == nanos && e.sha256 == sha256
    }

    /// Record that `key` (with metadata `meta`) has hash `sha256`.
    pub(crate) fn record(&mut self, key: &str, meta: &Metadata, sha256: &str) {
        let Some((mtime_secs, mtime_nanos)) = mtime(meta) else {
            return;
        };
        let entry = Entry {
            size: meta.len(),
            mtime_secs,
            mtime_nanos,
            sha256: sha256.to_string(),
        };
        if self.data.files.get(key) != Some(&entry) {
            self.data.files.insert(key.to_string(), entry);
            self.dirty = true;
        }
    }

    /// Forget `key` (its file is about to be replaced or is bad).
    pub(crate) fn forget(&mut self, key: &str) {
        if self.data.files.remove(key).is_some() {
            self.dirty = true;
        }
    }

    /// Write the stamp (atomically) if it changed.
    pub(crate) fn save(&mut self) -> Result<(), AssetError> {
        if !self.dirty {
            return Ok(());
        }
        let text = toml::to_string(&self.data).map_err(|e| AssetError::Io {
            op: "serialize",
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(AssetError::io("create", dir))?;
        std::fs::write(tmp.path(), text).map_err(AssetError::io("write", tmp.path()))?;
        tmp.persist(&self.path).map_err(|e| AssetError::Io {
            op: "rename into place",
            path: self.path.clone(),
            source: e.error,
        })?;
        self.dirty = false;
        Ok(())
    }
}
