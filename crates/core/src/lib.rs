//! Utter's core: the one API the CLI, the menu-bar app and the HTTP server share. It owns the
//! speech engine and the player and connects them: text is synthesized chunk by chunk (a short
//! first chunk, then growing ones) while earlier chunks play, and every control — stop, pause,
//! skip, speed, voice — acts on the reading in progress.

pub mod mem;
pub mod settings;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use utter_audio::{AudioError, Boundary, PcmChunk, Player, PlayerConfig, StatsSnapshot, Utterance};
use utter_engine::{
    CancelHandle, ChunkPolicy, DEFAULT_VOICE, Engine, EngineConfig, EngineError, SAMPLE_RATE,
    SynthRequest, Synthesis,
};

/// What can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// From the engine (bad text, voice, speed; missing assets).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// From the audio output.
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// The reading in progress. Its bridge thread forwards synthesized chunks to the player; it ends
/// by itself once the reading is ended or the player drops the utterance.
struct Reading {
    text: String,
    control: Arc<ReadingControl>,
}

impl Reading {
    fn end(self) {
        self.control.end();
    }
}

/// What the core and a reading's bridge share: the synthesis feeding the reading now. The bridge
/// replaces it when a speed change finds the next chunk already made at the old speed.
struct ReadingControl {
    ended: AtomicBool,
    synthesis: Mutex<CancelHandle>,
}

impl ReadingControl {
    fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
        lock(&self.synthesis).cancel();
    }

    fn is_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    fn set_speed(&self, speed: f32) {
        lock(&self.synthesis).set_speed(speed);
    }

    /// The speed asked for now.
    fn speed(&self) -> f32 {
        lock(&self.synthesis).speed()
    }

    /// Makes `next` the reading's synthesis (the old one is cancelled); false if the reading
    /// ended meanwhile (then `next` is cancelled too).
    fn replace(&self, next: &Synthesis) -> bool {
        let mut current = lock(&self.synthesis);
        let handle = next.cancel_handle();
        // A speed set while `next` was being requested wins.
        handle.set_speed(current.speed());
        current.cancel();
        *current = handle;
        if self.is_ended() {
            current.cancel();
            return false;
        }
        true
    }
}

/// Voice and speed for new readings.
#[derive(Debug, Clone)]
struct Voice {
    id: String,
    speed: f32,
}

/// Engine + player + the reading in progress.
pub struct Core {
    engine: Arc<Engine>,
    player: Player,
    voice: Mutex<Voice>,
    reading: Mutex<Option<Reading>>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("player", &self.player)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Starts the engine (loading and warming in the background) and opens the audio output.
    pub fn start(engine: EngineConfig, player: PlayerConfig) -> Result<Self, CoreError> {
        let engine = Arc::new(Engine::start(engine)?);
        let player = Player::new(player)?;
        Ok(Self {
            engine,
            player,
            voice: Mutex::new(Voice {
                id: DEFAULT_VOICE.into(),
                speed: 1.0,
            }),
            reading: Mutex::new(None),
        })
    }

    /// The engine (voices, state, info).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A handle on the engine for another shell that shares it (the HTTP API).
    pub fn engine_handle(&self) -> Arc<Engine> {
        Arc::clone(&self.engine)
    }

    /// The voice of new readings.
    pub fn voice(&self) -> String {
        lock(&self.voice).id.clone()
    }

    /// The speed of new readings.
    pub fn speed(&self) -> f32 {
        lock(&self.voice).speed
    }

    /// Plays through `device` from now on (`None`: follow the system default).
    pub fn set_device(&self, device: Option<String>) {
        self.player.set_device(device);
    }

    /// The player (device, stats, position).
    pub fn player(&self) -> &Player {
        &self.player
    }

    /// Sets the voice for new readings (checked now, so a bad name fails here).
    pub fn set_voice(&self, voice: &str) -> Result<(), CoreError> {
        self.engine.prepare_voice(voice)?;
        lock(&self.voice).id = voice.to_string();
        Ok(())
    }

    /// Sets the speed; it applies to the reading in progress from its next chunk.
    pub fn set_speed(&self, speed: f32) -> Result<(), CoreError> {
        if !utter_engine::SPEED_RANGE.contains(&speed) {
            return Err(EngineError::BadSpeed(speed).into());
        }
        lock(&self.voice).speed = speed;
        if let Some(r) = lock(&self.reading).as_ref() {
            r.control.set_speed(speed);
        }
        Ok(())
    }

    /// Reads `text` aloud, interrupting whatever is being read.
    pub fn speak(&self, text: &str) -> Result<(), CoreError> {
        self.speak_requested_at(text, Instant::now())
    }

    /// Reads `text` aloud; its timings (time to first audio) count from `requested`, e.g. the
    /// moment a shortcut was pressed, so they include capturing the selection.
    pub fn speak_requested_at(&self, text: &str, requested: Instant) -> Result<(), CoreError> {
        self.read_from(text.to_string(), 0, requested, None)
    }

    /// Reads `text` in `voice` (a preview), without changing the voice of later readings.
    pub fn preview(&self, voice: &str, text: &str) -> Result<(), CoreError> {
        self.read_from(text.to_string(), 0, Instant::now(), Some(voice))
    }

    fn read_from(
        &self,
        text: String,
        start_at: usize,
        requested: Instant,
        voice_override: Option<&str>,
    ) -> Result<(), CoreError> {
        if let Some(why) = self.player.output_error() {
            return Err(AudioError::NoDevice { why }.into());
        }
        let voice = lock(&self.voice).clone();
        let mut request = SynthRequest::new(text.clone());
        request.voice = voice_override.map_or(voice.id, str::to_string);
        request.speed = voice.speed;
        request.policy = ChunkPolicy::streaming();
        request.start_at = start_at;
        // Validate and queue before silencing the old reading, so a bad request changes nothing.
        let synthesis = self.engine.synthesize(request.clone())?;
        let mut slot = lock(&self.reading);
        let control = Arc::new(ReadingControl {
            ended: AtomicBool::new(false),
            synthesis: Mutex::new(synthesis.cancel_handle()),
        });
        // A rendezvous channel: the bridge hands a chunk over only when the player takes it, so
        // a speed change can still replace the next chunk until it starts.
        let (tx, rx) = crossbeam_channel::bounded(0);
        // The player silences the old utterance first; then its synthesis is cancelled.
        self.player.play(Utterance {
            requested,
            chunks: rx,
        })?;
        if let Some(old) = slot.take() {
            old.end();
        }
        let bridge = Bridge {
            engine: Arc::clone(&self.engine),
            request,
            control: Arc::clone(&control),
            tx,
        };
        std::thread::Builder::new()
            .name("utter-bridge".into())
            .spawn(move || bridge.run(synthesis))
            .map_err(|source| EngineError::Io {
                path: "<bridge thread>".into(),
                source,
            })?;
        *slot = Some(Reading { text, control });
        Ok(())
    }

    /// Stops reading: silent within one device buffer, pending synthesis cancelled.
    pub fn stop(&self) {
        self.player.stop();
        if let Some(r) = lock(&self.reading).take() {
            r.end();
        }
    }

    /// Pauses or resumes.
    pub fn set_paused(&self, paused: bool) {
        self.player.set_paused(paused);
    }

    /// Pauses if playing, resumes if paused.
    pub fn toggle_pause(&self) {
        self.player.set_paused(!self.player.is_paused());
    }

    /// Jumps `by` sentences forward (positive) or back (negative) in the reading in progress.
    pub fn skip(&self, by: i32) -> Result<(), CoreError> {
        let Some(position) = self.player.position() else {
            return Ok(());
        };
        let Some(text) = lock(&self.reading).as_ref().map(|r| r.text.clone()) else {
            return Ok(());
        };
        let normalized = utter_engine::normalize::normalize(&text);
        let starts: Vec<usize> = utter_engine::chunk::pieces(&normalized)
            .into_iter()
            .map(|r| r.start)
            .collect();
        let span = position
            .text_range
            .end
            .saturating_sub(position.text_range.start) as f32;
        let here = position.text_range.start + (span * position.fraction) as usize;
        let current = starts.iter().rposition(|&s| s <= here).unwrap_or(0);
        let target = (current as i64 + i64::from(by)).clamp(0, starts.len() as i64) as usize;
        let Some(&start) = starts.get(target) else {
            self.stop(); // skipped past the end
            return Ok(());
        };
        self.read_from(text, start, Instant::now(), None)
    }

    /// Sets the output volume (0–1).
    pub fn set_volume(&self, volume: f32) {
        self.player.set_volume(volume);
    }

    /// True while something is being read.
    pub fn is_speaking(&self) -> bool {
        self.player.is_playing()
    }

    /// Waits until the reading ends; false on timeout.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.player.wait_idle(timeout)
    }

    /// Playback statistics.
    pub fn stats(&self) -> StatsSnapshot {
        self.player.stats()
    }
}

/// Forwards one reading's chunks from the engine to the player.
struct Bridge {
    engine: Arc<Engine>,
    request: SynthRequest,
    control: Arc<ReadingControl>,
    tx: crossbeam_channel::Sender<PcmChunk>,
}

/// How often a chunk waiting for the player re-checks the speed asked for.
const HANDOVER_POLL: Duration = Duration::from_millis(20);

impl Bridge {
    fn run(self, mut synthesis: Synthesis) {
        // Chunk numbers continue across a replaced synthesis.
        let mut base = 0;
        while let Some(chunk) = synthesis.next() {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("reading stopped: {e}");
                    return;
                }
            };
            let starts_chunk = chunk.piece == 0;
            let made_at = chunk.speed;
            let from = chunk.text_range.start;
            let mut pcm = PcmChunk {
                index: base + chunk.index,
                boundary: if chunk.last_piece {
                    Boundary::after(&chunk.phonemes)
                } else {
                    Boundary::Continue
                },
                joins_previous: chunk.piece > 0,
                samples: chunk.samples,
                sample_rate: SAMPLE_RATE,
                text_range: chunk.text_range,
                synth_time: chunk.synth_time,
                ready_after: chunk.since_request,
            };
            let stale = || starts_chunk && (self.control.speed() - made_at).abs() > 1e-3;
            loop {
                if self.control.is_ended() {
                    return;
                }
                if stale() {
                    // Made ahead (or taken from the cache) at a speed no longer wanted: this
                    // chunk and the rest are made again at the new speed, from its first word.
                    let Some(next) = self.resynthesize(from) else {
                        return;
                    };
                    base = pcm.index;
                    synthesis = next;
                    break;
                }
                match self.tx.send_timeout(pcm, HANDOVER_POLL) {
                    Ok(()) => break,
                    Err(crossbeam_channel::SendTimeoutError::Timeout(p)) => pcm = p,
                    Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return,
                }
            }
        }
    }

    /// A new synthesis of the text from `from` (normalized offset) at the speed asked for now.
    fn resynthesize(&self, from: usize) -> Option<Synthesis> {
        let mut request = self.request.clone();
        request.speed = self.control.speed();
        request.start_at = from;
        match self.engine.synthesize(request) {
            Ok(next) => self.control.replace(&next).then_some(next),
            Err(e) => {
                tracing::warn!("reading stopped: cannot apply the new speed: {e}");
                None
            }
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
