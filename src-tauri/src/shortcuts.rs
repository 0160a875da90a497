//! Global shortcuts: registered from the settings, each bound to an action. One that cannot be
//! registered (malformed, used twice, or taken by another app) is recorded and shown in
//! Settings, never silently lost.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Instant;

use tauri::AppHandle;
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutEvent, ShortcutState};
use utter_core::settings::{Action, Shortcuts};

use crate::state::{lock, state};

/// Which action each registered shortcut (by id) performs.
static BOUND: Mutex<Option<HashMap<u32, Action>>> = Mutex::new(None);

/// Parses a shortcut as written in the settings ("Ctrl+Alt+S").
pub fn parse(text: &str) -> Result<Shortcut, String> {
    Shortcut::from_str(text.trim()).map_err(|e| {
        format!("{text:?} is not a shortcut Utter understands ({e}); write it like Ctrl+Alt+S")
    })
}

/// Registers every shortcut in `shortcuts` (replacing the ones registered before) and records
/// the ones that failed, with why.
pub fn apply(app: &AppHandle, shortcuts: &Shortcuts) {
    let manager = app.global_shortcut();
    if let Err(e) = manager.unregister_all() {
        tracing::warn!("could not release the previous shortcuts: {e}");
    }
    let mut bound = HashMap::new();
    let mut errors = Vec::new();
    for (action, text) in shortcuts.actions() {
        if text.trim().is_empty() {
            continue; // the user turned this one off
        }
        let shortcut = match parse(text) {
            Ok(s) => s,
            Err(e) => {
                errors.push((action, e));
                continue;
            }
        };
        if let Some(other) = bound.get(&shortcut.id()) {
            errors.push((
                action,
                format!(
                    "{text} is already the shortcut for {}",
                    Action::label(*other)
                ),
            ));
            continue;
        }
        match manager.register(shortcut) {
            Ok(()) => {
                bound.insert(shortcut.id(), action);
            }
            Err(e) => errors.push((action, explain(text, &e.to_string()))),
        }
    }
    for (action, why) in &errors {
        tracing::warn!("shortcut for {}: {why}", action.label());
    }
    *lock(&BOUND) = Some(bound);
    *lock(&state(app).shortcut_errors) = errors;
}

/// Says why registering `text` failed in the user's terms.
fn explain(text: &str, error: &str) -> String {
    if error.contains("already registered") {
        format!("{text} is taken by another app; choose another shortcut")
    } else {
        format!("{text} could not be registered: {error}")
    }
}

/// The plugin's handler: runs the shortcut's action when it is pressed.
pub fn on_shortcut(app: &AppHandle, shortcut: &Shortcut, event: ShortcutEvent) {
    if event.state() != ShortcutState::Pressed {
        return;
    }
    let pressed = Instant::now();
    let action = lock(&BOUND)
        .as_ref()
        .and_then(|b| b.get(&shortcut.id()).copied());
    if let Some(action) = action {
        tracing::debug!(?action, "shortcut pressed");
        perform(app, action, pressed);
    }
}

/// Runs `action`, off the UI thread (capturing the selection takes a few milliseconds).
pub fn perform(app: &AppHandle, action: Action, pressed: Instant) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("utter-action".into())
        .spawn(move || {
            if let Err(e) = run(&app, action, pressed) {
                tracing::warn!("{}: {}", action.label(), e.message);
                state(&app).notify(e.message);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot run {}: {e}", action.label());
    }
}

fn run(
    app: &AppHandle,
    action: Action,
    pressed: Instant,
) -> Result<(), crate::commands::CommandError> {
    let st = state(app);
    let core = st.core()?;
    match action {
        Action::ReadSelection => crate::commands::read_selection_at(app, pressed)?,
        Action::Stop => core.stop(),
        Action::Pause => core.toggle_pause(),
        Action::NextSentence => core.skip(1)?,
        Action::PreviousSentence => core.skip(-1)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_shortcuts_parse_and_typos_are_explained() {
        for (_, text) in Shortcuts::default().actions() {
            assert!(parse(text).is_ok(), "{text}");
        }
        assert_eq!(
            parse("Ctrl+Alt+Right").map(|s| s.id()),
            parse("control+option+ArrowRight").map(|s| s.id()),
            "the same shortcut however it is spelled"
        );
        let e = parse("Ctrl+Alt+").expect_err("no key");
        assert!(e.contains("Ctrl+Alt+S"), "says how to write one: {e}");
    }

    #[test]
    fn a_taken_shortcut_is_said_in_the_users_terms() {
        let why = explain("Ctrl+Alt+S", "HotKey already registered: HotKey { .. }");
        assert!(why.contains("taken by another app"), "{why}");
    }
}
