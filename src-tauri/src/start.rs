//! Starting the engine and player in the background, so the app is up (tray, window) at once
//! and shows "loading" until the engine is warm.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tauri::{AppHandle, Manager};
use utter_assets::AssetPaths;
use utter_audio::PlayerConfig;
use utter_core::Core;
use utter_core::settings::Settings;
use utter_engine::EngineConfig;

use crate::state::{Problem, lock, state};

/// Where the model, voices and ONNX Runtime are: inside the app bundle (macOS: Resources) when
/// it carries them, else where `utter setup` puts them (the checkout, `$UTTER_HOME` or the user
/// data directory). A model chosen in the settings replaces the bundled one.
pub fn asset_paths(app: &AppHandle, settings: &Settings) -> AssetPaths {
    let bundled = app
        .path()
        .resource_dir()
        .ok()
        .filter(|d| d.join("models").join("manifest.toml").is_file());
    let root = bundled.unwrap_or_else(utter_assets::discover_root);
    let paths = AssetPaths::at(root);
    match &settings.model {
        Some(model) => paths.with_model(model.clone()),
        None => paths,
    }
}

/// The engine's configuration: caches in the app's cache directory (a bundle's Resources are
/// read-only), CoreML's compiled models there too. The warm-up uses the saved voice, so only
/// its dialect's G2P tables are loaded.
fn engine_config(paths: &AssetPaths, cache_dir: &Path, voice: &str) -> EngineConfig {
    let mut config = EngineConfig::new(
        paths.model.clone(),
        paths.voices_dir.clone(),
        paths.ort_library.clone(),
    );
    config.ep_cache_dir = Some(cache_dir.join("coreml"));
    config.split_cache_dir = Some(cache_dir.join("derived"));
    config.cost_cache = Some(cache_dir.join("cost-model.json"));
    config.warm_voice = voice.to_string();
    config
}

/// Starts the core on a thread of its own; the app's status follows it.
pub fn start_core(app: &AppHandle) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("utter-start".into())
        .spawn(move || {
            if let Err(problem) = start(&app) {
                tracing::error!("{}", problem.message);
                *lock(&state(&app).startup_error) = Some(problem);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the engine thread: {e}");
    }
}

fn start(app: &AppHandle) -> Result<(), Problem> {
    let st = state(app);
    let settings = lock(&st.settings).clone();
    let paths = asset_paths(app, &settings);
    utter_assets::check(&paths).map_err(|e| Problem {
        message: e.to_string(),
        fix: format!(
            "Run `utter setup` (it fetches and checks the model, voices and ONNX Runtime into \
             {}), then restart Utter.",
            paths.root.display()
        ),
    })?;
    let player = PlayerConfig {
        device: settings.device.clone(),
        wait_for_device: true,
    };
    let core = Core::start(
        engine_config(&paths, &st.cache_dir, &settings.voice),
        player,
    )
    .map_err(|e| Problem {
        message: format!("The voice engine could not start: {e}"),
        fix: "Run `utter setup --verify` to check the installation, then restart Utter.".into(),
    })?;
    if let Err(e) = core.set_voice(&settings.voice) {
        st.warn(format!(
            "The saved voice could not be used ({e}); reading with {} instead.",
            utter_engine::DEFAULT_VOICE
        ));
        let _ = st.update_settings(|s| s.voice = utter_engine::DEFAULT_VOICE.into());
    }
    let _ = core.set_speed(settings.speed);
    core.set_volume(settings.volume);
    let core = Arc::new(core);
    let _ = st.core.set(Arc::clone(&core));
    crate::tray::refresh_devices(app);
    if settings.api.enabled {
        crate::api::start(app, settings.api.port);
    }
    Ok(())
}

/// The config and cache directories: `UTTER_CONFIG_DIR` (tests, several profiles) holds both;
/// otherwise the platform's app config and cache directories.
pub fn dirs(app: &AppHandle) -> (PathBuf, PathBuf) {
    if let Some(dir) = std::env::var_os("UTTER_CONFIG_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return (dir.clone(), dir.join("cache"));
    }
    let config = app
        .path()
        .app_config_dir()
        .unwrap_or_else(|_| utter_assets::user_data_dir());
    let cache = app
        .path()
        .app_cache_dir()
        .unwrap_or_else(|_| utter_assets::user_cache_dir());
    (config, cache)
}
