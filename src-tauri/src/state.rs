//! What the app holds: the settings, the core once it has started, the selection source, and
//! how it is doing (the phase the tray and the window show).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{AppHandle, Manager};
use utter_core::Core;
use utter_core::settings::{Action, Settings};
use utter_engine::EngineState;
use utter_selection::{Permission, SelectionSource};

/// How long a notice ("Nothing selected") stays up.
const NOTICE_FOR: Duration = Duration::from_secs(6);

/// The app's state, managed by tauri.
pub struct AppState {
    /// Where `settings.json` lives.
    pub config_dir: PathBuf,
    /// Where compiled models, derived graphs and measurements are cached.
    pub cache_dir: PathBuf,
    /// The user's settings (saved on every change).
    pub settings: Mutex<Settings>,
    /// No settings existed at launch.
    pub first_launch: bool,
    /// Things the user should know (a damaged settings file replaced, a voice not found).
    pub warnings: Mutex<Vec<String>>,
    /// The engine and player, once started.
    pub core: OnceLock<Arc<Core>>,
    /// Why the core could not start, with how to fix it.
    pub startup_error: Mutex<Option<Problem>>,
    /// The selection source, created on first use.
    pub selection: Mutex<Option<Box<dyn SelectionSource>>>,
    /// Whether Utter may read other apps' selections (macOS: the Accessibility permission),
    /// re-checked when the window gains focus and every few seconds.
    pub access: Mutex<Permission>,
    /// Shortcuts that could not be registered, by action, with the reason.
    pub shortcut_errors: Mutex<Vec<(Action, String)>>,
    /// A short-lived message (e.g. nothing was selected).
    pub notice: Mutex<Option<(String, Instant)>>,
    /// The last capture of the selection.
    pub last_capture: Mutex<Option<CaptureInfo>>,
    /// The local HTTP API, when on.
    pub api: Mutex<crate::api::Api>,
}

/// Something wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// How the last selection capture went.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CaptureInfo {
    /// Where the text came from: "selection" or "clipboard".
    pub origin: &'static str,
    /// Characters read.
    pub chars: usize,
    /// Capture time, ms.
    pub took_ms: f64,
}

/// Where the app is, as the tray and the window show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The engine is loading or warming up.
    Loading,
    /// Ready to read.
    Ready,
    /// Reading aloud.
    Speaking,
    /// Paused mid-reading.
    Paused,
    /// Something stops it from reading (see the problem).
    Error,
}

/// The status the window and tray show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The phase.
    pub phase: Phase,
    /// One line for the tray's status item and the window's banner.
    pub message: String,
    /// What is wrong, if anything.
    pub problem: Option<Problem>,
    /// A passing notice.
    pub notice: Option<String>,
    /// The current voice.
    pub voice: String,
    /// The current speed.
    pub speed: f32,
    /// Whether the selection can be read: "not_needed" (Linux), "granted", or "missing" (the
    /// clipboard is read instead).
    pub access: &'static str,
}

impl AppState {
    /// The state for an app whose settings live in `config_dir`.
    pub fn new(config_dir: PathBuf, cache_dir: PathBuf) -> Self {
        let loaded = Settings::load(&config_dir);
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        Self {
            config_dir,
            cache_dir,
            settings: Mutex::new(loaded.settings),
            first_launch: loaded.first_launch,
            warnings: Mutex::new(loaded.warnings),
            core: OnceLock::new(),
            startup_error: Mutex::new(None),
            selection: Mutex::new(None),
            access: Mutex::new(utter_selection::permission(false)),
            shortcut_errors: Mutex::new(Vec::new()),
            notice: Mutex::new(None),
            last_capture: Mutex::new(None),
            api: Mutex::new(crate::api::Api::default()),
        }
    }

    /// The core, or an error saying why there is none yet.
    pub fn core(&self) -> Result<&Arc<Core>, crate::commands::CommandError> {
        if let Some(core) = self.core.get() {
            return Ok(core);
        }
        Err(match lock(&self.startup_error).as_ref() {
            Some(p) => crate::commands::CommandError::new("not_started", &p.message),
            None => crate::commands::CommandError::new(
                "loading",
                "the voice engine is still starting; try again in a moment",
            ),
        })
    }

    /// Changes the settings with `change` and saves them.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<(), String> {
        let mut settings = lock(&self.settings);
        change(&mut settings);
        settings.save(&self.config_dir).map_err(|e| {
            tracing::error!("{e}");
            e.to_string()
        })
    }

    /// Shows `message` for a few seconds.
    pub fn notify(&self, message: impl Into<String>) {
        *lock(&self.notice) = Some((message.into(), Instant::now()));
    }

    /// Adds a warning the window shows until the user dismisses it.
    pub fn warn(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!("{message}");
        lock(&self.warnings).push(message);
    }

    /// The status now.
    pub fn status(&self) -> Status {
        let settings = lock(&self.settings);
        let (voice, speed) = (settings.voice.clone(), settings.speed);
        drop(settings);
        let notice = {
            let mut n = lock(&self.notice);
            if n.as_ref().is_some_and(|(_, at)| at.elapsed() > NOTICE_FOR) {
                *n = None;
            }
            n.as_ref().map(|(m, _)| m.clone())
        };
        let (phase, message, problem) = self.phase();
        Status {
            phase,
            message,
            problem,
            notice,
            voice,
            speed,
            access: lock(&self.access).as_str(),
        }
    }

    /// Asks the system again whether Utter may read other apps' selections.
    pub fn refresh_access(&self) -> Permission {
        let now = utter_selection::permission(false);
        *lock(&self.access) = now;
        now
    }

    fn phase(&self) -> (Phase, String, Option<Problem>) {
        if let Some(p) = lock(&self.startup_error).clone() {
            return (Phase::Error, p.message.clone(), Some(p));
        }
        let Some(core) = self.core.get() else {
            return (Phase::Loading, "Starting the voice engine…".into(), None);
        };
        match core.engine().state() {
            EngineState::Loading | EngineState::WarmingUp => {
                return (Phase::Loading, "Warming up the voice engine…".into(), None);
            }
            EngineState::Failed(e) => {
                let p = Problem {
                    message: format!("The voice engine could not start: {e}"),
                    fix: "Run `utter setup` (or reinstall Utter) to restore the model, voices and \
                          ONNX Runtime, then restart Utter."
                        .into(),
                };
                return (Phase::Error, p.message.clone(), Some(p));
            }
            EngineState::Stopped => {
                return (Phase::Error, "The voice engine has stopped.".into(), None);
            }
            EngineState::Ready => {}
        }
        if let Some(why) = core.player().output_error() {
            let p = Problem {
                message: format!("No audio output: {why}"),
                fix: "Connect headphones or speakers, or choose another output in Settings; \
                      Utter keeps looking for one."
                    .into(),
            };
            return (Phase::Error, p.message.clone(), Some(p));
        }
        if core.is_speaking() {
            if core.player().is_paused() {
                return (Phase::Paused, "Paused".into(), None);
            }
            return (Phase::Speaking, "Speaking…".into(), None);
        }
        (Phase::Ready, "Ready".into(), None)
    }
}

/// The app's state from any handle.
pub fn state(app: &AppHandle) -> &AppState {
    app.state::<AppState>().inner()
}

/// Locks a mutex, recovering from a panic elsewhere (the data stays usable).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
