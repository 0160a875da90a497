//! Splitting Kokoro's graph so its decoder can run in windows.
//!
//! A Kokoro run is two parts: a cheap *front* (text encoder, durations, F0 and energy curves:
//! ~5% of the time) and the *decoder*, whose cost grows with the audio it produces (~95%). Run
//! whole, the first sample waits for the whole chunk's audio. Split, the front runs on the whole
//! chunk (so prosody is planned over the sentence) and the decoder runs on a short first window
//! of frames, then on longer ones, while the first plays.
//!
//! The cut is clean: only the aligned text features ([`ASR`]), the F0 curve ([`F0`]), the energy
//! curve ([`N`]) and the style vector flow from the front into the decoder. One change is made
//! to the decoder: its harmonic source integrates F0 into a phase (a cumulative sum that starts
//! at zero), so the decoder takes the phase reached before its window ([`PHASE_IN`]) and returns
//! the phase along it ([`PHASE_OUT`]), and the voice's pitch stays continuous across windows.
//!
//! The two graphs are derived from whatever Kokoro export is in use (the int8 model, or a
//! user's float model) and cached on disk, keyed by the model file's size and modification
//! time; deriving takes about a second, loading the cached pair costs nothing extra.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::type_proto::{self, Tensor};
use onnx_protobuf::{
    GraphProto, Message, ModelProto, NodeProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// Front output / decoder input: text features aligned to frames, f32 [1, 512, frames].
pub const ASR: &str = "/encoder/MatMul_1_output_0";
/// Front output / decoder input: F0 curve, f32 [1, 2·frames].
pub const F0: &str = "/encoder/Reshape_output_0";
/// Front output / decoder input: energy curve, f32 [1, 2·frames].
pub const N: &str = "/encoder/Reshape_1_output_0";
/// Decoder input: the harmonic source's phase before the window, f32 [1, 1, HARMONICS].
pub const PHASE_IN: &str = "utter_phase_in";
/// Decoder output: the harmonic source's phase at each F0 step of the window,
/// f32 [1, 2·frames, HARMONICS].
pub const PHASE_OUT: &str = "utter_phase";
/// Channels of the aligned text features.
pub const ASR_DIM: usize = 512;
/// Harmonics of the sine source (the fundamental and 8 overtones).
pub const HARMONICS: usize = 9;
/// Samples of audio per frame (24 kHz; a frame is 25 ms at any speed).
pub const SAMPLES_PER_FRAME: usize = 600;

/// The version of the derivation, part of the derived folder's name: a change to what is
/// derived (v2: the statically quantized convolutions of [`crate::quant`]) derives afresh.
const DERIVATION: &str = "v2";
const STYLE: &str = "style";
const AUDIO: &str = "audio";
/// Part of the name of the cumulative sum that integrates F0 into the source's phase.
const SINE_PHASE: &str = "l_sin_gen/CumSum";

/// Why a model could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The model file could not be read, or the derived files written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not an ONNX model protobuf.
    #[error("not an ONNX model: {0}")]
    Decode(#[from] protobuf::Error),
    /// An ONNX model, but not a Kokoro export this split understands.
    #[error("not a Kokoro v1.0 export this split understands: {0}")]
    Unsupported(String),
}

/// The derived pair of model files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitModels {
    /// tokens, style, speed → [`ASR`], [`F0`], [`N`].
    pub front: PathBuf,
    /// [`ASR`], [`F0`], [`N`], style, [`PHASE_IN`] → audio, [`PHASE_OUT`].
    pub decoder: PathBuf,
}

/// The split of `model`, derived into `cache_dir` unless a derivation of this very file (same
/// name, size and modification time) is already there.
pub fn split_cached(model: &Path, cache_dir: &Path) -> Result<SplitModels, SplitError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SplitError::Io { path, source }
    };
    let meta = std::fs::metadata(model).map_err(io(model))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let stem = model
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let dir = cache_dir.join(format!("{stem}-{}-{mtime}-{DERIVATION}", meta.len()));
    let models = SplitModels {
        front: dir.join("front.onnx"),
        decoder: dir.join("decoder.onnx"),
    };
    if models.front.is_file() && models.decoder.is_file() {
        return Ok(models);
    }
    let bytes = std::fs::read(model).map_err(io(model))?;
    let (front, mut decoder) = split(&bytes)?;
    if let Some(graph) = decoder.graph.as_ref() {
        match crate::quant::quantize(&bytes, graph) {
            Ok(Some((graph, convs))) => {
                tracing::info!(convs, "decoder: busiest convolutions quantized statically");
                decoder.graph = Some(graph).into();
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}; the decoder keeps quantizing as it runs"),
        }
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    remove_stale(cache_dir, &stem, &dir);
    // Written under temporary names, then renamed: a half-written file is never used.
    for (path, model) in [(&models.front, front), (&models.decoder, decoder)] {
        let tmp = path.with_extension("onnx.tmp");
        let data = model.write_to_bytes()?;
        std::fs::write(&tmp, data).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
    }
    Ok(models)
}

/// Derivations of the same model made by earlier versions of this code (another `DERIVATION`,
/// or an older copy of the file) are never read again: 180 MB each.
fn remove_stale(cache_dir: &Path, stem: &str, current: &Path) {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path != current
            && path.is_dir()
            && is_derivation_of(&entry.file_name().to_string_lossy(), stem)
        {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Whether a folder named `name` is a derivation of a model named `stem`: `{stem}-{size}-{mtime}`
/// with any `-v{N}` after. Not one of a model whose name merely starts with `stem` (`kokoro`
/// against `kokoro-v1.0.int8`), which is another model's derivation, still in use.
fn is_derivation_of(name: &str, stem: &str) -> bool {
    let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let mut parts = rest.split('-');
    let (size, mtime, version) = (parts.next(), parts.next(), parts.next());
    size.is_some_and(digits)
        && mtime.is_some_and(digits)
        && version.is_none_or(|v| v.strip_prefix('v').is_some_and(digits))
        && parts.next().is_none()
}

/// Splits a serialized Kokoro model into (front, decoder).
pub fn split(model_bytes: &[u8]) -> Result<(ModelProto, ModelProto), SplitError> {
    let model = ModelProto::parse_from_bytes(model_bytes)?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| SplitError::Unsupported("the model has no graph".into()))?;
    let input = |name: &str| {
        graph
            .input
            .iter()
            .find(|i| i.name == name)
            .cloned()
            .ok_or_else(|| SplitError::Unsupported(format!("it has no `{name}` input")))
    };
    let audio = graph
        .output
        .iter()
        .find(|o| o.name == AUDIO)
        .cloned()
        .ok_or_else(|| SplitError::Unsupported(format!("it has no `{AUDIO}` output")))?;
    let features = [
        float_info(
            ASR,
            &[
                Dim::Fixed(1),
                Dim::Fixed(ASR_DIM as i64),
                Dim::Named("frames"),
            ],
        ),
        float_info(F0, &[Dim::Fixed(1), Dim::Named("f0_steps")]),
        float_info(N, &[Dim::Fixed(1), Dim::Named("f0_steps")]),
    ];
    let front_inputs = [input("tokens")?, input(STYLE)?, input("speed")?];
    let front = extract(graph, &front_inputs, &features)?;

    let mut with_phase = graph.clone();
    add_phase_offset(&mut with_phase)?;
    let mut decoder_inputs = features.to_vec();
    decoder_inputs.push(input(STYLE)?);
    decoder_inputs.push(float_info(
        PHASE_IN,
        &[Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(HARMONICS as i64)],
    ));
    let decoder_outputs = [
        audio,
        float_info(
            PHASE_OUT,
            &[
                Dim::Fixed(1),
                Dim::Named("f0_steps"),
                Dim::Fixed(HARMONICS as i64),
            ],
        ),
    ];
    let decoder = extract(&with_phase, &decoder_inputs, &decoder_outputs)?;
    let wrap = |graph: GraphProto| {
        let mut m = model.clone();
        m.graph = Some(graph).into();
        m
    };
    Ok((wrap(front), wrap(decoder)))
}

/// Makes the sine source's phase continuable: `phase = cumsum(...) + PHASE_IN`, with every
/// reader of the cumulative sum reading `phase` instead, which is also a graph output.
fn add_phase_offset(graph: &mut GraphProto) -> Result<(), SplitError> {
    let at = graph
        .node
        .iter()
        .position(|n| n.op_type == "CumSum" && n.name.contains(SINE_PHASE))
        .ok_or_else(|| SplitError::Unsupported("no sine-source phase (CumSum) found".into()))?;
    let summed = graph.node[at]
        .output
        .first()
        .cloned()
        .ok_or_else(|| SplitError::Unsupported("the phase CumSum has no output".into()))?;
    for node in &mut graph.node {
        for input in &mut node.input {
            if *input == summed {
                *input = PHASE_OUT.to_string();
            }
        }
    }
    let add = NodeProto {
        name: "utter/phase_offset".into(),
        op_type: "Add".into(),
        input: vec![summed, PHASE_IN.into()],
        output: vec![PHASE_OUT.into()],
        ..NodeProto::default()
    };
    graph.node.insert(at + 1, add);
    Ok(())
}

/// The part of `graph` that computes `outputs` from `inputs` (the nodes kept in their original,
/// topological order; only the initializers they read).
pub(crate) fn extract(
    graph: &GraphProto,
    inputs: &[ValueInfoProto],
    outputs: &[ValueInfoProto],
) -> Result<GraphProto, SplitError> {
    let given: HashSet<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let producer: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut keep = vec![false; graph.node.len()];
    let mut used_initializers = HashSet::new();
    let mut stack: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    let mut seen = HashSet::new();
    while let Some(tensor) = stack.pop() {
        if tensor.is_empty() || given.contains(tensor) || !seen.insert(tensor) {
            continue;
        }
        if initializers.contains(tensor) {
            used_initializers.insert(tensor);
            continue;
        }
        let &node = producer
            .get(tensor)
            .ok_or_else(|| SplitError::Unsupported(format!("`{tensor}` is computed by no node")))?;
        if !keep[node] {
            keep[node] = true;
            stack.extend(graph.node[node].input.iter().map(String::as_str));
        }
    }
    for input in inputs {
        let read = graph
            .node
            .iter()
            .zip(&keep)
            .any(|(n, &k)| k && n.input.contains(&input.name));
        if !read {
            return Err(SplitError::Unsupported(format!(
                "`{}` is not read where expected",
                input.name
            )));
        }
    }
    Ok(GraphProto {
        name: graph.name.clone(),
        node: graph
            .node
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(n, _)| n.clone())
            .collect(),
        initializer: graph
            .initializer
            .iter()
            .filter(|t| used_initializers.contains(t.name.as_str()))
            .cloned()
            .collect(),
        input: inputs.to_vec(),
        output: outputs.to_vec(),
        ..GraphProto::default()
    })
}

enum Dim {
    Fixed(i64),
    Named(&'static str),
}

fn float_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    const FLOAT: i32 = 1;
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(v) => dimension::Value::DimValue(*v),
                Dim::Named(p) => dimension::Value::DimParam((*p).to_string()),
            }),
            ..Dimension::default()
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        type_: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(Tensor {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim,
                    ..TensorShapeProto::default()
                })
                .into(),
                ..Tensor::default()
            })),
            ..TypeProto::default()
        })
        .into(),
        ..ValueInfoProto::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            name: name.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            ..NodeProto::default()
        }
    }

    /// a → [front] → mid → [back] → out, with an initializer read only by the back.
    fn toy() -> GraphProto {
        GraphProto {
            node: vec![
                node("f", "Relu", &["a"], &["mid"]),
                node("w", "Identity", &["weight"], &["w2"]),
                node("b", "Mul", &["mid", "w2"], &["out"]),
            ],
            initializer: vec![onnx_protobuf::TensorProto {
                name: "weight".into(),
                ..Default::default()
            }],
            input: vec![float_info("a", &[Dim::Fixed(1)])],
            output: vec![float_info("out", &[Dim::Fixed(1)])],
            ..GraphProto::default()
        }
    }

    #[test]
    fn extraction_keeps_exactly_what_the_outputs_need() {
        let g = toy();
        let front = extract(
            &g,
            &[float_info("a", &[Dim::Fixed(1)])],
            &[float_info("mid", &[Dim::Fixed(1)])],
        )
        .expect("front");
        assert_eq!(front.node.len(), 1, "only the node that makes `mid`");
        assert!(
            front.initializer.is_empty(),
            "the back's weight is not copied"
        );
        let back = extract(
            &g,
            &[float_info("mid", &[Dim::Fixed(1)])],
            &[float_info("out", &[Dim::Fixed(1)])],
        )
        .expect("back");
        let names: Vec<&str> = back.node.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["w", "b"], "original order kept");
        assert_eq!(back.initializer.len(), 1);
    }

    #[test]
    fn a_missing_tensor_is_reported_not_guessed() {
        let err = extract(
            &toy(),
            &[float_info("a", &[Dim::Fixed(1)])],
            &[float_info("nowhere", &[Dim::Fixed(1)])],
        )
        .expect_err("unknown output");
        assert!(err.to_string().contains("nowhere"), "{err}");
    }

    #[test]
    fn the_phase_offset_is_spliced_after_the_cumulative_sum() {
        let mut g = GraphProto {
            node: vec![
                node("/gen/l_sin_gen/CumSum", "CumSum", &["rad", "axis"], &["cs"]),
                node("/gen/l_sin_gen/Mul", "Mul", &["cs", "k"], &["y"]),
            ],
            ..GraphProto::default()
        };
        add_phase_offset(&mut g).expect("found");
        assert_eq!(g.node[1].op_type, "Add");
        assert_eq!(g.node[1].input, ["cs", PHASE_IN]);
        assert_eq!(
            g.node[2].input[0], PHASE_OUT,
            "readers now see the offset phase"
        );
        assert!(add_phase_offset(&mut GraphProto::default()).is_err());
    }

    #[test]
    fn only_this_models_own_derivations_count_as_stale() {
        let stem = "kokoro-v1.0.int8";
        assert!(is_derivation_of(
            "kokoro-v1.0.int8-92361271-1796402471-v2",
            stem
        ));
        assert!(is_derivation_of(
            "kokoro-v1.0.int8-92361271-1796402471",
            stem
        ));
        assert!(!is_derivation_of(
            "kokoro-v1.0.int8-92361271-1796402471-v2",
            "kokoro"
        ));
        assert!(!is_derivation_of(
            "kokoro-v1.0.int8-92361271-1796402471-v2",
            "kokoro-v1.0"
        ));
        assert!(!is_derivation_of("kokoro-v1.0.int8-notes", stem));
        assert!(!is_derivation_of("kokoro-v1.0.int8-1-2-v2-old", stem));
    }

    #[test]
    fn junk_is_not_a_model() {
        assert!(split(b"definitely not protobuf \xff\xff\xff").is_err());
    }
}
