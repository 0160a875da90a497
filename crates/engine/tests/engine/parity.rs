//! G2P parity with misaki 0.9.4 (the G2P Kokoro was trained on) on 400 oracle sentences
//! (`tests/data/g2p-oracle.tsv`, from the shared corpus).

use utter_engine::{Dialect, Phonemizer, phonemize_text};

fn oracle() -> Vec<(String, String)> {
    let path = crate::root().join("tests/data/g2p-oracle.tsv");
    let text = std::fs::read_to_string(&path).expect("the oracle is checked in");
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(s, p)| (s.trim().to_string(), p.trim().to_string()))
        .collect()
}

/// Share of lines where `phonemize` matches the oracle exactly; prints the misses.
fn parity(label: &str, phonemize: impl Fn(&str) -> String) -> f64 {
    let lines = oracle();
    assert_eq!(lines.len(), 400, "the whole oracle is read");
    let mut misses = 0;
    for (sentence, expected) in &lines {
        let got = phonemize(sentence);
        if got.trim() != expected {
            misses += 1;
            println!("{label} miss: {sentence}\n  want {expected}\n  got  {got}");
        }
    }
    let rate = 100.0 * (lines.len() - misses) as f64 / lines.len() as f64;
    println!(
        "{label} parity: {}/{} = {rate:.2}%",
        lines.len() - misses,
        lines.len()
    );
    rate
}

#[test]
fn g2p_matches_misaki_on_at_least_99_percent_of_the_oracle() {
    let phonemizer = Phonemizer::new();
    let rate = parity("g2p", |s| phonemizer.phonemize(s, Dialect::American));
    assert!(rate >= 99.0, "G2P parity {rate:.2}% is below 99%");
}

/// The whole front end (normalization, sentence pieces, G2P). Normalization deliberately reads
/// some things differently from misaki (URLs, e-mail), so this bound is looser; the misses are
/// printed with `--nocapture`.
#[test]
fn the_full_front_end_stays_close_to_misaki() {
    let phonemizer = Phonemizer::new();
    let rate = parity("front end", |s| {
        phonemize_text(&phonemizer, s, Dialect::American)
    });
    assert!(rate >= 98.0, "front-end parity {rate:.2}% is below 98%");
}
