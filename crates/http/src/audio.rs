//! Response audio: 16-bit mono at 24 kHz as WAV (with exact sizes, or streamed with open-ended
//! ones), raw PCM, or FLAC.

use crate::ApiError;

/// Kokoro's sample rate.
pub const RATE: u32 = 24_000;

/// The formats served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RIFF WAVE, 16-bit PCM.
    Wav,
    /// Raw 16-bit little-endian samples, no header (as OpenAI's `pcm`).
    Pcm,
    /// FLAC, 16-bit (sent whole, even when streaming is asked for: it is encoded at the end).
    Flac,
}

impl Format {
    /// Parses OpenAI's `response_format` (default: mp3 in OpenAI; wav here, said in the docs).
    pub fn parse(name: Option<&str>) -> Result<Self, ApiError> {
        match name.map(str::to_ascii_lowercase).as_deref() {
            None | Some("wav") => Ok(Self::Wav),
            Some("pcm") => Ok(Self::Pcm),
            Some("flac") => Ok(Self::Flac),
            Some(other @ ("mp3" | "opus" | "aac")) => Err(ApiError::invalid(
                "response_format",
                "unsupported_response_format",
                format!(
                    "response_format {other:?} is not available in Utter (no permissively \
                     licensed pure-Rust {other} encoder); use \"wav\", \"pcm\" or \"flac\""
                ),
            )),
            Some(other) => Err(ApiError::invalid(
                "response_format",
                "invalid_response_format",
                format!("unknown response_format {other:?}: use \"wav\", \"pcm\" or \"flac\""),
            )),
        }
    }

    /// The Content-Type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Pcm => "audio/pcm",
            Self::Flac => "audio/flac",
        }
    }

    /// Whether the format can go out piece by piece.
    pub fn streams(self) -> bool {
        !matches!(self, Self::Flac)
    }
}

/// f32 samples → 16-bit little-endian bytes (clipped).
pub fn pcm16(samples: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A 44-byte WAV header for `data_bytes` of 16-bit mono PCM; `None` for a stream whose length
/// is not known yet (the sizes are then 0xFFFFFFFF, which players read as "until the end").
pub fn wav_header(data_bytes: Option<u32>) -> [u8; 44] {
    let data = data_bytes.unwrap_or(u32::MAX);
    let riff = data_bytes.map_or(u32::MAX, |d| d.saturating_add(36));
    let mut h = [0u8; 44];
    let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"RIFF");
    put(4, &riff.to_le_bytes());
    put(8, b"WAVE");
    put(12, b"fmt ");
    put(16, &16u32.to_le_bytes());
    put(20, &1u16.to_le_bytes()); // PCM
    put(22, &1u16.to_le_bytes()); // mono
    put(24, &RATE.to_le_bytes());
    put(28, &(RATE * 2).to_le_bytes()); // byte rate
    put(32, &2u16.to_le_bytes()); // block align
    put(34, &16u16.to_le_bytes()); // bits per sample
    put(36, b"data");
    put(40, &data.to_le_bytes());
    h
}

/// A whole response body in `format`.
pub fn encode(format: Format, samples: &[f32]) -> Result<Vec<u8>, ApiError> {
    match format {
        Format::Pcm => Ok(pcm16(samples)),
        Format::Wav => {
            let data = pcm16(samples);
            let mut out = wav_header(u32::try_from(data.len()).ok()).to_vec();
            out.extend_from_slice(&data);
            Ok(out)
        }
        Format::Flac => flac(samples),
    }
}

fn flac(samples: &[f32]) -> Result<Vec<u8>, ApiError> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let failed = |why: String| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "encoding_failed",
            format!("FLAC encoding failed: {why}"),
        )
    };
    let ints: Vec<i32> = samples
        .iter()
        .map(|s| i32::from((s.clamp(-1.0, 1.0) * 32767.0).round() as i16))
        .collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|e| failed(format!("{e:?}")))?;
    let source = flacenc::source::MemSource::from_samples(&ints, 1, 16, RATE as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| failed(format!("{e:?}")))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| failed(format!("{e:?}")))?;
    Ok(sink.as_slice().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_wav_reads_back_with_hound() {
        let samples: Vec<f32> = (0..2400).map(|i| (i as f32 / 10.0).sin() * 0.5).collect();
        let bytes = encode(Format::Wav, &samples).expect("wav");
        let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("valid wav");
        let spec = reader.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (24_000, 1, 16)
        );
        assert_eq!(reader.len(), 2400);
    }

    #[test]
    fn a_streamed_header_has_open_ended_sizes() {
        let h = wav_header(None);
        assert_eq!(&h[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([h[40], h[41], h[42], h[43]]), u32::MAX);
    }

    #[test]
    fn flac_is_a_flac_stream() {
        let bytes = encode(Format::Flac, &[0.1; 24_000]).expect("flac");
        assert_eq!(&bytes[0..4], b"fLaC");
    }

    #[test]
    fn formats_parse_and_unsupported_ones_say_why() {
        assert_eq!(Format::parse(None).expect("default"), Format::Wav);
        assert_eq!(Format::parse(Some("PCM")).expect("pcm"), Format::Pcm);
        let e = Format::parse(Some("mp3")).expect_err("mp3");
        assert_eq!(e.param, Some("response_format"));
        assert!(e.message.contains("wav"));
    }
}
