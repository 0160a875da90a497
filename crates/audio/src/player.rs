//! The player: a feeder thread turns each utterance's chunks into device frames and keeps the
//! ring buffer topped up, while the audio thread's callback plays them. Stop, pause and volume
//! act in the callback through atomics, so they take effect within one device buffer.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, never, select};

use crate::AudioError;
use crate::output::{self, OutputCommand, OutputEvent, OutputFormat};
use crate::resample::Converter;
use crate::seams::{self, Boundary};
use crate::shared::Shared;
use crate::stats::{StatsHistory, StatsSnapshot, UtteranceStats, ms};

/// One chunk of speech to play.
#[derive(Debug, Clone)]
pub struct PcmChunk {
    /// Position in the utterance, from 0.
    pub index: usize,
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Their rate (Kokoro: 24 kHz).
    pub sample_rate: u32,
    /// What follows this chunk (decides the pause after it).
    pub boundary: Boundary,
    /// This chunk continues the previous one's speech (keep its start as it is).
    pub joins_previous: bool,
    /// The text it speaks (for skipping), in the caller's coordinates.
    pub text_range: Range<usize>,
    /// How long synthesis took.
    pub synth_time: Duration,
    /// Request → this chunk ready.
    pub ready_after: Duration,
}

/// An utterance: chunks arrive on `chunks` as they are synthesized; the sender closing ends it.
#[derive(Debug)]
pub struct Utterance {
    /// When the user asked for it (the start of every timing).
    pub requested: Instant,
    /// The chunks, in order.
    pub chunks: Receiver<PcmChunk>,
}

/// How the player starts.
#[derive(Debug, Clone, Default)]
pub struct PlayerConfig {
    /// Output device name (`None`: the system default, followed when it changes).
    pub device: Option<String>,
    /// With no usable output at start, start anyway and keep looking for one (the menu-bar app
    /// stays up and says so) instead of failing.
    pub wait_for_device: bool,
}

/// Where playback is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Position {
    /// The chunk playing.
    pub chunk: usize,
    /// Its text range.
    pub text_range: Range<usize>,
    /// How far into that chunk, 0..1.
    pub fraction: f32,
}

enum FeederCommand {
    Play(Utterance),
    Stop,
    Shutdown,
}

struct Queued {
    index: usize,
    text_range: Range<usize>,
    start_frame: u64,
    frames: u64,
}

#[derive(Default)]
struct Status {
    output: Option<OutputFormat>,
    output_error: Option<String>,
    playing: bool,
    queued: Vec<Queued>,
    history: StatsHistory,
}

/// Streaming speech output. Cheap to call from any thread.
pub struct Player {
    shared: Arc<Shared>,
    status: Arc<Mutex<Status>>,
    feeder: Sender<FeederCommand>,
    output: Sender<OutputCommand>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("output", &self.output_format())
            .finish_non_exhaustive()
    }
}

impl Player {
    /// Opens the output device and starts the audio and feeder threads.
    pub fn new(config: PlayerConfig) -> Result<Self, AudioError> {
        let shared = Arc::new(Shared::new());
        let status = Arc::new(Mutex::new(Status::default()));
        let (out_cmd_tx, out_cmd_rx) = crossbeam_channel::unbounded();
        let (out_evt_tx, out_evt_rx) = crossbeam_channel::unbounded();
        let (opened_tx, opened_rx) = crossbeam_channel::bounded(1);
        let audio = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("utter-audio".into())
                .spawn(move || {
                    output::run(
                        config.device,
                        config.wait_for_device,
                        shared,
                        out_cmd_rx,
                        out_evt_tx,
                        opened_tx,
                    )
                })
                .map_err(|e| AudioError::NoDevice { why: e.to_string() })?
        };
        match opened_rx.recv().map_err(|_| AudioError::Stopped)? {
            Ok(format) => lock(&status).output = Some(format),
            Err(e) if config.wait_for_device => lock(&status).output_error = Some(e.to_string()),
            Err(e) => return Err(e),
        }
        let (feed_tx, feed_rx) = crossbeam_channel::unbounded();
        let feeder = {
            let (shared, status) = (Arc::clone(&shared), Arc::clone(&status));
            std::thread::Builder::new()
                .name("utter-feeder".into())
                .spawn(move || Feeder::new(shared, status).run(&feed_rx, &out_evt_rx))
                .map_err(|e| AudioError::NoDevice { why: e.to_string() })?
        };
        Ok(Self {
            shared,
            status,
            feeder: feed_tx,
            output: out_cmd_tx,
            threads: vec![audio, feeder],
        })
    }

    /// Plays `utterance`, replacing whatever is playing (nothing of the old one plays after).
    pub fn play(&self, utterance: Utterance) -> Result<(), AudioError> {
        // Silence the old utterance in the callback at once; the feeder then empties the ring.
        self.shared.flushing.store(true, Ordering::SeqCst);
        self.shared.paused.store(false, Ordering::SeqCst);
        lock(&self.status).playing = true;
        self.feeder
            .send(FeederCommand::Play(utterance))
            .map_err(|_| AudioError::Stopped)
    }

    /// Stops: silent within one device buffer; queued audio is discarded.
    pub fn stop(&self) {
        self.shared.flushing.store(true, Ordering::SeqCst);
        self.shared.paused.store(false, Ordering::SeqCst);
        let _ = self.feeder.send(FeederCommand::Stop);
    }

    /// Pauses (keeps the position) or resumes.
    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    /// Sets the volume (0–1, linear).
    pub fn set_volume(&self, volume: f32) {
        self.shared
            .volume
            .store(volume.clamp(0.0, 1.0).to_bits(), Ordering::SeqCst);
    }

    /// Switches output device (`None`: follow the system default).
    pub fn set_device(&self, device: Option<String>) {
        let _ = self.output.send(OutputCommand::UseDevice(device));
    }

    /// The stream in use, if any.
    pub fn output_format(&self) -> Option<OutputFormat> {
        lock(&self.status).output.clone()
    }

    /// Why there is no output right now, if there is none.
    pub fn output_error(&self) -> Option<String> {
        lock(&self.status).output_error.clone()
    }

    /// True while an utterance is queued or playing.
    pub fn is_playing(&self) -> bool {
        lock(&self.status).playing
    }

    /// Waits until nothing is playing; false on timeout.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.is_playing() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Where playback is (None when idle).
    pub fn position(&self) -> Option<Position> {
        let played = self.shared.played_frames.load(Ordering::SeqCst);
        let status = lock(&self.status);
        if !status.playing {
            return None;
        }
        let q = status
            .queued
            .iter()
            .find(|q| played < q.start_frame + q.frames)
            .or(status.queued.last())?;
        let into = played.saturating_sub(q.start_frame) as f32 / q.frames.max(1) as f32;
        Some(Position {
            chunk: q.index,
            text_range: q.text_range.clone(),
            fraction: into.min(1.0),
        })
    }

    /// Timing and underrun statistics over recent utterances.
    pub fn stats(&self) -> StatsSnapshot {
        lock(&self.status).history.snapshot()
    }

    /// The last `n` utterances' statistics, oldest first (for a chart).
    pub fn recent_stats(&self, n: usize) -> Vec<UtteranceStats> {
        lock(&self.status).history.recent(n)
    }

    /// True once the utterance requested at `requested` has put sound in the device buffer.
    pub fn sounded_since(&self, requested: Instant) -> bool {
        let first = self.shared.first_sound_ns.load(Ordering::SeqCst);
        self.shared.instant(first).is_some_and(|t| t >= requested)
    }

    /// Underruns counted since the player started.
    pub fn underruns_total(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
        let _ = self.feeder.send(FeederCommand::Shutdown);
        let _ = self.output.send(OutputCommand::Shutdown);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn lock(status: &Mutex<Status>) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The utterance being fed.
struct Current {
    chunks: Receiver<PcmChunk>,
    requested: Instant,
    stats: UtteranceStats,
    synth: Duration,
    /// The current chunk, shaped, at 24 kHz mono: converted a slice at a time as the ring has
    /// room, so a long chunk (a cache hit can be 30 s) starts playing without waiting for all
    /// of it to be resampled.
    input: Vec<f32>,
    input_pos: usize,
    /// The chunk's last slice ends a stretch of speech (a pause follows): flush the resampler.
    input_ends_stream: bool,
    /// Converted device frames (interleaved) not yet in the ring.
    pending: Vec<f32>,
    pending_pos: usize,
    /// Input samples received, and the device frames they make.
    queued_input: u64,
    queued_frames: u64,
    underruns_at_start: u64,
    /// Underruns already reported in the log.
    underruns_logged: u64,
    xruns_at_start: u64,
    last_queued: Option<Instant>,
    done: bool,
}

impl Current {
    /// Everything received so far is in the ring.
    fn drained(&self) -> bool {
        self.pending_pos >= self.pending.len() && self.input_pos >= self.input.len()
    }
}

/// Input samples converted at a time (0.1 s at 24 kHz).
const SLICE: usize = 2_400;

struct Feeder {
    shared: Arc<Shared>,
    status: Arc<Mutex<Status>>,
    producer: Option<rtrb::Producer<f32>>,
    converter: Option<Converter>,
    current: Option<Current>,
    /// Since when there has been no output (device gone, not reopened yet).
    lost_since: Option<Instant>,
}

/// How long an utterance waits for a lost output to come back before it is abandoned.
const OUTPUT_GRACE: Duration = Duration::from_secs(10);

impl Feeder {
    fn new(shared: Arc<Shared>, status: Arc<Mutex<Status>>) -> Self {
        Self {
            shared,
            status,
            producer: None,
            converter: None,
            current: None,
            lost_since: None,
        }
    }

    fn run(mut self, commands: &Receiver<FeederCommand>, outputs: &Receiver<OutputEvent>) {
        loop {
            self.push_pending();
            self.log_underruns();
            let waiting_for_chunk = self.current.as_ref().filter(|c| c.drained() && !c.done);
            let chunk_rx = waiting_for_chunk.map_or_else(never, |c| c.chunks.clone());
            select! {
                recv(commands) -> cmd => match cmd {
                    Ok(FeederCommand::Play(u)) => { self.finish(true); self.flush(); self.start(u); }
                    Ok(FeederCommand::Stop) => { self.finish(true); self.flush(); self.set_idle(); }
                    Ok(FeederCommand::Shutdown) | Err(_) => return,
                },
                recv(outputs) -> evt => match evt {
                    Ok(OutputEvent::Ready(producer, format)) => self.use_output(producer, format),
                    Ok(OutputEvent::Lost(why)) => self.lose_output(why),
                    Err(_) => return,
                },
                recv(chunk_rx) -> chunk => self.accept(chunk.ok()),
                default(Duration::from_millis(4)) => {}
            }
            self.give_up_without_output();
            self.check_finished();
        }
    }

    /// Says in the debug log when the callback ran dry and where the reading was, so a gap can
    /// be matched with the engine's log of what it was decoding then.
    fn log_underruns(&mut self) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        let now = self.shared.underruns.load(Ordering::Relaxed);
        if now > c.underruns_logged {
            c.underruns_logged = now;
            tracing::debug!(
                underruns = now - c.underruns_at_start,
                chunks_received = c.stats.chunks,
                audio_secs = c.stats.audio_secs,
                waiting_for_chunk = c.drained() && !c.done,
                since_last_chunk_ms = c.last_queued.map(|t| ms(t.elapsed())),
                "underrun"
            );
        }
    }

    /// The output is gone and the audio thread could not reopen one yet. The utterance waits
    /// (the audio thread keeps retrying the default) rather than being dropped unheard.
    fn lose_output(&mut self, why: String) {
        tracing::warn!("audio output lost: {why}");
        lock(&self.status).output_error = Some(why);
        self.producer = None;
        self.shared.active.store(false, Ordering::SeqCst);
        self.lost_since.get_or_insert_with(Instant::now);
    }

    /// Ends the utterance (interrupted, `output_error` kept for the caller to report) when no
    /// output has come back within [`OUTPUT_GRACE`]: never hang on a vanished device.
    fn give_up_without_output(&mut self) {
        let Some(since) = self.lost_since else {
            return;
        };
        if self.current.is_some() && since.elapsed() >= OUTPUT_GRACE {
            self.finish(true);
            self.set_idle();
        }
    }

    fn use_output(&mut self, producer: rtrb::Producer<f32>, format: OutputFormat) {
        self.lost_since = None;
        match Converter::new(24_000, format.rate, format.channels) {
            Ok(c) => self.converter = Some(c),
            Err(e) => tracing::error!("{e}"),
        }
        self.producer = Some(producer);
        let mut status = lock(&self.status);
        status.output = Some(format);
        status.output_error = None;
        drop(status);
        // A device switch mid-utterance loses what the old ring held and what was converted
        // for the old device; the rest continues.
        if let Some(c) = self.current.as_mut() {
            c.pending.clear();
            c.pending_pos = 0;
        }
    }

    fn start(&mut self, utterance: Utterance) {
        self.shared.begin_utterance();
        if let Some(conv) = self.converter.as_mut() {
            conv.reset();
        }
        let underruns = self.shared.underruns.load(Ordering::SeqCst);
        let mut status = lock(&self.status);
        status.playing = true;
        status.queued.clear();
        drop(status);
        self.current = Some(Current {
            chunks: utterance.chunks,
            requested: utterance.requested,
            stats: UtteranceStats::default(),
            synth: Duration::ZERO,
            input: Vec::new(),
            input_pos: 0,
            input_ends_stream: false,
            pending: Vec::new(),
            pending_pos: 0,
            queued_input: 0,
            queued_frames: 0,
            underruns_at_start: underruns,
            underruns_logged: underruns,
            xruns_at_start: self.shared.device_xruns.load(Ordering::Relaxed),
            last_queued: None,
            done: false,
        });
    }

    /// Nothing is playing any more.
    fn set_idle(&self) {
        let mut status = lock(&self.status);
        status.playing = false;
        status.queued.clear();
    }

    /// Empties the ring (the callback discards while `flushing`).
    fn flush(&mut self) {
        self.shared.flushing.store(true, Ordering::SeqCst);
        if let Some(p) = self.producer.as_ref() {
            let deadline = Instant::now() + Duration::from_millis(250);
            while p.slots() < p.buffer().capacity() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.shared.active.store(false, Ordering::SeqCst);
        self.shared.flushing.store(false, Ordering::SeqCst);
    }

    /// Takes the next chunk (None: the utterance has no more).
    fn accept(&mut self, chunk: Option<PcmChunk>) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        let Some(chunk) = chunk else {
            current.done = true;
            // A reading cut short after a part that continued: what the resampler held back.
            if let Some(conv) = self.converter.as_mut() {
                let rest = conv.convert(&[], true);
                current.pending.drain(..current.pending_pos);
                current.pending_pos = 0;
                current.pending.extend(rest);
            }
            return;
        };
        if current.stats.first_chunk_ms.is_none() {
            current.stats.first_chunk_ms = Some(ms(chunk.ready_after));
        }
        if let Some(last) = current.last_queued {
            // Time the feeder waited for this chunk beyond what was buffered.
            let buffered = self
                .producer
                .as_ref()
                .map_or(0, |p| p.buffer().capacity() - p.slots());
            if buffered == 0 {
                current.stats.max_starved_ms = current.stats.max_starved_ms.max(ms(last.elapsed()));
            }
        }
        current.synth += chunk.synth_time;
        current.stats.chunks += 1;
        let shaped = seams::shape(
            &chunk.samples,
            chunk.sample_rate,
            chunk.boundary,
            chunk.joins_previous,
        );
        current.stats.audio_secs += shaped.len() as f64 / f64::from(chunk.sample_rate);
        // Device frames this chunk will take, counted from the input so the total stays exact.
        let frames = self.converter.as_ref().map_or(0, |conv| {
            let ratio = f64::from(conv.rate()) / f64::from(chunk.sample_rate);
            let frames_at = |input: u64| (input as f64 * ratio).round() as u64;
            frames_at(current.queued_input + shaped.len() as u64) - frames_at(current.queued_input)
        });
        current.queued_input += shaped.len() as u64;
        current.input = shaped;
        current.input_pos = 0;
        // Parts of one stretch of speech resample as one signal; a pause ends it.
        current.input_ends_stream = chunk.boundary != Boundary::Continue;
        current.pending.clear();
        current.pending_pos = 0;
        lock(&self.status).queued.push(Queued {
            index: chunk.index,
            text_range: chunk.text_range,
            start_frame: current.queued_frames,
            frames,
        });
        current.queued_frames += frames;
        current.last_queued = Some(Instant::now());
    }

    /// Moves as much of the chunk into the ring as fits, converting it a slice at a time.
    fn push_pending(&mut self) {
        let (Some(current), Some(producer)) = (self.current.as_mut(), self.producer.as_mut())
        else {
            return;
        };
        let Some(conv) = self.converter.as_mut() else {
            // An output whose rate no converter supports (logged when it opened): nothing
            // can be played on it, and the reading must not wait for it forever.
            current.input_pos = current.input.len();
            current.pending_pos = current.pending.len();
            return;
        };
        loop {
            if current.pending_pos >= current.pending.len() {
                if current.input_pos >= current.input.len() {
                    return;
                }
                let end = (current.input_pos + SLICE).min(current.input.len());
                let last = end == current.input.len();
                current.pending = conv.convert(
                    &current.input[current.input_pos..end],
                    last && current.input_ends_stream,
                );
                current.pending_pos = 0;
                current.input_pos = end;
                continue;
            }
            let left = current.pending.len() - current.pending_pos;
            let n = left.min(producer.slots());
            if n == 0 {
                return;
            }
            let Ok(chunk) = producer.write_chunk_uninit(n) else {
                return;
            };
            let src = &current.pending[current.pending_pos..current.pending_pos + n];
            current.pending_pos += chunk.fill_from_iter(src.iter().copied());
            // From the first queued sample on, running dry is an underrun.
            self.shared.active.store(true, Ordering::SeqCst);
        }
    }

    /// Marks the end of input and, once the callback has played it, records the stats.
    fn check_finished(&mut self) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        if current.done && current.drained() {
            self.shared.input_done.store(true, Ordering::SeqCst);
        }
        if current.done && current.stats.chunks == 0 {
            self.finish(false);
            self.flush();
            self.set_idle();
            return;
        }
        if self.shared.finished.load(Ordering::SeqCst) {
            self.finish(false);
            self.set_idle();
        }
    }

    /// Records the current utterance's stats and drops it.
    fn finish(&mut self, interrupted: bool) {
        let Some(mut current) = self.current.take() else {
            return;
        };
        let first = self
            .shared
            .instant(self.shared.first_sound_ns.load(Ordering::SeqCst));
        current.stats.first_audio_ms =
            first.map(|t| ms(t.saturating_duration_since(current.requested)));
        current.stats.underruns =
            self.shared.underruns.load(Ordering::SeqCst) - current.underruns_at_start;
        current.stats.device_xruns =
            self.shared.device_xruns.load(Ordering::Relaxed) - current.xruns_at_start;
        let rate = self.converter.as_ref().map_or(48_000, Converter::rate);
        current.stats.gap_ms =
            self.shared.underrun_frames.load(Ordering::SeqCst) as f64 * 1e3 / f64::from(rate);
        if current.stats.audio_secs > 0.0 {
            current.stats.real_time_factor =
                Some(current.synth.as_secs_f64() / current.stats.audio_secs);
        }
        current.stats.interrupted = interrupted;
        tracing::info!(stats = ?current.stats, "utterance ended");
        lock(&self.status).history.push(current.stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_no_usable_output_the_player_fails_or_waits_as_asked() {
        let missing = || PlayerConfig {
            device: Some("no such output device".into()),
            wait_for_device: false,
        };
        let err = Player::new(missing()).expect_err("no such device");
        assert!(
            err.to_string().contains("no such output device"),
            "names the device: {err}"
        );
        let player = Player::new(PlayerConfig {
            wait_for_device: true,
            ..missing()
        })
        .expect("starts anyway, to wait for an output");
        let why = player.output_error().expect("says why there is no output");
        assert!(why.contains("no such output device"), "{why}");
        assert!(!player.is_playing());
    }
}
