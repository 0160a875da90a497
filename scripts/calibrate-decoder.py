#!/usr/bin/env python3
"""Calibrates the statically quantized convolutions of Utter's decoder.

The int8 Kokoro model quantizes every convolution's input at run time (DynamicQuantizeLinear →
ConvInteger). When Utter derives its decoder (crates/engine/src/quant.rs) it replaces the
convolutions of the generator's last, highest-rate stage — most of the decoder's time — with
QLinearConv on fixed ranges, which ONNX Runtime runs with its faster int8 kernels. This script
measures those ranges: it runs the original model on 20 sentences in 4 voices and records, for
each such convolution, the 0.02nd and 99.98th percentiles of its input and its output.

Writes crates/engine/src/decoder-calibration.json. Needs the fetched model and voices
(`utter setup`) and Python with onnx, onnxruntime and numpy:

    python3 -m venv .cache/calibrate
    .cache/calibrate/bin/pip install onnx==1.17.0 onnxruntime==1.32.0 numpy==2.2.6
    .cache/calibrate/bin/python scripts/calibrate-decoder.py

Sentences: every second line of the first 40 of ../shared/corpus/g2p-oracle.tsv, with their
oracle phonemes (not the intelligibility corpus, which judges the result).
"""
import collections
import hashlib
import json
import os
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.join(ROOT, "models", "kokoro-v1.0.int8.onnx")
OUT = os.path.join(ROOT, "crates", "engine", "src", "decoder-calibration.json")
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "g2p-oracle.tsv")
# The generator's highest-rate stage: its last three resblocks and the noise path feeding them.
PATTERN = r"^/decoder/decoder/generator/(resblocks\.[345]|noise_res\.1)/.*Conv_quant$"
VOICES = ["af_heart", "am_michael", "bf_emma", "af_bella"]
PERCENTILE = 99.98


def main():
    vocab = json.load(open(os.path.join(ROOT, "crates", "engine", "src", "vocab.json")))["vocab"]
    model_bytes = open(MODEL, "rb").read()
    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n)
    convs = []
    for conv in graph.node:
        if conv.op_type != "ConvInteger" or not re.search(PATTERN, conv.name):
            continue
        quantize = producer[conv.input[0]]
        assert quantize.op_type == "DynamicQuantizeLinear", conv.name
        add = consumers[conv.output[0]][0]
        cast = consumers[add.output[0]][0]
        scale = consumers[cast.output[0]][0]
        assert (add.op_type, cast.op_type, scale.op_type) == ("Add", "Cast", "Mul"), conv.name
        convs.append((conv.name, quantize.input[0], scale.output[0]))
    names = sorted({x for _, x, _ in convs} | {y for _, _, y in convs})
    for name in names:
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    lines = open(CORPUS, encoding="utf-8").read().splitlines()[:40:2]
    values = collections.defaultdict(list)
    for i, line in enumerate(lines):
        phonemes = line.split("\t")[1]
        tokens = [vocab[c] for c in phonemes if c in vocab]
        voice = np.fromfile(os.path.join(ROOT, "voices", f"{VOICES[i % len(VOICES)]}.bin"), dtype=np.float32)
        style = voice.reshape(-1, 256)[min(len(tokens), 509)][None, :]
        feeds = {"tokens": np.array([[0, *tokens, 0]], np.int64), "style": style, "speed": np.ones(1, np.float32)}
        for name, value in zip(names, session.run(names, feeds)):
            values[name].append(value.ravel())
        print(f"calibrate: sentence {i + 1}/{len(lines)}", file=sys.stderr)

    def span(name):
        a = np.concatenate(values[name])
        lo, hi = np.percentile(a, 100 - PERCENTILE), np.percentile(a, PERCENTILE)
        return [round(min(float(lo), 0.0), 6), round(max(float(hi), 0.0), 6)]

    table = {
        "about": "Input and output ranges of the decoder convolutions Utter quantizes statically; "
        "written by scripts/calibrate-decoder.py, read by crates/engine/src/quant.rs.",
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "percentile": PERCENTILE,
        "convs": [{"node": c, "input": span(x), "output": span(y)} for c, x, y in convs],
    }
    with open(OUT, "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    print(f"calibrate: {len(convs)} convolutions → {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
