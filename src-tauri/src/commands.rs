//! The commands the web UI invokes: each a few lines over the core API, errors as
//! `{code, message}`.

use std::time::Instant;

use serde::Serialize;
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;
use utter_core::CoreError;
use utter_core::settings::{Action, Settings};
use utter_selection::{CaptureError, Origin};

use crate::state::{CaptureInfo, Status, lock, state};

/// An error the UI shows: a stable code and a sentence.
#[derive(Debug, Clone, Serialize)]
pub struct CommandError {
    /// Stable, for the UI to branch on.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl CommandError {
    /// An error with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<CoreError> for CommandError {
    fn from(e: CoreError) -> Self {
        let code = match &e {
            CoreError::Engine(e) if e.is_user_error() => "invalid",
            CoreError::Engine(_) => "engine",
            CoreError::Audio(_) => "audio",
        };
        Self::new(code, e.to_string())
    }
}

type Result<T> = std::result::Result<T, CommandError>;

/// One voice, as the picker shows it.
#[derive(Debug, Serialize)]
pub struct VoiceView {
    id: String,
    name: String,
    language: String,
    accent: &'static str,
    gender: &'static str,
}

/// The settings and what became of them (shortcuts that failed, the API's address).
#[derive(Debug, Serialize)]
pub struct SettingsView {
    settings: Settings,
    shortcut_errors: Vec<(Action, String)>,
    actions: Vec<(Action, &'static str)>,
    platform: &'static str,
    api: crate::api::ApiView,
    config_dir: String,
    first_launch: bool,
    warnings: Vec<String>,
    /// See [`crate::state::Status::access`].
    access: &'static str,
    /// The execution provider the engine runs on now, and why (it changes at the next start).
    execution_provider: Option<utter_engine::ProviderReport>,
}

#[tauri::command]
pub fn status(app: AppHandle) -> Status {
    state(&app).status()
}

#[tauri::command]
pub fn voices(app: AppHandle) -> Result<Vec<VoiceView>> {
    let st = state(&app);
    let core = st.core()?;
    Ok(core
        .engine()
        .voices()
        .iter()
        .map(|v| VoiceView {
            id: v.id.clone(),
            name: v.name.clone(),
            language: format!("{} {}", v.accent, v.language_name)
                .trim()
                .to_string(),
            accent: v.accent,
            gender: match v.gender {
                utter_engine::Gender::Female => "female",
                utter_engine::Gender::Male => "male",
            },
        })
        .collect())
}

#[tauri::command]
pub fn set_voice(app: AppHandle, voice: String) -> Result<()> {
    let st = state(&app);
    st.core()?.set_voice(&voice)?;
    st.update_settings(|s| s.voice = voice.clone())
        .map_err(|e| CommandError::new("save", e))?;
    crate::tray::check_voice(&app, &voice);
    Ok(())
}

/// The sentence a voice preview reads.
const PREVIEW: &str = "Hello! This is how I sound when I read your articles aloud.";

#[tauri::command]
pub fn preview_voice(app: AppHandle, voice: String) -> Result<()> {
    Ok(state(&app).core()?.preview(&voice, PREVIEW)?)
}

#[tauri::command]
pub fn set_speed(app: AppHandle, speed: f32) -> Result<()> {
    let st = state(&app);
    st.core()?.set_speed(speed)?;
    st.update_settings(|s| s.speed = speed)
        .map_err(|e| CommandError::new("save", e))?;
    crate::tray::check_speed(&app, speed);
    Ok(())
}

#[tauri::command]
pub fn set_volume(app: AppHandle, volume: f32) -> Result<()> {
    let st = state(&app);
    let volume = volume.clamp(0.0, 1.0);
    st.core()?.set_volume(volume);
    st.update_settings(|s| s.volume = volume)
        .map_err(|e| CommandError::new("save", e))
}

/// Output devices (enumerating them can take a moment: off the UI thread).
#[tauri::command(async)]
pub fn devices(app: AppHandle) -> Vec<utter_audio::DeviceInfo> {
    crate::tray::refresh_devices(&app)
}

#[tauri::command]
pub fn set_device(app: AppHandle, device: Option<String>) -> Result<()> {
    let st = state(&app);
    let device = device.filter(|d| !d.is_empty());
    st.core()?.set_device(device.clone());
    st.update_settings(|s| s.device = device.clone())
        .map_err(|e| CommandError::new("save", e))?;
    crate::tray::check_device(&app, device.as_deref());
    Ok(())
}

#[tauri::command]
pub fn speak(app: AppHandle, text: String) -> Result<()> {
    Ok(state(&app).core()?.speak(&text)?)
}

/// Off the main thread (`async`): a capture waits on other apps and may post ⌘C.
#[tauri::command(async)]
pub fn read_selection(app: AppHandle) -> Result<()> {
    read_selection_at(&app, Instant::now())
}

#[tauri::command]
pub fn stop(app: AppHandle) -> Result<()> {
    state(&app).core()?.stop();
    Ok(())
}

#[tauri::command]
pub fn toggle_pause(app: AppHandle) -> Result<()> {
    state(&app).core()?.toggle_pause();
    Ok(())
}

#[tauri::command]
pub fn skip(app: AppHandle, by: i32) -> Result<()> {
    Ok(state(&app).core()?.skip(by)?)
}

#[tauri::command]
pub fn settings(app: AppHandle) -> SettingsView {
    let st = state(&app);
    SettingsView {
        settings: lock(&st.settings).clone(),
        shortcut_errors: lock(&st.shortcut_errors).clone(),
        actions: Action::ALL.iter().map(|a| (*a, a.label())).collect(),
        platform: std::env::consts::OS,
        api: crate::api::view(&app),
        config_dir: st.config_dir.display().to_string(),
        first_launch: st.first_launch,
        warnings: lock(&st.warnings).clone(),
        access: lock(&st.access).as_str(),
        execution_provider: st.core.get().map(|c| c.engine().info().provider),
    }
}

/// Asks for the Accessibility permission: the system's dialog where macOS still shows it, and
/// the System Settings pane where it is granted. Returns the state now.
#[tauri::command]
pub fn grant_access(app: AppHandle) -> &'static str {
    let st = state(&app);
    let now = utter_selection::permission(true);
    if now == utter_selection::Permission::Missing && cfg!(target_os = "macos") {
        // `open` returns once System Settings is asked to show the pane; waited for off the
        // main thread, so no zombie is left.
        let opened = std::thread::Builder::new()
            .name("utter-open-settings".into())
            .spawn(|| {
                let status = std::process::Command::new("open")
                    .arg(utter_selection::PERMISSION_SETTINGS_URL)
                    .status();
                if let Err(e) = status {
                    tracing::warn!("cannot open System Settings: {e}");
                }
            });
        if let Err(e) = opened {
            tracing::warn!("cannot open System Settings: {e}");
        }
    }
    *lock(&st.access) = now;
    now.as_str()
}

/// Chooses the execution provider ("cpu", "coreml" or "auto"); it takes effect when the engine
/// next starts ([`restart`]).
#[tauri::command]
pub fn set_execution_provider(app: AppHandle, provider: String) -> Result<SettingsView> {
    let choice: utter_engine::ProviderChoice = provider
        .parse()
        .map_err(|e: String| CommandError::new("invalid", e))?;
    state(&app)
        .update_settings(|s| s.execution_provider = choice.to_string())
        .map_err(|e| CommandError::new("save", e))?;
    Ok(settings(app))
}

/// Restarts Utter (a new engine with the saved settings), as Quit and open would.
#[tauri::command]
pub fn restart(app: AppHandle) {
    app.restart();
}

#[tauri::command]
pub fn set_shortcut(app: AppHandle, action: Action, shortcut: String) -> Result<SettingsView> {
    let shortcut = shortcut.trim().to_string();
    if !shortcut.is_empty() {
        crate::shortcuts::parse(&shortcut).map_err(|e| CommandError::new("invalid", e))?;
    }
    let st = state(&app);
    st.update_settings(|s| s.shortcuts.set(action, shortcut.clone()))
        .map_err(|e| CommandError::new("save", e))?;
    let shortcuts = lock(&st.settings).shortcuts.clone();
    crate::shortcuts::apply(&app, &shortcuts);
    crate::tray::show_shortcuts(&app, &shortcuts);
    Ok(settings(app))
}

#[tauri::command]
pub fn set_launch_at_login(app: AppHandle, enabled: bool) -> Result<()> {
    crate::tray::set_launch_at_login(&app, enabled).map_err(|e| CommandError::new("autostart", e))
}

#[tauri::command]
pub fn set_api(app: AppHandle, enabled: bool, port: u16) -> Result<crate::api::ApiView> {
    let st = state(&app);
    st.update_settings(|s| {
        s.api.enabled = enabled;
        s.api.port = port;
    })
    .map_err(|e| CommandError::new("save", e))?;
    crate::api::stop(&app);
    if enabled {
        crate::api::start(&app, port);
    }
    Ok(crate::api::view(&app))
}

#[tauri::command]
pub fn dismiss_warnings(app: AppHandle) {
    lock(&state(&app).warnings).clear();
}

#[tauri::command]
pub fn performance(app: AppHandle) -> crate::live::Performance {
    crate::live::performance(&app, None)
}

/// Reads the selection (else the clipboard) aloud; timings count from `pressed`. With nothing
/// to read, a notification and no sound.
pub fn read_selection_at(app: &AppHandle, pressed: Instant) -> Result<()> {
    let st = state(app);
    let core = st.core()?;
    let captured = {
        let mut slot = lock(&st.selection);
        let source = match slot.as_mut() {
            Some(s) => s,
            None => slot.insert(
                utter_selection::system()
                    .map_err(|e| CommandError::new("selection", e.to_string()))?,
            ),
        };
        source.capture()
    };
    match captured {
        Ok(c) => {
            if c.permission_missing {
                tell(
                    app,
                    "Reading the clipboard",
                    "Utter has no Accessibility access yet, so it is reading what you copied, \
                     not what you selected. Grant it in Utter's Settings › Selection.",
                );
            }
            *lock(&st.last_capture) = Some(CaptureInfo {
                origin: match c.origin {
                    Origin::Selection => "selection",
                    Origin::Clipboard => "clipboard",
                },
                chars: c.text.chars().count(),
                took_ms: c.took.as_secs_f64() * 1e3,
            });
            Ok(core.speak_requested_at(&c.text, pressed)?)
        }
        Err(e @ (CaptureError::Nothing | CaptureError::PermissionNeeded(_))) => {
            tell(app, "Nothing to read", &e.to_string());
            Ok(())
        }
        Err(e) => Err(CommandError::new("selection", e.to_string())),
    }
}

/// A system notification (where the desktop has a notification service) and the same words in
/// the tray's status line and the window.
pub fn tell(app: &AppHandle, title: &str, body: &str) {
    state(app).notify(body);
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("no notification shown: {e}");
    }
}
