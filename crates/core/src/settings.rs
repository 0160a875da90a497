//! The user's settings: what they chose, kept as JSON in the app's config directory.
//!
//! Defaults live in one place ([`Settings::default`]); every field has `#[serde(default)]`, so
//! a file from an older or newer version loads with what it has. Loading never fails: a
//! missing file is a first launch, an unreadable or corrupt one is set aside (renamed to
//! `settings.json.bad`) and replaced by the defaults with a warning the app shows, and values
//! out of range are corrected with a warning. Saving writes a temporary file and renames it into
//! place, so a crash mid-save never leaves half a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The settings file's name inside the config directory.
pub const FILE_NAME: &str = "settings.json";

/// Everything the user can set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Voice id or blend.
    pub voice: String,
    /// Speaking rate, 0.5–2.0.
    pub speed: f32,
    /// Output volume, 0–1.
    pub volume: f32,
    /// Output device name; `None` follows the system default.
    pub device: Option<String>,
    /// Global shortcuts.
    pub shortcuts: Shortcuts,
    /// Start Utter when the user logs in.
    pub launch_at_login: bool,
    /// The local HTTP API.
    pub api: ApiSettings,
    /// Another Kokoro model to run instead of the bundled one (e.g. an fp16 export for CoreML).
    pub model: Option<PathBuf>,
    /// The execution provider: "cpu" (the default), "coreml" or "auto" (see
    /// [`utter_engine::provider`]); read at start. Kept as written, so a value this version does
    /// not know is corrected with a warning rather than costing the whole file.
    pub execution_provider: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            voice: utter_engine::DEFAULT_VOICE.to_string(),
            speed: 1.0,
            volume: 1.0,
            device: None,
            shortcuts: Shortcuts::default(),
            launch_at_login: false,
            api: ApiSettings::default(),
            model: None,
            execution_provider: utter_engine::ProviderChoice::default().to_string(),
        }
    }
}

impl Settings {
    /// The execution provider asked for ([`Settings::correct`] has made it a valid one).
    pub fn provider(&self) -> utter_engine::ProviderChoice {
        self.execution_provider.parse().unwrap_or_default()
    }
}

/// The global shortcuts, in the notation of tauri's global-shortcut plugin ("Ctrl+Alt+S";
/// Ctrl and Alt are ⌃ and ⌥ on a Mac). An empty string means none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shortcuts {
    /// Read the selection (again, from the start, when pressed while speaking).
    pub read_selection: String,
    /// Stop.
    pub stop: String,
    /// Pause or resume.
    pub pause: String,
    /// Next sentence.
    pub next_sentence: String,
    /// Previous sentence.
    pub previous_sentence: String,
}

impl Default for Shortcuts {
    fn default() -> Self {
        Self {
            read_selection: "Ctrl+Alt+S".into(),
            stop: "Ctrl+Alt+X".into(),
            pause: "Ctrl+Alt+P".into(),
            next_sentence: "Ctrl+Alt+Right".into(),
            previous_sentence: "Ctrl+Alt+Left".into(),
        }
    }
}

impl Shortcuts {
    /// Each action with its shortcut, in menu order.
    pub fn actions(&self) -> [(Action, &str); 5] {
        [
            (Action::ReadSelection, self.read_selection.as_str()),
            (Action::Stop, self.stop.as_str()),
            (Action::Pause, self.pause.as_str()),
            (Action::NextSentence, self.next_sentence.as_str()),
            (Action::PreviousSentence, self.previous_sentence.as_str()),
        ]
    }

    /// The shortcut of `action`.
    pub fn get(&self, action: Action) -> &str {
        match action {
            Action::ReadSelection => &self.read_selection,
            Action::Stop => &self.stop,
            Action::Pause => &self.pause,
            Action::NextSentence => &self.next_sentence,
            Action::PreviousSentence => &self.previous_sentence,
        }
    }

    /// Sets the shortcut of `action`.
    pub fn set(&mut self, action: Action, shortcut: String) {
        let slot = match action {
            Action::ReadSelection => &mut self.read_selection,
            Action::Stop => &mut self.stop,
            Action::Pause => &mut self.pause,
            Action::NextSentence => &mut self.next_sentence,
            Action::PreviousSentence => &mut self.previous_sentence,
        };
        *slot = shortcut;
    }
}

/// What a shortcut does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read the selection.
    ReadSelection,
    /// Stop reading.
    Stop,
    /// Pause or resume.
    Pause,
    /// Skip to the next sentence.
    NextSentence,
    /// Back to the previous sentence.
    PreviousSentence,
}

impl Action {
    /// Every action, in menu order.
    pub const ALL: [Action; 5] = [
        Action::ReadSelection,
        Action::Stop,
        Action::Pause,
        Action::NextSentence,
        Action::PreviousSentence,
    ];

    /// What the user sees.
    pub fn label(self) -> &'static str {
        match self {
            Action::ReadSelection => "Read selection",
            Action::Stop => "Stop",
            Action::Pause => "Pause / Resume",
            Action::NextSentence => "Next sentence",
            Action::PreviousSentence => "Previous sentence",
        }
    }
}

/// The local HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    /// Serve it (on 127.0.0.1 only).
    pub enabled: bool,
    /// Its port.
    pub port: u16,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            port: 8880,
        }
    }
}

/// Settings as loaded, with what had to be corrected.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The settings to use.
    pub settings: Settings,
    /// What the user should be told (a corrupt file replaced, a value corrected).
    pub warnings: Vec<String>,
    /// No settings file existed: this is the first launch.
    pub first_launch: bool,
}

/// Why the settings could not be saved.
#[derive(Debug, thiserror::Error)]
#[error("cannot save the settings to {path}: {source}")]
pub struct SaveError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

impl Settings {
    /// Loads `dir/settings.json` (see the module docs: never fails).
    pub fn load(dir: &Path) -> Loaded {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded {
                    settings: Settings::default(),
                    warnings: Vec::new(),
                    first_launch: true,
                };
            }
            Err(e) => {
                return Loaded {
                    settings: Settings::default(),
                    warnings: vec![format!(
                        "Your settings could not be read ({e}); Utter is using its defaults."
                    )],
                    first_launch: false,
                };
            }
        };
        match serde_json::from_slice::<Settings>(&text) {
            Ok(mut settings) => {
                let warnings = settings.correct();
                Loaded {
                    settings,
                    warnings,
                    first_launch: false,
                }
            }
            Err(e) => {
                let kept = path.with_extension("json.bad");
                let kept_note = match std::fs::rename(&path, &kept) {
                    Ok(()) => format!("the damaged file was kept as {}", kept.display()),
                    Err(_) => "the damaged file could not be set aside".to_string(),
                };
                Loaded {
                    settings: Settings::default(),
                    warnings: vec![format!(
                        "Your settings file was damaged ({e}), so Utter started with its \
                         defaults; {kept_note}."
                    )],
                    first_launch: false,
                }
            }
        }
    }

    /// Brings values into range; says what was changed.
    pub fn correct(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        if !utter_engine::SPEED_RANGE.contains(&self.speed) || !self.speed.is_finite() {
            warnings.push(format!(
                "The saved speed {} is outside 0.5–2.0; it was reset to 1.0.",
                self.speed
            ));
            self.speed = 1.0;
        }
        if !(0.0..=1.0).contains(&self.volume) || !self.volume.is_finite() {
            warnings.push(format!(
                "The saved volume {} is outside 0–1; it was reset to full.",
                self.volume
            ));
            self.volume = 1.0;
        }
        if self.voice.trim().is_empty() {
            self.voice = utter_engine::DEFAULT_VOICE.to_string();
        }
        if self.api.port == 0 {
            self.api.port = ApiSettings::default().port;
        }
        match self
            .execution_provider
            .parse::<utter_engine::ProviderChoice>()
        {
            Ok(choice) => self.execution_provider = choice.to_string(),
            Err(e) => {
                warnings.push(format!(
                    "The saved execution provider: {e}; it was reset to cpu."
                ));
                self.execution_provider = utter_engine::ProviderChoice::default().to_string();
            }
        }
        warnings
    }

    /// Saves to `dir/settings.json` atomically (temporary file, then rename).
    pub fn save(&self, dir: &Path) -> Result<(), SaveError> {
        let path = dir.join(FILE_NAME);
        let failed = |source| SaveError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| failed(e.into()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        std::io::Write::write_all(&mut tmp, &json).map_err(failed)?;
        tmp.as_file().sync_all().map_err(failed)?;
        tmp.persist(&path).map_err(|e| failed(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_launch_gets_the_defaults_and_no_warning() {
        let dir = tempfile::tempdir().expect("dir");
        let loaded = Settings::load(dir.path());
        assert!(loaded.first_launch);
        assert!(loaded.warnings.is_empty());
        assert_eq!(loaded.settings, Settings::default());
        assert_eq!(loaded.settings.shortcuts.read_selection, "Ctrl+Alt+S");
    }

    #[test]
    fn settings_survive_a_save_and_load() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Settings {
            voice: "bf_emma".into(),
            speed: 1.25,
            ..Settings::default()
        };
        s.api.enabled = true;
        s.shortcuts.stop = "Ctrl+Shift+X".into();
        s.save(dir.path()).expect("saved");
        let loaded = Settings::load(dir.path());
        assert_eq!(loaded.settings, s);
        assert!(!loaded.first_launch && loaded.warnings.is_empty());
    }

    #[test]
    fn a_corrupt_file_is_set_aside_and_the_defaults_are_used_with_a_warning() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(FILE_NAME), b"{\"voice\": \"bf_em").expect("write");
        let loaded = Settings::load(dir.path());
        assert_eq!(loaded.settings, Settings::default());
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].contains("damaged"),
            "{:?}",
            loaded.warnings
        );
        assert!(
            dir.path().join("settings.json.bad").exists(),
            "the damaged file is kept for the user"
        );
    }

    #[test]
    fn missing_fields_take_defaults_and_bad_values_are_corrected() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join(FILE_NAME),
            br#"{"voice": "am_adam", "speed": 9, "future_field": true}"#,
        )
        .expect("write");
        let loaded = Settings::load(dir.path());
        assert_eq!(loaded.settings.voice, "am_adam", "what was there is kept");
        assert_eq!(loaded.settings.speed, 1.0, "out of range: reset");
        assert_eq!(
            loaded.settings.shortcuts,
            Shortcuts::default(),
            "absent: default"
        );
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert_eq!(
            loaded.settings.provider(),
            utter_engine::ProviderChoice::Cpu,
            "the CPU unless asked"
        );
    }

    #[test]
    fn an_unknown_execution_provider_is_reset_to_the_cpu_with_a_warning() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join(FILE_NAME),
            br#"{"voice": "am_adam", "execution_provider": "tpu"}"#,
        )
        .expect("write");
        let loaded = Settings::load(dir.path());
        assert_eq!(
            loaded.settings.voice, "am_adam",
            "the rest of the file is kept"
        );
        assert_eq!(loaded.settings.execution_provider, "cpu");
        assert!(
            loaded.warnings.iter().any(|w| w.contains("tpu")),
            "says what was wrong: {:?}",
            loaded.warnings
        );
        std::fs::write(
            dir.path().join(FILE_NAME),
            br#"{"execution_provider": "CoreML"}"#,
        )
        .expect("write");
        let loaded = Settings::load(dir.path());
        assert_eq!(
            loaded.settings.provider(),
            utter_engine::ProviderChoice::CoreMl
        );
        assert_eq!(
            loaded.settings.execution_provider, "coreml",
            "spelled one way"
        );
    }
}
