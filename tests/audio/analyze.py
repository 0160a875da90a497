#!/usr/bin/env python3
"""analyze.py — measure a capture WAV (16-bit PCM) and print JSON.

Usage: analyze.py FILE [--threshold-db -40] [--window-ms 10] [--min-gap 0.25]
                       [--after T] [--silent-after T]

The file is cut into windows (default 10 ms); a window is "sound" when its RMS
over all channels exceeds --threshold-db (dBFS, default -40), else "silent".
Times are seconds from the first sample; resolution is one window.

Output keys:
  duration_s, sample_rate, channels
  rms, peak            whole file, linear 0..1 of full scale (+ rms_dbfs, peak_dbfs)
  first_sound_s        start of the first sound window (null if none)
  last_sound_s         end of the last sound window (null if none)
  longest_silent_gap_s longest silent run between first and last sound
  gaps                 silent runs between first and last sound >= --min-gap:
                       [{start_s, end_s, duration_s}]
  bursts               sound segments separated by those gaps (same shape)
  after                with --after T: {t, first_sound_s, delay_s} — first sound
                       window starting at or after T, delay_s = first_sound_s - T
  silent_after         with --silent-after T: {t, silence_start_s, delay_s} —
                       start of the first silent run at/after T that lasts
                       >= --min-gap (or reaches the end of the file); delay_s is
                       0 if it was already silent at T
  header_repaired      true if the WAV header's data size was wrong (e.g. the
                       recorder was SIGKILLed) and the rest of the file was used

stdlib only. The RIFF chunks are parsed by hand (not with `wave`) so that a
capture with a broken size field can still be measured.
"""
import argparse
import array
import json
import math
import struct
import sys


def read_wav(path):
    """Return (rate, channels, samples as array('h'), header_repaired)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        sys.exit(f"analyze.py: {path}: not a RIFF/WAVE file")
    pos, fmt, pcm, repaired = 12, None, None, False
    while pos + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if cid == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", data, body)
        elif cid == b"data":
            if size == 0 or body + size > len(data):  # unfinalised header
                size, repaired = len(data) - body, size != len(data) - body
            pcm = data[body:body + size - size % 2]
            break
        pos = body + size + (size & 1)
    if fmt is None or pcm is None:
        sys.exit(f"analyze.py: {path}: missing fmt or data chunk")
    tag, channels, rate, _, _, bits = fmt
    if tag not in (1, 0xFFFE) or bits != 16:
        sys.exit(f"analyze.py: {path}: only 16-bit PCM supported (tag={tag} bits={bits})")
    samples = array.array("h")
    samples.frombytes(pcm[:len(pcm) - len(pcm) % (2 * channels)])
    if sys.byteorder == "big":
        samples.byteswap()
    return rate, channels, samples, repaired


def runs(flags, value):
    """(start, end) window-index runs where flags[i] == value."""
    out, start = [], None
    for i, f in enumerate(flags + [not value]):
        if f == value and start is None:
            start = i
        elif f != value and start is not None:
            out.append((start, i))
            start = None
    return out


def dbfs(x):
    return round(20 * math.log10(x), 2) if x > 0 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--threshold-db", type=float, default=-40.0)
    ap.add_argument("--window-ms", type=float, default=10.0)
    ap.add_argument("--min-gap", type=float, default=0.25)
    ap.add_argument("--after", type=float)
    ap.add_argument("--silent-after", type=float)
    a = ap.parse_args()

    rate, ch, s, repaired = read_wav(a.file)
    n_frames = len(s) // ch
    win = max(1, int(rate * a.window_ms / 1000))  # frames per window
    w_s = win / rate
    thr = 32768.0 * 10 ** (a.threshold_db / 20)

    loud, total_sq = [], 0
    for i in range(0, n_frames, win):
        chunk = s[i * ch:(i + win) * ch]
        sq = sum(v * v for v in chunk)
        total_sq += sq
        loud.append(math.sqrt(sq / len(chunk)) > thr)
    peak = max((abs(v) for v in s), default=0) / 32768.0
    rms = math.sqrt(total_sq / len(s)) / 32768.0 if len(s) else 0.0
    t = lambda i: round(i * w_s, 4)  # window index -> seconds

    r = {"file": a.file, "sample_rate": rate, "channels": ch,
         "duration_s": round(n_frames / rate, 4),
         "rms": round(rms, 6), "rms_dbfs": dbfs(rms),
         "peak": round(peak, 6), "peak_dbfs": dbfs(peak),
         "threshold_dbfs": a.threshold_db, "window_s": w_s,
         "header_repaired": repaired,
         "first_sound_s": None, "last_sound_s": None,
         "longest_silent_gap_s": 0.0, "gaps": [], "bursts": []}

    sound = runs(loud, True)
    if sound:
        first, last = sound[0][0], sound[-1][1]
        r["first_sound_s"], r["last_sound_s"] = t(first), t(last)
        inner = [(b, e) for b, e in runs(loud, False) if b > first and e < last]
        if inner:
            r["longest_silent_gap_s"] = t(max(e - b for b, e in inner))
        big = [(b, e) for b, e in inner if (e - b) * w_s >= a.min_gap]
        r["gaps"] = [{"start_s": t(b), "end_s": t(e), "duration_s": t(e - b)} for b, e in big]
        edges = [first] + [x for g in big for x in g] + [last]
        r["bursts"] = [{"start_s": t(b), "end_s": t(e), "duration_s": t(e - b)}
                       for b, e in zip(edges[::2], edges[1::2])]

    if a.after is not None:
        i0 = math.ceil(a.after / w_s - 1e-9)
        hit = next((i for i in range(max(i0, 0), len(loud)) if loud[i]), None)
        r["after"] = {"t": a.after, "first_sound_s": None if hit is None else t(hit),
                      "delay_s": None if hit is None else round(hit * w_s - a.after, 4)}

    if a.silent_after is not None:
        i0 = max(int(a.silent_after / w_s), 0)
        need = max(1, math.ceil(a.min_gap / w_s - 1e-9))
        hit = next((b for b, e in runs(loud, False)
                    if e > i0 and (e - max(b, i0) >= need or e == len(loud))), None)
        start = None if hit is None else max(hit, i0)
        r["silent_after"] = {"t": a.silent_after,
                             "silence_start_s": None if start is None else t(start),
                             "delay_s": None if start is None
                             else round(max(start * w_s - a.silent_after, 0.0), 4)}

    json.dump(r, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
