#!/usr/bin/env bash
# selftest.sh — proves the audio capture harness works on this machine.
# Plays tone (aplay -D default, i.e. ALSA->pulse) / 0.5 s silence / tone
# (paplay) into the null sink, records the monitor, and checks with analyze.py
# that the capture shows two ~1 s bursts separated by a ~0.5 s gap.
# Exit 0 on success; non-zero with a message otherwise. KEEP=1 keeps the WAV.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/pulse-env.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/utter-selftest.XXXXXX")
trap 'utter_audio_stop; [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"' EXIT
ms() { date +%s%3N; }

t0=$(ms)
utter_audio_install
t1=$(ms)
utter_audio_start
t2=$(ms)
sox -n -r 48000 -c 2 -b 16 "$work/tone.wav" synth 1 sine 440 gain -6

utter_audio_record "$work/capture.wav"
t3=$(ms)
sleep 0.3                                    # leading silence
at1=$(utter_audio_elapsed)
aplay -q -D default "$work/tone.wav"         # returns after the stream drained
sleep 0.5
at2=$(utter_audio_elapsed)
paplay "$work/tone.wav"
sleep 0.3
utter_audio_stop_record
t4=$(ms)

python3 "$here/analyze.py" "$work/capture.wav" >"$work/a.json"
python3 "$here/analyze.py" "$work/capture.wav" --after "$at1" >"$work/a1.json"
python3 "$here/analyze.py" "$work/capture.wav" --after "$at2" >"$work/a2.json"
utter_audio_stop
t5=$(ms)

python3 - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
a = json.load(open(f"{w}/a.json"))
d1 = json.load(open(f"{w}/a1.json"))["after"]["delay_s"]
d2 = json.load(open(f"{w}/a2.json"))["after"]["delay_s"]
b, g = a["bursts"], a["gaps"]
print(f"capture {a['duration_s']} s, rms {a['rms_dbfs']} dBFS, bursts "
      + ", ".join(f"{x['start_s']}-{x['end_s']}" for x in b)
      + f"; play-call->sound: aplay {d1} s, paplay {d2} s")
err = []
if len(b) != 2:
    err.append(f"expected 2 bursts, got {len(b)}: {b}")
else:
    err += [f"burst {i+1} lasts {x['duration_s']} s, want 1.0±0.1"
            for i, x in enumerate(b) if abs(x["duration_s"] - 1.0) > 0.1]
    if len(g) != 1 or abs(g[0]["duration_s"] - 0.5) > 0.1:
        err.append(f"gap {g}, want one of 0.5±0.1 s")
if a["header_repaired"]:
    err.append("WAV header was not finalised")
if err:
    sys.exit("selftest FAIL: " + "; ".join(err))
EOF
echo "selftest PASS (ms: install $((t1-t0)), start $((t2-t1)), record-start $((t3-t2)), play+stop $((t4-t3)), analyze+teardown $((t5-t4)))"
