//! Utter's menu-bar app: press a shortcut and the text you selected is read aloud.
//!
//! A thin Tauri 2 shell over `utter-core`: a tray icon with its menu ([`tray`]), global
//! shortcuts ([`shortcuts`]), the selection ([`utter_selection`]), one window with the voice
//! picker, settings and the performance panel (`ui/app`, commands in [`commands`], live figures
//! pushed by [`live`]), and the optional local HTTP API ([`api`]). The engine loads and warms
//! on a thread of its own at launch ([`start`]); the app is up before it is ready and says so.
//!
//! It has no Dock icon on macOS (accessory activation policy; LSUIElement in the bundle), runs
//! once per user (a second launch opens the window of the first), and keeps running when its
//! window closes.

mod api;
mod commands;
mod live;
mod shortcuts;
mod start;
mod state;
mod tray;
mod window;

use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

pub use start::self_check;

/// Runs the app until the user quits.
pub fn run() {
    let app = tauri::Builder::default()
        // First: a second launch hands over to the running one and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            window::show(app, "voices");
        }))
        .plugin(
            tauri_plugin_global_shortcut::Builder::new()
                .with_handler(shortcuts::on_shortcut)
                .build(),
        )
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_notification::init())
        // Back in the window after granting access in System Settings: show it at once.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(true) = event
                && let Some(st) = window.app_handle().try_state::<state::AppState>()
            {
                st.refresh_access();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::voices,
            commands::set_voice,
            commands::preview_voice,
            commands::set_speed,
            commands::set_volume,
            commands::devices,
            commands::set_device,
            commands::speak,
            commands::read_selection,
            commands::stop,
            commands::toggle_pause,
            commands::skip,
            commands::settings,
            commands::set_shortcut,
            commands::set_launch_at_login,
            commands::set_api,
            commands::dismiss_warnings,
            commands::performance,
            commands::grant_access,
            commands::set_execution_provider,
            commands::restart,
        ])
        .setup(|app| {
            setup(app.handle());
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Utter could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|_app, event| match event {
        // Closing the window leaves Utter in the tray; only Quit (an exit code) ends it.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        // Opened again from Finder, Spotlight or `open -a Utter` while it runs: show the window
        // (a menu-bar app has no Dock icon to click).
        #[cfg(target_os = "macos")]
        RunEvent::Reopen { .. } => window::show(_app, "voices"),
        _ => {}
    });
}

fn setup(app: &AppHandle) {
    let (config_dir, cache_dir) = start::dirs(app);
    init_logging(&config_dir, app);
    tracing::info!(config = %config_dir.display(), "Utter starting");
    app.manage(state::AppState::new(config_dir, cache_dir));
    let st = state::state(app);
    if let Err(e) = tray::build(app) {
        // Without a tray (no status notifier host) the window is the way in.
        tracing::warn!("no tray icon: {e}");
    }
    let shortcuts = state::lock(&st.settings).shortcuts.clone();
    shortcuts::apply(app, &shortcuts);
    live::start(app);
    start::start_core(app);
    // The window opens at a first launch (to say what Utter is and where it lives), when asked
    // (`--window`), and under WebDriver (which drives the first web view created).
    let asked = std::env::args().any(|a| a == "--window")
        || std::env::var_os("TAURI_WEBVIEW_AUTOMATION").is_some();
    if st.first_launch || asked {
        window::show(app, if st.first_launch { "welcome" } else { "voices" });
    }
}

/// Logs to a daily file in the app's log directory and to stderr (`RUST_LOG` to change).
fn init_logging(config_dir: &std::path::Path, app: &AppHandle) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let dir = if std::env::var_os("UTTER_CONFIG_DIR").is_some() {
        config_dir.join("logs")
    } else {
        app.path()
            .app_log_dir()
            .unwrap_or_else(|_| config_dir.join("logs"))
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,ort=warn"));
    let file = tracing_appender::rolling::daily(&dir, "utter.log");
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(file),
        )
        .try_init();
}
