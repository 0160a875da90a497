//! A simulated copy that leaves the user's clipboard exactly as it was: the one place that
//! writes to the clipboard, with the same logic on every platform, so the Linux tests exercise
//! what the Mac runs.
//!
//! The clipboard is seen through [`Pasteboard`]: a change counter (macOS: `NSPasteboard`'s
//! `changeCount`; X11: ownership changes of CLIPBOARD, through XFixes), a snapshot of
//! everything on it (every item and every type, as bytes) and a restore of such a snapshot.
//!
//! [`copy_preserving_clipboard`]:
//! 1. notes the change count and takes a snapshot;
//! 2. has the focused app copy its selection (`press_copy`, ⌘C on a Mac), and tells that the
//!    copy landed by the change count, so the clipboard is never cleared first;
//! 3. reads the copied text, then restores the snapshot, unless something else wrote to the
//!    clipboard after the copy (the user's own copy then wins);
//! 4. if nothing landed in time, leaves the clipboard alone and hands back a [`LateCopy`]:
//!    [`LateCopy::watch`] restores the snapshot if the copy lands afterwards, so a slow app
//!    cannot overwrite the clipboard once Utter has moved on.

use std::time::{Duration, Instant};

use crate::CaptureError;

/// A system clipboard, as a simulated copy needs it.
pub trait Pasteboard {
    /// Everything on the clipboard, as plain data (it may be moved to another thread).
    type Snapshot: Send + 'static;

    /// A counter that changes whenever anyone writes to the clipboard.
    fn change_count(&mut self) -> Result<i64, CaptureError>;

    /// Everything the clipboard holds now, every item and type.
    fn snapshot(&mut self) -> Result<Self::Snapshot, CaptureError>;

    /// Puts `snapshot` back (an empty one empties the clipboard).
    fn restore(&mut self, snapshot: &Self::Snapshot) -> Result<(), CaptureError>;

    /// The clipboard's plain text, if it holds any.
    fn text(&mut self) -> Result<Option<String>, CaptureError>;
}

/// How often the change count is read while waiting for a copy to land.
const POLL: Duration = Duration::from_millis(5);

/// A copy that did not land before the timeout: the snapshot to put back if it lands later.
#[must_use = "a late copy would overwrite the user's clipboard: watch it"]
pub struct LateCopy<S> {
    /// The change count before the copy was asked for.
    before: i64,
    /// The clipboard as it was.
    saved: S,
}

/// What a simulated copy gave.
pub enum Copied<S> {
    /// The focused app copied this text; the clipboard is as it was (unless the user wrote to
    /// it meanwhile).
    Text(String),
    /// The copy landed with no text on it (an image was selected, say); the clipboard is as it
    /// was.
    NoText,
    /// Nothing landed in time: nothing was selected, or the app is slow. The clipboard was not
    /// touched; watch the [`LateCopy`].
    Nothing(LateCopy<S>),
}

/// The selection, copied by `press_copy` (which makes the focused app copy it), with the
/// user's clipboard saved before and put back after (see the module docs).
pub fn copy_preserving_clipboard<P: Pasteboard>(
    board: &mut P,
    press_copy: impl FnOnce() -> Result<(), String>,
    timeout: Duration,
) -> Result<Copied<P::Snapshot>, CaptureError> {
    let before = board.change_count()?;
    let saved = board.snapshot()?;
    press_copy().map_err(CaptureError::Unavailable)?;
    let deadline = Instant::now() + timeout;
    loop {
        if board.change_count()? != before {
            break;
        }
        if Instant::now() >= deadline {
            return Ok(Copied::Nothing(LateCopy { before, saved }));
        }
        std::thread::sleep(POLL);
    }
    // The copy has started to land: an app may clear the clipboard and write its types one
    // after another, so its text can follow its first change by a moment.
    let mut text = board.text()?;
    while text.is_none() && Instant::now() < deadline {
        std::thread::sleep(POLL);
        text = board.text()?;
    }
    let landed = board.change_count()?;
    put_back(board, &saved, landed);
    Ok(match text {
        Some(text) => Copied::Text(text),
        None => Copied::NoText,
    })
}

/// Restores `saved` unless the clipboard has changed since it held the copy (`landed`).
fn put_back<P: Pasteboard>(board: &mut P, saved: &P::Snapshot, landed: i64) {
    match board.change_count() {
        Ok(now) if now == landed => {
            if let Err(e) = board.restore(saved) {
                tracing::warn!("could not put the clipboard back: {e}");
            }
        }
        Ok(_) => tracing::info!(
            "something else wrote to the clipboard after the copy: leaving it as it is now"
        ),
        Err(e) => tracing::warn!("could not put the clipboard back: {e}"),
    }
}

impl<S> LateCopy<S> {
    /// Watches the clipboard for `grace`: if the copy lands after all, its text is taken off
    /// and the clipboard restored as it was. Returns the late text, if one landed. The watch
    /// ends early, leaving the clipboard alone, once `stop` says so: the next capture begins, or
    /// the user has typed since (a change then may be their own copy). Blocking: a caller that
    /// must go on runs it on a thread of its own, with a pasteboard of its own.
    pub fn watch<P: Pasteboard<Snapshot = S>>(
        self,
        board: &mut P,
        grace: Duration,
        stop: impl Fn() -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && !stop() {
            match board.change_count() {
                Ok(now) if now != self.before => {
                    // Give the app a moment to write all its types, then restore.
                    std::thread::sleep(POLL * 4);
                    if stop() {
                        return None;
                    }
                    let text = board.text().ok().flatten();
                    let Ok(landed) = board.change_count() else {
                        return text;
                    };
                    tracing::debug!("a copy landed late; the clipboard is put back");
                    put_back(board, &self.saved, landed);
                    return text;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("stopped watching for a late copy: {e}");
                    return None;
                }
            }
            std::thread::sleep(POLL * 2);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    //! The logic against an in-memory clipboard; tests/x11 runs it against a real one.
    use std::collections::VecDeque;

    use super::*;

    /// Typed items, as on a pasteboard.
    type Items = Vec<(String, Vec<u8>)>;

    /// A clipboard of typed items, with scripted writes by "other apps" that happen on given
    /// reads of the change count.
    #[derive(Default)]
    struct Board {
        items: Items,
        count: i64,
        /// On the n-th `change_count` call from now, these writes happen first.
        script: VecDeque<(usize, Items)>,
        calls: usize,
        restores: usize,
    }

    impl Board {
        fn write(&mut self, items: Items) {
            self.items = items;
            self.count += 1;
        }
    }

    impl Pasteboard for Board {
        type Snapshot = Items;

        fn change_count(&mut self) -> Result<i64, CaptureError> {
            self.calls += 1;
            while let Some((at, _)) = self.script.front()
                && *at <= self.calls
            {
                let (_, items) = self.script.pop_front().expect("front");
                self.write(items);
            }
            Ok(self.count)
        }

        fn snapshot(&mut self) -> Result<Self::Snapshot, CaptureError> {
            Ok(self.items.clone())
        }

        fn restore(&mut self, snapshot: &Self::Snapshot) -> Result<(), CaptureError> {
            self.restores += 1;
            self.write(snapshot.clone());
            Ok(())
        }

        fn text(&mut self) -> Result<Option<String>, CaptureError> {
            Ok(self
                .items
                .iter()
                .find(|(t, _)| t == "text")
                .map(|(_, b)| String::from_utf8_lossy(b).into_owned()))
        }
    }

    fn item(kind: &str, bytes: &str) -> (String, Vec<u8>) {
        (kind.to_string(), bytes.as_bytes().to_vec())
    }

    fn user_clipboard() -> Items {
        vec![
            item("rtf", "{\\rtf1 bold}"),
            item("png", "\u{89}PNG"),
            item("text", "the user's"),
        ]
    }

    #[test]
    fn the_copy_is_read_and_every_type_comes_back() {
        let mut board = Board::default();
        board.write(user_clipboard());
        // The app answers ⌘C on the third look at the count.
        board
            .script
            .push_back((3, vec![item("text", "selected words")]));
        let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_secs(1));
        assert!(matches!(got, Ok(Copied::Text(ref t)) if t == "selected words"));
        assert_eq!(board.items, user_clipboard(), "every type back, in order");
        assert_eq!(board.restores, 1);
    }

    #[test]
    fn a_failed_copy_touches_nothing() {
        let mut board = Board::default();
        board.write(user_clipboard());
        let got = copy_preserving_clipboard(
            &mut board,
            || Err("no keyboard".into()),
            Duration::from_millis(50),
        );
        assert!(matches!(got, Err(CaptureError::Unavailable(ref e)) if e == "no keyboard"));
        assert_eq!((board.count, board.restores), (1, 0), "never written to");
    }

    #[test]
    fn a_write_by_someone_else_after_the_copy_is_kept() {
        let mut board = Board::default();
        board.write(user_clipboard());
        board.script.push_back((3, vec![item("text", "selected")]));
        // The user copies something else just after the app's copy landed.
        board
            .script
            .push_back((5, vec![item("text", "the user's new copy")]));
        let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_secs(1));
        assert!(matches!(got, Ok(Copied::Text(ref t)) if t == "selected"));
        assert_eq!(board.restores, 0, "the newer clipboard is not overwritten");
        assert_eq!(board.items, vec![item("text", "the user's new copy")]);
    }

    #[test]
    fn nothing_landing_leaves_the_clipboard_alone_and_a_late_copy_is_undone() {
        let mut board = Board::default();
        board.write(user_clipboard());
        let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_millis(30));
        let Ok(Copied::Nothing(late)) = got else {
            panic!("nothing landed");
        };
        assert_eq!((board.count, board.restores), (1, 0), "untouched");
        // The slow app's copy lands while the watch runs.
        board.calls = 0;
        board
            .script
            .push_back((2, vec![item("text", "late words")]));
        let text = late.watch(&mut board, Duration::from_secs(1), || false);
        assert_eq!(text.as_deref(), Some("late words"));
        assert_eq!(
            board.items,
            user_clipboard(),
            "put back after the late copy"
        );
        // No copy at all: the watch ends quietly.
        let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_millis(10));
        let Ok(Copied::Nothing(late)) = got else {
            panic!("nothing landed");
        };
        let restores = board.restores;
        assert_eq!(
            late.watch(&mut board, Duration::from_millis(30), || false),
            None
        );
        assert_eq!(board.restores, restores);
    }

    #[test]
    fn a_stopped_watch_leaves_a_later_change_alone() {
        let mut board = Board::default();
        board.write(user_clipboard());
        let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_millis(10));
        let Ok(Copied::Nothing(late)) = got else {
            panic!("nothing landed");
        };
        // The user copies something of their own, having typed: once `stop` says so, the
        // change is left alone.
        board.calls = 0;
        board
            .script
            .push_back((1, vec![item("text", "the user's own copy")]));
        let looks = std::cell::Cell::new(0);
        let typed = || {
            looks.set(looks.get() + 1);
            looks.get() > 1
        };
        assert_eq!(late.watch(&mut board, Duration::from_secs(1), typed), None);
        assert_eq!(board.count, 2, "the change was seen");
        assert_eq!(board.restores, 0);
        assert_eq!(board.items, vec![item("text", "the user's own copy")]);
    }

    #[test]
    fn a_copy_without_text_is_no_text_and_an_empty_clipboard_stays_empty() {
        let mut board = Board::default();
        board.script.push_back((2, vec![item("png", "image")]));
        let got = copy_preserving_clipboard(&mut board, || Ok(()), Duration::from_millis(60));
        assert!(matches!(got, Ok(Copied::NoText)));
        assert!(board.items.is_empty(), "empty before, empty after");
    }
}
