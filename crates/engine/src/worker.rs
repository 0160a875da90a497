//! The engine thread: it owns the model, warms it up, and runs every reading in progress one
//! step at a time.
//!
//! A step is at most one model run: the front of the next chunk, one decoder window, or a chunk
//! served from the audio cache. Readings take turns — interactive ones (the listener's own
//! reading) before background ones (HTTP requests); within each, readings that have produced
//! nothing yet first, then round-robin — so several requests share the one session without
//! mixing audio, a new request's first audio waits for at most the step in progress, and a long
//! reading never holds up a short one for more than a step. A reading whose reader is `LOOKAHEAD_CHUNKS` pieces behind waits
//! without holding up the others.
//!
//! Start-up: the model loads, the G2P tables of the warm-up voice's dialect load and one short
//! synthesis runs; then the engine is [`EngineState::Ready`]. The rest of the warm-up (longer
//! inputs and windows) runs while the engine is idle, and a request arriving meanwhile terminates
//! the warm-up run in progress rather than waiting for it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ort::session::RunOptions;

use crate::cache::{AudioKey, CACHED_CHUNKS};
use crate::chunk::{Chunk, ChunkPolicy, Planner};
use crate::engine::{
    AudioChunk, CancelHandle, DEFAULT_VOICE, EngineConfig, EngineState, Priority, Shared,
};
use crate::model::{Frames, KokoroModel, SAMPLE_RATE};
use crate::pace::{self, CostHistory, DecodeHistory, Pace, Run, SavedCosts};
use crate::phonemize::Phonemizer;
use crate::provider::{self, Probe};
use crate::stream::{CONTEXT, FIRST_WINDOW, MAX_WINDOW, MIN_WINDOW, SECOND_WINDOW, Windows};
use crate::voices::STYLE_DIM;
use crate::voices::{Dialect, VoiceBank, VoicePack};
use crate::{EngineError, normalize};

/// One synthesis request, as the engine thread receives it.
pub(crate) struct Job {
    pub text: String,
    /// The voice as requested (part of the audio cache's key).
    pub voice: String,
    pub pack: Arc<VoicePack>,
    pub start_at: usize,
    pub policy: ChunkPolicy,
    pub priority: Priority,
    pub cancel: CancelHandle,
    pub submitted: Instant,
    pub out: mpsc::SyncSender<Result<AudioChunk, EngineError>>,
}

/// What the engine has measured of this machine: whole-chunk synthesis and windowed decoding.
struct Costs {
    whole: CostHistory,
    decode: DecodeHistory,
    cache: Option<PathBuf>,
}

impl Costs {
    fn load(cache: Option<PathBuf>) -> Self {
        let saved = cache.as_deref().map(pace::load).unwrap_or_default();
        Self {
            whole: CostHistory::with_prior(saved.whole),
            decode: DecodeHistory::with_prior(saved.decode),
            cache,
        }
    }

    fn save(&self) {
        if let Some(path) = self.cache.as_deref() {
            let saved = SavedCosts {
                whole: self.whole.model(),
                decode: self.decode.cost(),
            };
            pace::save(path, &saved);
        }
    }

    /// Runs measured in this process (the saved prior excluded).
    fn runs_this_session(&self) -> usize {
        self.whole.runs_this_session() + self.decode.runs_this_session()
    }

    fn publish(&self, shared: &Shared) {
        let mut info = lock(&shared.info);
        info.cost_model = self.whole.model();
        info.decode_cost = self.decode.cost();
    }
}

/// The engine thread's body.
pub(crate) fn run(
    config: &EngineConfig,
    env: &ort::environment::Environment,
    shared: &Shared,
    voices: &VoiceBank,
    phonemizer: &Phonemizer,
    jobs: &mpsc::Receiver<Job>,
) {
    let started = Instant::now();
    let spec = provider::LoadSpec {
        env,
        model: &config.model,
        session: &config.session,
        ep_cache: config.ep_cache_dir.as_deref(),
        split_cache: config.split_cache_dir.as_deref(),
    };
    let loaded = provider::load(&spec, config.provider, &probe(voices, &config.warm_voice));
    let mut model = match loaded {
        Ok((m, report)) => {
            lock(&shared.info).provider = report;
            m
        }
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
    let reused = model.optimized_graph_reused();
    if !reused {
        // Deriving the split model and optimizing its graph (a first launch) freed a few
        // hundred MB of parsing: hand it back. A launch that loads the kept graphs has none.
        crate::mem::release_freed();
    }
    tracing::info!(load_ms, streams = model.can_stream(), optimized_graph_reused = reused, model = %config.model.display(), "model loaded");
    {
        let mut info = lock(&shared.info);
        info.load_ms = Some(load_ms);
        info.optimized_graph_reused = reused;
        info.windowed_decoding = model.can_stream();
        info.split_error = model.split_error().map(str::to_string);
    }
    let mut costs = Costs::load(config.cost_cache.clone());
    let mut warm = WarmUp::new(voices, config.warm_up, &config.warm_voice);
    if !warm.is_done() {
        shared.set(EngineState::WarmingUp);
        warm.run_until_ready(&mut model, phonemizer, &mut costs, shared);
    }
    shared.set(EngineState::Ready);
    tracing::info!(
        since_start_ms = started.elapsed().as_millis() as u64,
        "engine ready"
    );
    Scheduler {
        model: &mut model,
        phonemizer,
        costs: &mut costs,
        shared,
        readings: VecDeque::new(),
    }
    .serve(jobs, &mut warm);
    shared.set(EngineState::Stopped);
}

/// What a provider other than the CPU synthesizes to be checked and timed
/// ([`provider::load`]): the warm-up's first sentence, as phonemes (no G2P tables are loaded
/// yet), in the warm-up voice.
fn probe(voices: &VoiceBank, voice: &str) -> Probe {
    /// "The engine warms itself up with a sentence." ([`WARM_SENTENCE`]) in misaki's phonemes.
    const PHONEMES: &str = "ði ˈɛnʤən wˈɔɹmz ɪtsˈɛlf ˌʌp wɪð ɐ sˈɛntᵊns.";
    let tokens = crate::vocab::tokenize(PHONEMES);
    let style = voices
        .load(voice)
        .or_else(|_| voices.load(DEFAULT_VOICE))
        .map(|pack| pack.style(tokens.len()).to_vec())
        .unwrap_or_else(|_| vec![0.0; STYLE_DIM]);
    Probe { tokens, style }
}

/// Readings in progress and the model they share.
struct Scheduler<'a> {
    model: &'a mut KokoroModel,
    phonemizer: &'a Phonemizer,
    costs: &'a mut Costs,
    shared: &'a Shared,
    readings: VecDeque<Reading<'a>>,
}

impl<'a> Scheduler<'a> {
    /// Takes jobs until the engine is dropped.
    fn serve(&mut self, jobs: &mpsc::Receiver<Job>, warm: &mut WarmUp) {
        loop {
            // New jobs join the queue; with nothing to do, wait for one (or warm up meanwhile).
            loop {
                match jobs.try_recv() {
                    Ok(job) => self.admit(job),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        if self.readings.is_empty() {
                            return;
                        }
                        break;
                    }
                }
            }
            if self.readings.is_empty() {
                if !warm.is_done() {
                    warm.step_in_background(self.model, self.phonemizer, self.costs, self.shared);
                    continue;
                }
                match jobs.recv() {
                    Ok(job) => self.admit(job),
                    Err(_) => return,
                }
            }
            if !self.step_one() {
                // Every reader is behind: wait for room (or a new job).
                match jobs.recv_timeout(Duration::from_millis(3)) {
                    Ok(job) => self.admit(job),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {}
                }
            }
        }
    }

    fn admit(&mut self, job: Job) {
        let reading = Reading::new(job, self.model, self.phonemizer, self.costs);
        self.readings.push_back(reading);
    }

    /// Runs one step of the first reading, by priority then arrival, that can use one.
    /// False when every reading waits for its reader.
    fn step_one(&mut self) -> bool {
        self.readings.retain(|r| !r.is_finished());
        // By priority; within one, readings that have not sounded yet first (their first audio
        // is what a listener waits for), then round-robin (the sort is stable).
        let order = {
            let mut order: Vec<usize> = (0..self.readings.len()).collect();
            order.sort_by_key(|&i| {
                let r = &self.readings[i];
                (r.job.priority, r.produced > 0)
            });
            order
        };
        for i in order {
            let step = self.readings[i].step(self.model, self.costs, self.shared);
            match step {
                Step::Blocked => continue,
                Step::Worked | Step::Finished => {
                    // Round-robin: the reading that just ran goes behind the others.
                    if let Some(r) = self.readings.remove(i) {
                        self.readings.push_back(r);
                    }
                    self.costs.publish(self.shared);
                    if matches!(step, Step::Finished) {
                        self.costs.save();
                    }
                    return true;
                }
            }
        }
        false
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Ran the model or delivered audio.
    Worked,
    /// The reader is behind: nothing done.
    Blocked,
    /// The reading is over (finished, cancelled, failed or abandoned).
    Finished,
}

/// Where a reading is.
enum Phase {
    /// The next chunk is to be planned.
    NextChunk,
    /// A chunk's front has run; its windows are being decoded.
    Decoding(Box<Decoding>),
    /// Over.
    Finished,
}

/// A chunk being decoded window by window.
struct Decoding {
    chunk: Chunk,
    frames: Frames,
    windows: Windows,
    piece: usize,
    /// Everything delivered of this chunk so far (for the audio cache).
    heard: Vec<f32>,
    key: AudioKey,
    /// The speaking rate of the chunk's front.
    speed: f32,
    /// Model time not yet attributed to a delivered piece.
    synth_time: Duration,
}

/// A reading in progress, as the engine thread sees it.
struct Reading<'p> {
    job: Job,
    planner: Planner<'p>,
    phase: Phase,
    /// A piece waiting for room in the reader's channel.
    pending: Option<Result<AudioChunk, EngineError>>,
    text_len: usize,
    /// Chunks sized and windows cut by how far synthesis is ahead of the listener.
    paced: bool,
    /// The first runs of a session are slower than the cost model predicts (ONNX Runtime
    /// allocates as it goes): until two runs are done, sizes are chosen with this much caution.
    caution: f64,
    pace: Pace,
    produced: usize,
    /// Whole-model synthesis: the shortest first chunk this machine sustains.
    sustainable: Option<usize>,
}

impl<'p> Reading<'p> {
    fn new(job: Job, model: &KokoroModel, phonemizer: &'p Phonemizer, costs: &Costs) -> Self {
        let started = Instant::now();
        let normalized = normalize::normalize(&job.text);
        tracing::debug!(
            chars = job.text.len(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "text normalized"
        );
        let paced = job.policy.growth > 1.0;
        let policy = if paced && model.can_stream() {
            ChunkPolicy {
                first_window: job.policy.first_window,
                window: job.policy.window,
                ..ChunkPolicy::windowed(job.policy.max_tokens)
            }
        } else {
            job.policy
        };
        let caution = if costs.runs_this_session() < 2 {
            1.4
        } else {
            1.0
        };
        let text_len = normalized.len();
        let mut planner = Planner::starting_at(
            phonemizer,
            normalized,
            job.pack.dialect,
            policy,
            job.start_at,
        );
        // Whole-chunk synthesis (a model that cannot be split) sizes the first chunk by this
        // machine's speed; windowed decoding sizes windows instead, so chunks follow the text.
        let sustainable = costs.whole.model().map(|m| {
            (m.sustainable_first_chunk(job.cancel.speed()) as f64 * caution).round() as usize
        });
        if paced
            && !model.can_stream()
            && let Some(first) = sustainable
        {
            planner.set_next_limit(first);
        }
        Self {
            job,
            planner,
            phase: Phase::NextChunk,
            pending: None,
            text_len,
            paced,
            caution,
            pace: Pace::default(),
            produced: 0,
            sustainable,
        }
    }

    fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished) && self.pending.is_none()
    }

    /// One step: deliver what waits, else one model run (or a cached chunk).
    fn step(&mut self, model: &mut KokoroModel, costs: &mut Costs, shared: &Shared) -> Step {
        if self.job.cancel.is_cancelled() {
            self.phase = Phase::Finished;
            self.pending = None;
            return Step::Finished;
        }
        if let Some(message) = self.pending.take() {
            match self.job.out.try_send(message) {
                Ok(()) => {}
                Err(TrySendError::Full(m)) => {
                    self.pending = Some(m);
                    return Step::Blocked;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.phase = Phase::Finished;
                    return Step::Finished;
                }
            }
            if matches!(self.phase, Phase::Finished) {
                return Step::Finished;
            }
        }
        match std::mem::replace(&mut self.phase, Phase::NextChunk) {
            Phase::Finished => {
                self.phase = Phase::Finished;
                Step::Finished
            }
            Phase::NextChunk => self.next_chunk(model, costs, shared),
            Phase::Decoding(d) => self.next_window(*d, model, costs, shared),
        }
    }

    /// Queues a piece for the reader.
    fn send(
        &mut self,
        chunk: &Chunk,
        samples: Vec<f32>,
        piece: usize,
        last: bool,
        synth: Duration,
        speed: f32,
    ) {
        self.pace
            .record_secs(samples.len() as f64 / f64::from(SAMPLE_RATE));
        self.pending = Some(Ok(AudioChunk {
            index: chunk.index,
            piece,
            last_piece: last,
            samples,
            speed,
            phonemes: chunk.phonemes.clone(),
            text_range: chunk.text_range.clone(),
            text_len: self.text_len,
            synth_time: synth,
            since_request: self.job.submitted.elapsed(),
        }));
        self.produced += 1;
    }

    /// Ends the reading with `error` (delivered after what is already queued).
    fn fail(&mut self, error: EngineError) -> Step {
        if self.job.cancel.is_cancelled() {
            self.phase = Phase::Finished;
            self.pending = None;
            return Step::Finished;
        }
        if let Some(earlier) = self.pending.take() {
            let _ = self.job.out.try_send(earlier);
        }
        self.pending = Some(Err(error));
        self.phase = Phase::Finished;
        Step::Worked
    }

    fn next_chunk(&mut self, model: &mut KokoroModel, costs: &mut Costs, shared: &Shared) -> Step {
        let started = Instant::now();
        let next = self.planner.next();
        tracing::debug!(
            tokens = next.as_ref().map(|c| c.tokens.len()),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "chunk planned"
        );
        let Some(chunk) = next else {
            if self.produced == 0 {
                self.pending = Some(Err(EngineError::EmptyText(
                    "nothing in the text can be spoken (no words in a supported script)",
                )));
            }
            self.phase = Phase::Finished;
            return if self.pending.is_some() {
                Step::Worked
            } else {
                Step::Finished
            };
        };
        let key = AudioKey {
            tokens: chunk.tokens.clone(),
            voice: self.job.voice.clone(),
            speed_bits: self.job.cancel.speed().to_bits(),
        };
        let cached = lock(&shared.cache).get(&key);
        if let Some(audio) = cached {
            let speed = f32::from_bits(key.speed_bits);
            self.send(&chunk, audio.to_f32(), 0, true, Duration::ZERO, speed);
            return Step::Worked;
        }
        if model.can_stream() {
            self.front(chunk, key, model)
        } else {
            self.whole(chunk, key, model, costs, shared)
        }
    }

    /// Runs the front of `chunk`, then its windows come one step at a time.
    fn front(&mut self, chunk: Chunk, key: AudioKey, model: &mut KokoroModel) -> Step {
        let started = Instant::now();
        let style = self.job.pack.style(chunk.tokens.len());
        // The speed the cache key was made with, so the cached audio is what it says.
        let speed = f32::from_bits(key.speed_bits);
        let frames = match model.front(&chunk.tokens, style, speed, self.job.cancel.run_options()) {
            Ok(f) => f,
            Err(e) => return self.fail(e),
        };
        tracing::debug!(
            chunk = chunk.index,
            tokens = chunk.tokens.len(),
            frames = frames.frames,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "front run"
        );
        // Streamed readings skip the model's lead-in and trailing silence (the player adds
        // pauses of its own); files get exactly what the model makes.
        let windows = if self.paced {
            Windows::new(&frames)
        } else {
            Windows::whole(&frames)
        };
        if windows.is_done() {
            // Nothing loud in this chunk (e.g. only punctuation): its pause alone.
            self.send(&chunk, Vec::new(), 0, true, started.elapsed(), speed);
            return Step::Worked;
        }
        self.phase = Phase::Decoding(Box::new(Decoding {
            chunk,
            frames,
            windows,
            piece: 0,
            heard: Vec::new(),
            key,
            speed,
            synth_time: started.elapsed(),
        }));
        Step::Worked
    }

    /// Decodes the next window of the chunk in `d`.
    fn next_window(
        &mut self,
        mut d: Decoding,
        model: &mut KokoroModel,
        costs: &mut Costs,
        shared: &Shared,
    ) -> Step {
        let limit = self.window_limit(costs);
        let window = d.windows.plan(&d.frames, limit);
        let style = self.job.pack.style(d.chunk.tokens.len());
        let started = Instant::now();
        let decoded = model.decode(
            &d.frames,
            window.decode.clone(),
            style,
            d.windows.phase(),
            self.job.cancel.run_options(),
        );
        let decoded = match decoded {
            Ok(x) => x,
            Err(e) => return self.fail(e),
        };
        let secs = started.elapsed().as_secs_f64();
        costs.decode.push(window.decode.len(), secs);
        let samples = d.windows.take(&window, &decoded);
        tracing::debug!(
            chunk = d.chunk.index,
            piece = d.piece,
            frames = window.emit.len(),
            decoded = window.decode.len(),
            decode_ms = (secs * 1e3) as u64,
            buffered_s = self.pace.buffered_secs(),
            "window decoded"
        );
        let cached = d.chunk.index < CACHED_CHUNKS;
        if cached {
            d.heard.extend_from_slice(&samples);
        }
        let synth = d.synth_time + started.elapsed();
        self.send(&d.chunk, samples, d.piece, window.last, synth, d.speed);
        if window.last {
            if cached {
                lock(&shared.cache).keep(d.key, &d.heard);
            }
        } else {
            d.piece += 1;
            d.synth_time = Duration::ZERO;
            self.phase = Phase::Decoding(Box::new(d));
        }
        Step::Worked
    }

    /// Frames of new audio for the next window. A reading's first window is the shortest this
    /// machine can follow up in time; later ones use what is buffered; unpaced synthesis (to a
    /// file) takes the largest windows, which bound memory.
    fn window_limit(&self, costs: &Costs) -> usize {
        let overhead = 2 * CONTEXT;
        if !self.paced {
            return MAX_WINDOW;
        }
        if self.produced == 0
            && let Some(first) = self.job.policy.first_window
        {
            return first;
        }
        if self.produced > 0
            && let Some(window) = self.job.policy.window
        {
            return window;
        }
        let Some(cost) = costs.decode.cost() else {
            // Nothing measured yet: a short first window, then half again what is buffered (a
            // decoder at least twice as fast as speech keeps up with that).
            if self.produced == 0 {
                return FIRST_WINDOW;
            }
            let buffered = self.pace.buffered_secs() / pace::FRAME_SECS;
            return ((buffered * 1.5) as usize).clamp(MIN_WINDOW, MAX_WINDOW);
        };
        if self.produced == 0 {
            let first = cost
                .sustainable_first(overhead, MIN_WINDOW, MAX_WINDOW)
                .max(FIRST_WINDOW);
            return ((first as f64 * self.caution).round() as usize).min(MAX_WINDOW);
        }
        let buffered = self.pace.buffered_secs() / self.caution;
        // The second window must be decoded while the short first one plays: it may be smaller
        // than later ones when that is all the time there is.
        let floor = if self.produced == 1 {
            SECOND_WINDOW
        } else {
            MIN_WINDOW
        };
        cost.affordable(buffered, overhead).clamp(floor, MAX_WINDOW)
    }

    /// One chunk synthesized whole (a model that cannot be split).
    fn whole(
        &mut self,
        chunk: Chunk,
        key: AudioKey,
        model: &mut KokoroModel,
        costs: &mut Costs,
        shared: &Shared,
    ) -> Step {
        let started = Instant::now();
        let style = self.job.pack.style(chunk.tokens.len());
        let speed = f32::from_bits(key.speed_bits);
        let samples = match model.run(&chunk.tokens, style, speed, self.job.cancel.run_options()) {
            Ok(s) => s,
            Err(e) => return self.fail(e),
        };
        let run = Run::new(
            chunk.tokens.len(),
            &samples,
            started.elapsed().as_secs_f64(),
            speed,
        );
        costs.whole.push(run);
        if self.paced
            && let Some(m) = costs.whole.model()
        {
            let floor = self.sustainable.unwrap_or(self.job.policy.first_max_tokens);
            let buffered = self.pace.buffered_secs() + run.speech_secs / f64::from(speed);
            self.planner
                .set_next_limit(m.affordable(buffered / self.caution).max(floor));
        }
        if chunk.index < CACHED_CHUNKS {
            lock(&shared.cache).keep(key, &samples);
        }
        self.send(&chunk, samples, 0, true, started.elapsed(), speed);
        Step::Worked
    }
}

/// The warm-up: a short synthesis before the engine is ready, the rest while it is idle.
struct WarmUp {
    steps: VecDeque<WarmStep>,
    pack: Option<Arc<VoicePack>>,
    frames: Option<(usize, Frames)>,
    covered: Vec<usize>,
    started: Instant,
    runs: usize,
}

#[derive(Debug, Clone, Copy)]
enum WarmStep {
    /// Load a dialect's G2P tables.
    Tables(Dialect),
    /// Run the front on this text (its frames feed the windows that follow).
    Front(&'static str),
    /// Decode a window of this many frames of the last front's output.
    Window(usize),
}

/// Text of the warm-up: a sentence, then a longer one (about 100 tokens).
const WARM_SENTENCE: &str = "The engine warms itself up with a sentence.";
const WARM_LONG: &str = "Reading aloud helps many people understand long documents, and a warm \
    engine starts speaking quickly, whatever the length of the text it is given.";

impl WarmUp {
    fn new(voices: &VoiceBank, enabled: bool, voice: &str) -> Self {
        let pack = voices
            .load(voice)
            .ok()
            .or_else(|| voices.load(DEFAULT_VOICE).ok())
            .or_else(|| voices.list().first().and_then(|v| voices.load(&v.id).ok()));
        let steps = match &pack {
            Some(pack) if enabled => {
                use WarmStep::*;
                VecDeque::from([
                    // Before ready: what the first reading needs (the other dialect's tables
                    // load when a voice of it is chosen: they would cost ~60 MB for nothing).
                    Tables(pack.dialect),
                    Front(WARM_SENTENCE),
                    Window(FIRST_WINDOW),
                    Window(MIN_WINDOW),
                    // While idle: every size a reading meets.
                    Front(WARM_LONG),
                    Window(FIRST_WINDOW),
                    Window(48),
                    Window(96),
                    Window(MAX_WINDOW),
                ])
            }
            _ => VecDeque::new(),
        };
        Self {
            steps,
            pack,
            frames: None,
            covered: Vec::new(),
            started: Instant::now(),
            runs: 0,
        }
    }

    fn is_done(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps a first reading needs (up to the second front), blocking.
    fn run_until_ready(
        &mut self,
        model: &mut KokoroModel,
        phonemizer: &Phonemizer,
        costs: &mut Costs,
        shared: &Shared,
    ) {
        let Ok(options) = RunOptions::new() else {
            self.steps.clear();
            return;
        };
        while let Some(step) = self.steps.front().copied() {
            if matches!(step, WarmStep::Front(WARM_LONG)) {
                break;
            }
            self.steps.pop_front();
            self.run_step(step, model, phonemizer, costs, &options);
        }
        self.publish(shared, costs);
    }

    /// One step while idle; a request arriving meanwhile terminates its run.
    fn step_in_background(
        &mut self,
        model: &mut KokoroModel,
        phonemizer: &Phonemizer,
        costs: &mut Costs,
        shared: &Shared,
    ) {
        let Some(step) = self.steps.pop_front() else {
            return;
        };
        let Ok(options) = RunOptions::new().map(Arc::new) else {
            self.steps.clear();
            return;
        };
        *lock(&shared.warm_run) = Some(Arc::clone(&options));
        let completed = self.run_step(step, model, phonemizer, costs, &options);
        *lock(&shared.warm_run) = None;
        if !completed {
            // Interrupted by a request: try again once the engine is idle.
            self.steps.push_front(step);
        }
        self.publish(shared, costs);
    }

    /// Runs `step`; false if its run was terminated.
    fn run_step(
        &mut self,
        step: WarmStep,
        model: &mut KokoroModel,
        phonemizer: &Phonemizer,
        costs: &mut Costs,
        options: &RunOptions,
    ) -> bool {
        let Some(pack) = self.pack.clone() else {
            return true;
        };
        match step {
            WarmStep::Tables(dialect) => {
                phonemizer.warm(dialect);
                true
            }
            WarmStep::Front(text) => {
                let tokens = crate::vocab::tokenize(&phonemizer.phonemize(text, pack.dialect));
                let style = pack.style(tokens.len());
                if !model.can_stream() {
                    let started = Instant::now();
                    let Ok(samples) = model.run(&tokens, style, 1.0, options) else {
                        return false;
                    };
                    self.runs += 1;
                    if self.runs > 1 {
                        let secs = started.elapsed().as_secs_f64();
                        costs
                            .whole
                            .push(Run::new(tokens.len(), &samples, secs, 1.0));
                    }
                    self.covered.push(tokens.len());
                    return true;
                }
                match model.front(&tokens, style, 1.0, options) {
                    Ok(frames) => {
                        self.frames = Some((tokens.len(), frames));
                        self.covered.push(tokens.len());
                        true
                    }
                    Err(_) => false,
                }
            }
            WarmStep::Window(size) => {
                let Some((tokens, frames)) = self.frames.as_ref() else {
                    return true;
                };
                let len = size.min(frames.frames);
                let style = pack.style(*tokens);
                let started = Instant::now();
                let ok = model
                    .decode(
                        frames,
                        0..len,
                        style,
                        &[0.0; crate::split::HARMONICS],
                        options,
                    )
                    .is_ok();
                self.runs += 1;
                // The session's very first decode is slow (allocation): not a measurement.
                if ok && self.runs > 1 {
                    costs.decode.push(len, started.elapsed().as_secs_f64());
                }
                ok
            }
        }
    }

    fn publish(&self, shared: &Shared, costs: &Costs) {
        costs.publish(shared);
        costs.save();
        let mut info = lock(&shared.info);
        info.warm_up_tokens = self.covered.clone();
        if self.is_done() {
            info.warm_up_ms = Some(self.started.elapsed().as_millis() as u64);
            info.warm_up_complete = true;
        }
        info.ready_warm_up_ms
            .get_or_insert(self.started.elapsed().as_millis() as u64);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
