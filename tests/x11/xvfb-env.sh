# shellcheck shell=bash
# xvfb-env.sh — an X display for tests on a machine with no screen.
#
#   source tests/x11/xvfb-env.sh
#   utter_x11_start      # if DISPLAY is unset: a private Xvfb (1280x800x24), DISPLAY exported
#   utter_x11_stop       # stops it (idempotent); utter_x11_start registers nothing on EXIT,
#                        # so call it from your own trap if the script keeps running
#
# Xvfb picks a free display number itself (-displayfd), so parallel runs never collide.
# -noreset: an X server resets when its last client disconnects, and a client connecting during
# the reset is dropped ("connection reset by peer"); tests connect and disconnect one after
# another, as no desktop session would.

utter_x11_start() {
  if [ -n "${DISPLAY:-}" ]; then
    return 0
  fi
  command -v Xvfb >/dev/null || { echo "xvfb-env: Xvfb is missing (apt install xvfb)" >&2; return 1; }
  UTTER_X11_DIR=$(mktemp -d)
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$UTTER_X11_DIR/display" \
    >"$UTTER_X11_DIR/xvfb.log" 2>&1 &
  UTTER_X11_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$UTTER_X11_DIR/display" ] && break
    sleep 0.05
  done
  [ -s "$UTTER_X11_DIR/display" ] || { cat "$UTTER_X11_DIR/xvfb.log" >&2; return 1; }
  export DISPLAY=":$(tr -d '[:space:]' <"$UTTER_X11_DIR/display")"
  echo "xvfb-env: Xvfb on $DISPLAY" >&2
}

utter_x11_stop() {
  if [ -n "${UTTER_X11_PID:-}" ]; then
    kill "$UTTER_X11_PID" 2>/dev/null || true
    wait "$UTTER_X11_PID" 2>/dev/null || true
    rm -rf "$UTTER_X11_DIR"
    unset UTTER_X11_PID UTTER_X11_DIR DISPLAY
  fi
}
