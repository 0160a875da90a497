//! Bad input and broken installs give a clear message and the right exit code; nothing panics.

use crate::{root, stderr, utter, utter_in};

fn no_panic(out: &std::process::Output) {
    assert!(
        !stderr(out).contains("panicked"),
        "no panic: {}",
        stderr(out)
    );
}

#[test]
fn usage_errors_exit_with_2() {
    for (args, input, why) in [
        (vec![], None, "no command"),
        (vec!["synth", "", "-o", "/tmp/x.wav"], None, "empty text"),
        (
            vec!["synth", "-o", "/tmp/x.wav"],
            Some(&b"  \n\t "[..]),
            "blank stdin",
        ),
        (
            vec!["synth", "hi", "--voice", "af_hart", "-o", "/tmp/x.wav"],
            None,
            "unknown voice",
        ),
        (
            vec!["synth", "hi", "--speed", "9", "-o", "/tmp/x.wav"],
            None,
            "speed out of range",
        ),
        (vec!["synth", "hi"], None, "no output file"),
    ] {
        let out = utter(&args, input);
        assert_eq!(out.status.code(), Some(2), "{why}: {}", stderr(&out));
        no_panic(&out);
    }
    let out = utter(
        &["synth", "hi", "--voice", "af_hart", "-o", "/tmp/x.wav"],
        None,
    );
    assert!(
        stderr(&out).contains("af_heart"),
        "the unknown-voice error suggests close names"
    );
}

#[test]
fn binary_junk_on_stdin_is_read_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("junk.wav");
    let mut junk: Vec<u8> = (0u32..300)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    junk.extend_from_slice(b" and then some words.");
    let out = utter(&["synth", "-o", wav.to_str().expect("utf-8")], Some(&junk));
    no_panic(&out);
    assert!(
        out.status.success(),
        "the words in the junk are spoken: {}",
        stderr(&out)
    );
}

/// A temporary asset root that links to the real assets except what `skip` names.
fn partial_root(skip: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = root();
    std::fs::create_dir_all(tmp.path().join("models/onnxruntime")).expect("mkdir");
    let link = |rel: &str| {
        if rel != skip {
            std::os::unix::fs::symlink(real.join(rel), tmp.path().join(rel)).expect("symlink");
        }
    };
    link("voices");
    link("models/kokoro-v1.0.int8.onnx");
    link("models/onnxruntime/libonnxruntime.so.1.32.0");
    tmp
}

fn expect_fix_message(out: &std::process::Output, file: &str) {
    no_panic(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a broken install is a runtime failure"
    );
    let err = stderr(out);
    assert!(err.contains(file), "the message names {file}: {err}");
    assert!(
        err.contains("utter setup"),
        "the message names the fix: {err}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn missing_model_voices_or_runtime_name_the_file_and_the_fix() {
    for (skip, file) in [
        ("models/kokoro-v1.0.int8.onnx", "kokoro-v1.0.int8.onnx"),
        ("voices", "af_"),
        (
            "models/onnxruntime/libonnxruntime.so.1.32.0",
            "libonnxruntime.so.1.32.0",
        ),
    ] {
        let home = partial_root(skip);
        let out = utter_in(
            home.path(),
            &["synth", "Hello.", "-o", "/tmp/never.wav"],
            None,
        );
        expect_fix_message(&out, file);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn corrupt_model_and_runtime_name_the_file_and_the_fix() {
    // A truncated model (an interrupted copy).
    let home = partial_root("models/kokoro-v1.0.int8.onnx");
    std::fs::write(
        home.path().join("models/kokoro-v1.0.int8.onnx"),
        vec![7u8; 5000],
    )
    .expect("w");
    let out = utter_in(
        home.path(),
        &["synth", "Hello.", "-o", "/tmp/never.wav"],
        None,
    );
    expect_fix_message(&out, "kokoro-v1.0.int8.onnx");

    // A runtime library of the right size that is not a library.
    let lib = "models/onnxruntime/libonnxruntime.so.1.32.0";
    let size = std::fs::metadata(root().join(lib)).expect("real lib").len();
    let home = partial_root(lib);
    std::fs::write(home.path().join(lib), vec![0u8; size as usize]).expect("write");
    let out = utter_in(
        home.path(),
        &["synth", "Hello.", "-o", "/tmp/never.wav"],
        None,
    );
    expect_fix_message(&out, "libonnxruntime.so.1.32.0");
}

#[test]
fn a_user_model_that_is_not_kokoro_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.onnx");
    // Starts like an ONNX protobuf (ir_version 7) but is garbage after that.
    let mut bytes = vec![0x08, 0x07];
    bytes.extend(std::iter::repeat_n(0xAB_u8, 4096));
    std::fs::write(&junk, bytes).expect("write");
    let out = utter(
        &[
            "--model",
            junk.to_str().expect("utf-8"),
            "synth",
            "Hi.",
            "-o",
            "/tmp/n.wav",
        ],
        None,
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("junk.onnx"),
        "names the file: {}",
        stderr(&out)
    );
}
