//! The read-only endpoints: models, voices, health, status, performance, optimization status
//! and Prometheus metrics. Every figure is measured by the running engine, none declared.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utter_engine::EngineState;
use utter_engine::stream::{CONTEXT, FIRST_WINDOW, MAX_WINDOW, MIN_WINDOW};

use crate::speech::{MODELS, OPENAI_VOICES};
use crate::{ApiError, AppState};

fn counted(state: &AppState, path: &str, response: Response) -> Response {
    state.stats.response(path, response.status().as_u16());
    response
}

/// `GET /v1/models`.
pub async fn models(State(state): State<Arc<AppState>>) -> Response {
    let created = state
        .engine
        .info()
        .model
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": created, "owned_by": "utter"}))
        .collect();
    counted(
        &state,
        "/v1/models",
        Json(json!({"object": "list", "data": data})).into_response(),
    )
}

/// `GET /v1/audio/voices`: Kokoro's voices and the OpenAI names that map to them.
pub async fn voices(State(state): State<Arc<AppState>>) -> Response {
    let voices: Vec<Value> = state
        .engine
        .voices()
        .iter()
        .map(|v| {
            let aliases: Vec<&str> = OPENAI_VOICES
                .iter()
                .filter(|(_, k)| *k == v.id)
                .map(|(o, _)| *o)
                .collect();
            json!({
                "id": v.id,
                "name": v.name,
                "language": v.language_name,
                "accent": v.accent,
                "gender": v.gender,
                "openai_aliases": aliases,
            })
        })
        .collect();
    counted(
        &state,
        "/v1/audio/voices",
        Json(json!({"voices": voices, "blends": "voice ids joined by '+', each with an optional ':weight', e.g. af_heart:0.6+af_bella:0.4"}))
            .into_response(),
    )
}

/// `GET /health`: cheap liveness (200 while the process answers; the engine's state is said).
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let engine = state_name(&state.engine.state());
    counted(
        &state,
        "/health",
        Json(json!({"status": "ok", "engine": engine})).into_response(),
    )
}

fn state_name(s: &EngineState) -> &'static str {
    match s {
        EngineState::Loading => "loading",
        EngineState::WarmingUp => "warming_up",
        EngineState::Ready => "ready",
        EngineState::Failed(_) => "failed",
        EngineState::Stopped => "stopped",
    }
}

/// `GET /status`.
pub async fn status(State(state): State<Arc<AppState>>) -> Response {
    let engine_state = state.engine.state();
    let info = state.engine.info();
    let body = json!({
        "engine": {
            "state": state_name(&engine_state),
            "error": match &engine_state { EngineState::Failed(e) => Some(e.to_string()), _ => None },
        },
        "model": {
            "file": info.model,
            "precision": utter_engine::model::precision(&info.model),
            "windowed_decoding": info.windowed_decoding,
        },
        "execution_provider": info.provider.running,
        "execution_provider_requested": info.provider.requested,
        "execution_provider_fallback": info.provider.fallback_reason,
        "warm_up": {
            "ready_after_ms": info.ready_warm_up_ms,
            "complete": info.warm_up_complete,
            "total_ms": info.warm_up_ms,
        },
        "uptime_secs": state.started.elapsed().as_secs_f64(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    counted(&state, "/status", Json(body).into_response())
}

/// `GET /performance-stats`.
pub async fn performance(State(state): State<Arc<AppState>>) -> Response {
    let info = state.engine.info();
    let memory = utter_core::mem::memory();
    let body = json!({
        "requests": state.stats.snapshot(),
        "cache": {
            "audio": info.audio_cache,
            "audio_hit_rate": info.audio_cache.hit_rate(),
            "phonemes": info.phoneme_cache,
            "phoneme_hit_rate": info.phoneme_cache.hit_rate(),
        },
        "memory": {
            "rss_mb": memory.rss_mb(),
            "peak_rss_mb": memory.peak_rss_mb(),
        },
    });
    counted(&state, "/performance-stats", Json(body).into_response())
}

/// `GET /optimization-status`: what the engine has done to be fast, with the measurements.
pub async fn optimization(State(state): State<Arc<AppState>>) -> Response {
    let info = state.engine.info();
    let decode = info.decode_cost.map(|c| {
        json!({
            "fixed_ms": c.fixed_secs * 1e3,
            "per_frame_ms": c.per_frame_secs * 1e3,
            "real_time_factor": c.per_frame_secs / 0.025,
        })
    });
    let body = json!({
        "warm_up": {
            "complete": info.warm_up_complete,
            "ready_after_ms": info.ready_warm_up_ms,
            "total_ms": info.warm_up_ms,
            "token_counts_covered": info.warm_up_tokens,
        },
        "caches": {
            "audio": info.audio_cache,
            "audio_hit_rate": info.audio_cache.hit_rate(),
            "phonemes": info.phoneme_cache,
            "phoneme_hit_rate": info.phoneme_cache.hit_rate(),
        },
        "execution_provider": {
            "requested": info.provider.requested,
            "running": info.provider.running,
            "fallback_reason": info.provider.fallback_reason,
            "measured": info.provider.timings,
            "model_load_ms": info.load_ms,
            "optimized_graph_reused": info.optimized_graph_reused,
            "note": "CPU unless --ep / UTTER_EP / the settings ask for coreml or auto; a provider \
                that cannot be registered, built or run falls back to the CPU, with the reason",
        },
        "threads": {
            "intra_op": info.threads,
            "spinning_within_runs": info.spinning,
        },
        "first_chunk_policy": {
            "windowed_decoding": info.windowed_decoding,
            "why_not": info.split_error,
            "first_window_frames": FIRST_WINDOW,
            "later_windows_min_frames": MIN_WINDOW,
            "max_window_frames": MAX_WINDOW,
            "context_frames": CONTEXT,
            "frame_ms": 25,
            "measured_decoder_cost": decode,
            "whole_model_cost": info.cost_model,
        },
    });
    counted(&state, "/optimization-status", Json(body).into_response())
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let info = state.engine.info();
    let g = &state.stats.gauges;
    g.rss_bytes
        .set(utter_core::mem::memory().rss_bytes.unwrap_or(0) as i64);
    g.cache_hits.set(info.audio_cache.hits as i64);
    g.cache_misses.set(info.audio_cache.misses as i64);
    g.cache_bytes.set(info.audio_cache.bytes as i64);
    g.engine_ready.set(i64::from(matches!(
        state.engine.state(),
        EngineState::Ready
    )));
    if let Some(c) = info.decode_cost {
        g.decode_us_per_frame.set((c.per_frame_secs * 1e6) as i64);
    }
    let mut response = state.stats.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    counted(&state, "/metrics", response)
}

/// Anything else: OpenAI-shaped 404.
pub async fn not_found(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    counted(
        &state,
        "other",
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found",
            format!("no endpoint {}", uri.path()),
        )
        .into_response(),
    )
}
