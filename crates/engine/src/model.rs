//! The ONNX side: loading ONNX Runtime, building the Kokoro session, one inference.
//!
//! ONNX Runtime is loaded at run time from a shared library (`ort`'s `load-dynamic`), never
//! downloaded at build time. ONNX Runtime allows one environment per process, so it is created
//! once and shared by every engine; the library must report the ONNX Runtime version the assets
//! manifest pins ([`runtime_version`]). Which execution provider a session is built with is
//! decided in [`crate::provider`]; how each is set up lives in one function,
//! [`execution_providers`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;
use ort::ep::ExecutionProviderDispatch;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{RunOptions, Session};
use ort::value::Tensor;

use crate::provider::Provider;
use crate::voices::STYLE_DIM;
use crate::{EngineError, split};

/// Model input: phoneme token ids, int64 [1, N+2] (0 padded at both ends).
pub const INPUT_TOKENS: &str = "tokens";
/// Model input: style vector, f32 [1, 256].
pub const INPUT_STYLE: &str = "style";
/// Model input: speed, f32 [1].
pub const INPUT_SPEED: &str = "speed";
/// Kokoro's output sample rate.
pub const SAMPLE_RATE: u32 = 24_000;

/// How the session is built.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SessionConfig {
    /// Intra-op threads (0 = ONNX Runtime's choice: one per core).
    pub intra_threads: usize,
    /// Let ORT's worker threads spin between the operators of a run instead of sleeping:
    /// faster hand-offs (about 8% on a 2-core box); they still sleep between runs.
    pub spinning: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            intra_threads: cores,
            spinning: true,
        }
    }
}

/// The process's ONNX Runtime environment and the version its library reported.
static ENVIRONMENT: Mutex<Option<(Environment, String)>> = Mutex::new(None);
/// The library as opened to ask its version, kept open for the life of the process: ort opens
/// the same file next and shares this load, so the library is loaded (and initialized) once,
/// never unloaded and loaded again.
static RUNTIME: Mutex<Option<libloading::Library>> = Mutex::new(None);

/// The numeric precision of a Kokoro export, as its file name says (the official exports are
/// named for it: `kokoro-v1.0.int8.onnx`, `kokoro-v1.0.fp16.onnx`, `kokoro-v1.0.onnx`).
pub fn precision(model: &Path) -> &'static str {
    let name = model
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("int8") || name.contains("quant") {
        "int8 (dynamically quantized convolutions and matmuls)"
    } else if name.contains("fp16") {
        "fp16"
    } else {
        "float (as exported)"
    }
}

/// Loads ONNX Runtime from `library` (once per process) and returns the shared environment and
/// the library's version. With `expected_version`, the library must report that version (see [`runtime_version`]):
/// a re-signed library in an app bundle differs from the fetched file in size and hash, so
/// what it says it is, once loaded, is what is checked at run time.
pub fn environment(
    library: &Path,
    expected_version: Option<&str>,
) -> Result<(Environment, String), EngineError> {
    let check = |version: &str| match expected_version {
        Some(expected) if version != expected => Err(EngineError::RuntimeVersion {
            path: library.to_path_buf(),
            found: version.to_string(),
            expected: expected.to_string(),
        }),
        _ => Ok(()),
    };
    let mut env = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((env, version)) = env.as_ref() {
        check(version)?;
        return Ok((env.clone(), version.clone()));
    }
    if !library.is_file() {
        return Err(EngineError::MissingFile {
            what: "the ONNX Runtime library".to_string(),
            path: library.to_path_buf(),
        });
    }
    let runtime_err = |source: Box<dyn std::error::Error + Send + Sync>| EngineError::Runtime {
        path: library.to_path_buf(),
        source,
    };
    let (loaded, version) = open_runtime(library).map_err(runtime_err)?;
    *RUNTIME.lock().unwrap_or_else(PoisonError::into_inner) = Some(loaded);
    check(&version)?;
    let built = ort::init_from(library)
        .map_err(|e| runtime_err(Box::new(e)))?
        .with_name("utter")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime_err(Box::new(e)))?;
    tracing::debug!(%version, library = %library.display(), "ONNX Runtime loaded");
    *env = Some((built.clone(), version.clone()));
    Ok((built, version))
}

/// The version the ONNX Runtime library at `library` reports (`OrtGetApiBase()->
/// GetVersionString()`, e.g. "1.32.0"). Loading it runs its initializers, as using it would.
pub fn runtime_version(library: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    open_runtime(library).map(|(_, version)| version)
}

/// Opens the ONNX Runtime library at `library` and asks its version.
fn open_runtime(
    library: &Path,
) -> Result<(libloading::Library, String), Box<dyn std::error::Error + Send + Sync>> {
    /// The head of ONNX Runtime's `OrtApiBase` (onnxruntime_c_api.h): two function pointers.
    #[repr(C)]
    struct OrtApiBase {
        get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
        get_version_string: unsafe extern "C" fn() -> *const std::ffi::c_char,
    }
    #[allow(unsafe_code)]
    // SAFETY: `library` is the ONNX Runtime shared library the engine is about to load anyway
    // (ort loads the same file next); `OrtGetApiBase` takes no arguments and returns a pointer to
    // a static struct whose `GetVersionString` returns a static NUL-terminated string. Both
    // pointers are checked for null before use, and the string is copied while the library is
    // loaded.
    unsafe {
        let lib = libloading::Library::new(library)?;
        let version = {
            let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const OrtApiBase> = lib
                .get(b"OrtGetApiBase\0")
                .map_err(|_| "it does not export OrtGetApiBase: not an ONNX Runtime library")?;
            let base = get_base();
            if base.is_null() {
                return Err("OrtGetApiBase returned nothing".into());
            }
            let version = ((*base).get_version_string)();
            if version.is_null() {
                return Err("GetVersionString returned nothing".into());
            }
            std::ffi::CStr::from_ptr(version).to_str()?.to_string()
        };
        Ok((lib, version))
    }
}

/// The execution providers a session for `provider` is built with. The CPU needs none (ONNX
/// Runtime always has it); CoreML must register or the build fails ([`crate::provider`] then
/// builds on the CPU).
pub fn execution_providers(
    provider: Provider,
    cache_dir: Option<&Path>,
) -> Vec<ExecutionProviderDispatch> {
    match provider {
        Provider::Cpu => Vec::new(),
        Provider::CoreMl => vec![coreml(cache_dir).error_on_failure()],
    }
}

/// CoreML as an ML Program on all compute units (CPU, GPU, Neural Engine), with compiled models
/// cached in `cache_dir` so the second launch skips compilation. Compiled on every platform so
/// it is type-checked here; ONNX Runtime builds without CoreML fail to register it.
pub fn coreml(cache_dir: Option<&Path>) -> ExecutionProviderDispatch {
    use ort::ep::coreml::{ComputeUnits, ModelFormat};
    let mut coreml = ort::ep::CoreML::default()
        .with_model_format(ModelFormat::MLProgram)
        .with_compute_units(ComputeUnits::All);
    if let Some(dir) = cache_dir {
        coreml = coreml.with_model_cache_dir(dir.display());
    }
    coreml.build()
}

/// The frame-level plan of one chunk, from the model's front: what the decoder turns into
/// audio, a window at a time.
#[derive(Debug, Clone)]
pub struct Frames {
    /// Aligned text features, channel-major: `asr[c * frames + t]`, [`split::ASR_DIM`] channels.
    pub asr: Vec<f32>,
    /// F0 curve, two steps per frame.
    pub f0: Vec<f32>,
    /// Energy curve, two steps per frame.
    pub n: Vec<f32>,
    /// Frames (25 ms of audio each).
    pub frames: usize,
}

/// One decoded window.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Audio for the window's frames, [`split::SAMPLES_PER_FRAME`] per frame.
    pub samples: Vec<f32>,
    /// The sine source's phase after each F0 step of the window, [`split::HARMONICS`] per step.
    pub phase: Vec<f32>,
}

enum Sessions {
    /// The model as shipped: tokens in, audio out.
    Whole(Session),
    /// Front and decoder (see [`crate::split`]): the decoder can run window by window.
    Split { front: Session, decoder: Session },
}

/// A loaded Kokoro model. `run`, `front` and `decode` take `&mut self`: one owner thread.
pub struct KokoroModel {
    sessions: Sessions,
    provider: Provider,
    path: PathBuf,
    split_error: Option<String>,
    optimized_graph_reused: bool,
}

impl std::fmt::Debug for KokoroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KokoroModel")
            .field("path", &self.path)
            .field("streams", &self.can_stream())
            .finish_non_exhaustive()
    }
}

/// Builds a session for the model at `path`. With `keep_optimized` on the CPU, ONNX Runtime's
/// optimized graph is kept beside `path` after the first build and
/// loaded as is from then on, so later starts skip the graph optimization (about half of
/// building a session). The kept graph holds kernels chosen for this CPU and ONNX Runtime build,
/// so its name carries a hash of both ([`optimized_path`]); one that fails to load is rebuilt.
/// Also says whether a kept graph was loaded.
fn session(
    env: &Environment,
    path: &Path,
    config: &SessionConfig,
    provider: Provider,
    ep_cache: Option<&Path>,
    keep_optimized: bool,
) -> Result<(Session, bool), ort::Error> {
    let providers = execution_providers(provider, ep_cache);
    if !keep_optimized || provider != Provider::Cpu {
        let level = GraphOptimizationLevel::Level3;
        return Ok((
            build_session(env, path, config, providers, level, None)?,
            false,
        ));
    }
    let optimized = optimized_path(path);
    if optimized.is_file() {
        let level = GraphOptimizationLevel::Disable;
        match build_session(env, &optimized, config, Vec::new(), level, None) {
            Ok(session) => return Ok((session, true)),
            Err(e) => {
                tracing::warn!("rebuilding {}: {e}", optimized.display());
                let _ = std::fs::remove_file(&optimized);
            }
        }
    }
    // Written under a temporary name and renamed once complete: a half-written graph is never
    // loaded.
    let tmp = optimized.with_extension("onnx.tmp");
    let level = GraphOptimizationLevel::Level3;
    let session = build_session(env, path, config, providers, level, Some(&tmp))?;
    if let Err(e) = std::fs::rename(&tmp, &optimized) {
        tracing::debug!(
            "cannot keep the optimized graph {}: {e}",
            optimized.display()
        );
        return Ok((session, false));
    }
    // The session that optimized the graph holds more memory than one loaded from the kept
    // graph (about 50 MB more in `utter serve`, for the life of the process): load the kept one,
    // as every later start does.
    drop(session);
    let level = GraphOptimizationLevel::Disable;
    match build_session(env, &optimized, config, Vec::new(), level, None) {
        Ok(session) => Ok((session, false)),
        Err(e) => {
            tracing::warn!("reloading {}: {e}", optimized.display());
            let level = GraphOptimizationLevel::Level3;
            Ok((
                build_session(env, path, config, Vec::new(), level, None)?,
                false,
            ))
        }
    }
}

/// Where [`session`] keeps the optimized graph of `model`: beside it, named for this CPU's
/// features and the ONNX Runtime build (`front.opt-<hash>.onnx`).
pub fn optimized_path(model: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hash = std::hash::DefaultHasher::new();
    ort::info().hash(&mut hash);
    // The CPU's feature flags (Linux); elsewhere the architecture.
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("flags"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
        .hash(&mut hash);
    let stem = model
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    model.with_file_name(format!("{stem}.opt-{:016x}.onnx", hash.finish()))
}

fn build_session(
    env: &Environment,
    path: &Path,
    config: &SessionConfig,
    providers: Vec<ExecutionProviderDispatch>,
    level: GraphOptimizationLevel,
    save_optimized: Option<&Path>,
) -> Result<Session, ort::Error> {
    let builder_err =
        |e: ort::Error<ort::session::builder::SessionBuilder>| ort::Error::new(e.to_string());
    let mut builder = Session::builder(env)?
        .with_optimization_level(level)
        .map_err(builder_err)?
        .with_intra_threads(config.intra_threads)
        .map_err(builder_err)?
        .with_intra_op_spinning(config.spinning)
        .map_err(builder_err)?
        // Input shapes vary with every chunk: a memory pattern only grows memory there.
        .with_memory_pattern(false)
        .map_err(builder_err)?
        .with_execution_providers(providers)
        .map_err(builder_err)?;
    if let Some(file) = save_optimized {
        builder = builder
            .with_optimized_model_path(file)
            .map_err(builder_err)?;
    }
    builder.commit_from_file(path)
}

impl KokoroModel {
    /// Builds the session(s) for the model at `path`. With `split_cache`, the model is split
    /// into front and decoder (derived once into that folder, see [`crate::split`]) so its audio
    /// can stream window by window; a model that cannot be split runs whole. The sessions run on
    /// `provider` ([`crate::provider`] chooses it and falls back to the CPU).
    pub fn load(
        env: &Environment,
        path: &Path,
        config: &SessionConfig,
        provider: Provider,
        ep_cache: Option<&Path>,
        split_cache: Option<&Path>,
    ) -> Result<Self, EngineError> {
        let meta = std::fs::metadata(path).map_err(|_| EngineError::MissingFile {
            what: "the Kokoro model".to_string(),
            path: path.to_path_buf(),
        })?;
        if meta.len() < 1024 {
            return Err(EngineError::CorruptFile {
                what: "the Kokoro model".to_string(),
                path: path.to_path_buf(),
                why: format!("only {} bytes", meta.len()),
            });
        }
        let model_err = |source: ort::Error| EngineError::Model {
            path: path.to_path_buf(),
            source,
        };
        let mut split_error = None;
        if let Some(dir) = split_cache {
            match split::split_cached(path, dir) {
                Ok(parts) => {
                    let (front, front_kept) =
                        session(env, &parts.front, config, provider, ep_cache, true)
                            .map_err(model_err)?;
                    let (decoder, decoder_kept) =
                        session(env, &parts.decoder, config, provider, ep_cache, true)
                            .map_err(model_err)?;
                    return Ok(Self {
                        sessions: Sessions::Split { front, decoder },
                        provider,
                        path: path.to_path_buf(),
                        split_error: None,
                        optimized_graph_reused: front_kept && decoder_kept,
                    });
                }
                // A corrupt file is reported as such; a model of another shape runs whole.
                Err(split::SplitError::Decode(e)) => {
                    return Err(EngineError::CorruptFile {
                        what: "the Kokoro model".to_string(),
                        path: path.to_path_buf(),
                        why: format!("it is not a readable ONNX model ({e})"),
                    });
                }
                Err(e) => {
                    tracing::warn!("the model runs whole (no streamed decoding): {e}");
                    split_error = Some(e.to_string());
                }
            }
        }
        let (session, _) =
            session(env, path, config, provider, ep_cache, false).map_err(model_err)?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in [INPUT_TOKENS, INPUT_STYLE, INPUT_SPEED] {
            if !names.contains(&needed) {
                return Err(EngineError::CorruptFile {
                    what: "the Kokoro model".to_string(),
                    path: path.to_path_buf(),
                    why: format!("it has no `{needed}` input (inputs: {})", names.join(", ")),
                });
            }
        }
        Ok(Self {
            sessions: Sessions::Whole(session),
            provider,
            path: path.to_path_buf(),
            split_error,
            optimized_graph_reused: false,
        })
    }

    /// The execution provider its sessions run on.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the decoder can run window by window.
    pub fn can_stream(&self) -> bool {
        matches!(self.sessions, Sessions::Split { .. })
    }

    /// True when the sessions were built from the optimized graphs kept by an earlier start.
    pub fn optimized_graph_reused(&self) -> bool {
        self.optimized_graph_reused
    }

    /// Why the model runs whole, if it could not be split.
    pub fn split_error(&self) -> Option<&str> {
        self.split_error.as_deref()
    }

    /// Synthesizes one chunk whole: `tokens` (unpadded, ≤ 510) with `style` at `speed`.
    pub fn run(
        &mut self,
        tokens: &[i64],
        style: &[f32],
        speed: f32,
        options: &RunOptions,
    ) -> Result<Vec<f32>, EngineError> {
        if self.can_stream() {
            let frames = self.front(tokens, style, speed, options)?;
            let all = 0..frames.frames;
            return Ok(self
                .decode(&frames, all, style, &[0.0; split::HARMONICS], options)?
                .samples);
        }
        let Sessions::Whole(session) = &mut self.sessions else {
            return Err(EngineError::Inference(ort::Error::new(
                "no whole-model session",
            )));
        };
        let outputs = session
            .run_with_options(
                ort::inputs![
                    INPUT_TOKENS => token_tensor(tokens)?,
                    INPUT_STYLE => style_tensor(style)?,
                    INPUT_SPEED => speed_tensor(speed)?
                ],
                options,
            )
            .map_err(EngineError::Inference)?;
        let (_, audio) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(EngineError::Inference)?;
        Ok(audio.to_vec())
    }

    /// Runs the front on one chunk: durations, F0 and energy, aligned text features.
    pub fn front(
        &mut self,
        tokens: &[i64],
        style: &[f32],
        speed: f32,
        options: &RunOptions,
    ) -> Result<Frames, EngineError> {
        let Sessions::Split { front, .. } = &mut self.sessions else {
            return Err(EngineError::Inference(ort::Error::new(
                "this model runs whole; it has no separate front",
            )));
        };
        let outputs = front
            .run_with_options(
                ort::inputs![
                    INPUT_TOKENS => token_tensor(tokens)?,
                    INPUT_STYLE => style_tensor(style)?,
                    INPUT_SPEED => speed_tensor(speed)?
                ],
                options,
            )
            .map_err(EngineError::Inference)?;
        let take = |name: &str| -> Result<(Vec<i64>, Vec<f32>), EngineError> {
            let (shape, data) = outputs[name]
                .try_extract_tensor::<f32>()
                .map_err(EngineError::Inference)?;
            Ok((shape.to_vec(), data.to_vec()))
        };
        let (shape, asr) = take(split::ASR)?;
        let (_, f0) = take(split::F0)?;
        let (_, n) = take(split::N)?;
        let frames = shape.last().copied().unwrap_or(0).max(0) as usize;
        if asr.len() != frames * split::ASR_DIM || f0.len() != 2 * frames || n.len() != 2 * frames {
            return Err(EngineError::Inference(ort::Error::new(format!(
                "the front returned inconsistent shapes ({} frames)",
                frames
            ))));
        }
        Ok(Frames { asr, f0, n, frames })
    }

    /// Decodes `frames[range]` with the sine source starting at `phase`.
    pub fn decode(
        &mut self,
        frames: &Frames,
        range: std::ops::Range<usize>,
        style: &[f32],
        phase: &[f32; split::HARMONICS],
        options: &RunOptions,
    ) -> Result<Decoded, EngineError> {
        let Sessions::Split { decoder, .. } = &mut self.sessions else {
            return Err(EngineError::Inference(ort::Error::new(
                "this model runs whole; it has no separate decoder",
            )));
        };
        let (lo, hi) = (range.start, range.end.min(frames.frames));
        let len = hi.saturating_sub(lo);
        let mut asr = Vec::with_capacity(split::ASR_DIM * len);
        for c in 0..split::ASR_DIM {
            let row = c * frames.frames;
            asr.extend_from_slice(&frames.asr[row + lo..row + hi]);
        }
        let inference = EngineError::Inference;
        let outputs = decoder
            .run_with_options(
                ort::inputs![
                    split::ASR => Tensor::from_array(([1usize, split::ASR_DIM, len], asr)).map_err(inference)?,
                    split::F0 => Tensor::from_array(([1usize, 2 * len], frames.f0[2 * lo..2 * hi].to_vec())).map_err(inference)?,
                    split::N => Tensor::from_array(([1usize, 2 * len], frames.n[2 * lo..2 * hi].to_vec())).map_err(inference)?,
                    INPUT_STYLE => style_tensor(style)?,
                    split::PHASE_IN => Tensor::from_array(([1usize, 1, split::HARMONICS], phase.to_vec())).map_err(inference)?
                ],
                options,
            )
            .map_err(inference)?;
        let (_, audio) = outputs["audio"]
            .try_extract_tensor::<f32>()
            .map_err(inference)?;
        let (_, phase) = outputs[split::PHASE_OUT]
            .try_extract_tensor::<f32>()
            .map_err(inference)?;
        Ok(Decoded {
            samples: audio.to_vec(),
            phase: phase.to_vec(),
        })
    }
}

fn token_tensor(tokens: &[i64]) -> Result<Tensor<i64>, EngineError> {
    let mut padded = Vec::with_capacity(tokens.len() + 2);
    padded.push(0);
    padded.extend_from_slice(tokens);
    padded.push(0);
    let n = padded.len();
    Tensor::from_array(([1usize, n], padded)).map_err(EngineError::Inference)
}

fn style_tensor(style: &[f32]) -> Result<Tensor<f32>, EngineError> {
    Tensor::from_array(([1usize, STYLE_DIM], style.to_vec())).map_err(EngineError::Inference)
}

fn speed_tensor(speed: f32) -> Result<Tensor<f32>, EngineError> {
    Tensor::from_array(([1usize], vec![speed])).map_err(EngineError::Inference)
}
