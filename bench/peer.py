#!/usr/bin/env python3
"""The Python peer of `utter bench`: kokoro-onnx's create_stream on the same texts, model, voices
and ONNX Runtime thread count, so the comparison is a ratio taken on the same machine, minutes
apart. Prints JSON on stdout:
  {"library": "kokoro-onnx X", "onnxruntime": "Y", "peak_rss_mb": ..., "cases": {name: {...}}}
Each case: first_chunk_ms (median over --runs, request -> first chunk yielded by
create_stream), real_time_factor (median; synthesis time over audio time), audio_secs.
Usage: peer.py --model M.onnx --voices-dir DIR --threads N --runs R --texts texts.json
(texts.json maps case names to texts; a case named "article" runs once: it is long)."""
import argparse, asyncio, importlib.metadata, json, os, resource, statistics, sys, tempfile, time

import numpy as np
import onnxruntime as rt
from kokoro_onnx import Kokoro


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--voices-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--voice", default="af_heart")
    a = ap.parse_args()
    texts = json.load(open(a.texts))

    # kokoro-onnx reads voices from one .npz; build it from the same voice files Utter reads.
    voice = np.fromfile(os.path.join(a.voices_dir, a.voice + ".bin"), dtype="<f4").reshape(510, 1, 256)
    tmp = tempfile.NamedTemporaryFile(suffix=".npz", delete=False)
    np.savez(tmp, **{a.voice: voice})
    tmp.close()

    so = rt.SessionOptions()
    so.intra_op_num_threads = a.threads
    sess = rt.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    kokoro = Kokoro.from_session(sess, tmp.name)

    async def stream(text):
        t0 = time.perf_counter()
        first, audio = None, 0
        async for samples, rate in kokoro.create_stream(text, voice=a.voice, speed=1.0, lang="en-us"):
            if first is None:
                first = time.perf_counter() - t0
            audio += len(samples) / rate
        return first, time.perf_counter() - t0, audio

    asyncio.run(stream("Warming up the engine with a sentence."))
    cases = {}
    for name, text in texts.items():
        runs = 1 if name == "article" else a.runs
        results = [asyncio.run(stream(text)) for _ in range(runs)]
        cases[name] = {
            "runs": runs,
            "first_chunk_ms": statistics.median(r[0] * 1e3 for r in results),
            "real_time_factor": statistics.median(r[1] / r[2] for r in results if r[2] > 0),
            "audio_secs": results[0][2],
        }
        print(f"peer: {name}: {cases[name]['first_chunk_ms']:.0f} ms to first chunk", file=sys.stderr)
    os.unlink(tmp.name)
    print(json.dumps({
        "library": "kokoro-onnx " + importlib.metadata.version("kokoro-onnx"),
        "onnxruntime": rt.__version__,
        "threads": a.threads,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cases": cases,
    }, indent=2))


if __name__ == "__main__":
    main()
