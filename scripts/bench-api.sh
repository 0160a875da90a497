#!/usr/bin/env bash
# README command: time to first byte of Utter's HTTP API for a short input, at 1 and at 8
# concurrent clients, streamed and whole, with the server's RSS under that load. It builds
# `utter`, fetches missing assets, starts `utter serve` on a free loopback port with the audio
# cache off (every request is synthesized), and drives it with hey (a standard HTTP load tool).
# Usage: scripts/bench-api.sh [SECONDS per run, default 30]. Table on stderr, JSON on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
bash scripts/prereqs.sh --test
cargo build --release --quiet -p utter-cli
./target/release/utter setup >&2
work=$(mktemp -d)
trap 'kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
./target/release/utter serve --port 0 --audio-cache-mb 0 2>"$work/serve.log" &
server=$!
addr=""
for _ in $(seq 600); do
  addr=$(grep -o 'listens on http://[^ ]*' "$work/serve.log" | sed 's|listens on http://||' || true)
  # Measured as the app runs it: warm, the whole warm-up done.
  [ -n "$addr" ] && curl -fsS "http://$addr/status" 2>/dev/null | grep -q '"complete":true' && break
  sleep 0.5
done
[ -n "$addr" ] || { cat "$work/serve.log" >&2; echo "bench-api: the server did not start" >&2; exit 1; }
input="Hello there, this is a short request."
rss_sampler() { # peak VmRSS (KiB) of the server while hey runs
  local peak=0 v
  while kill -0 "$1" 2>/dev/null && [ ! -e "$work/stop" ]; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    [ "${v:-0}" -gt "$peak" ] && peak=$v
    sleep 0.25
  done
  echo "$peak"
}
for mode in stream whole; do
  stream=false; [ $mode = stream ] && stream=true
  body="{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"$input\",\"stream\":$stream}"
  for c in 1 8; do
    echo "bench-api: $mode, $c client(s), ${secs} s" >&2
    rm -f "$work/stop"
    hey -z "${secs}s" -c "$c" -t 120 -m POST -T application/json -d "$body" -o csv \
      "http://$addr/v1/audio/speech" >"$work/$mode-$c.csv" &
    hey_pid=$!
    rss_sampler "$hey_pid" >"$work/$mode-$c.rss" &
    sampler=$!
    wait "$hey_pid"
    touch "$work/stop"
    wait "$sampler"
  done
done
curl -fsS "http://$addr/performance-stats" >"$work/perf.json"
mkdir -p target/bench-api && cp "$work"/*.csv "$work/perf.json" target/bench-api/  # for a closer look
python3 - "$work" "$secs" <<'EOF'
import csv, json, math, os, sys
work, secs = sys.argv[1], int(sys.argv[2])
def pct(v, p):
    v = sorted(v)
    return v[max(0, math.ceil(p * len(v)) - 1)] if v else None
rows, out = [], {"input": "Hello there, this is a short request.", "seconds_per_run": secs, "runs": []}
for mode in ("stream", "whole"):
    for c in (1, 8):
        with open(os.path.join(work, f"{mode}-{c}.csv")) as f:
            recs = list(csv.DictReader(f))
        ok = [r for r in recs if r["status-code"] == "200"]
        # hey's columns: DNS+dialup, Request-write and Response-delay add up to the first byte.
        ttfb = [1e3 * (float(r["DNS+dialup"]) + float(r["Request-write"]) + float(r["Response-delay"])) for r in ok]
        total = [1e3 * float(r["response-time"]) for r in ok]
        rss = int(open(os.path.join(work, f"{mode}-{c}.rss")).read().strip() or 0) / 1024
        run = {"mode": mode, "clients": c, "requests": len(recs), "failed": len(recs) - len(ok),
               "ttfb_p50_ms": pct(ttfb, .5), "ttfb_p99_ms": pct(ttfb, .99),
               "total_p50_ms": pct(total, .5), "total_p99_ms": pct(total, .99),
               "server_peak_rss_mb": round(rss, 1)}
        out["runs"].append(run)
out["server_performance_stats"] = json.load(open(os.path.join(work, "perf.json")))
print(f"{'mode':<7}{'clients':>8}{'requests':>9}{'failed':>7}{'TTFB p50':>10}{'TTFB p99':>10}{'total p50':>11}{'RSS MiB':>9}", file=sys.stderr)
for r in out["runs"]:
    print(f"{r['mode']:<7}{r['clients']:>8}{r['requests']:>9}{r['failed']:>7}{r['ttfb_p50_ms']:>9.0f}ms{r['ttfb_p99_ms']:>8.0f}ms{r['total_p50_ms']:>9.0f}ms{r['server_peak_rss_mb']:>9.0f}", file=sys.stderr)
print(json.dumps(out, indent=2))
EOF
