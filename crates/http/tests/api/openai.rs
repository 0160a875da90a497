//! The official `openai` Python client (from PyPI) against the API: speech made whole and
//! streamed, both intelligible to the Whisper judge. The client's venv is set up by
//! `tests/api/setup.sh` (which `scripts/test.sh` runs; it needs pip and PyPI).

use std::process::Command;

use crate::{root, server};

#[test]
fn the_official_openai_client_gets_intelligible_speech() {
    let root = root();
    let setup = Command::new("bash")
        .arg(root.join("tests/api/setup.sh"))
        .output()
        .expect("setup runs");
    assert!(
        setup.status.success(),
        "setting up the openai client (tests/api/setup.sh) failed: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let python = String::from_utf8(setup.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let out_dir = root.join("target/api-client");
    let _ = std::fs::remove_dir_all(&out_dir);
    let run = Command::new(&python)
        .arg(root.join("tests/api/openai_client.py"))
        .arg(format!("http://{}/v1", server().addr))
        .arg(&out_dir)
        .output()
        .expect("client runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "the openai client failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let judge = Command::new(root.join("tests/asr-judge/setup.sh"))
        .output()
        .expect("judge setup");
    assert!(judge.status.success(), "judge set-up");
    let judge_py = String::from_utf8(judge.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let mut wavs: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("outputs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    wavs.sort();
    let judged = Command::new(judge_py)
        .arg(root.join("tests/asr-judge/judge.py"))
        .args(["--max-wer", "10"])
        .arg(out_dir.join("refs.txt"))
        .args(&wavs)
        .output()
        .expect("judge runs");
    let report = String::from_utf8_lossy(&judged.stdout);
    println!("{report}");
    assert!(
        judged.status.success(),
        "Whisper understood the API's speech: {report}"
    );
}
