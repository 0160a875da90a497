//! Real synthesis: streaming, cancellation, voices, speed.

use std::time::{Duration, Instant};

use utter_engine::{ChunkPolicy, SAMPLE_RATE, SynthRequest};

use crate::engine;

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|x| x * x).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

#[test]
fn a_sentence_becomes_speech_of_plausible_length() {
    let samples = engine()
        .synthesize(SynthRequest::new("Hello world, this is Utter."))
        .expect("request accepted")
        .collect_samples()
        .expect("synthesis succeeds");
    let secs = samples.len() as f32 / SAMPLE_RATE as f32;
    assert!(
        (1.0..5.0).contains(&secs),
        "a short sentence lasts 1–5 s, got {secs:.2} s"
    );
    assert!(
        rms(&samples) > 0.01,
        "the audio is not silence (rms {})",
        rms(&samples)
    );
    assert!(
        samples.iter().all(|x| x.is_finite()),
        "no NaN or infinity in the PCM"
    );
}

#[test]
fn long_text_streams_chunk_by_chunk_within_the_token_limit() {
    let text = "Reading aloud helps many people understand long documents. ".repeat(30);
    let policy = ChunkPolicy {
        first_max_tokens: 30,
        max_tokens: 150,
        growth: 1.0,
    };
    let mut request = SynthRequest::new(text);
    request.policy = policy;
    let mut count = 0;
    let mut last_done = 0;
    for chunk in engine().synthesize(request).expect("accepted") {
        let chunk = chunk.expect("chunk synthesized");
        let limit = if chunk.index == 0 { 30 } else { 150 };
        assert!(
            chunk.phonemes.chars().count() <= limit + 5,
            "chunk {} fits its limit",
            chunk.index
        );
        assert!(
            chunk.text_range.end >= last_done,
            "progress never goes backwards"
        );
        last_done = chunk.text_range.end;
        assert_eq!(chunk.index, count, "chunks arrive in order");
        count += 1;
    }
    assert!(
        count >= 10,
        "30 sentences at ≤150 tokens need many chunks, got {count}"
    );
}

#[test]
fn cancel_stops_at_once_and_the_engine_is_usable_again() {
    let engine = engine();
    let text = "This is a long text that would take a while to synthesize completely. ".repeat(40);
    let synthesis = engine
        .synthesize(SynthRequest::new(text))
        .expect("accepted");
    std::thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    synthesis.cancel();
    let rest: Vec<_> = synthesis.collect();
    let stopped_in = started.elapsed();
    assert!(
        rest.is_empty(),
        "nothing arrives after a cancel, got {} chunks",
        rest.len()
    );
    assert!(
        stopped_in < Duration::from_millis(1500),
        "the stream ends promptly ({stopped_in:?})"
    );
    let again = engine
        .synthesize(SynthRequest::new("Still here."))
        .expect("accepted");
    assert!(
        !again
            .collect_samples()
            .expect("works after a cancel")
            .is_empty()
    );
}

#[test]
fn speed_changes_duration_and_blends_work() {
    let engine = engine();
    let len = |speed: f32, voice: &str| {
        let mut r = SynthRequest::new("The quick brown fox jumps over the lazy dog.");
        r.speed = speed;
        r.voice = voice.to_string();
        engine
            .synthesize(r)
            .expect("accepted")
            .collect_samples()
            .expect("ok")
            .len()
    };
    let normal = len(1.0, "af_heart");
    let fast = len(2.0, "af_heart");
    assert!(
        (fast as f32) < normal as f32 * 0.7,
        "speed 2 is clearly shorter: {fast} vs {normal}"
    );
    assert!(len(1.0, "af_heart:0.6+am_adam:0.4") > 0, "a blend speaks");
    assert!(len(1.0, "bf_emma") > 0, "a British voice speaks");
}
