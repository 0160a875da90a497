//! The tray (menu-bar) icon and its menu. The icon shows the phase (loading, ready, speaking,
//! error); the menu's first line says it in words.
//!
//! Read selection (with its shortcut) · Stop · Pause/Resume · Voice ▸ (grouped by language,
//! English first, then female and male, the current one checked) · Speed ▸ · Output device ▸ ·
//! (macOS) the Accessibility state, or "Grant Accessibility Access…" while it is missing ·
//! Performance… · Settings… · Launch at login · Quit.

use std::collections::HashMap;
use std::sync::Mutex;

use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu, SubmenuBuilder,
};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt;
use utter_core::settings::{Action, Shortcuts};

use crate::state::{Phase, Status, lock, state};

const TRAY_ID: &str = "utter";
/// Speeds offered in the menu (any other can be set in the window).
const SPEEDS: [f32; 8] = [0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0];

/// The menu items that change while the app runs.
pub struct TrayMenu {
    status: MenuItem<Wry>,
    /// macOS: the Accessibility permission (where reading the selection needs one).
    access: Option<MenuItem<Wry>>,
    actions: HashMap<Action, MenuItem<Wry>>,
    voice_menu: Submenu<Wry>,
    voices: Mutex<HashMap<String, CheckMenuItem<Wry>>>,
    speeds: Vec<(f32, CheckMenuItem<Wry>)>,
    device_menu: Submenu<Wry>,
    devices: Mutex<Vec<(Option<String>, CheckMenuItem<Wry>)>>,
    launch: CheckMenuItem<Wry>,
    shown: Mutex<Option<Phase>>,
}

fn icon(phase: Phase) -> Option<Image<'static>> {
    let bytes: &'static [u8] = if cfg!(target_os = "macos") {
        match phase {
            Phase::Loading => include_bytes!("../icons/tray-template-loading.png"),
            Phase::Speaking | Phase::Paused => {
                include_bytes!("../icons/tray-template-speaking.png")
            }
            Phase::Error => include_bytes!("../icons/tray-template-error.png"),
            Phase::Ready => include_bytes!("../icons/tray-template.png"),
        }
    } else {
        match phase {
            Phase::Loading => include_bytes!("../icons/tray-loading.png"),
            Phase::Speaking | Phase::Paused => include_bytes!("../icons/tray-speaking.png"),
            Phase::Error => include_bytes!("../icons/tray-error.png"),
            Phase::Ready => include_bytes!("../icons/tray.png"),
        }
    };
    Image::from_bytes(bytes).ok()
}

/// Builds the tray icon and its menu.
pub fn build(app: &AppHandle) -> tauri::Result<()> {
    let st = state(app);
    let settings = lock(&st.settings).clone();
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    let mut actions = HashMap::new();
    for (id, action) in [
        ("read", Action::ReadSelection),
        ("stop", Action::Stop),
        ("pause", Action::Pause),
    ] {
        let accel = settings.shortcuts.get(action).to_string();
        let item = MenuItem::with_id(app, id, action.label(), true, Some(accel.as_str()))?;
        actions.insert(action, item);
    }
    let voice_menu = SubmenuBuilder::new(app, "Voice").build()?;
    let speed_menu = SubmenuBuilder::new(app, "Speed").build()?;
    let mut speeds = Vec::new();
    for s in SPEEDS {
        let checked = (s - settings.speed).abs() < 1e-3;
        let item = CheckMenuItem::with_id(
            app,
            format!("speed:{s}"),
            format!("{s}×"),
            true,
            checked,
            None::<&str>,
        )?;
        speed_menu.append(&item)?;
        speeds.push((s, item));
    }
    let device_menu = SubmenuBuilder::new(app, "Output device").build()?;
    let launch = CheckMenuItem::with_id(
        app,
        "launch",
        "Launch at login",
        true,
        app.autolaunch()
            .is_enabled()
            .unwrap_or(settings.launch_at_login),
        None::<&str>,
    )?;
    let access = if cfg!(target_os = "macos") {
        Some(MenuItem::with_id(
            app,
            "access",
            access_text(st.status().access),
            st.status().access == "missing",
            None::<&str>,
        )?)
    } else {
        None
    };
    let separator = || PredefinedMenuItem::separator(app);
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = vec![
        Box::new(status.clone()),
        Box::new(separator()?),
        Box::new(actions[&Action::ReadSelection].clone()),
        Box::new(actions[&Action::Stop].clone()),
        Box::new(actions[&Action::Pause].clone()),
        Box::new(separator()?),
        Box::new(voice_menu.clone()),
        Box::new(speed_menu),
        Box::new(device_menu.clone()),
        Box::new(separator()?),
    ];
    if let Some(access) = &access {
        items.push(Box::new(access.clone()));
        items.push(Box::new(separator()?));
    }
    let rest: [Box<dyn IsMenuItem<Wry>>; 5] = [
        Box::new(MenuItem::with_id(
            app,
            "performance",
            "Performance…",
            true,
            None::<&str>,
        )?),
        Box::new(MenuItem::with_id(
            app,
            "settings",
            "Settings…",
            true,
            None::<&str>,
        )?),
        Box::new(launch.clone()),
        Box::new(separator()?),
        // Not PredefinedMenuItem::quit: it does nothing on Linux.
        Box::new(MenuItem::with_id(
            app,
            "quit",
            "Quit Utter",
            true,
            None::<&str>,
        )?),
    ];
    items.extend(rest);
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(|b| b.as_ref()).collect();
    let menu = Menu::with_items(app, &refs)?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Utter")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .icon_as_template(cfg!(target_os = "macos"))
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(image) = icon(Phase::Loading) {
        tray = tray.icon(image);
    }
    tray.build(app)?;
    app.manage(TrayMenu {
        status,
        access,
        actions,
        voice_menu,
        voices: Mutex::new(HashMap::new()),
        speeds,
        device_menu,
        devices: Mutex::new(Vec::new()),
        launch,
        shown: Mutex::new(None),
    });
    Ok(())
}

fn menu(app: &AppHandle) -> Option<tauri::State<'_, TrayMenu>> {
    app.try_state::<TrayMenu>()
}

fn on_menu(app: &AppHandle, id: &str) {
    let now = std::time::Instant::now();
    let st = state(app);
    match id {
        "read" => crate::shortcuts::perform(app, Action::ReadSelection, now),
        "stop" => crate::shortcuts::perform(app, Action::Stop, now),
        "pause" => crate::shortcuts::perform(app, Action::Pause, now),
        "performance" => crate::window::show(app, "performance"),
        "access" => {
            crate::commands::grant_access(app.clone());
        }
        "settings" => crate::window::show(app, "settings"),
        "launch" => {
            let on = menu(app).is_some_and(|m| m.launch.is_checked().unwrap_or(false));
            if let Err(e) = set_launch_at_login(app, on) {
                st.notify(e);
            }
        }
        "quit" => app.exit(0),
        other => {
            let result = if let Some(voice) = other.strip_prefix("voice:") {
                crate::commands::set_voice(app.clone(), voice.to_string())
            } else if let Some(speed) = other.strip_prefix("speed:") {
                let speed = speed.parse().unwrap_or(1.0);
                crate::commands::set_speed(app.clone(), speed)
            } else if let Some(device) = other.strip_prefix("device:") {
                crate::commands::set_device(app.clone(), Some(device.to_string()))
            } else {
                Ok(())
            };
            if let Err(e) = result {
                st.notify(e.message);
            }
        }
    }
}

/// Turns launch at login on or off (the system's login item) and saves it.
pub fn set_launch_at_login(app: &AppHandle, on: bool) -> Result<(), String> {
    let autolaunch = app.autolaunch();
    let done = if on {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    let result = done
        .map_err(|e| format!("launch at login could not be changed: {e}"))
        .and_then(|()| state(app).update_settings(|s| s.launch_at_login = on));
    if let Some(m) = menu(app) {
        let _ = m.launch.set_checked(autolaunch.is_enabled().unwrap_or(on));
    }
    result
}

/// Fills the Voice submenu (once the engine knows its voices): one submenu per language,
/// English first, female voices then male.
pub fn build_voices(app: &AppHandle, current: &str) {
    let (Some(m), Some(core)) = (menu(app), state(app).core.get().cloned()) else {
        return;
    };
    let mut items = lock(&m.voices);
    if !items.is_empty() {
        return;
    }
    let mut groups: Vec<(String, Submenu<Wry>)> = Vec::new();
    let mut build = || -> tauri::Result<()> {
        for gender in [utter_engine::Gender::Female, utter_engine::Gender::Male] {
            for v in core.engine().voices().iter().filter(|v| v.gender == gender) {
                let group = format!("{} {}", v.accent, v.language_name)
                    .trim()
                    .to_string();
                let sub = match groups.iter().find(|(g, _)| *g == group) {
                    Some((_, s)) => s.clone(),
                    None => {
                        let s = SubmenuBuilder::new(app, &group).build()?;
                        groups.push((group, s.clone()));
                        s
                    }
                };
                let label = format!(
                    "{} ({})",
                    v.name,
                    if gender == utter_engine::Gender::Female {
                        "female"
                    } else {
                        "male"
                    }
                );
                let item = CheckMenuItem::with_id(
                    app,
                    format!("voice:{}", v.id),
                    label,
                    true,
                    v.id == current,
                    None::<&str>,
                )?;
                sub.append(&item)?;
                items.insert(v.id.clone(), item);
            }
        }
        // Languages in the order the engine lists voices (English first).
        let order: Vec<String> = core
            .engine()
            .voices()
            .iter()
            .map(|v| {
                format!("{} {}", v.accent, v.language_name)
                    .trim()
                    .to_string()
            })
            .collect();
        groups.sort_by_key(|(g, _)| order.iter().position(|o| o == g).unwrap_or(usize::MAX));
        for (_, sub) in &groups {
            m.voice_menu.append(sub)?;
        }
        Ok(())
    };
    if let Err(e) = build() {
        tracing::warn!("the Voice menu could not be built: {e}");
    }
}

/// Checks `voice` in the Voice menu (and only it).
pub fn check_voice(app: &AppHandle, voice: &str) {
    if let Some(m) = menu(app) {
        for (id, item) in lock(&m.voices).iter() {
            let _ = item.set_checked(id == voice);
        }
    }
}

/// Checks the menu speed equal to `speed`, if any.
pub fn check_speed(app: &AppHandle, speed: f32) {
    if let Some(m) = menu(app) {
        for (s, item) in &m.speeds {
            let _ = item.set_checked((s - speed).abs() < 1e-3);
        }
    }
}

/// Checks `device` (None: System default) in the Output device menu.
pub fn check_device(app: &AppHandle, device: Option<&str>) {
    if let Some(m) = menu(app) {
        for (name, item) in lock(&m.devices).iter() {
            let _ = item.set_checked(name.as_deref() == device);
        }
    }
}

/// Re-reads the output devices into the Output device menu; returns them.
pub fn refresh_devices(app: &AppHandle) -> Vec<utter_audio::DeviceInfo> {
    let list = utter_audio::output_devices();
    let Some(m) = menu(app) else {
        return list;
    };
    let current = lock(&state(app).settings).device.clone();
    let mut items = lock(&m.devices);
    for (_, item) in items.drain(..) {
        let _ = m.device_menu.remove(&item);
    }
    let entries = std::iter::once((None, "System default".to_string()))
        .chain(list.iter().map(|d| (Some(d.name.clone()), d.name.clone())));
    for (name, label) in entries {
        let id = format!("device:{}", name.as_deref().unwrap_or(""));
        match CheckMenuItem::with_id(app, id, label, true, name == current, None::<&str>) {
            Ok(item) => {
                let _ = m.device_menu.append(&item);
                items.push((name, item));
            }
            Err(e) => tracing::warn!("device menu: {e}"),
        }
    }
    list
}

/// Shows the shortcuts next to their menu items.
pub fn show_shortcuts(app: &AppHandle, shortcuts: &Shortcuts) {
    if let Some(m) = menu(app) {
        for (action, item) in &m.actions {
            let accel = shortcuts.get(*action);
            let _ = item.set_accelerator((!accel.is_empty()).then_some(accel));
        }
    }
}

/// The tray's line for the Accessibility permission.
fn access_text(access: &str) -> &'static str {
    match access {
        "granted" => "Accessibility: on (reads the selection in any app)",
        "missing" => "Grant Accessibility Access… (reading the clipboard until then)",
        _ => "Accessibility: not needed",
    }
}

/// Shows `status` in the tray: the icon for its phase, its words in the first menu line.
pub fn show(app: &AppHandle, status: &Status) {
    let Some(m) = menu(app) else {
        return;
    };
    if let Some(access) = &m.access {
        let _ = access.set_text(access_text(status.access));
        let _ = access.set_enabled(status.access == "missing");
    }
    let line = match &status.notice {
        Some(n) => n.clone(),
        None => format!("Utter — {}", status.message),
    };
    let _ = m.status.set_text(&line);
    if let Some(pause) = m.actions.get(&Action::Pause) {
        let _ = pause.set_text(if status.phase == Phase::Paused {
            "Resume"
        } else {
            "Pause"
        });
        let _ = pause.set_enabled(matches!(status.phase, Phase::Speaking | Phase::Paused));
    }
    let mut shown = lock(&m.shown);
    if *shown != Some(status.phase) {
        *shown = Some(status.phase);
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            let _ = tray.set_icon(icon(status.phase));
            let _ = tray.set_icon_as_template(cfg!(target_os = "macos"));
            let _ = tray.set_tooltip(Some(&line));
        }
    }
}
