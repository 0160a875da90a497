//! Bad input gets a clear error or is skipped; nothing panics.

use utter_engine::{EngineError, SynthRequest};

use crate::engine;

#[test]
fn empty_and_blank_text_are_clear_errors() {
    for text in ["", "   \n\t  "] {
        let err = engine()
            .synthesize(SynthRequest::new(text))
            .expect_err("nothing to say");
        assert!(matches!(err, EngineError::EmptyText(_)), "{err}");
    }
}

#[test]
fn unknown_voice_lists_close_names() {
    let mut r = SynthRequest::new("Hello.");
    r.voice = "af_hart".into();
    let err = engine().synthesize(r).expect_err("unknown voice");
    assert!(
        err.to_string().contains("af_heart"),
        "suggests the near miss: {err}"
    );
}

#[test]
fn out_of_range_speed_is_rejected() {
    let mut r = SynthRequest::new("Hello.");
    r.speed = 3.0;
    assert!(matches!(
        engine().synthesize(r),
        Err(EngineError::BadSpeed(_))
    ));
}

#[test]
fn only_emoji_is_an_error_but_mixed_text_speaks_its_words() {
    let only = engine()
        .synthesize(SynthRequest::new("🎉🎉 🚀"))
        .expect("accepted");
    let results: Vec<_> = only.collect();
    assert!(
        matches!(results.as_slice(), [Err(EngineError::EmptyText(_))]),
        "emoji alone has nothing speakable: {results:?}"
    );
    let mixed = engine()
        .synthesize(SynthRequest::new("Party 🎉 time\u{7}! 你好 world \u{0}."))
        .expect("accepted")
        .collect_samples()
        .expect("the words are spoken, the rest skipped");
    assert!(mixed.len() > 12_000, "at least half a second of speech");
}

#[test]
fn a_ten_thousand_character_word_is_skipped() {
    let text = format!("Before {} after.", "z".repeat(10_000));
    let samples = engine()
        .synthesize(SynthRequest::new(text))
        .expect("accepted")
        .collect_samples()
        .expect("the rest is spoken");
    assert!(
        samples.len() < 24_000 * 4,
        "only 'before' and 'after' are spoken"
    );
}

#[test]
fn a_megabyte_of_text_starts_promptly_and_can_be_cancelled() {
    let text = "All work and no play makes a dull day, but reading helps. ".repeat(18_000);
    assert!(text.len() > 1_000_000);
    let started = std::time::Instant::now();
    let mut synthesis = engine()
        .synthesize(SynthRequest::new(text))
        .expect("accepted");
    let first = synthesis
        .next()
        .expect("a first chunk")
        .expect("it is audio");
    assert!(!first.samples.is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the first chunk does not wait for the whole megabyte"
    );
    synthesis.cancel();
}

#[test]
fn the_runtime_reports_its_version_and_another_version_is_refused_with_the_fix() {
    let config = crate::config();
    let expected = config
        .ort_version
        .clone()
        .expect("the manifest pins a version");
    let version = utter_engine::model::runtime_version(&config.ort_library).expect("loads");
    assert_eq!(version, expected, "the fetched library is the pinned one");
    // The shared environment (loaded once per process) is checked against every caller's
    // expectation, not only the first's.
    let (_, loaded) = utter_engine::model::environment(&config.ort_library, Some(&expected))
        .expect("the pinned version loads");
    assert_eq!(loaded, expected);
    let err = utter_engine::model::environment(&config.ort_library, Some("1.0.0"))
        .expect_err("another version is refused");
    let message = err.to_string();
    assert!(
        message.contains(&expected) && message.contains("1.0.0"),
        "says both versions: {message}"
    );
    assert!(message.contains("utter setup"), "says the fix: {message}");
    // A file that is not a library is an error, not a crash.
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("libonnxruntime.so");
    std::fs::write(&junk, vec![0u8; 4096]).expect("write");
    assert!(utter_engine::model::runtime_version(&junk).is_err());
}
