# shellcheck shell=bash
# pulse-env.sh — capture real audio on a machine with no sound card.
#
# Source this from a bash test script (works under `set -euo pipefail`):
#
#   source tests/audio/pulse-env.sh
#   utter_audio_install            # apt-get the packages if a tool is missing
#   utter_audio_start              # private PulseAudio + null sink "utter_sink"
#   utter_audio_trap               # optional: utter_audio_stop on EXIT/INT/TERM
#   utter_audio_record out.wav     # returns once samples are flowing
#   ... run the app: ALSA "default" (cpal) and paplay go to utter_sink ...
#   utter_audio_elapsed            # prints seconds since capture t=0 (for --after)
#   utter_audio_stop_record        # SIGINT -> parecord finalises the WAV header
#   utter_audio_stop               # kill everything, remove temp dir (idempotent)
#
# Exported while running (child processes inherit them):
#   XDG_RUNTIME_DIR  private runtime dir (old value restored by utter_audio_stop)
#   PULSE_SERVER     unix:<dir>/native — the private server; clients go nowhere else
#   PULSE_SINK       utter_sink (also the server's default sink)
#   ALSA_CONFIG_PATH only if the system's ALSA pulse hook did not route "default"
#                    to pulse (then alsa.conf + a private pcm.!default{type pulse})
#   UTTER_AUDIO_DIR  the temp dir (pulse.log, recorder.log live there)
#   UTTER_AUDIO_REC_T0  epoch seconds (float) of the first captured sample
#
# Why a "keeper": an idle null sink runs ~1.2 s ahead of the wall clock; the
# first stream attached to its monitor then gets no data until real time
# catches up. A permanent reader (parec > /dev/null) plus a warm-up read in
# utter_audio_start removes that, so captures are continuous real time.

UTTER_AUDIO_RATE=48000
UTTER_AUDIO_SINK=utter_sink
UTTER_AUDIO_LATENCY_MS=${UTTER_AUDIO_LATENCY_MS:-10}
UTTER_AUDIO_DRAIN_S=${UTTER_AUDIO_DRAIN_S:-0.2}   # wait before stopping recorder

_utter_log() { echo "utter-audio: $*" >&2; }

# True if PID exists and is not a zombie (kill -0 succeeds on zombies).
_utter_alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

# _utter_restore VAR OLD — put back an env var saved before we changed it.
_utter_restore() {
  if [[ $2 == __unset__ ]]; then unset "$1"; else export "$1=$2"; fi
}

# Stop PID with SIG, escalate to KILL after ~3 s, reap it if it is our child.
_utter_kill() {
  local pid=$1 sig=${2:-TERM} i
  [[ -n $pid ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do _utter_alive "$pid" || break; sleep 0.01; done
  if _utter_alive "$pid"; then
    _utter_log "pid $pid ignored SIG$sig, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

utter_audio_install() {
  local missing=0 c sudo=
  for c in pulseaudio pactl parec parecord paplay aplay sox; do
    command -v "$c" >/dev/null 2>&1 || missing=1
  done
  dpkg-query -W -f='${Status}' libasound2-plugins 2>/dev/null | grep -q 'ok installed' || missing=1
  dpkg-query -W -f='${Status}' libasound2-dev 2>/dev/null | grep -q 'ok installed' || missing=1
  ((missing)) || return 0
  [[ $(id -u) -eq 0 ]] || sudo="sudo -n"
  _utter_log "installing audio packages (apt-get)"
  local log
  log=$(mktemp)
  if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox libasound2-dev; } >"$log" 2>&1; then
    _utter_log "apt-get failed:"; tail -n 20 "$log" >&2; rm -f "$log"; return 1
  fi
  rm -f "$log"
}

utter_audio_start() {
  if [[ -n ${UTTER_AUDIO_DIR:-} ]]; then _utter_log "already started ($UTTER_AUDIO_DIR)"; return 0; fi
  local d i n
  d=$(mktemp -d "${TMPDIR:-/tmp}/utter-audio.XXXXXX")
  mkdir -m 700 "$d/run" "$d/home"
  UTTER_AUDIO_DIR=$d
  _UTTER_OLD_XDG=${XDG_RUNTIME_DIR-__unset__}
  export UTTER_AUDIO_DIR XDG_RUNTIME_DIR=$d/run PULSE_SERVER=unix:$d/native PULSE_SINK=$UTTER_AUDIO_SINK

  # Private server: no default.pa (-n), anonymous auth on our own socket, HOME
  # redirected so nothing is written to the user's ~/.config/pulse.
  HOME=$d/home pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
    --realtime=no --high-priority=no --log-target=stderr \
    --load="module-native-protocol-unix auth-anonymous=1 socket=$d/native" \
    --load="module-null-sink sink_name=$UTTER_AUDIO_SINK rate=$UTTER_AUDIO_RATE channels=2" \
    </dev/null >"$d/pulse.log" 2>&1 &
  _UTTER_PULSE_PID=$!

  for ((i = 0; i < 100; i++)); do            # up to ~10 s
    pactl info >/dev/null 2>&1 && break
    if ! _utter_alive "$_UTTER_PULSE_PID"; then i=100; break; fi
    sleep 0.1
  done
  if ! pactl info >/dev/null 2>&1; then
    _utter_log "PulseAudio did not come up; log follows:"; tail -n 20 "$d/pulse.log" >&2
    utter_audio_stop; return 1
  fi
  pactl set-default-sink "$UTTER_AUDIO_SINK"
  pactl set-default-source "$UTTER_AUDIO_SINK.monitor"

  # Keeper: keeps the null sink clocked in real time (see header).
  parec --latency-msec="$UTTER_AUDIO_LATENCY_MS" -d "$UTTER_AUDIO_SINK.monitor" \
    </dev/null >/dev/null 2>>"$d/pulse.log" &
  _UTTER_KEEPER_PID=$!
  # Warm-up: block until the monitor delivers 0.1 s of data (~1.5 s right
  # after start, while the sink's clock catches up with real time).
  # (`|| true`: parec dies of SIGPIPE when head exits, which pipefail would see.)
  n=$(timeout 10 parec --latency-msec="$UTTER_AUDIO_LATENCY_MS" -d "$UTTER_AUDIO_SINK.monitor" \
       --rate=$UTTER_AUDIO_RATE --channels=2 --format=s16le 2>/dev/null | head -c 19200 | wc -c || true)
  if [[ ${n// /} != 19200 ]] || ! _utter_alive "$_UTTER_KEEPER_PID"; then
    _utter_log "null sink monitor delivers no data"; utter_audio_stop; return 1
  fi

  # ALSA "default" -> pulse. Debian's libasound2-plugins ships
  # /etc/alsa/conf.d/99-pulse.conf, which does this whenever a pulse server is
  # reachable (it is, via PULSE_SERVER). If that hook is missing, add our own.
  if [[ $(aplay -L 2>/dev/null | grep -A1 '^default$' || true) != *[Pp]ulse* ]]; then
    printf 'pcm.!default { type pulse }\nctl.!default { type pulse }\n' >"$d/asound.conf"
    _UTTER_OLD_ALSA=${ALSA_CONFIG_PATH-__unset__}
    export ALSA_CONFIG_PATH="${ALSA_CONFIG_PATH:-/usr/share/alsa/alsa.conf}:$d/asound.conf"
    _utter_log "ALSA pulse hook not active; using $d/asound.conf via ALSA_CONFIG_PATH"
  fi
}

# utter_audio_record FILE — background capture of the sink monitor (48 kHz
# stereo s16 WAV). Returns once samples are being written; sets UTTER_AUDIO_REC_T0.
utter_audio_record() {
  local f=${1:?usage: utter_audio_record FILE} i sz now
  [[ -n ${UTTER_AUDIO_DIR:-} ]] || { _utter_log "not started"; return 1; }
  [[ -z ${_UTTER_REC_PID:-} ]] || { _utter_log "already recording"; return 1; }
  rm -f "$f"
  parecord --latency-msec="$UTTER_AUDIO_LATENCY_MS" --device="$UTTER_AUDIO_SINK.monitor" \
    --rate=$UTTER_AUDIO_RATE --channels=2 --format=s16le --file-format=wav "$f" \
    </dev/null >>"$UTTER_AUDIO_DIR/recorder.log" 2>&1 &
  _UTTER_REC_PID=$! _UTTER_REC_FILE=$f
  for ((i = 0; i < 500; i++)); do            # up to ~5 s for the first data
    sz=$(stat -c %s "$f" 2>/dev/null || echo 0)
    if ((sz > 44)); then
      # t0 = now - (audio already written); accurate to the poll interval.
      now=$(date +%s.%N)
      UTTER_AUDIO_REC_T0=$(awk -v n="$now" -v b="$sz" 'BEGIN{printf "%.4f", n-(b-44)/192000}')
      export UTTER_AUDIO_REC_T0
      return 0
    fi
    _utter_alive "$_UTTER_REC_PID" || break
    sleep 0.01
  done
  _utter_log "recorder produced no data"; cat "$UTTER_AUDIO_DIR/recorder.log" >&2
  utter_audio_stop_record || true
  return 1
}

# Seconds since the first captured sample (pass to analyze.py --after/--silent-after).
utter_audio_elapsed() {
  awk -v n="$(date +%s.%N)" -v t="${UTTER_AUDIO_REC_T0:?not recording}" 'BEGIN{printf "%.4f\n", n-t}'
}

# Stop the recorder. SIGINT and SIGTERM both make parecord close the file
# properly (verified); SIGKILL leaves data size 0 in the header.
utter_audio_stop_record() {
  [[ -n ${_UTTER_REC_PID:-} ]] || return 0
  sleep "$UTTER_AUDIO_DRAIN_S"               # let the last ~40 ms chunk arrive
  _utter_kill "$_UTTER_REC_PID" INT
  _UTTER_REC_PID=
  local sz
  sz=$(stat -c %s "$_UTTER_REC_FILE" 2>/dev/null || echo 0)
  if ((sz <= 44)); then _utter_log "capture $_UTTER_REC_FILE is empty"; return 1; fi
}

# For scripts that play to whatever sound server there is (the benchmarks): on Linux with none
# reachable, install and start the private null-sink server; elsewhere do nothing.
# utter_audio_stop undoes it (and is a no-op when nothing was started).
utter_audio_ensure() {
  [[ $(uname -s) == Linux && -z ${PULSE_SERVER:-} ]] || return 0
  pactl info >/dev/null 2>&1 && return 0
  _utter_log "no sound server: playing into a private PulseAudio null sink"
  utter_audio_install
  utter_audio_start
}

# Kill recorder, keeper, server; remove the temp dir; restore XDG_RUNTIME_DIR.
# Safe to call any number of times.
utter_audio_stop() {
  [[ -n ${UTTER_AUDIO_DIR:-} ]] || return 0
  utter_audio_stop_record >/dev/null 2>&1 || true
  _utter_kill "${_UTTER_KEEPER_PID:-}" TERM
  _utter_kill "${_UTTER_PULSE_PID:-}" TERM
  rm -rf "$UTTER_AUDIO_DIR"
  _utter_restore XDG_RUNTIME_DIR "${_UTTER_OLD_XDG:-__unset__}"
  [[ -z ${_UTTER_OLD_ALSA:-} ]] || _utter_restore ALSA_CONFIG_PATH "$_UTTER_OLD_ALSA"
  _UTTER_OLD_ALSA=
  unset UTTER_AUDIO_DIR PULSE_SERVER PULSE_SINK UTTER_AUDIO_REC_T0
  _UTTER_PULSE_PID= _UTTER_KEEPER_PID= _UTTER_REC_PID=
}

# Register utter_audio_stop on EXIT, INT and TERM (replaces existing traps for
# those signals; if the caller has its own EXIT trap, call utter_audio_stop there).
utter_audio_trap() {
  trap 'utter_audio_stop' EXIT
  trap 'utter_audio_stop; exit 130' INT
  trap 'utter_audio_stop; exit 143' TERM
}
