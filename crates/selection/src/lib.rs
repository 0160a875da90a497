//! The text to read: what the user has selected, else what is on the clipboard.
//!
//! One small trait, [`SelectionSource`], with a platform implementation each ([`system`]):
//!
//! * **Linux/X11** ([`x11`]): the PRIMARY selection (what is highlighted), read without
//!   touching the clipboard; else the CLIPBOARD.
//! * **macOS** (`macos`): the focused element's selected text through the Accessibility API;
//!   where an app does not expose it, a simulated ⌘C with the clipboard saved before and put
//!   back after ([`copy_preserving_clipboard`]); else the clipboard. The Accessibility
//!   permission is asked for once, with a one-line reason.
//!
//! Nothing selected and nothing on the clipboard is [`CaptureError::Nothing`]: the app shows a
//! notification and says nothing. The user's clipboard is never left changed: the only path that
//! writes to it ([`copy_preserving_clipboard`]) restores it whatever happens, and it is the same
//! code on every platform, so the Linux tests exercise what the Mac runs.

mod clipboard;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(all(unix, not(target_os = "macos")))]
pub mod x11;

use std::time::{Duration, Instant};

pub use clipboard::{ClipboardSnapshot, copy_preserving_clipboard};

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

    /// True if the platform permission the selection needs is granted (always true where none
    /// is needed). With `prompt`, the system is asked to show its permission dialog.
    fn permission_granted(&mut self, prompt: bool) -> bool {
        let _ = prompt;
        true
    }
}

/// The one line shown where macOS asks for the Accessibility permission.
pub const PERMISSION_REASON: &str = "Utter reads the text you select aloud. To see the selection \
    in other apps it needs Accessibility access: System Settings › Privacy & Security › \
    Accessibility › Utter. Until then it reads the clipboard.";

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
    })
}

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
