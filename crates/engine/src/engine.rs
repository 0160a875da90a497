//! The engine: one named thread owns the ONNX Runtime session and takes jobs over a channel.
//!
//! [`Engine::start`] returns at once; the thread loads the model, warms itself up over a few
//! input lengths and then reports [`EngineState::Ready`]. Each [`Engine::synthesize`] call
//! returns a [`Synthesis`]: an iterator that yields each chunk's PCM as soon as it is ready.
//! Cancelling (or dropping) it stops the run in progress through `RunOptions::terminate` and the
//! engine takes the next job at once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ort::session::RunOptions;

use crate::cache::{AudioCache, CacheStats, DEFAULT_AUDIO_CACHE_BYTES};
use crate::chunk::ChunkPolicy;
use crate::model::{self, SessionConfig};
use crate::pace::{CostModel, DecodeCost};
use crate::phonemize::Phonemizer;
use crate::provider::{ProviderChoice, ProviderReport};
use crate::voices::{Dialect, VoiceBank, VoiceInfo};
use crate::worker::{self, Job};
use crate::{EngineError, normalize};

/// Slowest and fastest speaking rate accepted.
pub const SPEED_RANGE: std::ops::RangeInclusive<f32> = 0.5..=2.0;
/// The voice used when none is given.
pub const DEFAULT_VOICE: &str = "af_heart";

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The Kokoro ONNX model.
    pub model: PathBuf,
    /// Folder of `<voice>.bin` packs.
    pub voices_dir: PathBuf,
    /// The ONNX Runtime shared library.
    pub ort_library: PathBuf,
    /// The version the library must report (the assets manifest's); `None` accepts any version
    /// ort can use.
    pub ort_version: Option<String>,
    /// The execution provider asked for (see [`crate::provider`]); the CPU by default.
    pub provider: ProviderChoice,
    /// Session options.
    pub session: SessionConfig,
    /// Run a few syntheses at start so the first real request is fast.
    pub warm_up: bool,
    /// The voice the warm-up uses: only its dialect's G2P tables are loaded at start (each
    /// dialect's tables hold ~60 MB); the other dialect loads when a voice of it is chosen
    /// ([`Engine::prepare_voice`]) or first read.
    pub warm_voice: String,
    /// Where CoreML may cache its compiled models.
    pub ep_cache_dir: Option<PathBuf>,
    /// Where the model's front and decoder are derived to (see [`crate::split`]); `None` runs
    /// the model whole, without windowed decoding.
    pub split_cache_dir: Option<PathBuf>,
    /// Where to keep this machine's measured synthesis cost between runs, so the first reading
    /// after a start is paced well without a warm-up.
    pub cost_cache: Option<PathBuf>,
    /// Bytes of finished audio kept for repeated text (0: no audio cache).
    pub audio_cache_bytes: usize,
}

impl EngineConfig {
    /// A config with default session options and warm-up on; the split model is derived into a
    /// `derived/` folder beside the model (see [`crate::split`]).
    pub fn new(model: PathBuf, voices_dir: PathBuf, ort_library: PathBuf) -> Self {
        let split_cache_dir = Some(default_split_dir(&model));
        Self {
            model,
            voices_dir,
            ort_library,
            ort_version: None,
            provider: ProviderChoice::default(),
            session: SessionConfig::default(),
            warm_up: true,
            warm_voice: DEFAULT_VOICE.to_string(),
            ep_cache_dir: None,
            split_cache_dir,
            cost_cache: None,
            audio_cache_bytes: DEFAULT_AUDIO_CACHE_BYTES,
        }
    }
}

/// Where the front and decoder of `model` are derived to by default: `derived/` beside it.
pub fn default_split_dir(model: &std::path::Path) -> PathBuf {
    model
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("derived")
}

/// Where the engine is in its life.
#[derive(Debug, Clone)]
pub enum EngineState {
    /// Loading the model.
    Loading,
    /// Model loaded, running the warm-up syntheses.
    WarmingUp,
    /// Ready: requests run at full speed.
    Ready,
    /// Start-up failed; every request gets this error.
    Failed(Arc<EngineError>),
    /// The engine thread has ended.
    Stopped,
}

/// Facts about the running engine, for status displays.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EngineInfo {
    /// The model file.
    pub model: PathBuf,
    /// The ONNX Runtime library loaded.
    pub ort_library: PathBuf,
    /// The version it reports.
    pub ort_version: String,
    /// Intra-op threads.
    pub threads: usize,
    /// ORT worker threads spin within a run.
    pub spinning: bool,
    /// The execution provider asked for, the one running, why they differ, and for `auto` the
    /// timings that chose.
    pub provider: ProviderReport,
    /// Time to build the session.
    pub load_ms: Option<u64>,
    /// The sessions were built from ONNX Runtime's optimized graphs kept by an earlier start
    /// (CPU only), skipping graph optimization.
    pub optimized_graph_reused: bool,
    /// Warm-up done before the engine reported ready, ms.
    pub ready_warm_up_ms: Option<u64>,
    /// The whole warm-up (the rest runs while idle), ms, once complete.
    pub warm_up_ms: Option<u64>,
    /// True once every warm-up step has run.
    pub warm_up_complete: bool,
    /// Token counts the warm-up synthesized.
    pub warm_up_tokens: Vec<usize>,
    /// Measured synthesis cost on this machine (from the warm-up and every chunk since), for
    /// models that run whole.
    pub cost_model: Option<CostModel>,
    /// True when the model was split and its decoder runs window by window.
    pub windowed_decoding: bool,
    /// Why the model runs whole, if it could not be split.
    pub split_error: Option<String>,
    /// Measured decoder cost on this machine (windowed decoding).
    pub decode_cost: Option<DecodeCost>,
    /// The audio cache (finished chunks, bounded in bytes).
    pub audio_cache: CacheStats,
    /// The phonemizer's sentence cache.
    pub phoneme_cache: CacheStats,
    /// The dialects whose G2P tables are loaded ("American", "British").
    pub g2p_loaded: Vec<String>,
}

/// One synthesis request.
#[derive(Debug, Clone)]
pub struct SynthRequest {
    /// Text as the user gave it (normalized by the engine).
    pub text: String,
    /// A voice id or blend.
    pub voice: String,
    /// Speaking rate, 0.5–2.0.
    pub speed: f32,
    /// How the text is cut into model inputs.
    pub policy: ChunkPolicy,
    /// Start reading at this byte offset of the *normalized* text (snapped forward to the next
    /// sentence piece); 0 reads everything. Used to skip sentences.
    pub start_at: usize,
    /// Whose turn comes first when several readings share the engine.
    pub priority: Priority,
}

/// Whose turn comes first when several readings share the engine (round-robin within each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Priority {
    /// The listener's own reading: before anything else.
    #[default]
    Interactive,
    /// Requests from other programs (the HTTP API).
    Background,
}

impl SynthRequest {
    /// A request with the default voice, speed 1 and the default chunk policy.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            voice: DEFAULT_VOICE.to_string(),
            speed: 1.0,
            policy: ChunkPolicy::default(),
            start_at: 0,
            priority: Priority::Interactive,
        }
    }
}

/// One chunk's audio.
#[derive(Debug, Clone)]
pub struct AudioChunk {
    /// The text chunk this audio belongs to (position in the utterance, from 0).
    pub index: usize,
    /// Which piece of that chunk's audio this is, from 0: with windowed decoding a chunk's
    /// audio arrives in several pieces that continue one another.
    pub piece: usize,
    /// True on the chunk's last piece (the pause that fits its punctuation follows it).
    pub last_piece: bool,
    /// Mono f32 PCM at [`model::SAMPLE_RATE`].
    pub samples: Vec<f32>,
    /// The speaking rate this chunk was synthesized at.
    pub speed: f32,
    /// The phonemes spoken.
    pub phonemes: String,
    /// The normalized text this chunk speaks (byte range, sentence granularity); its end,
    /// out of `text_len`, is the reading's progress.
    pub text_range: std::ops::Range<usize>,
    /// Length of the normalized text.
    pub text_len: usize,
    /// Inference time for this chunk.
    pub synth_time: Duration,
    /// Time from the request to this chunk being ready.
    pub since_request: Duration,
}

/// What the engine thread shares with the [`Engine`] handle.
pub(crate) struct Shared {
    pub state: Mutex<EngineState>,
    pub changed: Condvar,
    pub info: Mutex<EngineInfo>,
    /// Finished audio per chunk (see [`crate::cache`]); locked briefly per chunk.
    pub cache: Mutex<AudioCache>,
    /// The background warm-up's run in progress, terminated when a request arrives.
    pub warm_run: Mutex<Option<Arc<RunOptions>>>,
}

impl Shared {
    pub(crate) fn set(&self, state: EngineState) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
        self.changed.notify_all();
    }
}

/// Cancels one synthesis from any thread.
#[derive(Clone)]
pub struct CancelHandle(Arc<CancelInner>);

struct CancelInner {
    cancelled: AtomicBool,
    /// Speaking rate as f32 bits; read before each chunk, so a change applies from the next one.
    speed: AtomicU32,
    run: RunOptions,
}

impl CancelHandle {
    pub(crate) fn new(speed: f32) -> Result<Self, EngineError> {
        let run = RunOptions::new().map_err(EngineError::Inference)?;
        Ok(Self(Arc::new(CancelInner {
            cancelled: AtomicBool::new(false),
            speed: AtomicU32::new(speed.to_bits()),
            run,
        })))
    }

    /// Changes the speaking rate from the next chunk on (clamped to 0.5–2.0).
    pub fn set_speed(&self, speed: f32) {
        let speed = speed.clamp(*SPEED_RANGE.start(), *SPEED_RANGE.end());
        self.0.speed.store(speed.to_bits(), Ordering::SeqCst);
    }

    /// The speaking rate asked for now (what the next chunk will be synthesized at).
    pub fn speed(&self) -> f32 {
        f32::from_bits(self.0.speed.load(Ordering::SeqCst))
    }

    /// The run options whose termination cancels the model run in progress.
    pub(crate) fn run_options(&self) -> &RunOptions {
        &self.0.run
    }

    /// Stops the synthesis: the run in progress is terminated, no further chunk is produced.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Err(e) = self.0.run.terminate() {
            tracing::warn!("could not terminate the running inference: {e}");
        }
    }

    /// True once [`CancelHandle::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// A synthesis in progress: iterate to receive each chunk's audio as soon as it is ready.
/// Dropping it cancels whatever is left.
#[derive(Debug)]
pub struct Synthesis {
    chunks: mpsc::Receiver<Result<AudioChunk, EngineError>>,
    cancel: CancelHandle,
}

impl Synthesis {
    /// A handle that cancels this synthesis from another thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Cancels the rest of this synthesis.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for everything and returns the whole utterance's samples.
    pub fn collect_samples(self) -> Result<Vec<f32>, EngineError> {
        let mut all = Vec::new();
        for chunk in self {
            all.extend_from_slice(&chunk?.samples);
        }
        Ok(all)
    }
}

impl Iterator for Synthesis {
    type Item = Result<AudioChunk, EngineError>;

    /// The next chunk, waiting for it; `None` at the end, and at once after a cancel.
    fn next(&mut self) -> Option<Self::Item> {
        if self.cancel.is_cancelled() {
            return None;
        }
        self.chunks.recv().ok()
    }
}

impl Drop for Synthesis {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// How many finished chunks may wait unread: the engine synthesizes ahead of the reader by
/// this much and then waits, so a long text never piles up in memory.
pub const LOOKAHEAD_CHUNKS: usize = 2;

/// The resident TTS engine. Cheap to query from any thread; synthesis runs on its own thread.
pub struct Engine {
    jobs: Option<mpsc::Sender<Job>>,
    shared: Arc<Shared>,
    voices: Arc<VoiceBank>,
    phonemizer: Arc<Phonemizer>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Checks the voices and the runtime library, then loads and warms the model on the engine
    /// thread. Returns at once; see [`Engine::wait_ready`].
    pub fn start(config: EngineConfig) -> Result<Self, EngineError> {
        let voices = Arc::new(VoiceBank::open(&config.voices_dir)?);
        let (env, ort_version) =
            model::environment(&config.ort_library, config.ort_version.as_deref())?;
        let phonemizer = Arc::new(Phonemizer::new());
        let shared = Arc::new(Shared {
            state: Mutex::new(EngineState::Loading),
            changed: Condvar::new(),
            info: Mutex::new(EngineInfo {
                model: config.model.clone(),
                ort_library: config.ort_library.clone(),
                ort_version,
                threads: config.session.intra_threads,
                spinning: config.session.spinning,
                provider: ProviderReport {
                    requested: config.provider,
                    ..ProviderReport::default()
                },
                ..EngineInfo::default()
            }),
            cache: Mutex::new(AudioCache::new(config.audio_cache_bytes)),
            warm_run: Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = {
            let (shared, voices, phonemizer) = (
                Arc::clone(&shared),
                Arc::clone(&voices),
                Arc::clone(&phonemizer),
            );
            std::thread::Builder::new()
                .name("utter-engine".into())
                .spawn(move || worker::run(&config, &env, &shared, &voices, &phonemizer, &rx))
                .map_err(|source| EngineError::Io {
                    path: PathBuf::from("<engine thread>"),
                    source,
                })?
        };
        Ok(Self {
            jobs: Some(tx),
            shared,
            voices,
            phonemizer,
            thread: Some(thread),
        })
    }

    /// The engine's current state.
    pub fn state(&self) -> EngineState {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True once loaded and warmed up.
    pub fn is_ready(&self) -> bool {
        matches!(self.state(), EngineState::Ready)
    }

    /// Waits until the engine is ready (or failed, or `timeout` passed). `Ok(false)` on timeout.
    pub fn wait_ready(&self, timeout: Duration) -> Result<bool, EngineError> {
        let deadline = Instant::now() + timeout;
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            match &*state {
                EngineState::Ready => return Ok(true),
                EngineState::Failed(e) => return Err(EngineError::Failed(Arc::clone(e))),
                EngineState::Stopped => return Err(EngineError::Stopped),
                EngineState::Loading | EngineState::WarmingUp => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Facts for status displays.
    pub fn info(&self) -> EngineInfo {
        let mut info = lock(&self.shared.info).clone();
        info.audio_cache = lock(&self.shared.cache).stats();
        info.phoneme_cache = self.phonemizer.cache_stats();
        info.g2p_loaded = [Dialect::American, Dialect::British]
            .into_iter()
            .filter(|d| self.phonemizer.is_loaded(*d))
            .map(|d| format!("{d:?}"))
            .collect();
        info
    }

    /// Empties the audio and phoneme caches (a benchmark's cold runs; the counters stay).
    pub fn clear_caches(&self) {
        lock(&self.shared.cache).clear();
        self.phonemizer.clear_cache();
    }

    /// The installed voices, English first.
    pub fn voices(&self) -> &[VoiceInfo] {
        self.voices.list()
    }

    /// The voice bank (loading, blends, close-name suggestions).
    pub fn voice_bank(&self) -> &VoiceBank {
        &self.voices
    }

    /// The text as the engine will read it, as phonemes (normalized, sentence by sentence).
    pub fn phonemes(&self, text: &str, voice: &str) -> Result<String, EngineError> {
        let dialect = self.voices.load(voice)?.dialect;
        Ok(phonemize_text(&self.phonemizer, text, dialect))
    }

    /// Gets `voice` ready to read: checks it, and loads its dialect's G2P tables on a thread of
    /// their own if they are not loaded yet (~0.2 s), so choosing a voice of the other dialect
    /// does not slow its first reading.
    pub fn prepare_voice(&self, voice: &str) -> Result<(), EngineError> {
        let dialect = self.voices.load(voice)?.dialect;
        if !self.phonemizer.is_loaded(dialect) {
            let phonemizer = Arc::clone(&self.phonemizer);
            let spawned = std::thread::Builder::new()
                .name("utter-g2p-load".into())
                .spawn(move || phonemizer.warm(dialect));
            if let Err(e) = spawned {
                tracing::warn!("cannot load the {dialect:?} G2P tables ahead: {e}");
            }
        }
        Ok(())
    }

    /// Starts synthesizing `request`; chunks arrive through the returned [`Synthesis`].
    pub fn synthesize(&self, request: SynthRequest) -> Result<Synthesis, EngineError> {
        let submitted = Instant::now();
        if request.text.trim().is_empty() {
            return Err(EngineError::EmptyText("the text is empty"));
        }
        if !SPEED_RANGE.contains(&request.speed) {
            return Err(EngineError::BadSpeed(request.speed));
        }
        let pack = self.voices.load(&request.voice)?;
        if let EngineState::Failed(e) = self.state() {
            return Err(EngineError::Failed(e));
        }
        let (out, chunks) = mpsc::sync_channel(LOOKAHEAD_CHUNKS);
        let cancel = CancelHandle::new(request.speed)?;
        let job = Job {
            text: request.text,
            voice: request.voice.trim().to_string(),
            pack,
            start_at: request.start_at,
            policy: request.policy,
            priority: request.priority,
            cancel: cancel.clone(),
            submitted,
            out,
        };
        // A background warm-up run gives way at once.
        if let Some(run) = lock(&self.shared.warm_run).as_ref() {
            let _ = run.terminate();
        }
        self.jobs
            .as_ref()
            .ok_or(EngineError::Stopped)?
            .send(job)
            .map_err(|_| EngineError::Stopped)?;
        Ok(Synthesis { chunks, cancel })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Normalizes and phonemizes a whole text, piece by piece, joined by spaces.
pub fn phonemize_text(phonemizer: &Phonemizer, text: &str, dialect: Dialect) -> String {
    let normalized = normalize::normalize(text);
    crate::chunk::pieces(&normalized)
        .into_iter()
        .map(|r| phonemizer.phonemize(&normalized[r], dialect))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
