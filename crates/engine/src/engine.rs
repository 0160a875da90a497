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

use crate::chunk::{ChunkPolicy, Planner};
use crate::model::{self, KokoroModel, SessionConfig};
use crate::pace::{self, CostHistory, CostModel, Pace, Run};
use crate::phonemize::Phonemizer;
use crate::voices::{Dialect, VoiceBank, VoiceInfo, VoicePack};
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
    /// Session options.
    pub session: SessionConfig,
    /// Run a few syntheses at start so the first real request is fast.
    pub warm_up: bool,
    /// Where an execution provider may cache compiled models (CoreML).
    pub ep_cache_dir: Option<PathBuf>,
    /// Where to keep this machine's measured synthesis cost between runs, so the first reading
    /// after a start is paced well without a warm-up.
    pub cost_cache: Option<PathBuf>,
}

impl EngineConfig {
    /// A config with default session options and warm-up on.
    pub fn new(model: PathBuf, voices_dir: PathBuf, ort_library: PathBuf) -> Self {
        Self {
            model,
            voices_dir,
            ort_library,
            session: SessionConfig::default(),
            warm_up: true,
            ep_cache_dir: None,
            cost_cache: None,
        }
    }
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
    /// Intra-op threads.
    pub threads: usize,
    /// Execution providers asked for, best first ("CPU" always last).
    pub execution_providers: Vec<String>,
    /// Time to build the session.
    pub load_ms: Option<u64>,
    /// Time the warm-up took, and the token counts it covered.
    pub warm_up_ms: Option<u64>,
    /// Token counts the warm-up synthesized.
    pub warm_up_tokens: Vec<usize>,
    /// Measured synthesis cost on this machine (from the warm-up and every chunk since).
    pub cost_model: Option<CostModel>,
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
        }
    }
}

/// One chunk's audio.
#[derive(Debug, Clone)]
pub struct AudioChunk {
    /// Position in the utterance, from 0.
    pub index: usize,
    /// Mono f32 PCM at [`model::SAMPLE_RATE`].
    pub samples: Vec<f32>,
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

struct Shared {
    state: Mutex<EngineState>,
    changed: Condvar,
    info: Mutex<EngineInfo>,
}

impl Shared {
    fn set(&self, state: EngineState) {
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
    fn new(speed: f32) -> Result<Self, EngineError> {
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

    fn speed(&self) -> f32 {
        f32::from_bits(self.0.speed.load(Ordering::SeqCst))
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

struct Job {
    text: String,
    pack: Arc<VoicePack>,
    start_at: usize,
    policy: ChunkPolicy,
    cancel: CancelHandle,
    submitted: Instant,
    out: mpsc::SyncSender<Result<AudioChunk, EngineError>>,
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
        let env = model::environment(&config.ort_library)?;
        let phonemizer = Arc::new(Phonemizer::new());
        let shared = Arc::new(Shared {
            state: Mutex::new(EngineState::Loading),
            changed: Condvar::new(),
            info: Mutex::new(EngineInfo {
                model: config.model.clone(),
                threads: config.session.intra_threads,
                execution_providers: if cfg!(target_os = "macos") {
                    vec!["CoreML".into(), "CPU".into()]
                } else {
                    vec!["CPU".into()]
                },
                ..EngineInfo::default()
            }),
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
                .spawn(move || engine_thread(&config, &env, &shared, &voices, &phonemizer, &rx))
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
        self.shared
            .info
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
            pack,
            start_at: request.start_at,
            policy: request.policy,
            cancel: cancel.clone(),
            submitted,
            out,
        };
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

fn engine_thread(
    config: &EngineConfig,
    env: &ort::environment::Environment,
    shared: &Shared,
    voices: &VoiceBank,
    phonemizer: &Phonemizer,
    jobs: &mpsc::Receiver<Job>,
) {
    let started = Instant::now();
    let loaded = KokoroModel::load(
        env,
        &config.model,
        &config.session,
        config.ep_cache_dir.as_deref(),
    );
    let mut model = match loaded {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("engine start-up failed: {e}");
            let e = Arc::new(e);
            shared.set(EngineState::Failed(Arc::clone(&e)));
            for job in jobs {
                let _ = job.out.send(Err(EngineError::Failed(Arc::clone(&e))));
            }
            return;
        }
    };
    let load_ms = started.elapsed().as_millis() as u64;
    tracing::info!(load_ms, model = %config.model.display(), "model loaded");
    shared
        .info
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .load_ms = Some(load_ms);

    let mut costs = CostHistory::with_prior(config.cost_cache.as_deref().and_then(pace::load));
    if config.warm_up {
        shared.set(EngineState::WarmingUp);
        let started = Instant::now();
        let covered = warm_up(&mut model, voices, phonemizer, &mut costs);
        let warm_up_ms = started.elapsed().as_millis() as u64;
        tracing::info!(warm_up_ms, tokens = ?covered, cost = ?costs.model(), "engine warm");
        let mut info = lock(&shared.info);
        info.warm_up_ms = Some(warm_up_ms);
        info.warm_up_tokens = covered;
        info.cost_model = costs.model();
        if let (Some(path), Some(model)) = (config.cost_cache.as_deref(), info.cost_model) {
            pace::save(path, &model);
        }
    }
    shared.set(EngineState::Ready);

    for job in jobs {
        run_job(&mut model, phonemizer, &mut costs, shared, job);
        if let (Some(path), Some(model)) = (config.cost_cache.as_deref(), costs.model()) {
            pace::save(path, &model);
        }
    }
    shared.set(EngineState::Stopped);
}

/// Synthesizes a short, a medium and a long input so ONNX Runtime's arenas and kernels are
/// ready, loads the G2P tables and measures this machine's synthesis cost (the first, cold run
/// excluded). Returns the token counts covered.
fn warm_up(
    model: &mut KokoroModel,
    voices: &VoiceBank,
    phonemizer: &Phonemizer,
    costs: &mut CostHistory,
) -> Vec<usize> {
    let Some(first) = voices.list().first() else {
        return Vec::new();
    };
    let voice = voices.info(DEFAULT_VOICE).unwrap_or(first).id.clone();
    let Ok(pack) = voices.load(&voice) else {
        return Vec::new();
    };
    let Ok(options) = RunOptions::new() else {
        return Vec::new();
    };
    phonemizer.warm(pack.dialect);
    // Cost grows with the audio produced, so the long input stays moderate (~100 tokens).
    let texts = [
        "Hi.",
        "The engine warms itself up with a sentence.",
        "Reading aloud helps many people understand long documents, and a warm engine starts \
         speaking quickly.",
    ];
    let mut covered = Vec::new();
    for (i, text) in texts.into_iter().enumerate() {
        let tokens = crate::vocab::tokenize(&phonemizer.phonemize(text, pack.dialect));
        let started = Instant::now();
        if let Ok(samples) = model.run(&tokens, pack.style(tokens.len()), 1.0, &options) {
            covered.push(tokens.len());
            if i > 0 {
                let secs = started.elapsed().as_secs_f64();
                costs.push(Run::new(tokens.len(), &samples, secs, 1.0));
            }
        }
    }
    covered
}

fn run_job(
    model: &mut KokoroModel,
    phonemizer: &Phonemizer,
    costs: &mut CostHistory,
    shared: &Shared,
    job: Job,
) {
    let normalized = normalize::normalize(&job.text);
    let text_len = normalized.len();
    let mut planner = Planner::starting_at(
        phonemizer,
        normalized,
        job.pack.dialect,
        job.policy,
        job.start_at,
    );
    // Streaming readings size their chunks by this machine's measured speed. A session's first
    // runs are slower than the model predicts (ONNX Runtime allocates as it goes), so until two
    // runs are done the first chunk is longer and the margin wider.
    let paced = job.policy.growth > 1.0;
    let cold = costs.runs_this_session() < 2;
    let caution = if cold { 1.4 } else { 1.0 };
    let sustainable = costs
        .model()
        .map(|m| (m.sustainable_first_chunk(job.cancel.speed()) as f64 * caution).round() as usize);
    if paced && let Some(first) = sustainable {
        planner.set_next_limit(first);
    }
    let mut pace = Pace::default();
    let mut produced = 0usize;
    while let Some(chunk) = planner.next() {
        if job.cancel.is_cancelled() {
            return;
        }
        let started = Instant::now();
        let style = job.pack.style(chunk.tokens.len());
        let result = model.run(&chunk.tokens, style, job.cancel.speed(), &job.cancel.0.run);
        if job.cancel.is_cancelled() {
            return;
        }
        if let Ok(samples) = &result {
            let speed = job.cancel.speed();
            let run = Run::new(
                chunk.tokens.len(),
                samples,
                started.elapsed().as_secs_f64(),
                speed,
            );
            pace.record(&run, speed);
            costs.push(run);
            let cost = costs.model();
            lock(&shared.info).cost_model = cost;
            let next = cost.filter(|_| paced).map(|m| {
                let floor = sustainable.unwrap_or(job.policy.first_max_tokens);
                m.affordable(pace.buffered_secs() / caution).max(floor)
            });
            if let Some(tokens) = next {
                planner.set_next_limit(tokens);
            }
            tracing::debug!(
                chunk = chunk.index,
                tokens = chunk.tokens.len(),
                speech_s = run.speech_secs,
                synth_ms = started.elapsed().as_millis() as u64,
                buffered_s = pace.buffered_secs(),
                next_limit = ?next,
                "chunk synthesized"
            );
        }
        let message = result.map(|samples| AudioChunk {
            index: chunk.index,
            samples,
            phonemes: chunk.phonemes,
            text_range: chunk.text_range,
            text_len,
            synth_time: started.elapsed(),
            since_request: job.submitted.elapsed(),
        });
        let failed = message.is_err();
        if !deliver(&job, message) || failed {
            return; // the reader hung up or cancelled, or the error ends this utterance
        }
        produced += 1;
    }
    if produced == 0 {
        let _ = job.out.try_send(Err(EngineError::EmptyText(
            "nothing in the text can be spoken (no words in a supported script)",
        )));
    }
}

/// Hands a chunk to the reader, waiting while it is [`LOOKAHEAD_CHUNKS`] behind. False when the
/// reader is gone or cancelled.
fn deliver(job: &Job, message: Result<AudioChunk, EngineError>) -> bool {
    let mut message = message;
    loop {
        match job.out.try_send(message) {
            Ok(()) => return true,
            Err(mpsc::TrySendError::Disconnected(_)) => return false,
            Err(mpsc::TrySendError::Full(m)) => {
                if job.cancel.is_cancelled() {
                    return false;
                }
                message = m;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
