//! The synthesized ⌘C, and waiting for the shortcut's own modifiers to be let go first.
//!
//! Checked by hand against core-graphics 0.25 (`CGEventSource::new`, `CGEvent::
//! new_keyboard_event`, `set_flags`, `post`) and CGEventSource.h / CGEventTypes.h
//! (`CGEventSourceFlagsState` takes a `CGEventSourceStateID`, an `int32_t`, and returns
//! `CGEventFlags`, a `uint64_t`; `CGEventSourceCounterForEventType` takes the state id and a
//! `CGEventType`, a `uint32_t` where `kCGEventKeyDown` is 10, and returns a `uint32_t`).

#![allow(unsafe_code)] // two FFI calls that take and return integers only.

use std::time::{Duration, Instant};

use core_graphics::event::{CGEvent, CGEventFlags, CGEventTapLocation, CGKeyCode};
use core_graphics::event_source::{CGEventSource, CGEventSourceStateID};

/// `kVK_ANSI_C`.
const KEY_C: CGKeyCode = 8;
/// `kCGEventSourceStateCombinedSessionState`: the keys as every source together holds them.
const COMBINED_SESSION_STATE: i32 = 0;
/// `kCGEventSourceStateHIDSystemState`: the hardware's events (and events posted as such).
const HID_SYSTEM_STATE: i32 = 1;
/// `kCGEventKeyDown`.
const KEY_DOWN: u32 = 10;
/// ⇧ ⌃ ⌥ ⌘ (`kCGEventFlagMaskShift`, `…Control`, `…Alternate`, `…Command`).
const MODIFIERS: u64 = 0x0002_0000 | 0x0004_0000 | 0x0008_0000 | 0x0010_0000;

#[link(name = "CoreGraphics", kind = "framework")]
unsafe extern "C" {
    fn CGEventSourceFlagsState(state_id: i32) -> u64;
    fn CGEventSourceCounterForEventType(state_id: i32, event_type: u32) -> u32;
}

/// Key presses so far (a counter kept by the system): a later, higher count means someone typed.
pub fn key_downs() -> u32 {
    // SAFETY: takes a state id and an event type by value and returns a count; no pointers.
    unsafe { CGEventSourceCounterForEventType(HID_SYSTEM_STATE, KEY_DOWN) }
}

/// Waits, at most `max`, until no modifier key is held: the shortcut that started the capture
/// (⌃⌥S) is usually still down when the capture begins, and an app that sees ⌃⌥ with the
/// synthesized ⌘C may not treat it as Copy. True if they were released in time.
pub fn wait_for_modifiers_released(max: Duration) -> bool {
    let deadline = Instant::now() + max;
    loop {
        // SAFETY: takes a state id by value and returns the flags; no pointers.
        let held = unsafe { CGEventSourceFlagsState(COMBINED_SESSION_STATE) } & MODIFIERS;
        if held == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            tracing::debug!(held, "modifiers still held; copying anyway");
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Posts ⌘C to the focused app: the key-down flagged with Command only, the key-up with no
/// flags (a flagged key-up can leave Command reading as held afterwards).
pub fn press_copy() -> Result<(), String> {
    let source = CGEventSource::new(CGEventSourceStateID::HIDSystemState)
        .map_err(|()| "cannot create a keyboard event source".to_string())?;
    let down = CGEvent::new_keyboard_event(source.clone(), KEY_C, true)
        .map_err(|()| "cannot create the ⌘C key event".to_string())?;
    down.set_flags(CGEventFlags::CGEventFlagCommand);
    let up = CGEvent::new_keyboard_event(source, KEY_C, false)
        .map_err(|()| "cannot create the ⌘C key event".to_string())?;
    up.set_flags(CGEventFlags::CGEventFlagNull);
    down.post(CGEventTapLocation::HID);
    up.post(CGEventTapLocation::HID);
    Ok(())
}
