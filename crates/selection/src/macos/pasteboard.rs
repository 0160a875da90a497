//! The macOS general pasteboard as a [`Pasteboard`]: every item, with every type it carries, as
//! bytes; its `changeCount`; and a restore that writes those items back.
//!
//! arboard, which this replaces here, reads only the first item's text, HTML or image, and
//! writes one item: RTF, PDF, PNG-only images, file promises, apps' private types and extra
//! items were lost, and HTML came back re-wrapped. A restore here writes back each item with
//! each of its types, byte for byte, in their order.
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
                    // Reading a type an app only promised makes the app provide it now.
                    .filter_map(|kind| {
                        let data = item.dataForType(&kind)?;
                        Some((kind.to_string(), data.to_vec()))
                    })
                    .collect::<Item>()
            })
            .filter(|item| !item.is_empty())
            .collect();
        Ok(MacSnapshot { items })
    }

    fn restore(&mut self, snapshot: &MacSnapshot) -> Result<(), CaptureError> {
        let board = general();
        board.clearContents();
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
        Ok(general()
            .stringForType(string_type())
            .map(|s| s.to_string()))
    }
}
