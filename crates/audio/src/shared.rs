//! State shared between the realtime callback and the rest of the player: atomics only, so the
//! callback never locks.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Flags and counters the callback reads and writes.
#[derive(Debug)]
pub struct Shared {
    /// Origin for the nanosecond timestamps below.
    pub epoch: Instant,
    /// Output silence without consuming (pause).
    pub paused: AtomicBool,
    /// Discard everything queued and output silence (stop, or a new utterance replacing one).
    pub flushing: AtomicBool,
    /// An utterance is being played: an empty buffer now is an underrun, not idleness.
    pub active: AtomicBool,
    /// The feeder has queued the utterance's last sample.
    pub input_done: AtomicBool,
    /// The callback played the last sample of the utterance (set once `input_done` and empty).
    pub finished: AtomicBool,
    /// Volume as f32 bits (linear gain, 0..=1).
    pub volume: AtomicU32,
    /// Nanoseconds since `epoch` when the callback first wrote a non-silent sample of the
    /// current utterance (0: not yet).
    pub first_sound_ns: AtomicU64,
    /// Underruns: times playback ran dry mid-utterance (one per episode, however long).
    pub underruns: AtomicU64,
    /// True while the callback is in an underrun episode.
    pub starving: AtomicBool,
    /// Frames of silence played because of underruns (this utterance).
    pub underrun_frames: AtomicU64,
    /// Frames of this utterance handed to the device so far.
    pub played_frames: AtomicU64,
    /// Device xruns since the player started: the callback itself was late (CPU starvation),
    /// which the stream recovers from in place, so they cost a glitch, not a rebuild.
    pub device_xruns: AtomicU64,
    /// Callback invocations since the player started: a heartbeat that grows while the stream
    /// is alive (it runs even when idle), so the audio thread can tell a stream that reported
    /// an error but carries on from one that died.
    pub callbacks: AtomicU64,
}

impl Shared {
    /// Fresh state at full volume, idle.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            paused: AtomicBool::new(false),
            flushing: AtomicBool::new(false),
            active: AtomicBool::new(false),
            input_done: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            volume: AtomicU32::new(1.0f32.to_bits()),
            first_sound_ns: AtomicU64::new(0),
            underruns: AtomicU64::new(0),
            starving: AtomicBool::new(false),
            underrun_frames: AtomicU64::new(0),
            played_frames: AtomicU64::new(0),
            device_xruns: AtomicU64::new(0),
            callbacks: AtomicU64::new(0),
        }
    }

    /// Nanoseconds since `epoch` (at least 1, so 0 can mean "not yet").
    pub fn now_ns(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// The instant a timestamp stands for, if it is set.
    pub fn instant(&self, ns: u64) -> Option<Instant> {
        (ns != 0).then(|| self.epoch + Duration::from_nanos(ns))
    }

    /// Current volume.
    pub fn volume(&self) -> f32 {
        f32::from_bits(self.volume.load(Ordering::Relaxed))
    }

    /// Prepares for a new utterance (called by the feeder once the buffer is empty). The
    /// utterance becomes `active` when its first samples are queued: waiting for the first chunk
    /// is not an underrun.
    pub fn begin_utterance(&self) {
        self.first_sound_ns.store(0, Ordering::SeqCst);
        self.underrun_frames.store(0, Ordering::SeqCst);
        self.played_frames.store(0, Ordering::SeqCst);
        self.finished.store(false, Ordering::SeqCst);
        self.input_done.store(false, Ordering::SeqCst);
        self.starving.store(false, Ordering::SeqCst);
        self.active.store(false, Ordering::SeqCst);
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}
