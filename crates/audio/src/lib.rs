//! Utter's audio output: streaming, pipelined, gapless, interruptible playback through cpal.
//!
//! A named audio thread owns the cpal stream; its realtime callback ([`callback::render`]) takes
//! frames from a lock-free SPSC ring buffer (rtrb) and never allocates, locks, logs or blocks —
//! on underrun it plays silence and counts the event. A feeder thread turns each chunk of 24 kHz
//! mono speech into device frames (trimmed, paused by punctuation, resampled with rubato,
//! spread over the device's channels) and keeps the ring topped up. Stop, pause and volume are
//! atomics read by the callback, so they act within one device buffer.

pub mod callback;
mod device;
mod error;
mod output;
mod player;
pub mod resample;
pub mod seams;
mod shared;
pub mod stats;

pub use device::{DeviceInfo, default_name, output_devices};
pub use error::AudioError;
pub use output::OutputFormat;
pub use player::{PcmChunk, Player, PlayerConfig, Position, Utterance};
pub use seams::Boundary;
pub use stats::{StatsSnapshot, Summary, UtteranceStats};
