//! Utter's speech engine: English text → normalized text → phonemes → token chunks → Kokoro-82M
//! on ONNX Runtime → 24 kHz mono PCM, streamed chunk by chunk.
//!
//! No UI, no async runtime. [`Engine`] owns one ONNX Runtime session on a named thread, warms it
//! up at start and streams each chunk's audio as soon as it is ready ([`Synthesis`]); callers
//! can cancel at any moment. The stages are public for the CLI, tests and later the player:
//! [`normalize::normalize`], [`Phonemizer`], [`chunk::Planner`], [`VoiceBank`].

pub mod cache;
pub mod chunk;
mod engine;
mod error;
mod mem;
pub mod model;
pub mod normalize;
pub mod pace;
pub mod phonemize;
pub mod provider;
pub mod quant;
pub mod split;
pub mod stream;
pub mod vocab;
pub mod voices;
mod worker;

pub use chunk::{Chunk, ChunkPolicy};
pub use engine::{
    AudioChunk, CancelHandle, DEFAULT_VOICE, Engine, EngineConfig, EngineInfo, EngineState,
    Priority, SPEED_RANGE, SynthRequest, Synthesis, default_split_dir, phonemize_text,
};
pub use error::EngineError;
pub use model::{SAMPLE_RATE, SessionConfig};
pub use pace::CostModel;
pub use phonemize::Phonemizer;
pub use provider::{Provider, ProviderChoice, ProviderReport};
pub use voices::{Dialect, Gender, VoiceBank, VoiceInfo, VoicePack};
