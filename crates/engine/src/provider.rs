//! Which execution provider runs the model: the CPU unless the user asks for another, and never
//! a start-up failure because of one.
//!
//! The CPU is the default everywhere. On the int8 Kokoro graph it is the provider that is known
//! to work well: the optimized-graph cache and the statically quantized decoder (QLinearConv, int8
//! kernels) are CPU features, while CoreML has no integer kernels, has been reported to split
//! this graph into about 129 partitions with no speed-up, and has failed outright to compile
//! Kokoro graphs ("Unable to get shape for output"). CoreML is therefore opt-in, and measured:
//!
//! * [`ProviderChoice::CoreMl`] builds the sessions with CoreML (ONNX Runtime runs what CoreML
//!   cannot on the CPU) and checks them with one synthesis;
//! * [`ProviderChoice::Auto`] builds both and times the same inputs on each ([`PROBE_RUNS`]
//!   runs of different lengths after one untimed run), and keeps the faster.
//!
//! If CoreML cannot be registered (ONNX Runtime builds without it, such as Linux's), the session
//! cannot be built with it, or its first synthesis fails, the model is built on the CPU and the
//! reason is logged and kept in the [`ProviderReport`] that `/status`, the Performance panel and
//! `utter bench` show.

use std::path::Path;
use std::time::Instant;

use ort::environment::Environment;
use ort::session::RunOptions;

use crate::EngineError;
use crate::model::{KokoroModel, SessionConfig};

/// The execution provider the user asks for.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum ProviderChoice {
    /// ONNX Runtime's CPU kernels (the default).
    #[default]
    Cpu,
    /// Apple's CoreML (macOS), with the CPU for what it cannot run.
    #[serde(rename = "coreml")]
    CoreMl,
    /// Whichever of CoreML and the CPU synthesizes faster on this machine, as measured at start.
    Auto,
}

impl ProviderChoice {
    /// Every choice, as written on the command line and in the settings.
    pub const ALL: [ProviderChoice; 3] = [Self::Cpu, Self::CoreMl, Self::Auto];

    /// The name used on the command line, in `UTTER_EP` and in the settings file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::CoreMl => "coreml",
            Self::Auto => "auto",
        }
    }
}

impl std::fmt::Display for ProviderChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown execution provider `{s}`: use cpu, coreml or auto"))
    }
}

/// A provider a session is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Provider {
    /// ONNX Runtime's CPU kernels.
    #[serde(rename = "CPU")]
    Cpu,
    /// CoreML, with the CPU for the nodes CoreML cannot run.
    #[serde(rename = "CoreML")]
    CoreMl,
}

impl Provider {
    /// The name ONNX Runtime's documentation uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "CPU",
            Self::CoreMl => "CoreML",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One provider's measured synthesis of the probe input.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProviderTiming {
    /// The provider.
    pub provider: Provider,
    /// Median time of one synthesis of the probe input, ms (`None` if it could not run).
    pub median_ms: Option<f64>,
    /// Timed runs (after one untimed run).
    pub runs: usize,
    /// Why it could not be built or run, if it could not.
    pub error: Option<String>,
}

/// What was asked for, what runs, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProviderReport {
    /// The provider asked for.
    pub requested: ProviderChoice,
    /// The provider the sessions were built with.
    pub running: Provider,
    /// Why the provider asked for is not the one running (`None` when it is, and for `auto`
    /// when the measurement chose).
    pub fallback_reason: Option<String>,
    /// `auto` and `coreml`: each candidate's measured time on the probe input.
    pub timings: Vec<ProviderTiming>,
}

impl Default for ProviderReport {
    fn default() -> Self {
        Self {
            requested: ProviderChoice::Cpu,
            running: Provider::Cpu,
            fallback_reason: None,
            timings: Vec::new(),
        }
    }
}

impl ProviderReport {
    /// One line for people: "CPU", "CoreML", "CPU (CoreML unavailable: …)",
    /// "CoreML (auto: CoreML 120 ms, CPU 300 ms)".
    pub fn summary(&self) -> String {
        let mut line = self.running.name().to_string();
        if let Some(why) = &self.fallback_reason {
            line.push_str(&format!(" ({why})"));
        } else if self.requested == ProviderChoice::Auto {
            let times: Vec<String> = self
                .timings
                .iter()
                .map(|t| match t.median_ms {
                    Some(ms) => format!("{} {ms:.0} ms", t.provider),
                    None => format!("{} failed", t.provider),
                })
                .collect();
            line.push_str(&format!(" (auto: {})", times.join(", ")));
        }
        line
    }
}

/// Timed runs of the probe input per candidate, after one untimed run.
pub const PROBE_RUNS: usize = 3;

/// What the candidates synthesize to be checked and compared: one sentence's tokens and a style.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Unpadded token ids.
    pub tokens: Vec<i64>,
    /// The style row for that many tokens.
    pub style: Vec<f32>,
}

/// Where and how the model is loaded.
pub struct LoadSpec<'a> {
    /// The shared ONNX Runtime environment.
    pub env: &'a Environment,
    /// The model file.
    pub model: &'a Path,
    /// Session options.
    pub session: &'a SessionConfig,
    /// Where CoreML may keep its compiled models.
    pub ep_cache: Option<&'a Path>,
    /// Where the split model is derived to (`None`: run whole).
    pub split_cache: Option<&'a Path>,
}

impl LoadSpec<'_> {
    fn load(&self, provider: Provider) -> Result<KokoroModel, EngineError> {
        KokoroModel::load(
            self.env,
            self.model,
            self.session,
            provider,
            self.ep_cache,
            self.split_cache,
        )
    }
}

/// Loads the model with the provider `choice` asks for, falling back to the CPU (see the module
/// docs). Only a failure on the CPU is an error.
pub fn load(
    spec: &LoadSpec<'_>,
    choice: ProviderChoice,
    probe: &Probe,
) -> Result<(KokoroModel, ProviderReport), EngineError> {
    let mut report = ProviderReport {
        requested: choice,
        ..ProviderReport::default()
    };
    let fallback = |report: &mut ProviderReport, why: String| {
        tracing::warn!("{why}; running on the CPU");
        report.fallback_reason = Some(why);
    };
    match choice {
        ProviderChoice::Cpu => {}
        ProviderChoice::CoreMl => match spec.load(Provider::CoreMl) {
            Ok(mut model) => {
                // The first synthesis is where a CoreML model that compiled but cannot run fails.
                let timing = time(&mut model, Provider::CoreMl, probe, 0);
                let failed = timing.error.clone();
                report.timings.push(timing);
                match failed {
                    None => {
                        report.running = Provider::CoreMl;
                        return Ok((model, report));
                    }
                    Some(e) => fallback(&mut report, format!("CoreML could not synthesize: {e}")),
                }
            }
            Err(e) => fallback(&mut report, format!("CoreML unavailable: {}", cause(&e))),
        },
        ProviderChoice::Auto => match spec.load(Provider::CoreMl) {
            // Nothing to measure: the CPU it is.
            Err(e) => {
                let why = cause(&e);
                report.timings.push(ProviderTiming {
                    provider: Provider::CoreMl,
                    median_ms: None,
                    runs: 0,
                    error: Some(why.clone()),
                });
                fallback(&mut report, format!("CoreML unavailable: {why}"));
            }
            Ok(mut coreml) => {
                let coreml_timing = time(&mut coreml, Provider::CoreMl, probe, PROBE_RUNS);
                let mut cpu = spec.load(Provider::Cpu)?;
                let cpu_timing = time(&mut cpu, Provider::Cpu, probe, PROBE_RUNS);
                let coreml_faster = match (coreml_timing.median_ms, cpu_timing.median_ms) {
                    (Some(c), Some(p)) => c < p,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                let why_not = coreml_timing.error.clone();
                report.timings = vec![cpu_timing, coreml_timing];
                let model = if coreml_faster {
                    drop(cpu);
                    report.running = Provider::CoreMl;
                    coreml
                } else {
                    drop(coreml);
                    if let Some(e) = why_not {
                        fallback(&mut report, format!("CoreML could not synthesize: {e}"));
                    }
                    cpu
                };
                tracing::info!("execution provider: {}", report.summary());
                return Ok((model, report));
            }
        },
    }
    let model = spec.load(Provider::Cpu)?;
    Ok((model, report))
}

/// One untimed synthesis of the probe, then `runs` timed ones (`0`: the one run is timed); the
/// median, or the error. Each
/// timed run is a different length of the probe (real readings never repeat a shape), so a
/// provider that recompiles for a new input shape pays for it here as it would when reading.
fn time(model: &mut KokoroModel, provider: Provider, probe: &Probe, runs: usize) -> ProviderTiming {
    let mut timing = ProviderTiming {
        provider,
        median_ms: None,
        runs: 0,
        error: None,
    };
    let options = match RunOptions::new() {
        Ok(o) => o,
        Err(e) => {
            timing.error = Some(e.to_string());
            return timing;
        }
    };
    let full = probe.tokens.len();
    let mut times = Vec::with_capacity(runs);
    for run in 0..=runs {
        // Eighths of the probe: 8/8 untimed, then 6/8, 4/8, 7/8, 5/8, ...
        let eighths = if run == 0 {
            8
        } else {
            [6, 4, 7, 5][(run - 1) % 4]
        };
        let tokens = &probe.tokens[..(full * eighths / 8).max(1)];
        let started = Instant::now();
        if let Err(e) = model.run(tokens, &probe.style, 1.0, &options) {
            timing.error = Some(chain(&e));
            return timing;
        }
        // With no timed runs asked for, the one run is what there is to report.
        if run > 0 || runs == 0 {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    timing.runs = times.len();
    timing.median_ms = times.get(times.len() / 2).copied();
    timing
}

/// Why a session could not be built with a provider: ONNX Runtime's own words where it gave
/// them (the engine's message for a model that cannot load at all blames the file, which is
/// not the point when the CPU then loads it).
fn cause(e: &EngineError) -> String {
    match e {
        EngineError::Model { source, .. } => {
            source.to_string().trim_end_matches(['.', ' ']).to_string()
        }
        other => chain(other),
    }
}

/// An error with its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_as_written_and_say_what_is_accepted() {
        for choice in ProviderChoice::ALL {
            assert_eq!(choice.as_str().parse::<ProviderChoice>(), Ok(choice));
        }
        assert_eq!(" CoreML ".parse(), Ok(ProviderChoice::CoreMl), "any case");
        let e = "gpu".parse::<ProviderChoice>().expect_err("not a provider");
        assert!(e.contains("cpu, coreml or auto"), "{e}");
        assert_eq!(
            ProviderChoice::default(),
            ProviderChoice::Cpu,
            "CPU unless asked"
        );
        let json = serde_json::to_string(&ProviderChoice::CoreMl).expect("json");
        assert_eq!(
            json, "\"coreml\"",
            "the settings file spells it as the CLI does"
        );
    }

    #[test]
    fn the_summary_says_what_runs_and_why() {
        let mut report = ProviderReport::default();
        assert_eq!(report.summary(), "CPU");
        report.requested = ProviderChoice::CoreMl;
        report.fallback_reason = Some("CoreML unavailable: not in this build".into());
        assert_eq!(
            report.summary(),
            "CPU (CoreML unavailable: not in this build)"
        );
        report.requested = ProviderChoice::Auto;
        report.fallback_reason = None;
        report.running = Provider::CoreMl;
        report.timings = vec![
            ProviderTiming {
                provider: Provider::Cpu,
                median_ms: Some(300.4),
                runs: 3,
                error: None,
            },
            ProviderTiming {
                provider: Provider::CoreMl,
                median_ms: Some(120.0),
                runs: 3,
                error: None,
            },
        ];
        assert_eq!(report.summary(), "CoreML (auto: CPU 300 ms, CoreML 120 ms)");
    }
}
