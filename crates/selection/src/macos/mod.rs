//! macOS: the focused element's selected text through the Accessibility API; where an app does
//! not expose it, a simulated ⌘C with the whole pasteboard saved and put back
//! ([`crate::copy_preserving_clipboard`] over [`pasteboard::MacPasteboard`]); else the
//! clipboard's text.
//!
//! This module cannot be compiled on the Linux machines the project is built on (the macOS CI
//! job builds it); it is kept small, and each foreign call is checked by hand against the exact
//! crate sources and Apple's headers (see [`ax`] and [`keys`]). [`pasteboard`] is type-checked
//! on Linux too (`--features mac-check`).
//!
//! How a capture goes, and why:
//! * Without the Accessibility permission neither the selection nor ⌘C is possible: the
//!   clipboard is read, the capture says so ([`Captured::permission_missing`]), and the
//!   system's dialog is shown once per launch.
//! * Every Accessibility call is bounded by a 0.25 s messaging timeout, so a hung front app
//!   cannot hold the capture for seconds.
//! * A text field or text view that answers with an empty selection has nothing selected: no
//!   ⌘C is sent (Cocoa apps beep at a Copy with nothing to copy), the clipboard is read.
//! * Apps whose focused element gives no `AXSelectedText` (an error), or an empty one from an
//!   element that is not a text field (browsers' web areas do that even with text selected),
//!   get ⌘C. An app where ⌘C found text and the Accessibility API did not is remembered, by
//!   bundle id, for the rest of the launch: its next captures go straight to ⌘C.
//! * ⌘C is posted once the shortcut's own ⌃⌥ are let go (waited for, at most 0.3 s), with an
//!   unflagged key-up.
//! * A copy that lands after the 0.25 s timeout is undone if it lands within a second, unless
//!   the user has pressed a key since (the change may then be their own copy) or the next
//!   capture has begun (it ends the watch first).
//! * A clipboard a password manager marked concealed is never read aloud, and not put back after
//!   a copy (see [`pasteboard`]).

mod ax;
mod keys;
pub mod pasteboard;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use objc2_app_kit::NSWorkspace;

use crate::{
    CaptureError, Captured, Copied, Pasteboard, Permission, SelectionSource,
    copy_preserving_clipboard, found,
};
use pasteboard::MacPasteboard;

/// How long a simulated ⌘C may take to reach the pasteboard.
const COPY_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a copy that missed [`COPY_TIMEOUT`] is still watched for, to undo it.
const LATE_COPY_GRACE: Duration = Duration::from_secs(1);
/// The longest any Accessibility call may wait for an app.
const AX_TIMEOUT_SECS: f32 = 0.25;
/// How long to wait for the shortcut's modifiers to be released before posting ⌘C.
const MODIFIER_WAIT: Duration = Duration::from_millis(300);
/// Roles whose empty `AXSelectedText` reliably means that nothing is selected.
const TEXT_ROLES: [&str; 4] = ["AXTextField", "AXTextArea", "AXComboBox", "AXSearchField"];

/// The macOS selection source.
pub struct MacSelection {
    board: MacPasteboard,
    asked: bool,
    /// Apps (bundle id, else pid) whose selection only ⌘C has given.
    copy_apps: HashSet<String>,
    /// The watch for the last capture's late copy, if one runs; the next capture ends it first,
    /// so two captures never touch the pasteboard at once.
    late: Option<(Arc<AtomicBool>, JoinHandle<Option<String>>)>,
}

impl MacSelection {
    /// The source.
    pub fn new() -> Result<Self, CaptureError> {
        Ok(Self {
            board: MacPasteboard,
            asked: false,
            copy_apps: HashSet::new(),
            late: None,
        })
    }

    /// Ends the previous capture's late-copy watch, if it still runs.
    fn end_late_watch(&mut self) {
        if let Some((stop, watch)) = self.late.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = watch.join();
        }
    }
}

/// The frontmost app, as a key: its bundle id, else its pid.
fn frontmost_app() -> Option<String> {
    let app = NSWorkspace::sharedWorkspace().frontmostApplication()?;
    match app.bundleIdentifier() {
        Some(id) => Some(id.to_string()),
        None => Some(format!("pid {}", app.processIdentifier())),
    }
}

impl SelectionSource for MacSelection {
    fn capture(&mut self) -> Result<Captured, CaptureError> {
        let started = Instant::now();
        self.end_late_watch();
        if !ax::is_trusted(false) {
            // Ask once per launch (the system shows its dialog); meanwhile, the clipboard, said.
            if !self.asked {
                self.asked = true;
                ax::is_trusted(true);
            }
            let text = self.board.text()?;
            return match found(None, || text, started) {
                Ok(mut c) => {
                    c.permission_missing = true;
                    Ok(c)
                }
                Err(CaptureError::Nothing) => {
                    Err(CaptureError::PermissionNeeded(crate::PERMISSION_REASON))
                }
                Err(e) => Err(e),
            };
        }
        // Every time: the call may not take while the permission is missing.
        ax::set_messaging_timeout(AX_TIMEOUT_SECS);
        let app = frontmost_app();
        let known_copy_app = app.as_ref().is_some_and(|a| self.copy_apps.contains(a));
        let copy = if known_copy_app {
            true
        } else {
            match ax::focused() {
                Ok(focus) => match focus.selected {
                    Ok(text) if !text.trim().is_empty() => {
                        return found(Some(text), || None, started);
                    }
                    // A text field with nothing selected: the clipboard, and no beep.
                    Ok(_)
                        if focus
                            .role
                            .as_deref()
                            .is_some_and(|r| TEXT_ROLES.contains(&r)) =>
                    {
                        false
                    }
                    Ok(_) => true,
                    Err(e) => {
                        tracing::debug!(error = e, role = ?focus.role, "no AXSelectedText");
                        true
                    }
                },
                Err(e) => {
                    tracing::debug!(error = e, "no focused element");
                    true
                }
            }
        };
        let mut selected = None;
        if copy {
            keys::wait_for_modifiers_released(MODIFIER_WAIT);
            match copy_preserving_clipboard(&mut self.board, keys::press_copy, COPY_TIMEOUT)? {
                Copied::Text(text) => {
                    if let Some(app) = app.filter(|_| !known_copy_app) {
                        tracing::debug!(%app, "reading this app's selection with ⌘C from now on");
                        self.copy_apps.insert(app);
                    }
                    selected = Some(text);
                }
                Copied::NoText => {}
                Copied::Nothing(late) => {
                    // The app may still answer: undo its copy if it does, off this thread.
                    // Our own ⌘C has long been counted by now, so a key pressed after this is
                    // the user's, and a change after it may be their own copy: leave it then.
                    let keys_now = keys::key_downs();
                    let stop = Arc::new(AtomicBool::new(false));
                    let stopped = Arc::clone(&stop);
                    let spawned = std::thread::Builder::new()
                        .name("utter-late-copy".into())
                        .spawn(move || {
                            late.watch(&mut MacPasteboard, LATE_COPY_GRACE, || {
                                stopped.load(Ordering::SeqCst) || keys::key_downs() != keys_now
                            })
                        });
                    match spawned {
                        Ok(watch) => self.late = Some((stop, watch)),
                        Err(e) => tracing::warn!("cannot watch for a late copy: {e}"),
                    }
                }
            }
        }
        let board = &mut self.board;
        found(selected, || board.text().ok().flatten(), started)
    }
}

/// See [`crate::permission`].
pub fn permission(prompt: bool) -> Permission {
    if ax::is_trusted(prompt) {
        Permission::Granted
    } else {
        Permission::Missing
    }
}
