//! Utter's optional local HTTP API: OpenAI-compatible speech over the resident, warm engine,
//! plus health, status and performance endpoints. Off by default; the app's settings switch it
//! on, and `utter serve` runs it headless.
//!
//! * `POST /v1/audio/speech` — OpenAI's request shape (`model`, `input`, `voice`, `speed`,
//!   `response_format`, `stream`); wav, pcm and flac; streamed with chunked transfer, the first
//!   bytes leaving as soon as the first window of audio is decoded ([`speech`]).
//! * `GET /v1/audio/voices`, `/v1/models`, `/health`, `/status`, `/performance-stats`,
//!   `/optimization-status`, `/metrics` (Prometheus text) ([`monitor`]).
//!
//! Safe by default ([`guard`]): it binds 127.0.0.1; another address needs an explicit opt-in and
//! a bearer token; requests whose `Host` or `Origin` is not loopback are refused (DNS-rebinding
//! defence); bodies are limited; at most [`ServerConfig::max_in_flight`] speech requests run at
//! once (more get 429); a client that hangs up cancels its synthesis.
//!
//! Scheduling: one ONNX Runtime session. The engine runs every request in progress a step (one
//! decoder window) at a time, round-robin, after the listener's own reading — so requests share
//! it fairly without mixing audio (see `utter_engine`'s worker).

pub mod audio;
mod error;
pub mod guard;
pub mod monitor;
pub mod speech;
pub mod stats;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use utter_engine::Engine;

pub use error::ApiError;
pub use stats::ApiStats;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (default 127.0.0.1:8880).
    pub addr: SocketAddr,
    /// Required `Authorization: Bearer` token (mandatory when `addr` is not loopback).
    pub token: Option<String>,
    /// Origins allowed besides loopback ones (e.g. a browser extension's).
    pub allowed_origins: Vec<String>,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Longest `input`, characters.
    pub max_input_chars: usize,
    /// Speech requests in progress at once; more are refused with 429.
    pub max_in_flight: usize,
}

/// The default port (as Kokoro-FastAPI, so tools set up for it find Utter).
pub const DEFAULT_PORT: u16 = 8880;

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            token: None,
            allowed_origins: Vec::new(),
            max_body_bytes: 256 * 1024,
            max_input_chars: 50_000,
            max_in_flight: 16,
        }
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A non-loopback address without a token.
    #[error(
        "refusing to listen on {0} without a token: other machines could use it; pass --token \
         (and --allow-remote) or bind 127.0.0.1"
    )]
    RemoteWithoutToken(SocketAddr),
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What every handler sees.
pub struct AppState {
    /// The shared engine.
    pub engine: Arc<Engine>,
    /// The configuration.
    pub config: ServerConfig,
    /// Request counters and timings.
    pub stats: ApiStats,
    /// When the server started.
    pub started: Instant,
}

/// The router with every endpoint and guard, for `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/audio/speech", post(speech::create))
        .route("/v1/audio/voices", get(monitor::voices))
        .route("/v1/models", get(monitor::models))
        .route("/health", get(monitor::health))
        .route("/status", get(monitor::status))
        .route("/performance-stats", get(monitor::performance))
        .route("/optimization-status", get(monitor::optimization))
        .route("/metrics", get(monitor::metrics))
        .fallback(monitor::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            guard::check,
        ))
        .with_state(state)
}

/// A bound, not yet serving, server.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Checks the configuration and binds.
    pub async fn bind(engine: Arc<Engine>, config: ServerConfig) -> Result<Self, ServeError> {
        if !config.addr.ip().is_loopback() && config.token.is_none() {
            return Err(ServeError::RemoteWithoutToken(config.addr));
        }
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.addr,
                source,
            })?;
        let state = Arc::new(AppState {
            engine,
            config,
            stats: ApiStats::new(),
            started: Instant::now(),
        });
        Ok(Self { listener, state })
    }

    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The shared state (stats for the app's panel).
    pub fn state(&self) -> Arc<AppState> {
        Arc::clone(&self.state)
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(self.state);
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
