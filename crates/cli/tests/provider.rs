//! The execution provider's fallback, on the Linux twin: Linux's ONNX Runtime has no CoreML, so
//! `--ep coreml` and `--ep auto` must build on the CPU, speak, and say why, exactly as a Mac
//! whose CoreML cannot take the model would; and the CPU path keeps the optimized-graph cache,
//! windowed decoding and the statically quantized decoder.
//!
//! Its own test target: it starts servers of its own, which load the model beside the other
//! targets' engines.

#![cfg(target_os = "linux")]

#[allow(dead_code)] // each test target uses some of the helpers
mod support;

use std::process::{Command, Stdio};

use support::{get, root, serve, serve_env, wait_ready};

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON ({e}): {body}"))
}

#[test]
fn coreml_falls_back_to_the_cpu_speaks_and_says_why() {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let wav = out_dir.path().join("coreml.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_utter"))
        .current_dir(root())
        .env_remove("UTTER_EP")
        .args([
            "--ep",
            "coreml",
            "-v",
            "synth",
            "The fallback still speaks.",
        ])
        .arg("-o")
        .arg(&wav)
        .stdin(Stdio::null())
        .output()
        .expect("utter runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "CoreML's absence is not fatal: {stderr}"
    );
    assert!(
        stderr.contains("CoreML unavailable") && stderr.contains("running on the CPU"),
        "the log says why the CPU runs: {stderr}"
    );
    let samples: Vec<i16> = hound::WavReader::open(&wav)
        .expect("a WAV")
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(
        samples.len() > 24_000 && loud > 2_400,
        "a second or more of audible speech ({} samples, {loud} loud)",
        samples.len()
    );
}

#[test]
fn the_server_reports_the_provider_that_runs_and_the_reason() {
    for (asked, env) in [("coreml", false), ("auto", true)] {
        // `--ep` on the command line, and `UTTER_EP` in the server's environment.
        let served = if env {
            serve_env(&[], &[("UTTER_EP", asked)])
        } else {
            serve(&["--ep", asked])
        };
        wait_ready(served.addr);
        let (code, body) = get(served.addr, "/status");
        assert_eq!(code, 200, "{body}");
        let status = json(&body);
        assert_eq!(status["execution_provider"], "CPU", "{asked}: {status}");
        assert_eq!(status["execution_provider_requested"], asked, "{status}");
        let why = status["execution_provider_fallback"]
            .as_str()
            .unwrap_or_default();
        assert!(
            why.contains("CoreML") && why.contains("not supported in this build"),
            "{asked}: the reason is ONNX Runtime's: {status}"
        );
        let (_, body) = get(served.addr, "/optimization-status");
        let opt = json(&body);
        let ep = &opt["execution_provider"];
        assert_eq!(ep["running"], "CPU", "{opt}");
        assert_eq!(ep["requested"], asked, "{opt}");
        if asked == "auto" {
            let measured = ep["measured"].as_array().expect("measured");
            assert!(
                measured
                    .iter()
                    .any(|t| t["provider"] == "CoreML" && t["error"].is_string()),
                "auto says CoreML could not be measured, and why: {opt}"
            );
        }
        // The CPU path as it always runs: the kept optimized graphs (an earlier start in this
        // checkout made them), windowed decoding of the split model.
        assert_eq!(ep["optimized_graph_reused"], true, "{opt}");
        assert_eq!(
            opt["first_chunk_policy"]["windowed_decoding"], true,
            "{opt}"
        );
        // And it speaks.
        let (code, _) = post_speech(served.addr);
        assert_eq!(code, 200, "{asked}: speech on the fallback");
    }
    // The decoder the CPU runs is the statically quantized one (int8 QLinearConv kernels).
    let derived = root().join("models/derived");
    let quantized = std::fs::read_dir(&derived)
        .expect("models/derived")
        .filter_map(Result::ok)
        .map(|e| e.path().join("decoder.onnx"))
        .filter(|p| p.is_file())
        .any(|p| {
            let bytes = std::fs::read(&p).expect("read");
            bytes
                .windows(b"QLinearConv".len())
                .any(|w| w == b"QLinearConv")
        });
    assert!(quantized, "a derived decoder with QLinearConv nodes");
}

/// POST a short speech request; status and body length.
fn post_speech(addr: std::net::SocketAddr) -> (u16, usize) {
    use std::io::{Read, Write};
    let body = r#"{"model":"tts-1","input":"Falling back is fine.","voice":"alloy"}"#;
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "POST /v1/audio/speech HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sent");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("reply");
    let text = String::from_utf8_lossy(&reply);
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, reply.len())
}
