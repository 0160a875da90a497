//! How much a windowed reading differs from decoding each sentence in one run — the price of
//! starting to speak early. For each window size given, every sentence of a text file is read
//! with a first window of [`FIRST_WINDOW`] frames and then windows of that size (the engine's
//! real path, with fixed sizes instead of paced ones), and compared with a one-run decode:
//! correlation of the loudness contours (50 ms steps) and the mean dB difference of loud steps,
//! medians over the sentences (a line of several sentences is chunked differently by the two).
//! With `--wav DIR`, both renderings are written as `DIR/<size>/NN.wav` and `DIR/whole/NN.wav`
//! for the Whisper judge (`tests/asr-judge/judge.py REFS DIR/<size>/*.wav`).
//!
//! ```sh
//! cargo run --release -p utter-engine --example seams -- tests/data/intelligibility.txt 24 48 96
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use utter_engine::stream::FIRST_WINDOW;
use utter_engine::{ChunkPolicy, Engine, EngineConfig, SAMPLE_RATE, SynthRequest};

fn rms(c: &[f32]) -> f32 {
    (c.iter().map(|x| x * x).sum::<f32>() / c.len().max(1) as f32).sqrt()
}

/// Loudness per 50 ms, dB.
fn envelope(s: &[f32]) -> Vec<f32> {
    s.chunks(1200)
        .map(|c| 20.0 * (rms(c) + 1e-4).log10())
        .collect()
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
}

fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / n as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f32], m: f32| v.iter().map(|x| (x - m).powi(2)).sum::<f32>();
    cov / (var(a, ma) * var(b, mb)).sqrt()
}

/// From the first to the last sample above -40 dBFS.
fn speech(s: &[f32]) -> &[f32] {
    let loud = |x: &f32| x.abs() > 0.01;
    let first = s.iter().position(loud).unwrap_or(0);
    let last = s.iter().rposition(loud).map_or(first, |i| i + 1);
    &s[first..last]
}

fn read(engine: &Engine, text: &str, voice: &str, policy: ChunkPolicy) -> anyhow::Result<Vec<f32>> {
    let mut request = SynthRequest::new(text);
    request.voice = voice.into();
    request.policy = policy;
    Ok(engine.synthesize(request)?.collect_samples()?)
}

fn write_wav(dir: &Path, name: &str, samples: &[f32]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(dir.join(name), spec)?;
    for s in samples {
        w.write_sample(*s)?;
    }
    Ok(w.finalize()?)
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let wav_dir = match args.iter().position(|a| a == "--wav") {
        Some(i) if i + 1 < args.len() => Some(PathBuf::from(
            args.drain(i..i + 2).nth(1).unwrap_or_default(),
        )),
        _ => None,
    };
    let Some((file, sizes)) = args.split_first() else {
        anyhow::bail!("usage: seams TEXT_FILE SIZE... [--wav DIR]");
    };
    let sizes: Vec<usize> = sizes.iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let paths = utter_assets_paths(&root);
    let mut config = EngineConfig::new(paths.0, paths.1, paths.2);
    config.warm_up = false;
    config.audio_cache_bytes = 0;
    let engine = Engine::start(config)?;
    engine.wait_ready(Duration::from_secs(120))?;
    let text = std::fs::read_to_string(file)?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let wholes: Vec<Vec<f32>> = lines
        .iter()
        .map(|l| read(&engine, l, "af_heart", ChunkPolicy::default()))
        .collect::<anyhow::Result<_>>()?;
    if let Some(dir) = &wav_dir {
        for (i, w) in wholes.iter().enumerate() {
            write_wav(&dir.join("whole"), &format!("{i:02}.wav"), w)?;
        }
    }
    println!(
        "window  r(median)  |dB|(median)   over {} sentences",
        lines.len()
    );
    for size in sizes {
        let policy = ChunkPolicy {
            first_window: Some(FIRST_WINDOW),
            window: Some(size),
            ..ChunkPolicy::streaming()
        };
        let (mut rs, mut dbs) = (Vec::new(), Vec::new());
        for (i, (line, whole)) in lines.iter().zip(&wholes).enumerate() {
            let windowed = read(&engine, line, "af_heart", policy)?;
            if let Some(dir) = &wav_dir {
                write_wav(
                    &dir.join(size.to_string()),
                    &format!("{i:02}.wav"),
                    &windowed,
                )?;
            }
            let (a, b) = (envelope(speech(&windowed)), envelope(speech(whole)));
            // Allow up to 100 ms of difference in where the speech is found to start.
            rs.push(
                (0..=2)
                    .flat_map(|k: usize| {
                        [
                            correlation(&a[k.min(a.len())..], &b),
                            correlation(&a, &b[k.min(b.len())..]),
                        ]
                    })
                    .fold(f32::MIN, f32::max),
            );
            let loud: Vec<f32> = a
                .iter()
                .zip(&b)
                .filter(|(_, y)| **y > -40.0)
                .map(|(x, y)| (x - y).abs())
                .collect();
            dbs.push(loud.iter().sum::<f32>() / loud.len().max(1) as f32);
        }
        println!("{size:>6}  {:>9.3}  {:>12.2}", median(rs), median(dbs));
    }
    Ok(())
}

/// The checkout's model, voices and ONNX Runtime, as `utter setup` puts them.
fn utter_assets_paths(root: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let paths = utter_assets::AssetPaths::at(root);
    (paths.model, paths.voices_dir, paths.ort_library)
}
