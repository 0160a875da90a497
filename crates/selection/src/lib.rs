//! The text to read: what the user has selected, else what is on the clipboard.
//!
//! One small trait, [`SelectionSource`], with a platform implementation each ([`system`]):
//!
//! * **Linux/X11** ([`x11`]): the PRIMARY selection (what is highlighted), read without
//!   touching the clipboard; else the CLIPBOARD.
//! * **macOS** (`macos`): the focused element's selected text through the Accessibility API;
//!   where an app does not expose it, a simulated ⌘C with the whole pasteboard saved before and
//!   put back after ([`copy_preserving_clipboard`]); else the clipboard. Until the user grants
//!   the Accessibility permission, the clipboard is read and the capture says so
//!   ([`Captured::permission_missing`]).
//!
//! Nothing selected and nothing on the clipboard is [`CaptureError::Nothing`]: the app shows a
//! notification and says nothing. The user's clipboard is never left changed: the only path that
//! writes to it ([`copy_preserving_clipboard`]) restores every item and type, and it is the same
//! code on every platform over a [`Pasteboard`], so the Linux tests run what the Mac runs, on the
//! X11 CLIPBOARD ([`x11::clipboard`]).

#[cfg(all(not(target_os = "macos"), feature = "mac-check"))]
#[path = "macos/pasteboard.rs"]
pub mod mac_pasteboard_check;
#[cfg(target_os = "macos")]
mod macos;
mod pasteboard;
#[cfg(all(unix, not(target_os = "macos")))]
pub mod x11;

use std::time::{Duration, Instant};

pub use pasteboard::{Copied, LateCopy, Pasteboard, copy_preserving_clipboard};

/// Where the captured text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// What the user had selected.
    Selection,
    /// The clipboard (nothing was selected).
    Clipboard,
}

/// Captured text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The text, trimmed.
    pub text: String,
    /// Where it came from.
    pub origin: Origin,
    /// How long capturing took.
    pub took: Duration,
    /// The selection could not be read for want of a permission (macOS: Accessibility), so
    /// this is the clipboard's text: the user must be told, not left to wonder.
    pub permission_missing: bool,
}

/// Why there is no text to read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Nothing is selected and the clipboard holds no text.
    #[error("nothing is selected and the clipboard holds no text: select some text first")]
    Nothing,
    /// The platform needs a permission first (macOS: Accessibility).
    #[error("{0}")]
    PermissionNeeded(&'static str),
    /// The selection or clipboard cannot be reached (no display server, say).
    #[error("the selection cannot be read: {0}")]
    Unavailable(String),
}

/// Captures the text to read. Implementations are cheap to call repeatedly (a few ms).
pub trait SelectionSource: Send {
    /// The selected text, else the clipboard's text.
    fn capture(&mut self) -> Result<Captured, CaptureError>;
}

/// The one line shown where macOS asks for the Accessibility permission.
pub const PERMISSION_REASON: &str = "Utter reads the text you select aloud. To see the selection \
    in other apps it needs Accessibility access: System Settings › Privacy & Security › \
    Accessibility › Utter. Until then it reads the clipboard.";

/// The System Settings pane where the Accessibility permission is granted (macOS 13 and later
/// open it from this address with `open`).
pub const PERMISSION_SETTINGS_URL: &str =
    "x-apple.systempreferences:com.apple.preference.security?Privacy_Accessibility";

/// Whether reading other apps' selections needs a permission here, and whether it is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// This platform needs none (X11: the PRIMARY selection is anyone's to read).
    NotNeeded,
    /// Granted.
    Granted,
    /// Not granted: the clipboard is read instead.
    Missing,
}

impl Permission {
    /// "not_needed", "granted" or "missing", for the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotNeeded => "not_needed",
            Self::Granted => "granted",
            Self::Missing => "missing",
        }
    }
}

/// Whether reading other apps' selections needs a permission here, and whether this process has
/// it. With `prompt`, macOS is asked to show its permission dialog (it does so once per app;
/// the System Settings pane, [`PERMISSION_SETTINGS_URL`], is the way after that). Cheap: no
/// selection source needed.
pub fn permission(prompt: bool) -> Permission {
    #[cfg(target_os = "macos")]
    {
        macos::permission(prompt)
    }
    #[cfg(not(target_os = "macos"))]
    {
        let _ = prompt;
        Permission::NotNeeded
    }
}

/// This platform's selection source.
pub fn system() -> Result<Box<dyn SelectionSource>, CaptureError> {
    #[cfg(target_os = "macos")]
    {
        Ok(Box::new(macos::MacSelection::new()?))
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        Ok(Box::new(x11::X11Selection::new()?))
    }
    #[cfg(not(unix))]
    {
        Err(CaptureError::Unavailable(
            "selection capture is not implemented on this platform".into(),
        ))
    }
}

/// `text` trimmed, if it holds anything worth reading.
fn usable(text: Option<String>) -> Option<String> {
    let text = text?;
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Builds a [`Captured`] from what was found, or [`CaptureError::Nothing`].
fn found(
    selection: Option<String>,
    clipboard: impl FnOnce() -> Option<String>,
    started: Instant,
) -> Result<Captured, CaptureError> {
    let (text, origin) = match usable(selection) {
        Some(t) => (t, Origin::Selection),
        None => match usable(clipboard()) {
            Some(t) => (t, Origin::Clipboard),
            None => return Err(CaptureError::Nothing),
        },
    };
    Ok(Captured {
        text,
        origin,
        took: started.elapsed(),
        permission_missing: false,
    })
}

#[cfg(all(unix, not(target_os = "macos")))]
fn unavailable(e: arboard::Error) -> CaptureError {
    CaptureError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_wins_then_the_clipboard_then_nothing() {
        let t = Instant::now();
        let c = found(Some("  picked  ".into()), || Some("copied".into()), t).expect("text");
        assert_eq!((c.text.as_str(), c.origin), ("picked", Origin::Selection));
        let c = found(Some(" \n ".into()), || Some("copied".into()), t).expect("text");
        assert_eq!(
            (c.text.as_str(), c.origin),
            ("copied", Origin::Clipboard),
            "a blank selection counts as none"
        );
        assert!(matches!(
            found(None, || Some("\t".into()), t),
            Err(CaptureError::Nothing)
        ));
    }
}
