//! Conversion from Kokoro's 24 kHz mono to the device's rate and channel count, decided once per
//! output stream. Resampling uses rubato's FFT resampler (a well-kept, allocation-free crate).
//!
//! Audio arrives in parts (the decoder's windows) that continue one another. Resampled one by
//! one, each part would be filtered as if silence surrounded it, leaving a click at every join;
//! so the parts of a stretch of speech are resampled as one stream, with the input that does not
//! fill a whole resampler block (at most [`BLOCK`] samples, 21 ms) held back for the next part,
//! and the stream is flushed at the pause that ends the stretch.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Input samples per resampler block.
pub const BLOCK: usize = 512;

use crate::AudioError;

/// Converts mono audio, part by part, to interleaved device frames.
pub struct Converter {
    from: u32,
    to: u32,
    channels: usize,
    resampler: Option<Fft<f32>>,
    /// Input waiting for a whole block.
    held: Vec<f32>,
    /// Output frames still to drop: the resampler's start-up delay since the stream began.
    to_trim: usize,
    /// Input frames since the stream began, and output frames given out: a flush gives out
    /// exactly the input's duration.
    fed: usize,
    given: usize,
    /// One block's output.
    block_out: Vec<f32>,
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
                Fft::<f32>::new(from as usize, to as usize, BLOCK, 1, FixedSync::Input)
                    .map_err(|_| AudioError::Resampler { rate: to })?,
            )
        };
        let to_trim = resampler.as_ref().map_or(0, |r| r.output_delay());
        let block_out = vec![0.0; resampler.as_ref().map_or(0, |r| r.output_frames_max())];
        Ok(Self {
            from,
            to,
            channels: channels.max(1),
            resampler,
            held: Vec::with_capacity(2 * BLOCK),
            to_trim,
            fed: 0,
            given: 0,
            block_out,
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

    /// Converts the next part of the stream and spreads it over every channel. Parts resample
    /// as one signal until a part with `end` (the last before a pause, or of the reading):
    /// then what was held back is resampled with silence after it and a new stream begins.
    pub fn convert(&mut self, mono: &[f32], end: bool) -> Vec<f32> {
        let resampled = if self.resampler.is_some() {
            self.resample(mono, end)
        } else {
            mono.to_vec()
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

    /// Forgets the stream in progress (a reading stopped or replaced).
    pub fn reset(&mut self) {
        if let Some(r) = self.resampler.as_mut() {
            r.reset();
            self.to_trim = r.output_delay();
        }
        self.held.clear();
        self.fed = 0;
        self.given = 0;
    }

    fn resample(&mut self, mono: &[f32], end: bool) -> Vec<f32> {
        self.held.extend_from_slice(mono);
        self.fed += mono.len();
        let mut out =
            Vec::with_capacity((mono.len() + BLOCK) * 2 * self.to as usize / self.from as usize);
        // Blocks are consumed by offset and the held input shifted once: draining block by block
        // would move the rest of a long part for every block.
        let mut start = 0;
        while self.held.len() - start >= BLOCK {
            if !self.block(start, BLOCK, &mut out) {
                break;
            }
            start += BLOCK;
        }
        self.held.drain(..start);
        if end {
            let ratio = f64::from(self.to) / f64::from(self.from);
            let expected = (self.fed as f64 * ratio).round() as usize;
            // The rest, then silence, until the stream's whole duration is out.
            let mut pumps = 0;
            while self.given < expected && pumps < 8 {
                let n = self.held.len().min(BLOCK);
                if !self.block(0, n, &mut out) {
                    break;
                }
                self.held.drain(..n);
                pumps += 1;
            }
            let extra = self.given.saturating_sub(expected);
            out.truncate(out.len().saturating_sub(extra));
            self.reset();
        }
        out
    }

    /// Resamples `n` held samples from `start` (a whole block, or fewer padded with silence)
    /// and appends the output past the start-up delay; false if rubato refused.
    fn block(&mut self, start: usize, n: usize, out: &mut Vec<f32>) -> bool {
        let Some(r) = self.resampler.as_mut() else {
            return false;
        };
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            active_channels_mask: None,
            partial_len: (n < BLOCK).then_some(n),
        };
        let frames = self.block_out.len();
        let (Ok(input), Ok(mut output)) = (
            InterleavedSlice::new(&self.held[start..start + n], 1, n),
            InterleavedSlice::new_mut(&mut self.block_out, 1, frames),
        ) else {
            return false;
        };
        match r.process_into_buffer(&input, &mut output, Some(&indexing)) {
            Ok((_, produced)) => {
                let skip = self.to_trim.min(produced);
                self.to_trim -= skip;
                out.extend_from_slice(&self.block_out[skip..produced]);
                self.given += produced - skip;
                true
            }
            Err(e) => {
                tracing::warn!("resampling failed, part dropped: {e}");
                false
            }
        }
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
        let out = c.convert(&tone, true);
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
        assert_eq!(c.convert(&[0.1, 0.2], true), vec![0.1, 0.2]);
    }

    #[test]
    fn parts_of_a_stream_join_without_a_click() {
        let tone: Vec<f32> = (0..24_000)
            .map(|i| (i as f32 * 220.0 * std::f32::consts::TAU / 24_000.0).sin() * 0.5)
            .collect();
        let mut c = Converter::new(24_000, 48_000, 1).expect("supported");
        let whole = c.convert(&tone, true);
        let parts: Vec<&[f32]> = tone.chunks(7_001).collect();
        let mut joined = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            joined.extend(c.convert(p, i + 1 == parts.len()));
        }
        assert_eq!(joined.len(), whole.len(), "the same duration");
        let worst = whole
            .iter()
            .zip(&joined)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-3,
            "parts resample as one signal: worst difference {worst}"
        );
    }

    #[test]
    fn a_44k1_device_gets_the_right_duration_part_by_part() {
        let mut c = Converter::new(24_000, 44_100, 2).expect("supported");
        let mut frames = 0;
        for (i, part) in [7_000usize, 301, 9_999, 6_700].iter().enumerate() {
            frames += c.convert(&vec![0.1; *part], i == 3).len() / 2;
        }
        assert_eq!(frames, 44_100, "one second in, one second out");
    }
}
