//! Saving and restoring the clipboard around a simulated copy.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use arboard::{Clipboard, ImageData};

use crate::CaptureError;

/// What the clipboard held, in every flavour arboard reads back (file references, HTML with its
/// plain-text alternative, an image, plain text), so it can be put back after a simulated copy.
#[derive(Default)]
pub struct ClipboardSnapshot {
    files: Option<Vec<PathBuf>>,
    html: Option<String>,
    text: Option<String>,
    image: Option<ImageData<'static>>,
}

impl std::fmt::Debug for ClipboardSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipboardSnapshot")
            .field("files", &self.files)
            .field("html", &self.html.as_ref().map(String::len))
            .field("text", &self.text.as_ref().map(String::len))
            .field("image", &self.image.as_ref().map(|i| (i.width, i.height)))
            .finish()
    }
}

impl ClipboardSnapshot {
    /// Reads everything the clipboard holds now.
    pub fn take(clipboard: &mut Clipboard) -> Self {
        Self {
            files: clipboard.get().file_list().ok().filter(|f| !f.is_empty()),
            html: clipboard.get().html().ok(),
            text: clipboard.get_text().ok(),
            image: clipboard.get_image().ok(),
        }
    }

    /// True when the clipboard was empty.
    pub fn is_empty(&self) -> bool {
        self.files.is_none() && self.html.is_none() && self.text.is_none() && self.image.is_none()
    }

    /// Puts the contents back (an empty clipboard is cleared again). One flavour family is
    /// written, the richest that was there: files, else HTML with its text, else an image, else
    /// text.
    pub fn restore(self, clipboard: &mut Clipboard) -> Result<(), arboard::Error> {
        if let Some(files) = self.files {
            return clipboard.set().file_list(&files);
        }
        if let Some(html) = self.html {
            return clipboard.set_html(html, self.text);
        }
        if let Some(image) = self.image {
            return clipboard.set_image(image);
        }
        if let Some(text) = self.text {
            return clipboard.set_text(text);
        }
        clipboard.clear()
    }
}

/// Puts the saved clipboard back when dropped, whatever happened in between.
struct Restore<'a> {
    clipboard: &'a mut Clipboard,
    saved: Option<ClipboardSnapshot>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take()
            && let Err(e) = saved.restore(self.clipboard)
        {
            tracing::warn!("could not put the clipboard back: {e}");
        }
    }
}

/// How often the clipboard is looked at while waiting for a simulated copy to land.
const POLL: Duration = Duration::from_millis(5);

/// The selection, copied by `press_copy` (which makes the focused app copy it, e.g. by posting
/// ⌘C), with the user's clipboard saved before and restored after. `Ok(None)` when nothing
/// arrived within `timeout` (nothing was selected, or the app has no Copy).
pub fn copy_preserving_clipboard(
    clipboard: &mut Clipboard,
    press_copy: impl FnOnce() -> Result<(), String>,
    timeout: Duration,
) -> Result<Option<String>, CaptureError> {
    let saved = ClipboardSnapshot::take(clipboard);
    let guard = Restore {
        clipboard,
        saved: Some(saved),
    };
    // Emptied first, so the copy's arrival is unmistakable even when it equals the old contents.
    guard.clipboard.clear().map_err(crate::unavailable)?;
    press_copy().map_err(CaptureError::Unavailable)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = guard.clipboard.get_text()
            && !text.is_empty()
        {
            return Ok(Some(text));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}
