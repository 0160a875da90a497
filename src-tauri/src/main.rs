// No console window on Windows release builds; the app lives in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Before anything graphical: the bundle's own check (see `utter_app::self_check`).
    if std::env::args().any(|a| a == "--self-check") {
        std::process::exit(utter_app::self_check());
    }
    utter_app::run();
}
