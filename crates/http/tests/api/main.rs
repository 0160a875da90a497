//! The HTTP API end to end: a real engine (the real model) behind a real server on a loopback
//! port, spoken to over TCP. One server per test binary (ONNX Runtime allows one environment per
//! process); tests needing other settings start their own on the same engine.

mod client;
mod endpoints;
mod errors;
mod openai;
mod speech;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use utter_engine::{Engine, EngineConfig};
use utter_http::{AppState, Server, ServerConfig};

/// The checkout (models, voices, tests/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("checkout root")
}

/// The engine shared by every server of this binary, warmed as the app runs it.
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| {
        let paths = utter_assets::AssetPaths::at(root());
        let mut config = EngineConfig::new(paths.model, paths.voices_dir, paths.ort_library);
        config.ort_version = paths.ort_version;
        let engine = Engine::start(config).expect("engine starts");
        assert!(engine.wait_ready(Duration::from_secs(180)).expect("loads"));
        Arc::new(engine)
    }))
}

/// A running server: its address and state.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub state: Arc<AppState>,
}

/// Starts a server with `config` (its port replaced by a free one) on a runtime of its own.
pub fn start(mut config: ServerConfig) -> Running {
    config.addr.set_port(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("test-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let server = Server::bind(engine(), config).await.expect("binds");
                tx.send((server.local_addr().expect("addr"), server.state()))
                    .expect("test waits");
                server.serve(std::future::pending()).await.expect("serves");
            });
        })
        .expect("thread");
    let (addr, state) = rx.recv().expect("server started");
    Running { addr, state }
}

/// The default server of this binary.
pub fn server() -> &'static Running {
    static SERVER: OnceLock<Running> = OnceLock::new();
    SERVER.get_or_init(|| start(ServerConfig::default()))
}
