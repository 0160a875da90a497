//! The macOS general pasteboard as a [`Pasteboard`]: every item, with every type it carries, as
//! bytes; its `changeCount`; and a restore that writes those items back.
//!
//! arboard, which this replaces here, reads only the first item's text, HTML or image, and
//! writes one item: RTF, PDF, PNG-only images, file promises, apps' private types and extra
//! items were lost, and HTML came back re-wrapped. A restore here writes back each item with
//! each of its types, byte for byte, in their order.
//!
//! Two exceptions, by design:
//! * **Passwords.** A clipboard a password manager marked `org.nspasteboard.ConcealedType`
//!   (nspasteboard.org) is never read as text, so it is never spoken; and it is not put back
//!   after a copy but left empty: the manager clears it after a while only if the clipboard's
//!   change count has not moved, and a restore moves it, which would keep the password there.
//! * **Promises.** Types an app only promised (`…promised…`, files it would write on paste) are
//!   not read: reading one makes that app do the work at once, and a promise cannot be put back
//!   once its maker no longer holds the pasteboard.
//!
//! Type-checked on Linux too, against GNUstep's runtime (`cargo check -p utter-selection
//! --features mac-check`, in scripts/test.sh), because it needs no framework linked: only
//! AppKit's classes through objc2-app-kit.

use objc2::rc::Retained;
use objc2::runtime::ProtocolObject;
use objc2_app_kit::{NSPasteboard, NSPasteboardItem, NSPasteboardWriting};
use objc2_foundation::{NSArray, NSData, NSString, ns_string};

use crate::CaptureError;
use crate::pasteboard::Pasteboard;

/// One pasteboard item: its types (UTIs such as `public.rtf`) with their data, in order.
pub type Item = Vec<(String, Vec<u8>)>;

/// Everything on the pasteboard: its items (none when it was empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacSnapshot {
    /// The items, in order.
    pub items: Vec<Item>,
    /// A password manager marked it concealed: it is not put back (see the module docs).
    pub concealed: bool,
}

/// nspasteboard.org's marker for passwords and other secrets.
const CONCEALED: &str = "org.nspasteboard.ConcealedType";

/// True when the pasteboard holds something marked concealed.
fn is_concealed(board: &NSPasteboard) -> bool {
    board
        .types()
        .is_some_and(|types| types.to_vec().iter().any(|t| t.to_string() == CONCEALED))
}

/// The general pasteboard. Holds no Objective-C object: the pasteboard is looked up on every
/// call, so this can live in a `Send` selection source and be used from any thread.
#[derive(Debug, Default)]
pub struct MacPasteboard;

/// `public.utf8-plain-text`, the value of `NSPasteboardTypeString`.
fn string_type() -> &'static NSString {
    ns_string!("public.utf8-plain-text")
}

fn general() -> Retained<NSPasteboard> {
    NSPasteboard::generalPasteboard()
}

impl Pasteboard for MacPasteboard {
    type Snapshot = MacSnapshot;

    fn change_count(&mut self) -> Result<i64, CaptureError> {
        Ok(general().changeCount() as i64)
    }

    fn snapshot(&mut self) -> Result<MacSnapshot, CaptureError> {
        let board = general();
        let items = board
            .pasteboardItems()
            .map(|items| items.to_vec())
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                item.types()
                    .to_vec()
                    .into_iter()
                    .map(|kind| (kind.to_string(), kind))
                    .filter(|(name, _)| !name.contains("promised"))
                    .filter_map(|(name, kind)| Some((name, item.dataForType(&kind)?.to_vec())))
                    .collect::<Item>()
            })
            .filter(|item| !item.is_empty())
            .collect::<Vec<Item>>();
        let concealed = items.iter().flatten().any(|(kind, _)| kind == CONCEALED);
        Ok(MacSnapshot { items, concealed })
    }

    fn restore(&mut self, snapshot: &MacSnapshot) -> Result<(), CaptureError> {
        let board = general();
        board.clearContents();
        if snapshot.concealed {
            tracing::info!("the clipboard held a concealed item (a password): left empty");
            return Ok(());
        }
        if snapshot.items.is_empty() {
            return Ok(());
        }
        let items: Vec<Retained<ProtocolObject<dyn NSPasteboardWriting>>> = snapshot
            .items
            .iter()
            .map(|types| {
                let item = NSPasteboardItem::new();
                for (kind, data) in types {
                    item.setData_forType(&NSData::with_bytes(data), &NSString::from_str(kind));
                }
                ProtocolObject::from_retained(item)
            })
            .collect();
        if board.writeObjects(&NSArray::from_retained_slice(&items)) {
            Ok(())
        } else {
            Err(CaptureError::Unavailable(
                "the pasteboard refused the saved items".into(),
            ))
        }
    }

    fn text(&mut self) -> Result<Option<String>, CaptureError> {
        let board = general();
        if is_concealed(&board) {
            return Ok(None);
        }
        Ok(board.stringForType(string_type()).map(|s| s.to_string()))
    }
}
