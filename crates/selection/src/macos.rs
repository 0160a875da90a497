//! macOS: the focused element's selected text through the Accessibility API; else a simulated
//! ⌘C with the clipboard saved and restored ([`crate::copy_preserving_clipboard`]); else the
//! clipboard's text.
//!
//! This file cannot be compiled on the Linux machines the project is built on; it is kept small
//! and each foreign call is checked by hand against core-foundation 0.10 / core-graphics 0.25
//! and Apple's headers (AXUIElement.h, AXAttributeConstants.h, CGEvent.h).
//!
//! Both reading another app's selection and posting ⌘C need the Accessibility permission.
//! Without it the clipboard is read (which needs no permission) and the caller is told once,
//! with [`crate::PERMISSION_REASON`], while the system's dialog is shown.

use std::time::{Duration, Instant};

use arboard::Clipboard;

use crate::{CaptureError, Captured, SelectionSource, found, unavailable};

/// How long a simulated ⌘C may take to reach the clipboard.
const COPY_TIMEOUT: Duration = Duration::from_millis(250);

/// The macOS selection source.
pub struct MacSelection {
    clipboard: Clipboard,
    asked: bool,
}

impl MacSelection {
    pub fn new() -> Result<Self, CaptureError> {
        Ok(Self {
            clipboard: Clipboard::new().map_err(unavailable)?,
            asked: false,
        })
    }
}

impl SelectionSource for MacSelection {
    fn capture(&mut self) -> Result<Captured, CaptureError> {
        let started = Instant::now();
        if !ax::is_trusted(false) {
            // Ask once per launch (the system shows its dialog); meanwhile, the clipboard.
            let prompt = !self.asked;
            self.asked = true;
            ax::is_trusted(prompt);
            let clipboard = &mut self.clipboard;
            return match found(None, || clipboard.get_text().ok(), started) {
                Ok(c) => Ok(c),
                Err(CaptureError::Nothing) if prompt => {
                    Err(CaptureError::PermissionNeeded(crate::PERMISSION_REASON))
                }
                Err(e) => Err(e),
            };
        }
        let selected = match ax::selected_text() {
            Some(text) if !text.trim().is_empty() => Some(text),
            // Apps that do not expose their selection (many Electron and Java apps): ⌘C.
            _ => crate::copy_preserving_clipboard(
                &mut self.clipboard,
                keys::press_copy,
                COPY_TIMEOUT,
            )?,
        };
        let clipboard = &mut self.clipboard;
        found(selected, || clipboard.get_text().ok(), started)
    }

    fn permission_granted(&mut self, prompt: bool) -> bool {
        ax::is_trusted(prompt)
    }
}

#[allow(unsafe_code)] // FFI to ApplicationServices; every pointer is checked before use.
mod ax {
    use std::ffi::c_void;

    use core_foundation::base::{CFRelease, CFType, CFTypeRef, TCFType};
    use core_foundation::boolean::CFBoolean;
    use core_foundation::dictionary::{CFDictionary, CFDictionaryRef};
    use core_foundation::string::{CFString, CFStringRef};

    type AXUIElementRef = *const c_void;
    /// `kAXErrorSuccess`.
    const SUCCESS: i32 = 0;

    #[link(name = "ApplicationServices", kind = "framework")]
    unsafe extern "C" {
        fn AXUIElementCreateSystemWide() -> AXUIElementRef;
        fn AXUIElementCopyAttributeValue(
            element: AXUIElementRef,
            attribute: CFStringRef,
            value: *mut CFTypeRef,
        ) -> i32;
        fn AXIsProcessTrustedWithOptions(options: CFDictionaryRef) -> bool;
        static kAXTrustedCheckOptionPrompt: CFStringRef;
    }

    /// True if this process may use the Accessibility API; with `prompt`, macOS shows its
    /// permission dialog (once; later calls just answer).
    pub fn is_trusted(prompt: bool) -> bool {
        // SAFETY: a constant CFString exported by ApplicationServices; get rule (not owned).
        let key = unsafe { CFString::wrap_under_get_rule(kAXTrustedCheckOptionPrompt) };
        let options = CFDictionary::from_CFType_pairs(&[(
            key.as_CFType(),
            CFBoolean::from(prompt).as_CFType(),
        )]);
        // SAFETY: `options` is a valid CFDictionary for the duration of the call.
        unsafe { AXIsProcessTrustedWithOptions(options.as_concrete_TypeRef()) }
    }

    /// The focused UI element's `AXSelectedText`, if it has one.
    pub fn selected_text() -> Option<String> {
        // SAFETY: returns a new (+1) reference or null; released below.
        let system = unsafe { AXUIElementCreateSystemWide() };
        if system.is_null() {
            return None;
        }
        let focused = copy_attribute(system, "AXFocusedUIElement");
        // SAFETY: `system` is the +1 reference created above.
        unsafe { CFRelease(system) };
        let focused = focused?;
        let value = copy_attribute(focused.as_CFTypeRef(), "AXSelectedText")?;
        value.downcast_into::<CFString>().map(|s| s.to_string())
    }

    /// `element`'s attribute `name`, owned (the Copy rule), or `None`.
    fn copy_attribute(element: AXUIElementRef, name: &'static str) -> Option<CFType> {
        let attribute = CFString::from_static_string(name);
        let mut value: CFTypeRef = std::ptr::null();
        // SAFETY: `element` is a live AXUIElement, `attribute` a live CFString, `value` a valid
        // out-pointer; on success the value is a +1 reference, which CFType takes over.
        let status = unsafe {
            AXUIElementCopyAttributeValue(element, attribute.as_concrete_TypeRef(), &mut value)
        };
        if status != SUCCESS || value.is_null() {
            return None;
        }
        // SAFETY: a non-null +1 reference from a Copy function.
        Some(unsafe { CFType::wrap_under_create_rule(value) })
    }
}

mod keys {
    use core_graphics::event::{CGEvent, CGEventFlags, CGEventTapLocation, CGKeyCode};
    use core_graphics::event_source::{CGEventSource, CGEventSourceStateID};

    /// `kVK_ANSI_C`.
    const KEY_C: CGKeyCode = 8;

    /// Posts ⌘C (key down, key up) to the focused app. The shortcut's own modifiers (⌃⌥) may
    /// still be held: each event carries exactly the Command flag, so the app sees ⌘C.
    pub fn press_copy() -> Result<(), String> {
        let source = CGEventSource::new(CGEventSourceStateID::HIDSystemState)
            .map_err(|()| "cannot create a keyboard event source".to_string())?;
        for down in [true, false] {
            let event = CGEvent::new_keyboard_event(source.clone(), KEY_C, down)
                .map_err(|()| "cannot create the ⌘C key event".to_string())?;
            event.set_flags(CGEventFlags::CGEventFlagCommand);
            event.post(CGEventTapLocation::HID);
        }
        Ok(())
    }
}
