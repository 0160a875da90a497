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
