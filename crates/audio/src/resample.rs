//! Conversion from Kokoro's 24 kHz mono to the device's rate and channel count, decided once per
//! output stream. Resampling uses rubato's FFT resampler (a well-kept, allocation-free crate).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::AudioError;

/// Converts whole chunks of mono audio to interleaved device frames.
pub struct Converter {
    from: u32,
    to: u32,
    channels: usize,
    resampler: Option<Fft<f32>>,
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("channels", &self.channels)
            .finish()
    }
}

impl Converter {
    /// A converter from `from` Hz mono to `to` Hz with `channels` channels.
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Self, AudioError> {
        let resampler = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
                    .map_err(|_| AudioError::Resampler { rate: to })?,
            )
        };
        Ok(Self {
            from,
            to,
            channels: channels.max(1),
            resampler,
        })
    }

    /// The device rate.
    pub fn rate(&self) -> u32 {
        self.to
    }

    /// The device's channel count.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Resamples one self-contained chunk (its own start-up delay trimmed) and spreads it over
    /// every channel.
    pub fn convert(&mut self, mono: &[f32]) -> Vec<f32> {
        let resampled = match self.resampler.as_mut() {
            None => mono.to_vec(),
            Some(r) => match InterleavedSlice::new(mono, 1, mono.len()) {
                Ok(input) => match r.process_all(&input, mono.len(), None) {
                    Ok(out) => out.take_data(),
                    Err(e) => {
                        tracing::warn!("resampling failed, chunk dropped: {e}");
                        Vec::new()
                    }
                },
                Err(_) => Vec::new(),
            },
        };
        if self.channels == 1 {
            return resampled;
        }
        let mut out = Vec::with_capacity(resampled.len() * self.channels);
        for s in resampled {
            out.extend(std::iter::repeat_n(s, self.channels));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_the_rate_and_fills_both_channels() {
        let mut c = Converter::new(24_000, 48_000, 2).expect("supported");
        let tone: Vec<f32> = (0..24_000)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 24_000.0).sin() * 0.5)
            .collect();
        let out = c.convert(&tone);
        let frames = out.len() / 2;
        assert!(
            (47_900..=48_100).contains(&frames),
            "one second at 48 kHz, got {frames} frames"
        );
        assert!(
            out.chunks(2).all(|f| f[0] == f[1]),
            "mono copied to both channels"
        );
        let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((0.45..0.55).contains(&peak), "level preserved, peak {peak}");
    }

    #[test]
    fn same_rate_is_a_copy() {
        let mut c = Converter::new(24_000, 24_000, 1).expect("supported");
        assert_eq!(c.convert(&[0.1, 0.2]), vec![0.1, 0.2]);
    }
}
