//! WAV output that is either complete or absent: samples stream into a temporary file next to
//! the destination, which is renamed into place only when finished.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tempfile::NamedTempFile;

/// A 16-bit mono WAV being written.
pub struct AtomicWav {
    writer: hound::WavWriter<BufWriter<std::fs::File>>,
    temp: tempfile::TempPath,
    dest: PathBuf,
}

impl AtomicWav {
    /// Starts `dest` (through a temporary file in the same folder).
    pub fn create(dest: &Path, sample_rate: u32) -> anyhow::Result<Self> {
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        let (file, temp) = temp.into_parts();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(BufWriter::new(file), spec)?;
        Ok(Self {
            writer,
            temp,
            dest: dest.to_path_buf(),
        })
    }

    /// Appends f32 samples (clamped to [-1, 1]).
    pub fn write(&mut self, samples: &[f32]) -> anyhow::Result<()> {
        for &s in samples {
            self.writer
                .write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)?;
        }
        Ok(())
    }

    /// Completes the header and moves the file into place.
    pub fn finish(self) -> anyhow::Result<()> {
        self.writer.finalize()?;
        self.temp
            .persist(&self.dest)
            .with_context(|| format!("could not write {}", self.dest.display()))?;
        Ok(())
    }
}
