//! The Linux selection source, and the clipboard-preserving copy the Mac uses run on its Linux
//! twin, the X11 CLIPBOARD, against a real X server (`scripts/test.sh` starts Xvfb and exports
//! DISPLAY). `xsel` and a second clipboard client play the other apps, which own the selections
//! a user's editor or browser would own; `xclip`, an independent client, reads back what the
//! clipboard offers.
//!
//! One test at a time: the X selections are global to the display.

#![cfg(all(unix, not(target_os = "macos")))]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use utter_selection::x11::clipboard::X11Clipboard;
use utter_selection::{
    CaptureError, Copied, Origin, Pasteboard, SelectionSource, copy_preserving_clipboard, x11,
};

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

/// What CLIPBOARD offers for `target`, read by xclip (another client than the one tested).
fn xclip_get(target: &str) -> Vec<u8> {
    let out = Command::new("xclip")
        .args(["-selection", "clipboard", "-o", "-t", target])
        .output()
        .expect("xclip runs (apt install xclip)");
    assert!(
        out.status.success(),
        "xclip reads {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The targets CLIPBOARD offers, by name.
fn xclip_targets() -> Vec<String> {
    String::from_utf8_lossy(&xclip_get("TARGETS"))
        .lines()
        .map(str::to_string)
        .collect()
}

/// A copy as the focused app makes one: it takes the clipboard with its selection.
fn app_copies(text: &'static str) -> impl FnOnce() -> Result<(), String> {
    move || {
        xsel_set("-b", text);
        Ok(())
    }
}

/// A PNG-sized blob that is not text: larger than one X request's worth of data at once, so
/// both reading and serving it go through INCR.
fn big_image() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..600_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    png
}

/// Another app's clipboard with several targets: HTML, a large PNG, plain text.
fn rich_clipboard(owner: &mut X11Clipboard) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let html = b"<meta charset='utf-8'><b>Quarterly</b> report &amp; notes".to_vec();
    let text = "Quarterly report & notes".as_bytes().to_vec();
    let png = big_image();
    let snapshot = owner
        .snapshot_of(&[
            ("text/html", &html),
            ("image/png", &png),
            ("text/plain;charset=utf-8", &text),
            ("UTF8_STRING", &text),
        ])
        .expect("atoms");
    owner
        .restore(&snapshot)
        .expect("the other app owns CLIPBOARD");
    (html, png, text)
}

#[test]
fn a_simulated_copy_reads_the_selection_and_every_target_comes_back_unchanged() {
    let _x = display();
    let mut other_app = X11Clipboard::new().expect("connects");
    let (html, png, text) = rich_clipboard(&mut other_app);
    let mut board = X11Clipboard::new().expect("connects");
    let got = copy_preserving_clipboard(
        &mut board,
        app_copies("The words under the cursor."),
        Duration::from_secs(2),
    )
    .expect("no error");
    assert!(
        matches!(got, Copied::Text(ref t) if t == "The words under the cursor."),
        "the copy is read"
    );
    let targets = xclip_targets();
    for t in [
        "text/html",
        "image/png",
        "text/plain;charset=utf-8",
        "UTF8_STRING",
    ] {
        assert!(
            targets.iter().any(|x| x == t),
            "{t} is offered again: {targets:?}"
        );
    }
    assert_eq!(xclip_get("text/html"), html, "HTML byte for byte");
    assert_eq!(xclip_get("text/plain;charset=utf-8"), text);
    let back = xclip_get("image/png");
    assert!(
        back == png,
        "the 600 kB image is offered back whole ({} bytes)",
        back.len()
    );
    assert_eq!(
        xsel_get("-b"),
        "Quarterly report & notes",
        "text readers see the text"
    );
}

#[test]
fn the_change_count_follows_every_write_and_a_restore_is_one() {
    let _x = display();
    let mut board = X11Clipboard::new().expect("connects");
    let start = board.change_count().expect("count");
    xsel_set("-b", "one");
    xsel_set("-b", "two");
    let after = board.change_count().expect("count");
    assert!(
        after >= start + 2,
        "two copies, two changes: {start} -> {after}"
    );
    let saved = board.snapshot().expect("snapshot");
    board.restore(&saved).expect("restore");
    assert_eq!(
        board.change_count().expect("count"),
        after + 1,
        "a restore is one write"
    );
    assert_eq!(xsel_get("-b"), "two", "and offers what was there");
}

#[test]
fn a_failed_copy_or_no_copy_leaves_the_clipboard_untouched() {
    let _x = display();
    xsel_set("-b", "keep me");
    let mut board = X11Clipboard::new().expect("connects");
    let before = board.change_count().expect("count");
    let err = copy_preserving_clipboard(
        &mut board,
        || Err("no keyboard".into()),
        Duration::from_millis(200),
    )
    .err()
    .expect("the failure is reported");
    assert!(err.to_string().contains("no keyboard"), "{err}");
    let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_millis(100))
        .expect("no error");
    assert!(
        matches!(got, Copied::Nothing(_)),
        "nothing was selected: nothing arrived"
    );
    assert_eq!(
        board.change_count().expect("count"),
        before,
        "never written to"
    );
    assert_eq!(xsel_get("-b"), "keep me");
}

#[test]
fn an_empty_clipboard_stays_empty() {
    let _x = display();
    let mut board = X11Clipboard::new().expect("connects");
    let empty = board.snapshot_of(&[]).expect("empty");
    board.restore(&empty).expect("no owner");
    let got =
        copy_preserving_clipboard(&mut board, app_copies("Selected."), Duration::from_secs(2))
            .expect("no error");
    assert!(matches!(got, Copied::Text(ref t) if t == "Selected."));
    assert_eq!(
        xsel_get("-b"),
        "",
        "nothing was there before, nothing is left"
    );
    assert_eq!(
        board.snapshot().expect("snapshot").targets.len(),
        0,
        "no owner at all"
    );
}

#[test]
fn a_copy_that_lands_after_the_timeout_is_undone() {
    let _x = display();
    let mut other_app = X11Clipboard::new().expect("connects");
    let (html, _, _) = rich_clipboard(&mut other_app);
    let mut board = X11Clipboard::new().expect("connects");
    // A slow app: its copy lands 400 ms after ⌘C, well after the 100 ms timeout.
    let slow = || {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(400));
            xsel_set("-b", "late words");
        });
        Ok(())
    };
    let got = copy_preserving_clipboard(&mut board, slow, Duration::from_millis(100)).expect("ok");
    let Copied::Nothing(late) = got else {
        panic!("nothing landed within the timeout");
    };
    let text = late.watch(&mut board, Duration::from_secs(3), || false);
    assert_eq!(
        text.as_deref(),
        Some("late words"),
        "the late copy was seen"
    );
    assert_eq!(
        xclip_get("text/html"),
        html,
        "and the clipboard put back after it"
    );
}
