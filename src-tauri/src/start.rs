//! Starting the engine and player in the background, so the app is up (tray, window) at once
//! and shows "loading" until the engine is warm.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tauri::{AppHandle, Manager};
use utter_assets::AssetPaths;
use utter_audio::PlayerConfig;
use utter_core::Core;
use utter_core::settings::Settings;
use utter_engine::{EngineConfig, ProviderChoice};

use crate::state::{Problem, lock, state};

/// Where the model, voices and ONNX Runtime are: inside the app bundle when it carries them
/// (macOS: the model and voices in `Contents/Resources`, the ONNX Runtime library in
/// `Contents/Frameworks`, where the bundler signs it), else where `utter setup` puts them (the
/// checkout, `$UTTER_HOME` or the user data directory). A model chosen in the settings replaces
/// the bundled one.
pub fn asset_paths(settings: &Settings) -> AssetPaths {
    let root = bundle_dir("Resources")
        .filter(|d| d.join("models").join("manifest.toml").is_file())
        .unwrap_or_else(utter_assets::discover_root);
    let mut paths = AssetPaths::at(root);
    let bundled_runtime = paths
        .ort_library
        .file_name()
        .and_then(|name| Some(bundle_dir("Frameworks")?.join(name)))
        .filter(|library| library.is_file());
    if let Some(library) = bundled_runtime {
        paths = paths.with_ort_library(library);
    }
    match &settings.model {
        Some(model) => paths.with_model(model.clone()),
        None => paths,
    }
}

/// `name` beside the folder of the app's executable, on macOS: `Contents/<name>` in a bundle
/// (`Contents/MacOS/utter-app`), and `target/<name>` in a development build, where tauri-build
/// copies `bundle.macOS.frameworks`. Elsewhere nothing is bundled.
fn bundle_dir(name: &str) -> Option<PathBuf> {
    if !cfg!(target_os = "macos") {
        return None;
    }
    // tauri's resolves the bundle through symlinks safely, and refuses a path with a symlinked
    // ancestor (a checkout under /tmp, say): then the plain one.
    let exe = tauri::utils::platform::current_exe()
        .or_else(|_| std::env::current_exe())
        .ok()?;
    Some(exe.parent()?.parent()?.join(name))
}

/// The execution provider: `UTTER_EP` if set (as for the `utter` command), else the settings'.
fn provider(settings: &Settings) -> ProviderChoice {
    match std::env::var("UTTER_EP") {
        Ok(value) if !value.trim().is_empty() => value.parse().unwrap_or_else(|e| {
            tracing::warn!("UTTER_EP: {e}; using the settings' provider");
            settings.provider()
        }),
        _ => settings.provider(),
    }
}

/// The engine's configuration: the execution provider from the settings, caches in the app's
/// cache directory (a bundle's Resources are read-only), CoreML's compiled models there too.
/// The warm-up uses the saved voice, so only its dialect's G2P tables are loaded.
fn engine_config(paths: &AssetPaths, cache_dir: &Path, settings: &Settings) -> EngineConfig {
    let mut config = EngineConfig::new(
        paths.model.clone(),
        paths.voices_dir.clone(),
        paths.ort_library.clone(),
    );
    config.ort_version = paths.ort_version.clone();
    config.provider = provider(settings);
    config.ep_cache_dir = Some(cache_dir.join("coreml"));
    config.split_cache_dir = Some(cache_dir.join("derived"));
    config.cost_cache = Some(cache_dir.join("cost-model.json"));
    config.warm_voice = settings.voice.clone();
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
    let paths = asset_paths(&settings);
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
    let core =
        Core::start(engine_config(&paths, &st.cache_dir, &settings), player).map_err(|e| {
            Problem {
                message: format!("The voice engine could not start: {e}"),
                fix: "Run `utter setup --verify` to check the installation, then restart Utter."
                    .into(),
            }
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

/// `utter-app --self-check`: finds the assets as the app does (in a bundle: its Resources and
/// Frameworks), loads ONNX Runtime and the model, synthesizes one sentence, prints what ran as
/// JSON on stdout and returns the exit code. No window, no tray, no settings written: it is
/// what a CI job runs on a freshly built and signed `Utter.app` to prove that the bundle loads
/// its own runtime.
pub fn self_check() -> i32 {
    // A fresh cache folder, so the check derives and keeps nothing of the user's.
    let scratch = std::env::temp_dir().join(format!("utter-self-check-{}", std::process::id()));
    let result = check_bundle(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok(report) => {
            println!("{report}");
            0
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({ "ok": false, "error": format!("{e:#}") })
            );
            1
        }
    }
}

fn check_bundle(scratch: &Path) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let settings = Settings::default();
    let paths = asset_paths(&settings);
    utter_assets::check(&paths)?;
    let mut config = engine_config(&paths, scratch, &settings);
    config.warm_up = false;
    let engine = utter_engine::Engine::start(config)?;
    engine
        .wait_ready(std::time::Duration::from_secs(600))
        .context("the engine did not start")?;
    let samples = engine
        .synthesize(utter_engine::SynthRequest::new("Utter is ready."))?
        .collect_samples()?;
    anyhow::ensure!(!samples.is_empty(), "the engine produced no audio");
    let info = engine.info();
    Ok(serde_json::json!({
        "ok": true,
        "assets": paths.root,
        "ort_library": info.ort_library,
        "ort_version": info.ort_version,
        "model": info.model,
        "execution_provider": info.provider,
        "windowed_decoding": info.windowed_decoding,
        "audio_secs": samples.len() as f64 / f64::from(utter_engine::SAMPLE_RATE),
    }))
}
