//! Playback errors.

/// What can go wrong with audio output.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// No output device at all, or none that accepts a stream.
    #[error(
        "no usable audio output device ({why}); write the speech to a file instead with \
         `utter synth -o speech.wav`"
    )]
    NoDevice {
        /// What the audio system said.
        why: String,
    },
    /// The named device does not exist.
    #[error("no output device named `{name}`; available: {}", .available.join(", "))]
    UnknownDevice {
        /// The name asked for.
        name: String,
        /// The names that exist.
        available: Vec<String>,
    },
    /// Building the resampler failed (an unsupported rate).
    #[error("cannot convert 24 kHz audio to the device's {rate} Hz")]
    Resampler {
        /// Device rate.
        rate: u32,
    },
    /// The player's threads are gone.
    #[error("the audio player has stopped")]
    Stopped,
}
