//! Live state pushed from Rust at a fixed rate (the page never polls): the status to the tray
//! and the window whenever it changes, the performance figures to the window twice a second
//! while it is open.

use std::time::{Duration, Instant};

use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use tauri::{AppHandle, Emitter};
use utter_audio::{OutputFormat, UtteranceStats};

use crate::state::{CaptureInfo, lock, state};

/// How often the status is looked at.
const TICK: Duration = Duration::from_millis(250);
/// Performance figures are pushed every this many ticks (2 Hz).
const PERFORMANCE_EVERY: u32 = 2;
/// The Accessibility permission is re-checked every this many ticks (5 s; also whenever the
/// window gains focus), so a grant made in System Settings shows in the tray by itself.
const ACCESS_EVERY: u32 = 20;
/// Memory is re-read from the system this often (a process scan is not free).
const MEMORY_EVERY: Duration = Duration::from_secs(2);
/// Utterances in the chart.
const CHART: usize = 40;

/// Percentiles of one figure.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Figure {
    last: Option<f64>,
    p50: Option<f64>,
    p95: Option<f64>,
}

/// One utterance in the chart.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    first_audio_ms: Option<f64>,
    real_time_factor: Option<f64>,
    audio_secs: f64,
    underruns: u64,
}

/// Memory and CPU of the app's processes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    /// The Utter process: engine, audio, tray, MiB.
    app_mb: Option<f64>,
    /// The web view's processes (only while the window is open), MiB.
    webview_mb: Option<f64>,
    /// CPU of the Utter process, percent of one core.
    app_cpu_percent: Option<f32>,
}

/// Everything the performance panel shows.
#[derive(Debug, Clone, Serialize)]
pub struct Performance {
    /// Request (shortcut press) → first sound at the device, ms.
    first_audio_ms: Figure,
    /// Request → first PCM chunk ready, ms.
    first_chunk_ms: Figure,
    /// Synthesis time / audio time.
    real_time_factor: Figure,
    /// Underruns in the last utterance and over recent ones.
    underruns_last: u64,
    underruns_total: u64,
    utterances: usize,
    recent: Vec<Point>,
    memory: Memory,
    /// Audio cache hit rate, 0–1.
    cache_hit_rate: Option<f64>,
    cache_hits: u64,
    cache_mb: f64,
    phoneme_cache_hit_rate: Option<f64>,
    engine: Engine,
    capture: Option<CaptureInfo>,
    output: Option<OutputFormat>,
}

/// Facts about the engine.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Engine {
    state: &'static str,
    model: String,
    precision: &'static str,
    execution_provider: String,
    threads: usize,
    spinning: bool,
    windowed_decoding: bool,
    load_ms: Option<u64>,
    ready_after_ms: Option<u64>,
    warm_up_ms: Option<u64>,
    warm_up_complete: bool,
}

/// Reads the app's memory with sysinfo, at most every [`MEMORY_EVERY`].
pub struct MemoryProbe {
    system: Option<System>,
    pid: Option<Pid>,
    read: Option<(Instant, Memory)>,
}

impl MemoryProbe {
    fn new() -> Self {
        Self {
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            read: None,
        }
    }

    fn memory(&mut self) -> Memory {
        if let Some((at, m)) = self.read
            && at.elapsed() < MEMORY_EVERY
        {
            return m;
        }
        let (Some(system), Some(pid)) = (self.system.as_mut(), self.pid) else {
            return Memory::default();
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let mb = |bytes: u64| bytes as f64 / 1_048_576.0;
        let app = system.process(pid);
        // The web view runs in child processes of the app (WebKit's web and network processes).
        let webview: u64 = system
            .processes()
            .values()
            // Threads are listed as tasks of their process: count processes only.
            .filter(|p| p.parent() == Some(pid) && p.thread_kind().is_none())
            .map(sysinfo::Process::memory)
            .sum();
        let m = Memory {
            app_mb: app.map(|p| mb(p.memory())),
            webview_mb: (webview > 0).then(|| mb(webview)),
            app_cpu_percent: app.map(sysinfo::Process::cpu_usage),
        };
        self.read = Some((Instant::now(), m));
        m
    }
}

fn figure(last: Option<f64>, summary: Option<utter_audio::Summary>) -> Figure {
    Figure {
        last,
        p50: summary.map(|s| s.p50),
        p95: summary.map(|s| s.p95),
    }
}

/// The performance figures now.
pub fn performance(app: &AppHandle, probe: Option<&mut MemoryProbe>) -> Performance {
    let st = state(app);
    let memory = match probe {
        Some(p) => p.memory(),
        None => MemoryProbe::new().memory(),
    };
    let capture = lock(&st.last_capture).clone();
    let Some(core) = st.core.get() else {
        return Performance {
            first_audio_ms: Figure::default(),
            first_chunk_ms: Figure::default(),
            real_time_factor: Figure::default(),
            underruns_last: 0,
            underruns_total: 0,
            utterances: 0,
            recent: Vec::new(),
            memory,
            cache_hit_rate: None,
            cache_hits: 0,
            cache_mb: 0.0,
            phoneme_cache_hit_rate: None,
            engine: Engine {
                state: "starting",
                ..Engine::default()
            },
            capture,
            output: None,
        };
    };
    let stats = core.stats();
    let last = stats.last.clone().unwrap_or_default();
    let info = core.engine().info();
    let recent = core
        .player()
        .recent_stats(CHART)
        .iter()
        .map(|u: &UtteranceStats| Point {
            first_audio_ms: u.first_audio_ms,
            real_time_factor: u.real_time_factor,
            audio_secs: u.audio_secs,
            underruns: u.underruns,
        })
        .collect();
    let engine = Engine {
        state: match core.engine().state() {
            utter_engine::EngineState::Loading => "loading",
            utter_engine::EngineState::WarmingUp => "warming up",
            utter_engine::EngineState::Ready => "ready",
            utter_engine::EngineState::Failed(_) => "failed",
            utter_engine::EngineState::Stopped => "stopped",
        },
        model: info
            .model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        precision: utter_engine::model::precision(&info.model),
        execution_provider: info.provider.summary(),
        threads: info.threads,
        spinning: info.spinning,
        windowed_decoding: info.windowed_decoding,
        load_ms: info.load_ms,
        ready_after_ms: info.ready_warm_up_ms,
        warm_up_ms: info.warm_up_ms,
        warm_up_complete: info.warm_up_complete,
    };
    Performance {
        first_audio_ms: figure(last.first_audio_ms, stats.first_audio_ms),
        first_chunk_ms: figure(last.first_chunk_ms, stats.first_chunk_ms),
        real_time_factor: figure(last.real_time_factor, stats.real_time_factor),
        underruns_last: last.underruns,
        underruns_total: stats.underruns_total,
        utterances: stats.utterances,
        recent,
        memory,
        cache_hit_rate: info.audio_cache.hit_rate(),
        cache_hits: info.audio_cache.hits,
        cache_mb: info.audio_cache.bytes as f64 / 1_048_576.0,
        phoneme_cache_hit_rate: info.phoneme_cache.hit_rate(),
        engine,
        capture,
        output: core.player().output_format(),
    }
}

/// Starts the thread that keeps the tray and the window up to date.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("utter-live".into())
        .spawn(move || run(&app));
    if let Err(e) = spawned {
        tracing::error!("cannot start the status thread: {e}");
    }
}

fn run(app: &AppHandle) {
    let mut shown = None;
    let mut voices_built = false;
    let mut probe = MemoryProbe::new();
    let mut tick: u32 = 0;
    loop {
        std::thread::sleep(TICK);
        tick = tick.wrapping_add(1);
        let st = state(app);
        if !voices_built && st.core.get().is_some() {
            let voice = lock(&st.settings).voice.clone();
            crate::tray::build_voices(app, &voice);
            voices_built = true;
        }
        if tick.is_multiple_of(ACCESS_EVERY) {
            st.refresh_access();
        }
        let status = st.status();
        if shown.as_ref() != Some(&status) {
            crate::tray::show(app, &status);
            let _ = app.emit("status", &status);
            shown = Some(status);
        }
        if tick.is_multiple_of(PERFORMANCE_EVERY) && crate::window::is_open(app) {
            let _ = app.emit("performance", performance(app, Some(&mut probe)));
        }
    }
}
