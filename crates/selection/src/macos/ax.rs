//! The Accessibility API (ApplicationServices): the focused element's selected text and role,
//! the process's trust, and the messaging timeout.
//!
//! Each foreign call is checked by hand against core-foundation 0.10 and Apple's headers
//! (AXUIElement.h, AXError.h, AXAttributeConstants.h): `AXError` is an `int32_t`,
//! `AXIsProcessTrustedWithOptions` returns a `Boolean` (an `unsigned char`), the messaging
//! timeout is a `float` in seconds, and Copy functions return owned (+1) references.

#![allow(unsafe_code)] // FFI to ApplicationServices; every pointer is checked before use.

use std::ffi::c_void;

use core_foundation::base::{CFType, CFTypeRef, TCFType};
use core_foundation::boolean::CFBoolean;
use core_foundation::dictionary::{CFDictionary, CFDictionaryRef};
use core_foundation::string::{CFString, CFStringRef};

type AXUIElementRef = *const c_void;
/// `AXError`: 0 is success; the rest are negative codes such as -25204 (cannot complete: the
/// app did not answer in time) and -25205 (attribute unsupported).
pub type AxError = i32;
const SUCCESS: AxError = 0;
/// `kAXErrorFailure`.
const FAILURE: AxError = -25200;

#[link(name = "ApplicationServices", kind = "framework")]
unsafe extern "C" {
    fn AXUIElementCreateSystemWide() -> AXUIElementRef;
    fn AXUIElementCopyAttributeValue(
        element: AXUIElementRef,
        attribute: CFStringRef,
        value: *mut CFTypeRef,
    ) -> AxError;
    fn AXUIElementSetMessagingTimeout(element: AXUIElementRef, timeout_seconds: f32) -> AxError;
    fn AXIsProcessTrustedWithOptions(options: CFDictionaryRef) -> u8;
    static kAXTrustedCheckOptionPrompt: CFStringRef;
}

/// True if this process may use the Accessibility API; with `prompt`, macOS shows its
/// permission dialog (once per app; later calls just answer).
pub fn is_trusted(prompt: bool) -> bool {
    // SAFETY: a constant CFString exported by ApplicationServices; get rule (not owned).
    let key = unsafe { CFString::wrap_under_get_rule(kAXTrustedCheckOptionPrompt) };
    let options =
        CFDictionary::from_CFType_pairs(&[(key.as_CFType(), CFBoolean::from(prompt).as_CFType())]);
    // SAFETY: `options` is a valid CFDictionary for the duration of the call.
    unsafe { AXIsProcessTrustedWithOptions(options.as_concrete_TypeRef()) != 0 }
}

/// The system-wide element (owned).
fn system_wide() -> Result<CFType, AxError> {
    // SAFETY: returns a new (+1) reference or null; CFType takes ownership of a non-null one.
    let system = unsafe { AXUIElementCreateSystemWide() };
    if system.is_null() {
        return Err(FAILURE);
    }
    // SAFETY: a non-null +1 reference from a Create function.
    Ok(unsafe { CFType::wrap_under_create_rule(system) })
}

/// Bounds how long any Accessibility call of this process waits for an app: set on the
/// system-wide element, the timeout applies to every element (AXUIElement.h). A hung app then
/// costs at most this, instead of the default of several seconds with the selection lock held.
pub fn set_messaging_timeout(seconds: f32) {
    if let Ok(system) = system_wide() {
        // SAFETY: `system` is a live AXUIElement.
        let status = unsafe { AXUIElementSetMessagingTimeout(system.as_CFTypeRef(), seconds) };
        if status != SUCCESS {
            tracing::debug!(status, "could not set the Accessibility messaging timeout");
        }
    }
}

/// What the focused element says.
#[derive(Debug)]
pub struct Focus {
    /// Its `AXRole` ("AXTextArea", "AXWebArea", ...).
    pub role: Option<String>,
    /// Its `AXSelectedText`, or the error the app answered with.
    pub selected: Result<String, AxError>,
}

/// The focused UI element's role and selected text.
pub fn focused() -> Result<Focus, AxError> {
    let system = system_wide()?;
    let focused = copy_attribute(system.as_CFTypeRef(), "AXFocusedUIElement")?;
    let element = focused.as_CFTypeRef();
    let role = copy_attribute(element, "AXRole")
        .ok()
        .and_then(|v| v.downcast_into::<CFString>())
        .map(|s| s.to_string());
    let selected = copy_attribute(element, "AXSelectedText").and_then(|v| {
        v.downcast_into::<CFString>()
            .map(|s| s.to_string())
            .ok_or(FAILURE)
    });
    Ok(Focus { role, selected })
}

/// `element`'s attribute `name`, owned (the Copy rule), or the app's error.
fn copy_attribute(element: CFTypeRef, name: &'static str) -> Result<CFType, AxError> {
    let attribute = CFString::from_static_string(name);
    let mut value: CFTypeRef = std::ptr::null();
    // SAFETY: `element` is a live AXUIElement, `attribute` a live CFString, `value` a valid
    // out-pointer; on success the value is a +1 reference, which CFType takes over.
    let status = unsafe {
        AXUIElementCopyAttributeValue(element, attribute.as_concrete_TypeRef(), &mut value)
    };
    if status != SUCCESS {
        return Err(status);
    }
    if value.is_null() {
        return Err(FAILURE);
    }
    // SAFETY: a non-null +1 reference from a Copy function.
    Ok(unsafe { CFType::wrap_under_create_rule(value) })
}
