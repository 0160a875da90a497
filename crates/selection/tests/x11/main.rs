//! The Linux selection source and the clipboard-preserving copy, against a real X server
//! (`scripts/test.sh` starts Xvfb and exports DISPLAY) with `xsel` playing the other apps: it
//! owns the selections a user's editor or browser would own.
//!
//! One test at a time: the X selections are global to the display.

#![cfg(all(unix, not(target_os = "macos")))]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use utter_selection::{CaptureError, Origin, SelectionSource, copy_preserving_clipboard, x11};

static DISPLAY: Mutex<()> = Mutex::new(());

/// The display, for one test at a time.
fn display() -> MutexGuard<'static, ()> {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "these tests need an X display: run scripts/test.sh (it starts Xvfb)"
    );
    DISPLAY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sets `which` (`-p` PRIMARY, `-b` CLIPBOARD) as another app would: xsel owns it afterwards.
fn xsel_set(which: &str, text: &str) {
    let mut child = Command::new("xsel")
        .args([which, "-i"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("xsel runs (apt install xsel)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("written");
    assert!(child.wait().expect("xsel").success());
    // xsel's server process takes the selection after its parent has returned: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while xsel_get(which) != text {
        assert!(std::time::Instant::now() < deadline, "xsel owns {which}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn xsel_clear(which: &str) {
    assert!(
        Command::new("xsel")
            .args([which, "-c"])
            .status()
            .expect("xsel")
            .success()
    );
}

fn xsel_get(which: &str) -> String {
    let out = Command::new("xsel")
        .args([which, "-o"])
        .output()
        .expect("xsel");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_primary_selection_is_read_and_the_clipboard_is_left_alone() {
    let _x = display();
    xsel_set("-b", "the user's clipboard");
    xsel_set("-p", "  Text the user highlighted.\n");
    let mut source = x11::X11Selection::new().expect("connects to X");
    let got = source.capture().expect("text");
    assert_eq!(got.text, "Text the user highlighted.", "trimmed");
    assert_eq!(got.origin, Origin::Selection);
    assert!(
        got.took < Duration::from_millis(500),
        "quick: {:?}",
        got.took
    );
    assert_eq!(
        xsel_get("-b"),
        "the user's clipboard",
        "the clipboard is untouched"
    );
}

#[test]
fn with_nothing_selected_the_clipboard_is_read_and_with_neither_nothing() {
    let _x = display();
    xsel_clear("-p");
    xsel_set("-b", "Copied earlier.");
    let mut source = x11::X11Selection::new().expect("connects to X");
    let got = source.capture().expect("text");
    assert_eq!(
        (got.text.as_str(), got.origin),
        ("Copied earlier.", Origin::Clipboard)
    );
    xsel_clear("-b");
    xsel_set("-p", " \n\t ");
    let err = source.capture().expect_err("nothing to read");
    assert!(matches!(err, CaptureError::Nothing), "{err}");
    assert!(err.to_string().contains("select"), "says what to do: {err}");
}

#[test]
fn a_simulated_copy_gets_the_selection_and_the_clipboard_comes_back() {
    let _x = display();
    xsel_set("-b", "the user's precious clipboard");
    let mut clipboard = arboard::Clipboard::new().expect("clipboard");
    // The focused app answering ⌘C: it puts its selection on the clipboard.
    let copy = || {
        xsel_set("-b", "The words under the cursor.");
        Ok(())
    };
    let got =
        copy_preserving_clipboard(&mut clipboard, copy, Duration::from_secs(2)).expect("no error");
    assert_eq!(got.as_deref(), Some("The words under the cursor."));
    assert_eq!(
        xsel_get("-b"),
        "the user's precious clipboard",
        "the clipboard holds what it held before"
    );
}

#[test]
fn the_clipboard_comes_back_when_the_copy_fails_or_nothing_arrives() {
    let _x = display();
    xsel_set("-b", "keep me");
    let mut clipboard = arboard::Clipboard::new().expect("clipboard");
    let err = copy_preserving_clipboard(
        &mut clipboard,
        || Err("no keyboard".into()),
        Duration::from_millis(200),
    )
    .expect_err("the failure is reported");
    assert!(err.to_string().contains("no keyboard"), "{err}");
    assert_eq!(xsel_get("-b"), "keep me", "restored after a failed copy");
    let got = copy_preserving_clipboard(&mut clipboard, || Ok(()), Duration::from_millis(100))
        .expect("no error");
    assert_eq!(got, None, "nothing was selected: nothing arrived");
    assert_eq!(xsel_get("-b"), "keep me", "restored after an empty copy");
}

#[test]
fn an_empty_clipboard_stays_empty() {
    let _x = display();
    xsel_clear("-b");
    let mut clipboard = arboard::Clipboard::new().expect("clipboard");
    let copy = || {
        xsel_set("-b", "Selected.");
        Ok(())
    };
    let got =
        copy_preserving_clipboard(&mut clipboard, copy, Duration::from_secs(2)).expect("no error");
    assert_eq!(got.as_deref(), Some("Selected."));
    assert_eq!(
        xsel_get("-b"),
        "",
        "nothing was there before, nothing is left"
    );
}
