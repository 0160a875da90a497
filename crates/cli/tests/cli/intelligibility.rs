//! Intelligibility round trip: synthesize `tests/data/intelligibility.txt` (20 sentences a
//! reader meets: times, money, dates, percentages, abbreviations, URLs, e-mail), transcribe with
//! Whisper (`tests/asr-judge`, faster-whisper + Whisper base from PyPI) and require a word error
//! rate of at most 4%.

use std::process::Command;

use crate::{root, stderr, utter};

#[test]
fn whisper_understands_what_utter_says() {
    let root = root();
    let refs = root.join("tests/data/intelligibility.txt");
    let sentences: Vec<String> = std::fs::read_to_string(&refs)
        .expect("checked in")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let out_dir = root.join("target/intelligibility");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let mut wavs = Vec::new();
    for (i, sentence) in sentences.iter().enumerate() {
        let wav = out_dir.join(format!("{i:02}.wav"));
        let out = utter(
            &["synth", sentence, "-o", wav.to_str().expect("utf-8")],
            None,
        );
        assert!(
            out.status.success(),
            "synth of {sentence:?}: {}",
            stderr(&out)
        );
        wavs.push(wav);
    }
    let setup = Command::new(root.join("tests/asr-judge/setup.sh"))
        .output()
        .expect("judge setup");
    assert!(setup.status.success(), "judge set-up: {}", stderr(&setup));
    let python = String::from_utf8(setup.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let judged = Command::new(python)
        .arg(root.join("tests/asr-judge/judge.py"))
        .args(["--max-wer", "4"])
        .arg(&refs)
        .args(&wavs)
        .output()
        .expect("judge runs");
    let report = String::from_utf8_lossy(&judged.stdout);
    println!("{report}");
    let wer_line = report
        .lines()
        .find(|l| l.starts_with("WER"))
        .unwrap_or("no WER line");
    assert!(
        judged.status.success(),
        "word error rate above 4%: {wer_line}\n{report}{}",
        stderr(&judged)
    );
}
