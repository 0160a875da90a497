//! `utter serve` as a user runs it, under load: 8 concurrent clients for 60 s on loopback with
//! `hey` (a standard HTTP load generator, installed by `scripts/prereqs.sh --test`). Not one
//! request may fail, and the server must be healthy afterwards. The audio cache is off, so every
//! request is really synthesized. Its own test target: the load takes both cores for a minute
//! and must not run beside the timing-sensitive playback tests.

#[allow(dead_code)] // each test target uses some of the helpers
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{get, serve};

/// Resident and peak memory of `pid`, MiB, from /proc.
fn rss_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kb("VmRSS:")? / 1024.0, kb("VmHWM:")? / 1024.0))
}

#[test]
fn eight_clients_for_a_minute_and_not_one_request_fails() {
    assert!(
        Command::new("hey").arg("-h").output().is_ok(),
        "hey is not installed: run scripts/prereqs.sh --test (or apt install hey)"
    );
    let served = serve(&["--audio-cache-mb", "0"]);
    let addr = served.addr;
    support::wait_ready(addr);
    let body = serde_json::json!({
        "model": "tts-1",
        "input": "Hello there, this is a short request.",
        "voice": "alloy",
    });
    let pid = served.child.id();
    let sampler = std::thread::spawn(move || {
        let mut peak_rss: f64 = 0.0;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(61) {
            if let Some((rss, _)) = rss_mb(pid) {
                peak_rss = peak_rss.max(rss);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        peak_rss
    });
    let out = Command::new("hey")
        .args([
            "-z",
            "60s",
            "-c",
            "8",
            // Eight whole responses share one session, so each waits for about eight
            // syntheses (11 s median on this 2-core box); hey's default 20 s timeout would
            // count the slowest as failures.
            "-t",
            "120",
            "-m",
            "POST",
            "-T",
            "application/json",
        ])
        .args(["-d", &body.to_string()])
        .arg(format!("http://{addr}/v1/audio/speech"))
        .output()
        .expect("hey runs");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "hey: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let codes: Vec<&str> = report
        .lines()
        .skip_while(|l| !l.contains("Status code distribution"))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('['))
        .collect();
    assert!(!codes.is_empty(), "hey reported status codes:\n{report}");
    assert!(
        codes.iter().all(|l| l.trim_start().starts_with("[200]")),
        "every response was 200: {codes:?}"
    );
    assert!(
        !report.contains("Error distribution"),
        "no transport errors:\n{report}"
    );
    let peak_rss = sampler.join().expect("sampler");
    let (status, perf) = get(addr, "/performance-stats");
    assert_eq!(status, 200, "the server answers after the load: {perf}");
    let perf: serde_json::Value = serde_json::from_str(&perf).expect("JSON");
    println!(
        "server under load: RSS peak {peak_rss:.0} MiB (sampled every 0.5 s); time to first \
         byte {}; in flight now {}",
        perf["requests"]["time_to_first_byte_ms"], perf["requests"]["in_flight"]
    );
    assert_eq!(
        perf["requests"]["in_flight"], 0,
        "every request ended: {perf}"
    );
    assert_eq!(get(addr, "/health").0, 200, "healthy after the load");
}
