//! The engine's error type: every variant names what went wrong and, where the user can fix it,
//! how.

use std::path::PathBuf;

/// Everything that can go wrong between text and PCM.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The text had nothing speakable in it (empty, whitespace, only symbols the voice can't say).
    #[error("nothing to say: {0}")]
    EmptyText(&'static str),

    /// A voice name (or a part of a blend) is not one of the installed voices.
    #[error("unknown voice `{name}`{}", suggestions(.close))]
    UnknownVoice {
        /// The name as given.
        name: String,
        /// Installed voices whose names are close to it, best first.
        close: Vec<String>,
    },

    /// A blend such as `af_heart:0.6+af_bella:0.4` could not be parsed.
    #[error("bad voice blend `{spec}`: {why}")]
    BadBlend {
        /// The blend as given.
        spec: String,
        /// What is wrong with it.
        why: &'static str,
    },

    /// Speed outside the range the model was trained for.
    #[error("speed {0} is out of range: use a value from 0.5 to 2.0")]
    BadSpeed(f32),

    /// A file the engine needs is missing.
    #[error("{what} not found at {}: run `utter setup` to fetch it", .path.display())]
    MissingFile {
        /// Which asset ("the Kokoro model", "the ONNX Runtime library", "voice af_heart").
        what: String,
        /// Where it was looked for.
        path: PathBuf,
    },

    /// A file is there but is not what it should be.
    #[error("{what} at {} is corrupt ({why}): run `utter setup` to replace it", .path.display())]
    CorruptFile {
        /// Which asset.
        what: String,
        /// Where it is.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },

    /// The ONNX Runtime shared library could not be loaded.
    #[error(
        "the ONNX Runtime library at {} could not be loaded: run `utter setup` to fetch it",
        .path.display()
    )]
    Runtime {
        /// The library path.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The ONNX Runtime library is another version than the one Utter was set up with.
    #[error(
        "the ONNX Runtime library at {} is version {found}, not {expected}: run `utter setup` to \
         replace it",
        .path.display()
    )]
    RuntimeVersion {
        /// The library path.
        path: PathBuf,
        /// The version it reports.
        found: String,
        /// The version the assets manifest pins.
        expected: String,
    },

    /// The model file could not be turned into an ONNX Runtime session.
    #[error("the model at {} could not be loaded (is it a Kokoro ONNX model?): run `utter setup`, or point --model at a good file", .path.display())]
    Model {
        /// The model path.
        path: PathBuf,
        /// ONNX Runtime's error.
        #[source]
        source: ort::Error,
    },

    /// Inference failed.
    #[error("synthesis failed")]
    Inference(#[source] ort::Error),

    /// The request was cancelled before it finished.
    #[error("cancelled")]
    Cancelled,

    /// The engine thread is gone (it stopped, or failed to start).
    #[error("the speech engine is not running")]
    Stopped,

    /// The engine failed to start; every request gets this error.
    #[error(transparent)]
    Failed(std::sync::Arc<EngineError>),

    /// Reading a file failed.
    #[error("could not read {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn suggestions(close: &[String]) -> String {
    if close.is_empty() {
        " (run `utter voices` to list them)".to_string()
    } else {
        format!(
            "; did you mean {}? (`utter voices` lists all)",
            close.join(", ")
        )
    }
}

impl EngineError {
    /// A short machine-readable code for the UI and HTTP layers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyText(_) => "empty_text",
            Self::UnknownVoice { .. } | Self::BadBlend { .. } => "unknown_voice",
            Self::BadSpeed(_) => "bad_speed",
            Self::MissingFile { .. } => "missing_asset",
            Self::CorruptFile { .. } | Self::Model { .. } => "corrupt_asset",
            Self::Runtime { .. } | Self::RuntimeVersion { .. } => "runtime_unavailable",
            Self::Inference(_) => "inference_failed",
            Self::Cancelled => "cancelled",
            Self::Stopped => "engine_stopped",
            Self::Io { .. } => "io",
            Self::Failed(inner) => inner.code(),
        }
    }

    /// True for errors caused by the request (bad text, voice or speed), as opposed to the engine.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::EmptyText(_)
                | Self::UnknownVoice { .. }
                | Self::BadBlend { .. }
                | Self::BadSpeed(_)
        )
    }
}
