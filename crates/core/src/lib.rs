//! Utter's core: the one API the CLI, the menu-bar app and the HTTP server share. It owns the
//! speech engine and the player and connects them: text is synthesized chunk by chunk (a short
//! first chunk, then growing ones) while earlier chunks play, and every control — stop, pause,
//! skip, speed, voice — acts on the reading in progress.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use utter_audio::{AudioError, Boundary, PcmChunk, Player, PlayerConfig, StatsSnapshot, Utterance};
use utter_engine::{
    CancelHandle, ChunkPolicy, DEFAULT_VOICE, Engine, EngineConfig, EngineError, SAMPLE_RATE,
    SynthRequest,
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
/// by itself once the synthesis is cancelled or the player drops the utterance.
struct Reading {
    text: String,
    cancel: CancelHandle,
}

impl Reading {
    fn end(self) {
        self.cancel.cancel();
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

    /// The player (device, stats, position).
    pub fn player(&self) -> &Player {
        &self.player
    }

    /// Sets the voice for new readings (checked now, so a bad name fails here).
    pub fn set_voice(&self, voice: &str) -> Result<(), CoreError> {
        self.engine.voice_bank().load(voice)?;
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
            r.cancel.set_speed(speed);
        }
        Ok(())
    }

    /// Reads `text` aloud, interrupting whatever is being read.
    pub fn speak(&self, text: &str) -> Result<(), CoreError> {
        self.read_from(text.to_string(), 0, Instant::now())
    }

    fn read_from(
        &self,
        text: String,
        start_at: usize,
        requested: Instant,
    ) -> Result<(), CoreError> {
        let voice = lock(&self.voice).clone();
        let mut request = SynthRequest::new(text.clone());
        request.voice = voice.id;
        request.speed = voice.speed;
        request.policy = ChunkPolicy::streaming();
        request.start_at = start_at;
        // Validate and queue before silencing the old reading, so a bad request changes nothing.
        let synthesis = self.engine.synthesize(request)?;
        let mut slot = lock(&self.reading);
        let cancel = synthesis.cancel_handle();
        let (tx, rx) = crossbeam_channel::bounded(1);
        // The player silences the old utterance first; then its synthesis is cancelled.
        self.player.play(Utterance {
            requested,
            chunks: rx,
        })?;
        if let Some(old) = slot.take() {
            old.end();
        }
        std::thread::Builder::new()
            .name("utter-bridge".into())
            .spawn(move || {
                for chunk in synthesis {
                    let chunk = match chunk {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!("reading stopped: {e}");
                            break;
                        }
                    };
                    let pcm = PcmChunk {
                        index: chunk.index,
                        boundary: Boundary::after(&chunk.phonemes),
                        samples: chunk.samples,
                        sample_rate: SAMPLE_RATE,
                        text_range: chunk.text_range,
                        synth_time: chunk.synth_time,
                        ready_after: chunk.since_request,
                    };
                    if tx.send(pcm).is_err() {
                        break;
                    }
                }
            })
            .map_err(|source| EngineError::Io {
                path: "<bridge thread>".into(),
                source,
            })?;
        *slot = Some(Reading { text, cancel });
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
        self.read_from(text, start, Instant::now())
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

impl Drop for Core {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
