//! The ONNX side: loading ONNX Runtime, building the Kokoro session, one inference.
//!
//! ONNX Runtime is loaded at run time from a shared library (`ort`'s `load-dynamic`), never
//! downloaded at build time. ONNX Runtime allows one environment per process, so it is created
//! once and shared by every engine. The execution-provider choice lives in one function,
//! [`execution_providers`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;
use ort::ep::ExecutionProviderDispatch;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{RunOptions, Session};
use ort::value::Tensor;

use crate::EngineError;
use crate::voices::STYLE_DIM;

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
    /// Let idle ORT threads spin (faster hand-offs, burns CPU while idle).
    pub spinning: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            intra_threads: cores,
            spinning: false,
        }
    }
}

static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

/// Loads ONNX Runtime from `library` (once per process) and returns the shared environment.
pub fn environment(library: &Path) -> Result<Environment, EngineError> {
    let mut env = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(env) = env.as_ref() {
        return Ok(env.clone());
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
    let built = ort::init_from(library)
        .map_err(|e| runtime_err(Box::new(e)))?
        .with_name("utter")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime_err(Box::new(e)))?;
    *env = Some(built.clone());
    Ok(built)
}

/// The execution providers to try, best first; ONNX Runtime falls back to the CPU by itself.
/// On macOS: CoreML (see [`coreml`]); elsewhere the CPU alone.
pub fn execution_providers(cache_dir: Option<&Path>) -> Vec<ExecutionProviderDispatch> {
    if cfg!(target_os = "macos") {
        vec![coreml(cache_dir)]
    } else {
        Vec::new()
    }
}

/// CoreML as an ML Program on all compute units (CPU, GPU, Neural Engine), with compiled models
/// cached in `cache_dir` so the second launch skips compilation. Compiled on every platform so
/// it is type-checked here; ONNX Runtime builds without CoreML report it unavailable at run time.
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

/// A loaded Kokoro model. `run` takes `&mut self`: one owner thread.
pub struct KokoroModel {
    session: Session,
    path: PathBuf,
}

impl std::fmt::Debug for KokoroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KokoroModel")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl KokoroModel {
    /// Builds a session for the model at `path`.
    pub fn load(
        env: &Environment,
        path: &Path,
        config: &SessionConfig,
        ep_cache: Option<&Path>,
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
        let builder_err = |e: ort::Error<ort::session::builder::SessionBuilder>| {
            model_err(ort::Error::new(e.to_string()))
        };
        let session = Session::builder(env)
            .map_err(model_err)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(builder_err)?
            .with_intra_threads(config.intra_threads)
            .map_err(builder_err)?
            .with_intra_op_spinning(config.spinning)
            .map_err(builder_err)?
            // Input shapes vary with every chunk: a memory pattern only grows memory there.
            .with_memory_pattern(false)
            .map_err(builder_err)?
            .with_execution_providers(execution_providers(ep_cache))
            .map_err(builder_err)?
            .commit_from_file(path)
            .map_err(model_err)?;
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
            session,
            path: path.to_path_buf(),
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Synthesizes one chunk: `tokens` (unpadded, ≤ 510) with `style` at `speed`.
    pub fn run(
        &mut self,
        tokens: &[i64],
        style: &[f32],
        speed: f32,
        options: &RunOptions,
    ) -> Result<Vec<f32>, EngineError> {
        let mut padded = Vec::with_capacity(tokens.len() + 2);
        padded.push(0);
        padded.extend_from_slice(tokens);
        padded.push(0);
        let n = padded.len();
        let tokens = Tensor::from_array(([1usize, n], padded)).map_err(EngineError::Inference)?;
        let style = Tensor::from_array(([1usize, STYLE_DIM], style.to_vec()))
            .map_err(EngineError::Inference)?;
        let speed = Tensor::from_array(([1usize], vec![speed])).map_err(EngineError::Inference)?;
        let outputs = self
            .session
            .run_with_options(
                ort::inputs![INPUT_TOKENS => tokens, INPUT_STYLE => style, INPUT_SPEED => speed],
                options,
            )
            .map_err(EngineError::Inference)?;
        let (_, audio) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(EngineError::Inference)?;
        Ok(audio.to_vec())
    }
}
