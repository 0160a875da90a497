//! tauri-driver and a blocking WebDriver client over fantoccini, so the test reads top to
//! bottom like the user's steps.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The tools the test needs, each with how to get it.
pub fn require_tools() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no X display: run scripts/test.sh (it starts Xvfb)"
    );
    assert!(
        std::env::var_os("PULSE_SERVER").is_some(),
        "no PulseAudio null sink: run scripts/test.sh (tests/audio/pulse-env.sh)"
    );
    for (tool, how) in [
        ("xsel", "apt install xsel"),
        ("xdotool", "apt install xdotool"),
        ("WebKitWebDriver", "apt install webkit2gtk-driver"),
    ] {
        assert!(
            which(tool).is_some(),
            "{tool} is missing: {how} (scripts/prereqs.sh --test)"
        );
    }
    assert!(
        tauri_driver().is_some(),
        "tauri-driver is missing: cargo install tauri-driver --locked (scripts/prereqs.sh --test)"
    );
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    })
}

fn tauri_driver() -> Option<PathBuf> {
    which("tauri-driver").or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin/tauri-driver")).filter(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running tauri-driver whose sessions launch the app with its settings in `config`.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts tauri-driver; the app it launches keeps its settings (and log) in `config`.
    pub fn start(config: &Path) -> Self {
        let (port, native) = (free_port(), free_port());
        let log =
            std::fs::File::create(super::artifacts().join("tauri-driver.log")).expect("driver log");
        let child = Command::new(tauri_driver().expect("tauri-driver"))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("UTTER_CONFIG_DIR", config)
            .env("RUST_LOG", "info,utter_app=debug")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("tauri-driver starts");
        // tauri-driver forwards each session to WebKitWebDriver, which it starts beside itself
        // on the native port: both must listen before the first session (a busy machine starts
        // WebKitWebDriver after tauri-driver, and a session asked for then is refused).
        let deadline = Instant::now() + Duration::from_secs(30);
        for (p, who) in [(port, "tauri-driver"), (native, "WebKitWebDriver")] {
            while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
                assert!(Instant::now() < deadline, "{who} listens on {p}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One app session: the app launched by WebKitWebDriver, its window driven.
pub struct Ui {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
}

/// How long a single element is waited for.
const STEP: Duration = Duration::from_secs(15);

impl Ui {
    /// Launches the app and waits for its page to be up.
    pub fn open(driver: &Driver) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let app = env!("CARGO_BIN_EXE_utter-app");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert("tauri:options".into(), json!({ "application": app }));
        let client = runtime
            .block_on(
                ClientBuilder::native()
                    .capabilities(caps)
                    .connect(&driver.url),
            )
            .expect("a WebDriver session on the app");
        let ui = Self {
            runtime,
            client: Some(client),
        };
        ui.wait_for("body[data-ready=\"true\"]", Duration::from_secs(60));
        ui
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("open session")
    }

    /// Waits for an element matching `css`.
    pub fn wait_for(&self, css: &str, timeout: Duration) {
        self.runtime
            .block_on(
                self.client()
                    .wait()
                    .at_most(timeout)
                    .for_element(Locator::Css(css)),
            )
            .unwrap_or_else(|e| panic!("{css} appeared within {timeout:?}: {e}"));
    }

    /// Waits (up to 15 s) until `ok` holds.
    pub fn wait_until(&self, what: &str, ok: impl Fn() -> bool) {
        self.wait_until_for(what, STEP, ok);
    }

    /// Waits (up to `timeout`) until `ok` holds.
    pub fn wait_until_for(&self, what: &str, timeout: Duration, ok: impl Fn() -> bool) {
        let deadline = Instant::now() + timeout;
        while !ok() {
            assert!(Instant::now() < deadline, "{what} (waited {timeout:?})");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.runtime
            .block_on(self.client().find(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("{css} is on the page: {e}"))
    }

    /// Clicks the element.
    pub fn click(&self, css: &str) {
        let el = self.element(css);
        self.runtime
            .block_on(el.click())
            .unwrap_or_else(|e| panic!("{css} can be clicked: {e}"));
    }

    /// Sends keystrokes to the element.
    pub fn keys(&self, css: &str, keys: &str) {
        let el = self.element(css);
        self.runtime
            .block_on(el.send_keys(keys))
            .unwrap_or_else(|e| panic!("keys reach {css}: {e}"));
    }

    /// Chooses the option with `value` in a `<select>`, as a click on it would.
    pub fn select(&self, css: &str, value: &str) {
        let el = self.element(css);
        self.runtime
            .block_on(el.select_by_value(value))
            .unwrap_or_else(|e| panic!("{css} offers {value}: {e}"));
    }

    /// Types into a text field (one key event per character).
    pub fn type_into(&self, css: &str, text: &str) {
        self.keys(css, text);
    }

    /// Empties a text field and tells the page.
    pub fn clear(&self, css: &str) {
        self.eval(&format!(
            "const e = document.querySelector('{css}'); e.value = ''; \
             e.dispatchEvent(new Event('input')); return 0;"
        ));
    }

    /// The element's text.
    pub fn text(&self, css: &str) -> String {
        let el = self.element(css);
        self.runtime
            .block_on(el.text())
            .unwrap_or_else(|e| panic!("{css} has text: {e}"))
    }

    /// An attribute of the element.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.element(css);
        self.runtime.block_on(el.attr(name)).ok().flatten()
    }

    /// True if the element exists and is not hidden.
    pub fn visible(&self, css: &str) -> bool {
        self.eval_num(&format!(
            "const e = document.querySelector('{css}'); return e && !e.hidden ? 1 : 0;"
        )) == 1.0
    }

    /// True if an element matches.
    pub fn exists(&self, css: &str) -> bool {
        self.count(css) > 0
    }

    /// How many elements match.
    pub fn count(&self, css: &str) -> usize {
        self.eval_num(&format!(
            "return document.querySelectorAll('{css}').length;"
        )) as usize
    }

    /// Runs `script` in the page; its result.
    pub fn eval(&self, script: &str) -> serde_json::Value {
        self.runtime
            .block_on(self.client().execute(script, Vec::new()))
            .unwrap_or_else(|e| panic!("the page runs {script:?}: {e}"))
    }

    /// Runs `script` and reads a number.
    pub fn eval_num(&self, script: &str) -> f64 {
        self.eval(script).as_f64().unwrap_or(f64::NAN)
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        self.runtime
            .block_on(self.client().screenshot())
            .expect("a screenshot")
    }

    /// Ends the session (the app quits).
    pub fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
    }
}
