//! The one window (voices, settings, performance). It exists only while open: closing it frees
//! the web view and its processes, so an idle Utter is just the tray, the engine and the audio
//! thread.

use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

const LABEL: &str = "main";

/// Opens the window on `tab` ("voices", "settings", "performance"), or brings it forward.
pub fn show(app: &AppHandle, tab: &str) {
    if let Some(window) = app.get_webview_window(LABEL) {
        let _ = window.emit("navigate", tab);
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
        return;
    }
    let Some(mut config) = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == LABEL)
        .cloned()
    else {
        tracing::error!("no window {LABEL} in tauri.conf.json");
        return;
    };
    config.url = WebviewUrl::App(format!("index.html#{tab}").into());
    match WebviewWindowBuilder::from_config(app, &config).and_then(|b| b.build()) {
        Ok(window) => {
            let _ = window.set_focus();
        }
        Err(e) => tracing::error!("the window could not be opened: {e}"),
    }
}

/// True while the window is open.
pub fn is_open(app: &AppHandle) -> bool {
    app.get_webview_window(LABEL).is_some()
}
