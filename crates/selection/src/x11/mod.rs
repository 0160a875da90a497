//! Linux/X11: the PRIMARY selection (whatever is highlighted, in any X11 app), else the
//! CLIPBOARD. Reading PRIMARY leaves both untouched, so no copy is ever simulated here.
//!
//! [`clipboard`] is the X11 CLIPBOARD as a [`crate::Pasteboard`]: the Linux twin of the Mac's
//! pasteboard, on which the tests run the clipboard-preserving copy the Mac uses.

pub mod clipboard;

use std::time::Instant;

use arboard::{Clipboard, GetExtLinux, LinuxClipboardKind};

use crate::{CaptureError, Captured, SelectionSource, found, unavailable};

/// The X11 selection source.
pub struct X11Selection {
    clipboard: Clipboard,
}

impl X11Selection {
    /// Connects to the X server (`DISPLAY`).
    pub fn new() -> Result<Self, CaptureError> {
        Clipboard::new()
            .map(|clipboard| Self { clipboard })
            .map_err(unavailable)
    }
}

impl SelectionSource for X11Selection {
    fn capture(&mut self) -> Result<Captured, CaptureError> {
        let started = Instant::now();
        let primary = read(&mut self.clipboard, LinuxClipboardKind::Primary)?;
        let clipboard = &mut self.clipboard;
        found(
            primary,
            || {
                read(clipboard, LinuxClipboardKind::Clipboard)
                    .ok()
                    .flatten()
            },
            started,
        )
    }
}

/// The text of `kind`; `None` when it is empty or holds no text.
fn read(
    clipboard: &mut Clipboard,
    kind: LinuxClipboardKind,
) -> Result<Option<String>, CaptureError> {
    match clipboard.get().clipboard(kind).text() {
        Ok(text) => Ok(Some(text)),
        Err(arboard::Error::ContentNotAvailable) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}
