//! The realtime render function: takes interleaved f32 frames from the ring buffer and writes
//! them in the device's sample format. It never allocates, locks, logs or blocks; on underrun
//! it plays silence and counts the event.

use std::sync::atomic::Ordering;

use cpal::{FromSample, Sample};

use crate::shared::Shared;

/// Below this magnitude a sample counts as silence for "first sound" timing (-50 dBFS).
pub const SOUND_THRESHOLD: f32 = 0.003;

/// Fills `out` (interleaved, `channels` per frame) from `ring`.
pub fn render<T>(out: &mut [T], ring: &mut rtrb::Consumer<f32>, shared: &Shared, channels: usize)
where
    T: Sample + FromSample<f32>,
{
    shared.callbacks.fetch_add(1, Ordering::Relaxed);
    let silence = T::EQUILIBRIUM;
    if shared.flushing.load(Ordering::Acquire) {
        let n = ring.slots();
        if let Ok(chunk) = ring.read_chunk(n) {
            chunk.commit_all();
        }
        out.fill(silence);
        return;
    }
    if shared.paused.load(Ordering::Acquire) {
        out.fill(silence);
        return;
    }
    let volume = shared.volume();
    // Whole frames only, so channels never slip out of step.
    let wanted = out.len() - out.len() % channels.max(1);
    let available = ring.slots().min(wanted) / channels.max(1) * channels.max(1);
    let mut written = 0;
    if available > 0
        && let Ok(chunk) = ring.read_chunk(available)
    {
        let (a, b) = chunk.as_slices();
        let mut loud = false;
        for (dst, &src) in out.iter_mut().zip(a.iter().chain(b)) {
            loud |= src.abs() > SOUND_THRESHOLD;
            *dst = T::from_sample(src * volume);
        }
        written = available;
        chunk.commit_all();
        shared.starving.store(false, Ordering::Relaxed);
        if loud && shared.first_sound_ns.load(Ordering::Relaxed) == 0 {
            shared
                .first_sound_ns
                .store(shared.now_ns(), Ordering::Release);
        }
        shared
            .played_frames
            .fetch_add((written / channels.max(1)) as u64, Ordering::Relaxed);
    }
    out[written..].fill(silence);
    if written < out.len() && shared.active.load(Ordering::Acquire) {
        if shared.input_done.load(Ordering::Acquire) {
            shared.finished.store(true, Ordering::Release);
            shared.active.store(false, Ordering::Release);
        } else {
            if !shared.starving.swap(true, Ordering::Relaxed) {
                shared.underruns.fetch_add(1, Ordering::Relaxed);
            }
            let frames = ((out.len() - written) / channels.max(1)) as u64;
            shared.underrun_frames.fetch_add(frames, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(samples: &[f32]) -> (rtrb::Producer<f32>, rtrb::Consumer<f32>) {
        let (mut p, c) = rtrb::RingBuffer::new(64);
        for &s in samples {
            p.push(s).expect("room");
        }
        (p, c)
    }

    #[test]
    fn plays_queued_samples_then_silence_and_counts_the_underrun() {
        let shared = Shared::new();
        shared.begin_utterance();
        shared.active.store(true, Ordering::SeqCst);
        let (_p, mut c) = ring_with(&[0.5, 0.5, 0.25, 0.25]);
        let mut out = [0i16; 8];
        render(&mut out, &mut c, &shared, 2);
        assert_eq!(
            out[..4],
            [16384, 16384, 8192, 8192],
            "f32 → i16 at full volume"
        );
        assert_eq!(out[4..], [0; 4], "silence after the queued frames");
        assert_eq!(
            shared.underruns.load(Ordering::Relaxed),
            1,
            "mid-utterance starvation counted"
        );
        assert!(
            shared.first_sound_ns.load(Ordering::Relaxed) > 0,
            "first sound time stamped"
        );
        assert_eq!(shared.played_frames.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_end_of_input_is_not_an_underrun() {
        let shared = Shared::new();
        shared.begin_utterance();
        shared.active.store(true, Ordering::SeqCst);
        shared.input_done.store(true, Ordering::SeqCst);
        let (_p, mut c) = ring_with(&[0.1, 0.1]);
        let mut out = [0.0f32; 4];
        render(&mut out, &mut c, &shared, 2);
        assert_eq!(shared.underruns.load(Ordering::Relaxed), 0);
        assert!(
            shared.finished.load(Ordering::Relaxed),
            "the utterance is over"
        );
        assert!(!shared.active.load(Ordering::Relaxed));
    }

    #[test]
    fn pause_holds_the_samples_and_flush_discards_them() {
        let shared = Shared::new();
        shared.begin_utterance();
        let (_p, mut c) = ring_with(&[0.5; 4]);
        shared.paused.store(true, Ordering::SeqCst);
        let mut out = [1.0f32; 4];
        render(&mut out, &mut c, &shared, 2);
        assert_eq!(out, [0.0; 4], "paused: silence");
        assert_eq!(c.slots(), 4, "paused: nothing consumed");
        shared.flushing.store(true, Ordering::SeqCst);
        render(&mut out, &mut c, &shared, 2);
        assert_eq!(c.slots(), 0, "flushing empties the buffer");
        assert_eq!(out, [0.0; 4]);
    }

    #[test]
    fn volume_scales_samples() {
        let shared = Shared::new();
        shared.volume.store(0.5f32.to_bits(), Ordering::SeqCst);
        let (_p, mut c) = ring_with(&[0.5, -0.5]);
        let mut out = [0.0f32; 2];
        render(&mut out, &mut c, &shared, 2);
        assert_eq!(out, [0.25, -0.25]);
    }
}
