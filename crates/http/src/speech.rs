//! `POST /v1/audio/speech`, compatible with OpenAI's.
//!
//! The body is OpenAI's: `model`, `input`, `voice`, and optionally `speed`, `response_format`
//! and `stream` (or `stream_format: "audio"`). Voices are Kokoro's ids and blends
//! (`af_heart:0.6+af_bella:0.4`); OpenAI's names map to Kokoro voices ([`OPENAI_VOICES`]).
//! A streamed response is chunked: its first bytes (a WAV header with open-ended sizes, then
//! audio) leave as soon as the engine's first window is decoded. A plain response carries the
//! whole file with exact sizes, exactly the model's output. Errors are OpenAI-shaped.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use utter_engine::{CancelHandle, ChunkPolicy, EngineState, Priority, SynthRequest};

use crate::audio::{self, Format};
use crate::{ApiError, AppState};

/// OpenAI's voice names and the Kokoro voice each stands for.
pub const OPENAI_VOICES: &[(&str, &str)] = &[
    ("alloy", "af_alloy"),
    ("ash", "am_adam"),
    ("ballad", "bm_george"),
    ("cedar", "am_liam"),
    ("coral", "af_heart"),
    ("echo", "am_echo"),
    ("fable", "bm_fable"),
    ("marin", "af_kore"),
    ("nova", "af_nova"),
    ("onyx", "am_onyx"),
    ("sage", "af_sarah"),
    ("shimmer", "af_bella"),
    ("verse", "am_michael"),
];

/// Model names accepted (OpenAI's, so existing clients work unchanged, and Kokoro's).
pub const MODELS: &[&str] = &[
    "kokoro",
    "kokoro-82m",
    "tts-1",
    "tts-1-hd",
    "gpt-4o-mini-tts",
];

/// The request body.
#[derive(Debug, Deserialize)]
pub struct SpeechRequest {
    /// One of [`MODELS`].
    pub model: Option<String>,
    /// The text.
    pub input: Option<String>,
    /// A Kokoro voice or blend, or an OpenAI voice name.
    pub voice: Option<String>,
    /// 0.5–2.0 (Kokoro's range; OpenAI allows 0.25–4).
    pub speed: Option<f32>,
    /// wav (default), pcm or flac.
    pub response_format: Option<String>,
    /// Stream the audio as it is made (chunked transfer).
    pub stream: Option<bool>,
    /// OpenAI's newer streaming switch: "audio" streams; "sse" is not offered.
    pub stream_format: Option<String>,
}

/// The Kokoro voice for `voice` (OpenAI names mapped, everything else as given).
pub fn kokoro_voice(voice: &str) -> String {
    let v = voice.trim();
    OPENAI_VOICES
        .iter()
        .find(|(openai, _)| openai.eq_ignore_ascii_case(v))
        .map_or_else(|| v.to_string(), |(_, kokoro)| (*kokoro).to_string())
}

/// A checked request.
struct Checked {
    synth: SynthRequest,
    format: Format,
    stream: bool,
}

fn check(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Checked, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "body_too_large",
                format!(
                    "the request body is larger than {} KiB",
                    state.config.max_body_bytes / 1024
                ),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "unreadable_body",
                format!("the request body could not be read: {e}"),
            )
        }
    })?;
    let req: SpeechRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_json",
            format!("the body is not valid JSON for this endpoint: {e}"),
        )
    })?;
    let model = req
        .model
        .ok_or_else(|| ApiError::invalid("model", "missing_model", "`model` is required"))?;
    if !MODELS.iter().any(|m| m.eq_ignore_ascii_case(model.trim())) {
        return Err(ApiError::invalid(
            "model",
            "model_not_found",
            format!("unknown model {model:?}: use one of {}", MODELS.join(", ")),
        ));
    }
    let input = req
        .input
        .ok_or_else(|| ApiError::invalid("input", "missing_input", "`input` is required"))?;
    if input.trim().is_empty() {
        return Err(ApiError::invalid(
            "input",
            "empty_input",
            "`input` is empty",
        ));
    }
    let chars = input.chars().count();
    if chars > state.config.max_input_chars {
        return Err(ApiError::invalid(
            "input",
            "input_too_long",
            format!(
                "`input` has {chars} characters; at most {} are accepted per request",
                state.config.max_input_chars
            ),
        ));
    }
    let voice = req
        .voice
        .ok_or_else(|| ApiError::invalid("voice", "missing_voice", "`voice` is required"))?;
    let speed = req.speed.unwrap_or(1.0);
    if !utter_engine::SPEED_RANGE.contains(&speed) {
        return Err(ApiError::invalid(
            "speed",
            "invalid_speed",
            format!("speed {speed} is outside 0.5–2.0, the range Kokoro speaks well"),
        ));
    }
    let format = Format::parse(req.response_format.as_deref())?;
    let stream = match req.stream_format.as_deref() {
        Some("sse") => {
            return Err(ApiError::invalid(
                "stream_format",
                "unsupported_stream_format",
                "stream_format \"sse\" is not offered: use \"audio\" (or stream: true)",
            ));
        }
        Some("audio") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "stream_format",
                "invalid_stream_format",
                format!("unknown stream_format {other:?}"),
            ));
        }
        None => req.stream.unwrap_or(false),
    };
    let stream = stream && format.streams();
    let mut synth = SynthRequest::new(input);
    synth.voice = kokoro_voice(&voice);
    synth.speed = speed;
    synth.priority = Priority::Background;
    // Streamed: a short first window, then windows sized by what is buffered. Whole: the
    // largest windows (the model's own output).
    if stream {
        synth.policy = ChunkPolicy::streaming();
    }
    Ok(Checked {
        synth,
        format,
        stream,
    })
}

/// Counts the request in flight until dropped (wherever the request ends).
struct InFlight(Arc<AppState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.stats.speech_ended();
    }
}

/// Cancels the synthesis when dropped armed: the client hung up before the response.
struct CancelOnDrop(Option<(CancelHandle, Arc<AppState>)>);

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some((cancel, state)) = self.0.take() {
            cancel.cancel();
            state.stats.cancelled();
        }
    }
}

/// What the synthesis task sends the handler.
enum Piece {
    Audio(Vec<u8>),
    Failed(ApiError),
}

/// The handler.
pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let response = respond(&state, body, started)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    state
        .stats
        .response("/v1/audio/speech", response.status().as_u16());
    response
}

async fn respond(
    state: &Arc<AppState>,
    body: Result<Bytes, BytesRejection>,
    started: Instant,
) -> Result<Response, ApiError> {
    let checked = check(state, body)?;
    if let EngineState::Failed(e) = state.engine.state() {
        return Err(ApiError::from_engine(&utter_engine::EngineError::Failed(e)));
    }
    if state.stats.speech_started() > state.config.max_in_flight as i64 {
        state.stats.speech_ended();
        state.stats.busy();
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "too_many_requests",
            format!(
                "{} speech requests are in progress, the most this server takes at once; \
                 retry shortly",
                state.config.max_in_flight
            ),
        ));
    }
    let in_flight = InFlight(Arc::clone(state));
    let synthesis = state
        .engine
        .synthesize(checked.synth)
        .map_err(|e| ApiError::from_engine(&e))?;
    let mut guard = CancelOnDrop(Some((synthesis.cancel_handle(), Arc::clone(state))));
    let (tx, mut rx) = mpsc::channel::<Piece>(8);
    let format = checked.format;
    let stream = checked.stream;
    let task_state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let _in_flight = in_flight;
        let mut first = true;
        let mut first_audio_ms = None;
        let mut audio_secs = 0.0;
        let mut synth_secs = 0.0;
        let mut whole = Vec::new();
        for piece in synthesis {
            let piece = match piece {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.blocking_send(Piece::Failed(ApiError::from_engine(&e)));
                    return;
                }
            };
            first_audio_ms.get_or_insert(piece.since_request.as_secs_f64() * 1e3);
            audio_secs += piece.samples.len() as f64 / f64::from(audio::RATE);
            synth_secs += piece.synth_time.as_secs_f64();
            if !stream {
                whole.extend_from_slice(&piece.samples);
                continue;
            }
            let mut bytes = Vec::with_capacity(44 + piece.samples.len() * 2);
            if first && format == Format::Wav {
                bytes.extend_from_slice(&audio::wav_header(None));
            }
            bytes.extend_from_slice(&audio::pcm16(&piece.samples));
            if first {
                task_state.stats.first_bytes(
                    started.elapsed().as_secs_f64() * 1e3,
                    piece.since_request.as_secs_f64() * 1e3,
                );
                first = false;
            }
            if tx.blocking_send(Piece::Audio(bytes)).is_err() {
                // The client hung up: dropping the synthesis cancels it.
                task_state.stats.cancelled();
                return;
            }
        }
        // A whole response is encoded now; either way the request is counted before its last
        // bytes go (a streamed body ends when this task drops `tx`), so a client that asks for
        // the stats as soon as it has its audio finds its request in them.
        let encoded = (!stream).then(|| audio::encode(format, &whole));
        if let Some(Ok(_)) = &encoded {
            let ttfb = started.elapsed().as_secs_f64() * 1e3;
            task_state
                .stats
                .first_bytes(ttfb, first_audio_ms.unwrap_or(ttfb));
        }
        task_state.stats.finished(audio_secs, synth_secs);
        if let Some(encoded) = encoded {
            let _ = tx.blocking_send(encoded.map_or_else(Piece::Failed, Piece::Audio));
        }
    });
    // The first message decides the status: audio (200) or an error before any audio.
    let first = match rx.recv().await {
        Some(Piece::Audio(bytes)) => bytes,
        Some(Piece::Failed(e)) => {
            guard.disarm();
            return Err(e);
        }
        None => {
            guard.disarm();
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "no_audio",
                "the synthesis ended without audio",
            ));
        }
    };
    guard.disarm();
    let mut response = if stream {
        let rest = tokio_stream::wrappers::ReceiverStream::new(rx);
        let first = tokio_stream::once(Ok::<_, std::io::Error>(Bytes::from(first)));
        let rest = tokio_stream::StreamExt::map(rest, |piece| match piece {
            Piece::Audio(bytes) => Ok(Bytes::from(bytes)),
            // Mid-stream failure: the status is sent; ending the body abnormally tells.
            Piece::Failed(e) => Err(std::io::Error::other(e.message)),
        });
        Body::from_stream(tokio_stream::StreamExt::chain(first, rest)).into_response()
    } else {
        Body::from(first).into_response()
    };
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_voice_names_map_to_kokoro_voices() {
        assert_eq!(kokoro_voice("alloy"), "af_alloy");
        assert_eq!(kokoro_voice("Nova"), "af_nova");
        assert_eq!(kokoro_voice("bf_emma"), "bf_emma");
        assert_eq!(
            kokoro_voice("af_heart:0.6+af_bella:0.4"),
            "af_heart:0.6+af_bella:0.4"
        );
    }
}
