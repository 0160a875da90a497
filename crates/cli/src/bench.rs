//! `utter bench`: how soon Utter starts talking and what it costs, measured with a warm engine
//! as the app runs it, next to the targets and next to the Python kokoro-onnx library measured
//! in the same run (same model, voices and thread count).
//!
//! For each text — a short phrase, a sentence, a 330-character paragraph, a 2,000-word article —
//! it measures request → first PCM chunk and request → first non-silent sample handed to the
//! device (medians of `--runs`, every run from empty caches), the same on a cache hit, the
//! real-time factor, underruns and peak RSS. The article's time to first audio is measured on
//! runs stopped once it speaks; one full reading of it (unless `--quick`) gives its real-time
//! factor, underruns and peak and steady memory. Also: launch → ready (the median of `--runs`
//! fresh processes), and idle CPU.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;
use utter_audio::UtteranceStats;
use utter_core::Core;
use utter_core::mem;

/// The texts, shortest first.
pub const PHRASE: &str = "Hello there.";
/// A sentence (44 characters).
pub const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";
/// A paragraph (334 characters).
pub const PARAGRAPH: &str = "Reading by ear has quietly become a habit of people who work with \
    long documents. Instead of staring at a screen for another hour, they select a report, press \
    a key, and listen while their eyes rest. The voice has to start at once, flow without gaps, \
    and stop the instant they ask; otherwise they give up and go back to their screens.";

/// One text measured several times.
#[derive(Debug, Default, Serialize)]
pub struct CaseResult {
    /// Case name.
    pub case: String,
    /// Characters in the text.
    pub chars: usize,
    /// Runs measured (cold caches).
    pub runs: usize,
    /// Median request → first PCM chunk, ms.
    pub first_chunk_ms: Option<f64>,
    /// Median request → first non-silent sample at the device, ms.
    pub first_audio_ms: Option<f64>,
    /// Every run's first audio, ms.
    pub first_audio_runs_ms: Vec<f64>,
    /// Median first audio when the text is repeated (audio cache hit), ms.
    pub cache_hit_first_audio_ms: Option<f64>,
    /// Median first PCM chunk on a cache hit, ms.
    pub cache_hit_first_chunk_ms: Option<f64>,
    /// Median real-time factor (runs read to the end).
    pub real_time_factor: Option<f64>,
    /// Underruns over all runs.
    pub underruns: u64,
    /// Underrun silence over all runs, ms.
    pub gap_ms: f64,
    /// Highest peak RSS of a run, MiB.
    pub peak_rss_mb: Option<f64>,
}

/// The article read once to the end.
#[derive(Debug, Default, Serialize)]
pub struct FullReading {
    /// Seconds of audio.
    pub audio_secs: f64,
    /// Wall time, seconds.
    pub wall_secs: f64,
    /// Synthesis time over audio time.
    pub real_time_factor: Option<f64>,
    /// Underruns.
    pub underruns: u64,
    /// Underrun silence, ms.
    pub gap_ms: f64,
    /// Chunks played.
    pub chunks: usize,
    /// Peak RSS during the reading, MiB.
    pub peak_rss_mb: Option<f64>,
    /// RSS two seconds after it ended, MiB.
    pub steady_rss_mb: Option<f64>,
}

/// The whole report.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// Process start → engine ready (model loaded and warmed), ms: the median of
    /// `launch_to_ready_runs_ms`.
    pub launch_to_ready_ms: f64,
    /// Each launch → ready, ms, in the order measured: fresh `utter` processes started by the
    /// benchmark, each timed from its spawn to its "ready" line.
    pub launch_to_ready_runs_ms: Vec<f64>,
    /// Model load (both sessions), ms.
    pub load_ms: Option<u64>,
    /// The sessions came from optimized graphs kept by an earlier start (see `utter_engine::model`).
    pub optimized_graph_reused: bool,
    /// Warm-up, ms.
    pub warm_up_ms: Option<u64>,
    /// Windowed decoding in use.
    pub windowed_decoding: bool,
    /// The execution provider asked for and the one that ran, why they differ, and (`--ep auto`)
    /// the timings that chose.
    pub execution_provider: utter_engine::ProviderReport,
    /// The cases.
    pub cases: Vec<CaseResult>,
    /// The article read to the end (absent with `--quick`).
    pub article_full: Option<FullReading>,
    /// CPU used while idle (speech ended, engine resident), percent of one core.
    pub idle_cpu_percent: Option<f64>,
    /// RSS while idle, MiB.
    pub idle_rss_mb: Option<f64>,
    /// The Python kokoro-onnx library, same texts, model, voices and threads.
    pub peer: Option<serde_json::Value>,
    /// Each target and whether it was met.
    pub targets: Vec<TargetCheck>,
}

/// The machine.
#[derive(Debug, Default, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// ONNX Runtime intra-op threads.
    pub threads: usize,
    /// OS.
    pub os: String,
}

impl Machine {
    /// This machine.
    pub fn here(threads: usize) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            threads,
            os: std::env::consts::OS.to_string(),
        }
    }
}

/// One figure against its target.
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    /// What.
    pub name: String,
    /// Measured (None: not measured in this run).
    pub value: Option<f64>,
    /// Target (at most).
    pub target: f64,
    /// Unit.
    pub unit: &'static str,
    /// Met, missed, or not measured.
    pub met: Option<bool>,
}

/// Launch → ready of `runs` fresh `utter` processes, one after another, ms: each is timed from
/// its spawn to the "ready" line it prints once its engine is warm (`bench --launch-only`),
/// with the same model and mode as this one.
pub fn launches(
    runs: usize,
    model: &Path,
    whole_model: bool,
    provider: utter_engine::ProviderChoice,
    device: Option<&str>,
) -> anyhow::Result<Vec<f64>> {
    use std::io::BufRead;
    let exe = std::env::current_exe()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "bench",
            "--launch-only",
            "--ep",
            provider.as_str(),
            "--model",
        ])
        .arg(model)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        if whole_model {
            cmd.arg("--whole-model");
        }
        if let Some(device) = device {
            cmd.args(["--device", device]);
        }
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let status = child.wait()?;
        if line.trim() != "ready" || !status.success() {
            anyhow::bail!("a launched `utter` did not get ready ({status}); try `utter say hello`");
        }
        times.push(ms);
    }
    Ok(times)
}

/// How to run the Python peer.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its python (a venv with kokoro-onnx).
    pub python: std::path::PathBuf,
    /// `bench/peer.py`.
    pub script: std::path::PathBuf,
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Speaks `text` and waits for the end (or, with `stop_after`, stops that long after the first
/// sound); the utterance's stats.
fn speak_once(
    core: &Core,
    text: &str,
    stop_after: Option<Duration>,
) -> anyhow::Result<UtteranceStats> {
    let requested = Instant::now();
    core.speak(text)?;
    if let Some(after) = stop_after {
        let deadline = requested + Duration::from_secs(30);
        while !core.player().sounded_since(requested) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(after);
        core.stop();
    }
    while !core.wait_idle(Duration::from_millis(200)) {}
    core.stats()
        .last
        .ok_or_else(|| anyhow::anyhow!("no statistics recorded for {text:?}"))
}

/// Measures one text.
pub fn measure(
    core: &Core,
    case: &str,
    text: &str,
    runs: usize,
    to_end: bool,
) -> anyhow::Result<CaseResult> {
    let stop_after = (!to_end).then_some(Duration::from_millis(500));
    let mut cold = Vec::new();
    let mut peak: Option<f64> = None;
    for _ in 0..runs {
        core.engine().clear_caches();
        mem::reset_peak();
        cold.push(speak_once(core, text, stop_after)?);
        if let Some(mb) = mem::memory().peak_rss_mb() {
            peak = Some(peak.map_or(mb, |p| p.max(mb)));
        }
    }
    // The last cold run filled the audio cache with the first chunk(s) (a stopped run may not
    // have finished its first chunk: one more run that lasts long enough does): these hit it.
    if !to_end {
        speak_once(core, text, Some(Duration::from_secs(10)))?;
    }
    let mut hits = Vec::new();
    for _ in 0..runs {
        hits.push(speak_once(core, text, Some(Duration::from_millis(300)))?);
    }
    let pick = |all: &[UtteranceStats], f: fn(&UtteranceStats) -> Option<f64>| {
        median(all.iter().filter_map(f).collect())
    };
    Ok(CaseResult {
        case: case.to_string(),
        chars: text.chars().count(),
        runs: cold.len(),
        first_chunk_ms: pick(&cold, |s| s.first_chunk_ms),
        first_audio_ms: pick(&cold, |s| s.first_audio_ms),
        first_audio_runs_ms: cold.iter().filter_map(|s| s.first_audio_ms).collect(),
        cache_hit_first_audio_ms: pick(&hits, |s| s.first_audio_ms),
        cache_hit_first_chunk_ms: pick(&hits, |s| s.first_chunk_ms),
        real_time_factor: if to_end {
            pick(&cold, |s| s.real_time_factor)
        } else {
            None
        },
        underruns: cold.iter().map(|s| s.underruns).sum(),
        gap_ms: cold.iter().map(|s| s.gap_ms).sum(),
        peak_rss_mb: peak,
    })
}

/// Reads `text` once to the end.
pub fn read_through(core: &Core, text: &str) -> anyhow::Result<FullReading> {
    core.engine().clear_caches();
    mem::reset_peak();
    let started = Instant::now();
    let stats = speak_once(core, text, None)?;
    let wall_secs = started.elapsed().as_secs_f64();
    let peak_rss_mb = mem::memory().peak_rss_mb();
    std::thread::sleep(Duration::from_secs(2));
    Ok(FullReading {
        audio_secs: stats.audio_secs,
        wall_secs,
        real_time_factor: stats.real_time_factor,
        underruns: stats.underruns,
        gap_ms: stats.gap_ms,
        chunks: stats.chunks,
        peak_rss_mb,
        steady_rss_mb: mem::memory().rss_mb(),
    })
}

/// CPU use over `secs` of idleness, percent of one core.
pub fn idle_cpu(secs: f64) -> Option<f64> {
    let before = mem::cpu_secs()?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    Some((mem::cpu_secs()? - before) / secs * 100.0)
}

/// Runs the Python peer over the same texts; its JSON report.
pub fn run_peer(
    peer: &Peer,
    model: &Path,
    voices: &Path,
    threads: usize,
    runs: usize,
    texts: &[(&str, &str)],
) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let texts_file = dir.path().join("texts.json");
    let texts: serde_json::Map<String, serde_json::Value> = texts
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                serde_json::Value::String((*v).to_string()),
            )
        })
        .collect();
    std::fs::write(&texts_file, serde_json::to_vec(&texts)?)?;
    let out = Command::new(&peer.python)
        .arg(&peer.script)
        .arg("--model")
        .arg(model)
        .arg("--voices-dir")
        .arg(voices)
        .args([
            "--threads",
            &threads.to_string(),
            "--runs",
            &runs.to_string(),
        ])
        .arg("--texts")
        .arg(&texts_file)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "the Python peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Fills `report.targets` from the measurements.
pub fn check_targets(report: &mut Report) {
    let case = |name: &str| report.cases.iter().find(|c| c.case == name);
    let first_audio = |name: &str| case(name).and_then(|c| c.first_audio_ms);
    let rtf = report
        .article_full
        .as_ref()
        .and_then(|a| a.real_time_factor)
        .or_else(|| case("paragraph").and_then(|c| c.real_time_factor));
    let hit = median(
        report
            .cases
            .iter()
            .filter_map(|c| c.cache_hit_first_audio_ms)
            .collect(),
    );
    let underruns = report.cases.iter().map(|c| c.underruns).sum::<u64>()
        + report.article_full.as_ref().map_or(0, |a| a.underruns);
    let mut check = |name: &str, value: Option<f64>, target: f64, unit: &'static str| {
        report.targets.push(TargetCheck {
            name: name.to_string(),
            value,
            target,
            unit,
            met: value.map(|v| v <= target),
        });
    };
    check(
        "time to first audio, sentence",
        first_audio("sentence"),
        150.0,
        "ms",
    );
    check(
        "time to first audio, article",
        first_audio("article"),
        200.0,
        "ms",
    );
    check("time to first audio, cache hit", hit, 10.0, "ms");
    check("real-time factor", rtf, 0.18, "");
    let peak = report.article_full.as_ref().and_then(|a| a.peak_rss_mb);
    check("peak RSS reading the article", peak, 300.0, "MB");
    check("underruns", Some(underruns as f64), 0.0, "");
    let ready = Some(report.launch_to_ready_ms);
    check("launch to ready", ready, 1000.0, "ms");
}

/// The readable table.
pub fn table(report: &Report) -> String {
    let f = |v: Option<f64>, d: usize| v.map_or("-".into(), |x| format!("{x:.d$}"));
    let mut out = format!(
        "Utter bench on {} ({} cores, {} threads); windowed decoding: {}\n",
        report.machine.cpu, report.machine.cores, report.machine.threads, report.windowed_decoding
    );
    out += &format!(
        "execution provider: {} (asked: {})\n",
        report.execution_provider.summary(),
        report.execution_provider.requested
    );
    for t in &report.execution_provider.timings {
        out += &format!(
            "  {:<7} {} over {} runs{}\n",
            t.provider.name(),
            t.median_ms
                .map_or("did not run".into(), |ms| format!("{ms:.0} ms median")),
            t.runs,
            t.error
                .as_deref()
                .map_or(String::new(), |e| format!(" ({e})")),
        );
    }
    out += "\n";
    out += &format!(
        "{:<10} {:>6} {:>4} {:>12} {:>12} {:>10} {:>6} {:>9} {:>8}\n",
        "case",
        "chars",
        "runs",
        "1st chunk",
        "1st audio",
        "cache hit",
        "RTF",
        "underruns",
        "peak MB"
    );
    for c in &report.cases {
        out += &format!(
            "{:<10} {:>6} {:>4} {:>9} ms {:>9} ms {:>7} ms {:>6} {:>9} {:>8}\n",
            c.case,
            c.chars,
            c.runs,
            f(c.first_chunk_ms, 0),
            f(c.first_audio_ms, 0),
            f(c.cache_hit_first_audio_ms, 1),
            f(c.real_time_factor, 2),
            c.underruns,
            f(c.peak_rss_mb, 0),
        );
    }
    if let Some(a) = &report.article_full {
        out += &format!(
            "\narticle read to the end: {:.0} s of audio in {:.0} s, RTF {}, {} underruns ({:.0} ms), \
             peak RSS {} MB, steady {} MB\n",
            a.audio_secs,
            a.wall_secs,
            f(a.real_time_factor, 2),
            a.underruns,
            a.gap_ms,
            f(a.peak_rss_mb, 0),
            f(a.steady_rss_mb, 0)
        );
    }
    let launches = &report.launch_to_ready_runs_ms;
    let range = |pick: fn(f64, f64) -> f64| launches.iter().copied().reduce(pick);
    out += &format!(
        "launch → ready {:.0} ms (median of {} fresh processes, {}–{} ms; this one: load {} ms{}, \
         warm-up {} ms); idle CPU {}% of a core, idle RSS {} MB\n",
        report.launch_to_ready_ms,
        launches.len(),
        f(range(f64::min), 0),
        f(range(f64::max), 0),
        report.load_ms.map_or("-".into(), |v| v.to_string()),
        if report.optimized_graph_reused {
            ", optimized graphs reused"
        } else {
            ", graphs optimized at load"
        },
        report.warm_up_ms.map_or("-".into(), |v| v.to_string()),
        f(report.idle_cpu_percent, 2),
        f(report.idle_rss_mb, 0),
    );
    if let Some(peer) = &report.peer {
        out += "\nPython kokoro-onnx (create_stream), same run:\n";
        out += &format!(
            "{:<10} {:>12} {:>6} {:>10}\n",
            "case", "1st chunk", "RTF", "Utter ×"
        );
        for c in &report.cases {
            let p = &peer["cases"][&c.case];
            let first = p["first_chunk_ms"].as_f64();
            let ratio = first.zip(c.first_chunk_ms).map(|(p, u)| p / u);
            out += &format!(
                "{:<10} {:>9} ms {:>6} {:>10}\n",
                c.case,
                f(first, 0),
                f(p["real_time_factor"].as_f64(), 2),
                ratio.map_or("-".into(), |r| format!("{r:.1}× sooner")),
            );
        }
        if let Some(mb) = peer["peak_rss_mb"].as_f64() {
            out += &format!("peer peak RSS {mb:.0} MB\n");
        }
    }
    out += "\ntargets:\n";
    for t in &report.targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        out += &format!(
            "  {:<34} {:>10} (target ≤ {}{}) {}\n",
            t.name,
            t.value.map_or("-".into(), |v| format!("{v:.2}{}", t.unit)),
            t.target,
            t.unit,
            verdict
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paragraph_is_the_length_the_issue_names() {
        assert!((320..=340).contains(&PARAGRAPH.chars().count()));
    }

    /// Read to the end with a warm audio cache, an article that repeats itself would be
    /// measured mostly from memory (it once gave an RTF of 0.05): every sentence must be new.
    #[test]
    fn the_article_has_2000_words_and_no_sentence_twice() {
        let article = include_str!("../../../tests/data/article-2000.txt");
        assert!(article.split_whitespace().count() >= 2000);
        let mut seen = std::collections::HashSet::new();
        for sentence in article
            .split(['.', '!', '?', '\n'])
            .map(str::trim)
            .filter(|s| s.split_whitespace().count() > 3)
        {
            assert!(seen.insert(sentence), "said twice: {sentence:?}");
        }
    }

    #[test]
    fn a_missing_figure_is_not_a_met_target() {
        let mut r = Report::default();
        check_targets(&mut r);
        let ttfa = &r.targets[0];
        assert_eq!((ttfa.value, ttfa.met), (None, None));
        let underruns = r
            .targets
            .iter()
            .find(|t| t.name == "underruns")
            .expect("row");
        assert_eq!(underruns.met, Some(true));
    }
}
