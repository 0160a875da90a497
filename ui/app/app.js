// Utter's window: voice picker, settings and the performance panel. Everything it shows comes
// from Rust: commands when the user acts, and the "status" and "performance" events Rust pushes
// at a fixed rate. The page never polls.
"use strict";

// WebKitGTK reports the POSIX locale "C" as the language when LANG=C; Intl rejects it, and the
// chart (uPlot, loaded after this file) formats its axes with Intl. Fall back to en-US then.
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
}

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);
const state = { voices: null, voice: null, platform: "linux", settings: null, chart: null };

// ---- tabs ---------------------------------------------------------------------------------
const TABS = ["welcome", "voices", "settings", "performance"];
function showTab(tab) {
  if (!TABS.includes(tab)) tab = "voices";
  for (const t of TABS) $(t).hidden = t !== tab;
  for (const b of document.querySelectorAll("nav button")) {
    b.classList.toggle("active", b.dataset.tab === tab);
  }
  if (tab === "performance") ensureChart();
  if (tab === "settings") loadDevices();
  history.replaceState(null, "", "#" + tab);
}
for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => showTab(b.dataset.tab));
}
$("welcome-go").addEventListener("click", () => showTab("voices"));

// ---- errors -------------------------------------------------------------------------------
function showError(e) {
  const message = (e && e.message) || String(e);
  banner("error", "Something went wrong.", message, "");
}
function banner(kind, title, text, fix, dismissable, grant) {
  const b = $("banner");
  b.className = "banner " + kind;
  $("banner-title").textContent = title;
  $("banner-text").textContent = text;
  $("banner-fix").textContent = fix || "";
  $("banner-dismiss").hidden = !dismissable;
  $("banner-grant").hidden = !grant;
  b.hidden = false;
}
$("banner-dismiss").addEventListener("click", async () => {
  await invoke("dismiss_warnings").catch(() => {});
  $("banner").hidden = true;
  state.warnings = [];
});

// ---- shortcuts as the platform writes them ------------------------------------------------
function pretty(shortcut) {
  if (!shortcut) return "—";
  if (state.platform !== "macos") return shortcut;
  const mac = { ctrl: "⌃", control: "⌃", alt: "⌥", option: "⌥", shift: "⇧", super: "⌘", cmd: "⌘", command: "⌘" };
  const keys = { right: "→", left: "←", up: "↑", down: "↓" };
  return shortcut.split("+").map((p) => mac[p.toLowerCase()] || keys[p.toLowerCase()] || p).join("");
}

// ---- status (pushed) ----------------------------------------------------------------------
const PHASE_TEXT = { loading: "Loading", ready: "Ready", speaking: "Speaking", paused: "Paused", error: "Error" };
function onStatus(s) {
  const pill = $("phase");
  pill.className = "pill " + s.phase;
  pill.textContent = PHASE_TEXT[s.phase] || s.phase;
  pill.title = s.message;
  if (s.problem) {
    banner("error", s.problem.message, "", s.problem.fix);
  } else if (s.notice) {
    banner("info", s.notice, "", "");
  } else if (s.access === "missing") {
    banner("info", "Utter is reading the clipboard, not your selection:", "it needs Accessibility access to see what you select in other apps.", "", false, true);
  } else if (state.warnings && state.warnings.length) {
    banner("", "Note:", state.warnings.join(" "), "", true);
  } else {
    $("banner").hidden = true;
  }
  renderAccess(s.access);
  if (s.phase !== "loading" && !state.voices) loadVoices();
  if (s.voice && s.voice !== state.voice) markVoice(s.voice);
  if (document.activeElement !== $("speed")) setSpeedUi(s.speed);
}

// ---- voices -------------------------------------------------------------------------------
async function loadVoices() {
  state.voices = [];
  try {
    state.voices = await invoke("voices");
  } catch (e) {
    state.voices = null; // try again on the next status change
    return;
  }
  renderVoices();
}
function renderVoices() {
  const list = $("voice-list");
  const q = $("voice-search").value.trim().toLowerCase();
  const groups = new Map();
  for (const v of state.voices || []) {
    const hay = `${v.name} ${v.id} ${v.language} ${v.gender}`.toLowerCase();
    if (q && !q.split(/\s+/).every((w) => hay.includes(w))) continue;
    if (!groups.has(v.language)) groups.set(v.language, []);
    groups.get(v.language).push(v);
  }
  list.replaceChildren();
  if (!groups.size) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = state.voices && state.voices.length ? "No voice matches." : "Loading voices…";
    list.append(p);
    return;
  }
  for (const [language, voices] of groups) {
    const g = document.createElement("div");
    g.className = "voice-group";
    const h = document.createElement("h3");
    h.textContent = language;
    const grid = document.createElement("div");
    grid.className = "voice-grid";
    voices.sort((a, b) => (a.gender === b.gender ? a.name.localeCompare(b.name) : a.gender === "female" ? -1 : 1));
    for (const v of voices) {
      const row = document.createElement("div");
      row.className = "voice" + (v.id === state.voice ? " selected" : "");
      row.dataset.voice = v.id;
      row.setAttribute("role", "radio");
      row.setAttribute("aria-checked", v.id === state.voice ? "true" : "false");
      const who = document.createElement("div");
      who.className = "who";
      const name = document.createElement("span");
      name.textContent = v.name;
      const meta = document.createElement("small");
      meta.textContent = `${v.gender} · ${v.id}`;
      who.append(name, meta);
      const play = document.createElement("button");
      play.className = "play";
      play.textContent = "▶";
      play.title = `Hear ${v.name}`;
      play.dataset.preview = v.id;
      play.addEventListener("click", (e) => {
        e.stopPropagation();
        invoke("preview_voice", { voice: v.id }).catch(showError);
      });
      row.append(who, play);
      row.addEventListener("click", () => chooseVoice(v.id));
      grid.append(row);
    }
    g.append(h, grid);
    list.append(g);
  }
}
async function chooseVoice(id) {
  try {
    await invoke("set_voice", { voice: id });
    markVoice(id);
  } catch (e) {
    showError(e);
  }
}
function markVoice(id) {
  state.voice = id;
  for (const row of document.querySelectorAll(".voice")) {
    const on = row.dataset.voice === id;
    row.classList.toggle("selected", on);
    row.setAttribute("aria-checked", on ? "true" : "false");
  }
}
$("voice-search").addEventListener("input", renderVoices);

// ---- speed, volume, try it ----------------------------------------------------------------
function setSpeedUi(speed) {
  if (typeof speed !== "number") return;
  $("speed").value = speed;
  $("speed-value").textContent = speed.toFixed(2) + "×";
}
$("speed").addEventListener("input", () => setSpeedUi(Number($("speed").value)));
$("speed").addEventListener("change", () => {
  invoke("set_speed", { speed: Number($("speed").value) }).catch(showError);
});
$("volume").addEventListener("change", () => {
  invoke("set_volume", { volume: Number($("volume").value) }).catch(showError);
});
$("try-speak").addEventListener("click", () => invoke("speak", { text: $("try-text").value }).catch(showError));
$("try-stop").addEventListener("click", () => invoke("stop").catch(showError));

// ---- settings -----------------------------------------------------------------------------
async function loadSettings() {
  const view = await invoke("settings");
  state.settings = view.settings;
  state.platform = view.platform;
  state.warnings = view.warnings;
  state.voice = view.settings.voice;
  setSpeedUi(view.settings.speed);
  $("volume").value = view.settings.volume;
  $("launch-at-login").checked = view.settings.launch_at_login;
  $("api-enabled").checked = view.settings.api.enabled;
  $("api-port").value = view.settings.api.port;
  $("config-dir").textContent = view.config_dir;
  $("welcome-shortcut").textContent = pretty(view.settings.shortcuts.read_selection);
  $("welcome-stop").textContent = pretty(view.settings.shortcuts.stop);
  renderShortcuts(view);
  renderApi(view.api);
  renderAccess(view.access);
  renderEngine(view);
  return view;
}

// ---- selection access (macOS: the Accessibility permission) -------------------------------
const ACCESS_TEXT = {
  not_needed: "Utter reads the selection in any app directly; no permission is needed here.",
  granted: "Accessibility access is on: Utter reads what you select in any app. Your clipboard is always left as it was.",
  missing: "Utter has no Accessibility access, so it reads the clipboard instead of your selection.",
};
function renderAccess(access) {
  if (!access) return;
  $("access-text").textContent = ACCESS_TEXT[access] || access;
  $("access-text").dataset.access = access;
  $("access-grant").hidden = access !== "missing";
  $("access-help").hidden = access !== "missing";
}
async function grantAccess() {
  try {
    renderAccess(await invoke("grant_access"));
  } catch (e) {
    showError(e);
  }
}
$("access-grant").addEventListener("click", grantAccess);
$("banner-grant").addEventListener("click", grantAccess);

// ---- engine: execution provider -----------------------------------------------------------
function renderEngine(view) {
  const chosen = view.settings.execution_provider || "cpu";
  $("execution-provider").value = chosen;
  const ep = view.execution_provider;
  $("ep-status").textContent = ep ? `Running on ${epSummary(ep)}.` : "The engine is starting.";
  $("ep-restart-row").hidden = !ep || ep.requested === chosen;
}
function epSummary(ep) {
  let line = ep.running;
  if (ep.fallback_reason) line += ` (${ep.fallback_reason})`;
  else if (ep.requested === "auto" && ep.timings.length) {
    line += " (measured: " + ep.timings.map((t) => `${t.provider} ${t.median_ms == null ? "failed" : Math.round(t.median_ms) + " ms"}`).join(", ") + ")";
  }
  return line;
}
$("execution-provider").addEventListener("change", async () => {
  try {
    renderEngine(await invoke("set_execution_provider", { provider: $("execution-provider").value }));
  } catch (e) {
    showError(e);
  }
});
$("ep-restart").addEventListener("click", () => invoke("restart").catch(showError));
function renderShortcuts(view) {
  const table = $("shortcut-table");
  table.replaceChildren();
  const errors = new Map(view.shortcut_errors);
  for (const [action, label] of view.actions) {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = label;
    const cell = document.createElement("td");
    const input = document.createElement("input");
    input.id = "shortcut-" + action;
    input.value = view.settings.shortcuts[action] || "";
    input.placeholder = "none";
    input.title = pretty(input.value);
    input.addEventListener("keydown", (e) => recordShortcut(e, action, input));
    input.addEventListener("change", () => saveShortcut(action, input.value));
    cell.append(input);
    const note = document.createElement("td");
    note.id = "shortcut-note-" + action;
    if (errors.has(action)) {
      note.className = "error";
      note.textContent = errors.get(action);
    } else if (input.value) {
      note.className = "ok";
      note.textContent = pretty(input.value);
    }
    tr.append(name, cell, note);
    table.append(tr);
  }
}
const KEY_NAMES = { ArrowRight: "Right", ArrowLeft: "Left", ArrowUp: "Up", ArrowDown: "Down", Space: "Space", Enter: "Enter", Escape: "Escape" };
function recordShortcut(e, action, input) {
  if (e.key === "Tab") return;
  e.preventDefault();
  if (e.key === "Backspace" || e.key === "Delete") {
    input.value = "";
    saveShortcut(action, "");
    return;
  }
  let key = KEY_NAMES[e.code] || e.code.replace(/^Key/, "").replace(/^Digit/, "");
  if (/^(Control|Alt|Shift|Meta|OS)/.test(e.code)) return; // a modifier alone: wait for the key
  const parts = [];
  if (e.ctrlKey) parts.push("Ctrl");
  if (e.altKey) parts.push("Alt");
  if (e.shiftKey) parts.push("Shift");
  if (e.metaKey) parts.push("Super");
  if (!parts.length) return; // a global shortcut needs a modifier
  parts.push(key);
  input.value = parts.join("+");
  saveShortcut(action, input.value);
}
async function saveShortcut(action, shortcut) {
  try {
    const view = await invoke("set_shortcut", { action, shortcut });
    renderShortcuts(view);
  } catch (e) {
    const note = $("shortcut-note-" + action);
    note.className = "error";
    note.textContent = e.message || String(e);
  }
}
async function loadDevices() {
  const select = $("device");
  const devices = await invoke("devices").catch(() => []);
  const current = state.settings && state.settings.device;
  select.replaceChildren(new Option("System default", ""));
  for (const d of devices) {
    select.append(new Option(d.name + (d.is_default ? " (default)" : ""), d.name, false, d.name === current));
  }
}
$("device").addEventListener("change", async () => {
  const device = $("device").value || null;
  try {
    await invoke("set_device", { device });
    state.settings.device = device;
  } catch (e) {
    showError(e);
  }
});
$("launch-at-login").addEventListener("change", () => {
  invoke("set_launch_at_login", { enabled: $("launch-at-login").checked }).catch((e) => {
    $("launch-at-login").checked = !$("launch-at-login").checked;
    showError(e);
  });
});
async function saveApi() {
  try {
    renderApi(await invoke("set_api", { enabled: $("api-enabled").checked, port: Number($("api-port").value) }));
  } catch (e) {
    showError(e);
  }
}
$("api-enabled").addEventListener("change", saveApi);
$("api-port").addEventListener("change", () => $("api-enabled").checked && saveApi());
function renderApi(api) {
  const p = $("api-status");
  if (api.running) p.textContent = `Serving at ${api.url} (POST /audio/speech).`;
  else if (api.error) p.textContent = `Not serving: ${api.error}`;
  else p.textContent = $("api-enabled").checked ? "Starting…" : "Off.";
}

// ---- performance (pushed) -----------------------------------------------------------------
const ms = (v) => (v == null ? "—" : `${Math.round(v)} ms`);
const num = (v, d = 2) => (v == null ? "—" : v.toFixed(d));
const mb = (v) => (v == null ? "—" : `${Math.round(v)} MB`);
const pct = (v) => (v == null ? "—" : `${Math.round(v * 100)}%`);
function onPerformance(p) {
  $("perf-ttfa-last").textContent = ms(p.first_audio_ms.last);
  $("perf-ttfa-p50").textContent = ms(p.first_audio_ms.p50);
  $("perf-ttfa-p95").textContent = ms(p.first_audio_ms.p95);
  $("perf-rtf-last").textContent = num(p.real_time_factor.last);
  $("perf-rtf-p50").textContent = num(p.real_time_factor.p50);
  $("perf-underruns-last").textContent = p.utterances ? String(p.underruns_last) : "—";
  $("perf-underruns-total").textContent = p.utterances ? String(p.underruns_total) : "—";
  $("perf-mem-app").textContent = mb(p.memory.app_mb);
  $("perf-mem-webview").textContent = mb(p.memory.webview_mb);
  $("perf-cache").textContent = pct(p.cache_hit_rate);
  $("perf-phoneme-cache").textContent = pct(p.phoneme_cache_hit_rate);
  const e = p.engine;
  $("fact-state").textContent = e.state;
  $("fact-model").textContent = e.model || "—";
  $("fact-precision").textContent = e.precision || "—";
  $("fact-ep").textContent = e.execution_provider || "—";
  $("fact-threads").textContent = e.threads ? `${e.threads} intra-op${e.spinning ? ", spinning within runs" : ""}` : "—";
  $("fact-warmup").textContent = e.warm_up_complete
    ? `complete in ${ms(e.warm_up_ms)} (ready after ${ms(e.ready_after_ms)}; model loaded in ${ms(e.load_ms)})`
    : e.ready_after_ms != null ? `ready after ${ms(e.ready_after_ms)}, finishing while idle` : "running…";
  $("fact-decoding").textContent = e.windowed_decoding ? "windowed (first sound after a short window)" : "whole chunks";
  $("fact-output").textContent = p.output ? `${p.output.device} · ${p.output.rate} Hz · ${p.output.channels} ch · ${p.output.sample_format}` : "—";
  $("fact-capture").textContent = p.capture ? `${p.capture.chars} characters from the ${p.capture.origin} in ${num(p.capture.took_ms, 1)} ms` : "—";
  $("fact-utterances").textContent = String(p.utterances);
  updateChart(p.recent);
}
function ensureChart() {
  if (state.chart || !window.uPlot) return;
  const el = $("chart");
  const width = Math.max(300, el.clientWidth || 700);
  state.chart = new uPlot(
    {
      width,
      height: 200,
      legend: { show: true, live: false },
      scales: {
        x: { time: false, range: (u, min, max) => [min - 0.6, max + 0.6] },
        ms: { range: (u, min, max) => [0, Math.max(100, (max || 0) * 1.15)] },
        rtf: { range: (u, min, max) => [0, Math.max(0.5, (max || 0) * 1.15)] },
      },
      axes: [
        { label: "reading", incrs: [1, 2, 5, 10, 20], values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v : "")) },
        { scale: "ms", label: "ms", size: 50 },
        { scale: "rtf", side: 1, label: "RTF", grid: { show: false }, size: 40 },
      ],
      series: [
        { label: "#" },
        { label: "first audio", scale: "ms", stroke: "#6366f1", fill: "rgba(99,102,241,.35)", paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } },
        { label: "RTF", scale: "rtf", stroke: "#16a34a", width: 2 },
      ],
    },
    [[], [], []],
    el,
  );
  if (state.recent) updateChart(state.recent);
}
function updateChart(recent) {
  state.recent = recent;
  if (!state.chart) return;
  const xs = recent.map((_, i) => i + 1);
  state.chart.setData([xs, recent.map((r) => r.first_audio_ms), recent.map((r) => r.real_time_factor)]);
}
window.addEventListener("resize", () => {
  if (state.chart) state.chart.setSize({ width: Math.max(300, $("chart").clientWidth), height: 200 });
});

// Anything unexpected is shown, not swallowed.
window.addEventListener("error", (e) => showError(e.message));
window.addEventListener("unhandledrejection", (e) => showError(e.reason));

// ---- start --------------------------------------------------------------------------------
async function main() {
  await listen("status", (e) => onStatus(e.payload));
  await listen("performance", (e) => onPerformance(e.payload));
  await listen("navigate", (e) => showTab(e.payload));
  const view = await loadSettings().catch(showError);
  showTab((location.hash || "#voices").slice(1));
  if (view && view.first_launch && location.hash === "#welcome") showTab("welcome");
  onStatus(await invoke("status"));
  onPerformance(await invoke("performance"));
  document.body.dataset.ready = "true"; // for the end-to-end tests
}
main().catch(showError);
