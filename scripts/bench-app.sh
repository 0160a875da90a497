#!/usr/bin/env bash
# README command: the menu-bar app as a user meets it, measured. Builds the release app, starts
# it (no window: an ordinary launch) with a private settings folder, then N times puts a short
# sentence (a different one each time; then three repeats, served from the audio cache) in the
# X11 PRIMARY selection and presses the read shortcut (Ctrl+Alt+S) with xdotool, and reads the
# app's own figures from its log: shortcut → first sample handed to the device (what the
# performance panel shows), launch → engine ready (an ordinary launch, and before it the first
# launch with a new settings folder, which derives the model), and its idle RSS and CPU.
# On a machine with no display or sound server it starts Xvfb and a PulseAudio null sink.
# Usage: scripts/bench-app.sh [READINGS, default 10]. Table on stderr, JSON on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
bash scripts/prereqs.sh --test
bash scripts/ui.sh
cargo build --release --quiet -p utter-cli -p utter-app
./target/release/utter setup >&2
source tests/audio/pulse-env.sh
source tests/x11/xvfb-env.sh
utter_audio_ensure
utter_x11_start
work=$(mktemp -d)
echo '{}' >"$work/settings.json" # not a first launch: no welcome window
app=""
cleanup() {
  # Every step runs: under `set -e` the app's exit status from `wait` (143 after the kill)
  # ended this function early, leaving Xvfb and the PulseAudio server running.
  set +e
  [ -n "$app" ] && kill "$app" 2>/dev/null && wait "$app" 2>/dev/null
  utter_x11_stop
  utter_audio_stop
  rm -rf "$work"
}
trap cleanup EXIT
launch() {
  launched=$(date +%s%N)
  UTTER_CONFIG_DIR=$work RUST_LOG=info NO_COLOR=1 ./target/release/utter-app >"$work/app.log" 2>&1 &
  app=$!
}
wait_log() { # pattern count timeout-seconds
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    [ "$(grep -c "$1" "$work/app.log" || true)" -ge "$2" ] && return 0
    kill -0 "$app" 2>/dev/null || { cat "$work/app.log" >&2; echo "bench-app: the app exited" >&2; exit 1; }
    sleep 0.05
  done
  cat "$work/app.log" >&2
  echo "bench-app: timed out waiting for '$1'" >&2
  exit 1
}
# The first launch with a new settings folder derives the split model and ONNX Runtime's
# optimized graph into it (as a new user's first launch does); every launch after reuses them.
# Both are measured; the readings run in the second, an ordinary launch.
launch
wait_log "engine ready" 1 180
first_ready_ms=$(( ($(date +%s%N) - launched) / 1000000 ))
sleep 2
kill "$app" && wait "$app" 2>/dev/null || true
launch
wait_log "engine ready" 1 180
ready_ms=$(( ($(date +%s%N) - launched) / 1000000 ))
# Measured as the app runs all day: after the warm-up that continues while idle.
sleep 15
# N distinct short sentences (nothing cached), then the first three again (audio cache hits).
texts=("The meeting starts at nine thirty." "Please read the report before the call."
  "The train to Berlin leaves from platform four." "Our budget grew by twelve percent this year."
  "She answered every email before lunch." "The library closes early on Fridays."
  "Remember to water the plants on Sunday." "The new version fixes the login problem."
  "He walked the dog along the quiet river." "The results will be published next week."
  "Send the invoice to the accounts team." "Coffee tastes better in a warm cup.")
if ((n > ${#texts[@]})); then
  echo "bench-app: at most ${#texts[@]} distinct readings" >&2
  exit 2
fi
read_aloud() { # text, reading number
  printf '%s' "$1" | xsel -p -i
  sleep 0.3
  xdotool key ctrl+alt+s
  wait_log "utterance ended" "$2" 60
  sleep 0.5
}
for ((i = 1; i <= n; i++)); do read_aloud "${texts[i - 1]}" "$i"; done
for ((i = 1; i <= 3; i++)); do read_aloud "${texts[i - 1]}" "$((n + i))"; done
# Idle: 10 s after the last reading, over 10 s.
sleep 10
ticks() { awk '{print $14 + $15}' "/proc/$app/stat"; }
t0=$(ticks)
sleep 10
t1=$(ticks)
hz=$(getconf CLK_TCK)
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$app/status")
python3 - "$work/app.log" "$first_ready_ms" "$ready_ms" "$rss_kb" "$(( t1 - t0 ))" "$hz" "$n" <<'EOF'
import json, re, statistics, sys
log, first_ready_ms, ready_ms, rss_kb, ticks, hz, n = sys.argv[1], *map(int, sys.argv[2:])
text = open(log).read()
firsts_all = [float(x) for x in re.findall(r"first_audio_ms: Some\(([0-9.]+)\)", text)]
chunks_all = [float(x) for x in re.findall(r"first_chunk_ms: Some\(([0-9.]+)\)", text)]
underruns = [int(x) for x in re.findall(r"underruns: ([0-9]+)", text)]
if len(firsts_all) != n + 3:
    sys.exit(f"bench-app: expected {n + 3} readings in the log, found {len(firsts_all)}")
firsts, cached = firsts_all[:n], firsts_all[n:]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, round(p * (len(v) - 1))))] if v else None
out = {
    "readings": n,
    "shortcut_to_first_audio_ms": firsts,
    "shortcut_to_first_audio_p50_ms": statistics.median(firsts),
    "shortcut_to_first_audio_p95_ms": pct(firsts, 0.95),
    "shortcut_to_first_pcm_p50_ms": statistics.median(chunks_all[:n]),
    "cached_shortcut_to_first_audio_ms": cached,
    "cached_shortcut_to_first_audio_p50_ms": statistics.median(cached),
    "underruns": sum(underruns[:n]),
    "first_launch_to_ready_ms": first_ready_ms,
    "launch_to_ready_ms": ready_ms,
    "idle_rss_mb": round(rss_kb / 1024, 1),
    "idle_cpu_percent_of_a_core": round(100 * ticks / hz / 10, 2),
}
print(f"shortcut → first sample at the device: median {out['shortcut_to_first_audio_p50_ms']:.0f} ms, "
      f"p95 {out['shortcut_to_first_audio_p95_ms']:.0f} ms over {n} distinct sentences "
      f"({', '.join(f'{x:.0f}' for x in firsts)}); first PCM median {out['shortcut_to_first_pcm_p50_ms']:.0f} ms; "
      f"underruns {out['underruns']}", file=sys.stderr)
print(f"the same sentence again (audio cache): median {out['cached_shortcut_to_first_audio_p50_ms']:.0f} ms "
      f"({', '.join(f'{x:.0f}' for x in cached)})", file=sys.stderr)
print(f"launch → engine ready {ready_ms} ms (the first launch, which derives the model: {first_ready_ms} ms); idle: RSS {out['idle_rss_mb']} MiB, CPU {out['idle_cpu_percent_of_a_core']}% of a core",
      file=sys.stderr)
print(json.dumps(out, indent=2))
EOF
