//! Speech: whole and streamed responses, formats, hang-ups, several clients at once.

use std::time::{Duration, Instant};

use serde_json::json;
use utter_http::ServerConfig;

use crate::client::{Reply, Request, hang_up_after, hang_up_when, send};
use crate::{server, start};

const LONG: &str = "Reading by ear has quietly become a habit of people who work with long \
    documents. Instead of staring at a screen for another hour, they select a report, press a \
    key, and listen while their eyes rest. The voice has to start at once and flow without gaps.";

fn wav_secs(r: &Reply) -> f64 {
    let reader = hound::WavReader::new(std::io::Cursor::new(r.body.clone())).expect("valid WAV");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (24_000, 1, 16)
    );
    reader.len() as f64 / 24_000.0
}

fn rms(samples: &[i16]) -> f64 {
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64)
        .sqrt()
}

#[test]
fn a_whole_wav_has_exact_sizes_and_speech() {
    let r = send(
        server().addr,
        Request::post(
            "/v1/audio/speech",
            &json!({"model": "tts-1", "input": "The invoice is due on March 3rd.", "voice": "nova"}),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    assert_eq!(
        r.header("content-length")
            .and_then(|l| l.parse::<usize>().ok()),
        Some(r.body.len()),
        "a whole response says its length"
    );
    let secs = wav_secs(&r);
    assert!((1.0..6.0).contains(&secs), "{secs} s");
    let data_size = u32::from_le_bytes([r.body[40], r.body[41], r.body[42], r.body[43]]) as usize;
    assert_eq!(data_size, r.body.len() - 44, "the header's size is exact");
}

#[test]
fn a_streamed_wav_starts_before_it_ends_and_reads_back() {
    let r = send(
        server().addr,
        Request::post(
            "/v1/audio/speech",
            &json!({"model": "tts-1", "input": LONG, "voice": "af_heart", "stream": true}),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(
        r.first_byte * 3 < r.total,
        "the first bytes come long before the last: {:?} of {:?}",
        r.first_byte,
        r.total
    );
    assert_eq!(&r.body[0..4], b"RIFF");
    // Open-ended sizes: read the samples after the header as a player does.
    let samples: Vec<i16> = r.body[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let secs = samples.len() as f64 / 24_000.0;
    assert!(secs > 10.0, "the whole text was streamed: {secs:.1} s");
    assert!(rms(&samples) > 300.0, "speech, not silence");
}

#[test]
fn pcm_and_flac_are_served() {
    let addr = server().addr;
    let body = |format: &str| json!({"model": "kokoro", "input": "Formats.", "voice": "bf_emma", "response_format": format});
    let pcm = send(addr, Request::post("/v1/audio/speech", &body("pcm")));
    assert_eq!(pcm.status, 200);
    assert_eq!(pcm.body.len() % 2, 0, "16-bit samples, no header");
    assert_ne!(&pcm.body[0..4], b"RIFF");
    let flac = send(addr, Request::post("/v1/audio/speech", &body("flac")));
    assert_eq!(flac.status, 200);
    assert_eq!(&flac.body[0..4], b"fLaC");
    assert_eq!(flac.header("content-type"), Some("audio/flac"));
}

/// Waits for every request of `s` to end: within `limit`, far less than the abandoned text would
/// take to synthesize (about 90 s of speech), so this shows its synthesis was cancelled.
fn assert_all_ended_within(s: &crate::Running, limit: Duration) {
    let deadline = Instant::now() + limit;
    while s.state.stats.in_flight() > 0 {
        assert!(
            Instant::now() < deadline,
            "the abandoned request ended within {limit:?}: its synthesis was cancelled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        s.state.stats.snapshot().cancelled_by_client,
        1,
        "counted as cancelled"
    );
    let ok = send(
        s.addr,
        Request::post(
            "/v1/audio/speech",
            &json!({"model": "tts-1", "input": "Next.", "voice": "alloy"}),
        ),
    );
    assert_eq!(ok.status, 200, "the next request is served");
}

#[test]
fn a_client_hanging_up_mid_stream_cancels_its_synthesis_and_the_server_stays_healthy() {
    let s = start(ServerConfig::default());
    let long = LONG.repeat(6);
    hang_up_after(
        s.addr,
        Request::post(
            "/v1/audio/speech",
            &json!({"model": "tts-1", "input": long, "voice": "alloy", "stream": true}),
        ),
        20_000,
    );
    assert_all_ended_within(&s, Duration::from_secs(5));
}

#[test]
fn a_client_hanging_up_before_a_whole_file_is_made_cancels_it() {
    let s = start(ServerConfig::default());
    let long = LONG.repeat(6);
    hang_up_when(
        s.addr,
        Request::post(
            "/v1/audio/speech",
            &json!({"model": "tts-1", "input": long, "voice": "alloy"}),
        ),
        || s.state.stats.in_flight() > 0,
    );
    assert_all_ended_within(&s, Duration::from_secs(5));
}

#[test]
fn concurrent_requests_share_the_engine_without_mixing_audio() {
    let addr = server().addr;
    let texts = [
        "One.",
        "A somewhat longer sentence, read at the same time as the others.",
        "Two words.",
        LONG,
    ];
    let solo: Vec<f64> = texts
        .iter()
        .map(|t| {
            let r = send(
                addr,
                Request::post(
                    "/v1/audio/speech",
                    &json!({"model": "tts-1", "input": t, "voice": "echo"}),
                ),
            );
            wav_secs(&r)
        })
        .collect();
    let together: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .iter()
            .map(|t| {
                scope.spawn(move || {
                    let r = send(
                        addr,
                        Request::post(
                            "/v1/audio/speech",
                            &json!({"model": "tts-1", "input": t, "voice": "echo"}),
                        ),
                    );
                    assert_eq!(r.status, 200);
                    wav_secs(&r)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    for ((t, a), b) in texts.iter().zip(&solo).zip(&together) {
        assert!(
            (a - b).abs() < 0.01,
            "{t:?}: {a:.3} s alone, {b:.3} s among others — each gets its own audio"
        );
    }
}

#[test]
fn more_requests_than_allowed_in_flight_get_429() {
    let s = start(ServerConfig {
        max_in_flight: 1,
        ..ServerConfig::default()
    });
    let long = json!({"model": "tts-1", "input": LONG.repeat(3), "voice": "alloy", "stream": true});
    std::thread::scope(|scope| {
        let first = scope.spawn(|| send(s.addr, Request::post("/v1/audio/speech", &long)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.state.stats.in_flight() == 0 {
            assert!(Instant::now() < deadline, "the first request started");
            std::thread::sleep(Duration::from_millis(5));
        }
        let second = send(
            s.addr,
            Request::post(
                "/v1/audio/speech",
                &json!({"model": "tts-1", "input": "Me too.", "voice": "alloy"}),
            ),
        );
        assert_eq!(second.status, 429);
        assert_eq!(second.header("retry-after"), Some("1"));
        assert_eq!(second.json()["error"]["type"], "rate_limit_error");
        assert_eq!(
            first.join().expect("first").status,
            200,
            "the first is unaffected"
        );
    });
}

#[test]
fn curl_streams_the_first_bytes_long_before_the_end() {
    let addr = server().addr;
    let out = std::env::temp_dir().join(format!("utter-curl-{}.wav", std::process::id()));
    // A voice no other test uses: with audio the cache already holds, every byte is there at
    // once and nothing would show the streaming.
    let body = json!({"model": "tts-1", "input": LONG, "voice": "bm_lewis", "stream": true});
    let run = std::process::Command::new("curl")
        .args(["-sS", "-N", "--fail-with-body", "-o"])
        .arg(&out)
        .args(["-w", "%{http_code} %{time_starttransfer} %{time_total}"])
        .args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ])
        .arg(format!("http://{addr}/v1/audio/speech"))
        .output()
        .expect("curl runs (apt install curl)");
    let report = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "curl: {report} {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fields: Vec<f64> = report
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [code, first, total] = fields[..] else {
        panic!("curl's report: {report}");
    };
    assert_eq!(code, 200.0);
    assert!(
        first * 3.0 < total,
        "curl got the first bytes at {first:.3} s of {total:.3} s: streamed, not buffered"
    );
    let bytes = std::fs::read(&out).expect("curl wrote the audio");
    let _ = std::fs::remove_file(&out);
    assert_eq!(&bytes[0..4], b"RIFF", "a WAV header first");
    assert!(
        bytes.len() > 44 + 24_000 * 2 * 10,
        "over 10 s of audio: {} bytes",
        bytes.len()
    );
}
