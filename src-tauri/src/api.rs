//! The optional local HTTP API, switched on in Settings: the same server as `utter serve`
//! (127.0.0.1 only), over the app's own warm engine, on tauri's async runtime.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Serialize;
use tauri::AppHandle;
use tokio::sync::oneshot;
use utter_http::{Server, ServerConfig};

use crate::state::{lock, state};

/// The server's state.
#[derive(Default)]
pub struct Api {
    shutdown: Option<oneshot::Sender<()>>,
    addr: Option<SocketAddr>,
    error: Option<String>,
}

/// What Settings shows.
#[derive(Debug, Clone, Serialize)]
pub struct ApiView {
    /// Serving now.
    pub running: bool,
    /// Its base URL.
    pub url: Option<String>,
    /// Why it is not serving.
    pub error: Option<String>,
}

/// The API's state for Settings.
pub fn view(app: &AppHandle) -> ApiView {
    let api = lock(&state(app).api);
    ApiView {
        running: api.addr.is_some(),
        url: api.addr.map(|a| format!("http://{a}/v1")),
        error: api.error.clone(),
    }
}

/// Starts serving on 127.0.0.1:`port` (the engine must be running).
pub fn start(app: &AppHandle, port: u16) {
    let st = state(app);
    let Some(core) = st.core.get() else {
        lock(&st.api).error = Some("the voice engine has not started".into());
        return;
    };
    let config = ServerConfig {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        ..ServerConfig::default()
    };
    let engine = core.engine_handle();
    let (tx, rx) = oneshot::channel();
    *lock(&st.api) = Api {
        shutdown: Some(tx),
        addr: None,
        error: None,
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let server = match Server::bind(engine, config).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("the local API did not start: {e}");
                lock(&state(&app).api).error = Some(e.to_string());
                return;
            }
        };
        lock(&state(&app).api).addr = server.local_addr();
        tracing::info!(addr = ?server.local_addr(), "local API serving");
        let stopped = async {
            let _ = rx.await;
        };
        if let Err(e) = server.serve(stopped).await {
            tracing::warn!("the local API stopped: {e}");
            lock(&state(&app).api).error = Some(e.to_string());
        }
        lock(&state(&app).api).addr = None;
    });
}

/// Stops serving (requests in progress finish).
pub fn stop(app: &AppHandle) {
    let mut api = lock(&state(app).api);
    if let Some(tx) = api.shutdown.take() {
        let _ = tx.send(());
    }
    api.addr = None;
    api.error = None;
}
