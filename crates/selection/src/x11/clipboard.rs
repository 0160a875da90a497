//! The X11 CLIPBOARD as a [`Pasteboard`]: the Linux twin of the Mac's `NSPasteboard`, so the
//! tests run the clipboard-preserving copy against a real clipboard.
//!
//! arboard reads and writes only text, HTML, images and file lists, and re-encodes what it
//! writes; a restore must offer back every target the owner offered, byte for byte. X11 has no
//! clipboard storage: the owner serves each request. So:
//!
//! * **reading** asks the owner for `TARGETS`, then for each target (following `INCR` for large
//!   data), on this side's connection;
//! * **the change count** counts XFixes SetSelectionOwner notifications on that connection:
//!   every time anyone (this process too) takes CLIPBOARD, as `changeCount` counts every write;
//! * **restoring** hands the saved targets to a serving thread with a connection of its own,
//!   which takes CLIPBOARD with a real server timestamp and answers `TARGETS`, `TIMESTAMP`,
//!   `MULTIPLE` and each saved target (with `INCR` above the request size), until another client
//!   takes the clipboard. An empty snapshot restores "no owner".
//!
//! Errors caused by other clients (a requestor that vanished mid-transfer) never end the
//! serving thread; only a lost connection to the X server does.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{ConnectionExt as _, SelectionEventMask};
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ChangeWindowAttributesAux, ClientMessageEvent, ConnectionExt as _,
    CreateWindowAux, EventMask, GetPropertyReply, PropMode, Property, SelectionNotifyEvent,
    SelectionRequestEvent, Timestamp, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{COPY_DEPTH_FROM_PARENT, CURRENT_TIME, NONE};

use crate::CaptureError;
use crate::pasteboard::Pasteboard;

/// How long one target may take to arrive (a large `INCR` transfer: per chunk).
const TARGET_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a snapshot may take in all; targets that have not arrived by then are left out.
const SNAPSHOT_BUDGET: Duration = Duration::from_secs(3);
/// An `INCR` transfer to a requestor that stops reading is given up after this long.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest chunk sent at once (clipboard managers are known to expect at most 256 KiB).
const MAX_CHUNK: usize = 256 * 1024;

/// One target of the clipboard, as its owner answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The target (`text/html`, `UTF8_STRING`, `image/png`, ...).
    pub name: Atom,
    /// The type of the data, as the owner labelled it.
    pub kind: Atom,
    /// 8, 16 or 32 bits per item.
    pub format: u8,
    /// The data, in this client's byte order.
    pub data: Vec<u8>,
}

/// Everything CLIPBOARD offered: no owner at all, or an owner's targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct X11Snapshot {
    /// The targets, in the owner's order; empty when there was no owner.
    pub targets: Vec<Target>,
}

/// The atoms this module uses, interned once per connection.
#[derive(Debug, Clone, Copy)]
struct Atoms {
    clipboard: Atom,
    targets: Atom,
    timestamp: Atom,
    multiple: Atom,
    incr: Atom,
    atom_pair: Atom,
    utf8_string: Atom,
    /// Where conversions are delivered on this side's window.
    transfer: Atom,
    /// Zero-length appends whose PropertyNotify carries a server timestamp.
    time: Atom,
    /// The ClientMessage that wakes the serving thread for a command.
    wake: Atom,
}

impl Atoms {
    fn intern(conn: &RustConnection) -> Result<Self, CaptureError> {
        let names: [&[u8]; 10] = [
            b"CLIPBOARD",
            b"TARGETS",
            b"TIMESTAMP",
            b"MULTIPLE",
            b"INCR",
            b"ATOM_PAIR",
            b"UTF8_STRING",
            b"UTTER_CLIPBOARD_TRANSFER",
            b"UTTER_CLIPBOARD_TIME",
            b"UTTER_CLIPBOARD_WAKE",
        ];
        let cookies = names
            .iter()
            .map(|n| conn.intern_atom(false, n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(x11)?;
        let mut atoms = Vec::with_capacity(names.len());
        for cookie in cookies {
            atoms.push(cookie.reply().map_err(x11)?.atom);
        }
        Ok(Self {
            clipboard: atoms[0],
            targets: atoms[1],
            timestamp: atoms[2],
            multiple: atoms[3],
            incr: atoms[4],
            atom_pair: atoms[5],
            utf8_string: atoms[6],
            transfer: atoms[7],
            time: atoms[8],
            wake: atoms[9],
        })
    }
}

/// The X11 CLIPBOARD (see the module docs).
pub struct X11Clipboard {
    conn: RustConnection,
    window: Window,
    atoms: Atoms,
    changes: i64,
    server: Option<Server>,
}

/// The serving thread, and how to reach it.
struct Server {
    commands: mpsc::Sender<Command>,
    window: Window,
    thread: Option<JoinHandle<()>>,
}

enum Command {
    /// Take CLIPBOARD and serve these targets (none: leave it without an owner); says when done.
    Offer(Vec<Target>, mpsc::SyncSender<Result<(), String>>),
    Quit,
}

impl X11Clipboard {
    /// Connects to the X server (`DISPLAY`) and starts watching CLIPBOARD.
    pub fn new() -> Result<Self, CaptureError> {
        let (conn, screen) = x11rb::connect(None).map_err(x11)?;
        let atoms = Atoms::intern(&conn)?;
        let window = create_window(&conn, screen)?;
        conn.xfixes_query_version(5, 0)
            .map_err(x11)?
            .reply()
            .map_err(|e| {
                CaptureError::Unavailable(format!("the X server has no XFIXES extension: {e}"))
            })?;
        conn.xfixes_select_selection_input(
            window,
            atoms.clipboard,
            SelectionEventMask::SET_SELECTION_OWNER
                | SelectionEventMask::SELECTION_WINDOW_DESTROY
                | SelectionEventMask::SELECTION_CLIENT_CLOSE,
        )
        .map_err(x11)?;
        conn.flush().map_err(x11)?;
        Ok(Self {
            conn,
            window,
            atoms,
            changes: 0,
            server: None,
        })
    }

    /// A snapshot made of `targets` (name, bytes; 8-bit data labelled with its own name), as an
    /// app that offers them would hold: for tests and fixtures.
    pub fn snapshot_of(&mut self, targets: &[(&str, &[u8])]) -> Result<X11Snapshot, CaptureError> {
        let mut out = Vec::with_capacity(targets.len());
        for (name, data) in targets {
            let atom = self
                .conn
                .intern_atom(false, name.as_bytes())
                .map_err(x11)?
                .reply()
                .map_err(x11)?
                .atom;
            out.push(Target {
                name: atom,
                kind: atom,
                format: 8,
                data: data.to_vec(),
            });
        }
        Ok(X11Snapshot { targets: out })
    }

    /// The name of `atom` (for messages and tests).
    pub fn atom_name(&self, atom: Atom) -> Result<String, CaptureError> {
        let reply = self
            .conn
            .get_atom_name(atom)
            .map_err(x11)?
            .reply()
            .map_err(x11)?;
        Ok(String::from_utf8_lossy(&reply.name).into_owned())
    }

    /// Counts the XFixes notifications in `event`; other events are for the caller.
    fn count(&mut self, event: Event) -> Option<Event> {
        match event {
            Event::XfixesSelectionNotify(e) if e.selection == self.atoms.clipboard => {
                self.changes += 1;
                None
            }
            other => Some(other),
        }
    }

    /// The next event other than a change notification, or `None` at `deadline`.
    fn next_event(&mut self, deadline: Instant) -> Result<Option<Event>, CaptureError> {
        loop {
            while let Some(event) = self.conn.poll_for_event().map_err(x11)? {
                if let Some(event) = self.count(event) {
                    return Ok(Some(event));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Asks CLIPBOARD's owner for `target`: (type, format, data), or `None` if it refused or
    /// did not answer in time.
    fn convert(&mut self, target: Atom) -> Result<Option<(Atom, u8, Vec<u8>)>, CaptureError> {
        let (window, prop) = (self.window, self.atoms.transfer);
        self.conn.delete_property(window, prop).map_err(x11)?;
        self.conn
            .convert_selection(window, self.atoms.clipboard, target, prop, CURRENT_TIME)
            .map_err(x11)?;
        self.conn.flush().map_err(x11)?;
        let deadline = Instant::now() + TARGET_TIMEOUT;
        let notified = loop {
            match self.next_event(deadline)? {
                None => return Ok(None),
                Some(Event::SelectionNotify(e))
                    if e.requestor == window
                        && e.selection == self.atoms.clipboard
                        && e.target == target =>
                {
                    break e;
                }
                Some(_) => {}
            }
        };
        if notified.property == NONE {
            return Ok(None);
        }
        let reply = self.take_property()?;
        if reply.type_ != self.atoms.incr {
            return Ok(Some((reply.type_, reply.format, reply.value)));
        }
        // INCR: the owner sends chunks, each after this side deletes the last; a zero-length
        // chunk ends it. Deleting the INCR property (done by the read above) starts it.
        self.conn.flush().map_err(x11)?;
        let mut data = Vec::new();
        let mut kind_format = None;
        loop {
            let deadline = Instant::now() + TARGET_TIMEOUT;
            loop {
                match self.next_event(deadline)? {
                    None => return Ok(None),
                    Some(Event::PropertyNotify(e))
                        if e.window == window
                            && e.atom == prop
                            && e.state == Property::NEW_VALUE =>
                    {
                        break;
                    }
                    Some(_) => {}
                }
            }
            let chunk = self.take_property()?;
            self.conn.flush().map_err(x11)?;
            if chunk.value.is_empty() {
                let (kind, format) = kind_format.unwrap_or((chunk.type_, chunk.format.max(8)));
                return Ok(Some((kind, format, data)));
            }
            kind_format.get_or_insert((chunk.type_, chunk.format));
            data.extend_from_slice(&chunk.value);
        }
    }

    /// Reads and deletes the transfer property on this side's window (the deletion tells an
    /// `INCR` sender to go on).
    fn take_property(&self) -> Result<GetPropertyReply, CaptureError> {
        self.conn
            .get_property(
                true,
                self.window,
                self.atoms.transfer,
                AtomEnum::ANY,
                0,
                u32::MAX / 4,
            )
            .map_err(x11)?
            .reply()
            .map_err(x11)
    }

    fn server(&mut self) -> Result<&Server, CaptureError> {
        if self.server.is_none() {
            self.server = Some(Server::start()?);
        }
        self.server
            .as_ref()
            .ok_or_else(|| CaptureError::Unavailable("no clipboard server".into()))
    }
}

impl Pasteboard for X11Clipboard {
    type Snapshot = X11Snapshot;

    fn change_count(&mut self) -> Result<i64, CaptureError> {
        // A round trip: every notification the server sent before its reply is queued now.
        self.conn
            .get_input_focus()
            .map_err(x11)?
            .reply()
            .map_err(x11)?;
        while let Some(event) = self.conn.poll_for_event().map_err(x11)? {
            self.count(event);
        }
        Ok(self.changes)
    }

    fn snapshot(&mut self) -> Result<X11Snapshot, CaptureError> {
        let owner = self
            .conn
            .get_selection_owner(self.atoms.clipboard)
            .map_err(x11)?
            .reply()
            .map_err(x11)?
            .owner;
        if owner == NONE {
            return Ok(X11Snapshot::default());
        }
        let Some((_, 32, list)) = self.convert(self.atoms.targets)? else {
            return Err(CaptureError::Unavailable(
                "the clipboard's owner does not say what it holds (no TARGETS)".into(),
            ));
        };
        let a = self.atoms;
        // Targets that are requests to the owner, not data it holds.
        let mut skip = vec![a.targets, a.timestamp, a.multiple];
        for name in [
            &b"DELETE"[..],
            b"SAVE_TARGETS",
            b"INSERT_SELECTION",
            b"INSERT_PROPERTY",
        ] {
            skip.push(
                self.conn
                    .intern_atom(false, name)
                    .map_err(x11)?
                    .reply()
                    .map_err(x11)?
                    .atom,
            );
        }
        let names: Vec<Atom> = list
            .chunks_exact(4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .filter(|t| !skip.contains(t))
            .collect();
        let budget = Instant::now() + SNAPSHOT_BUDGET;
        let mut targets = Vec::with_capacity(names.len());
        for name in names {
            if targets.iter().any(|t: &Target| t.name == name) {
                continue;
            }
            if Instant::now() >= budget {
                tracing::warn!("the clipboard took too long to read; some of it is left out");
                break;
            }
            match self.convert(name)? {
                Some((kind, format, data)) => targets.push(Target {
                    name,
                    kind,
                    format,
                    data,
                }),
                None => tracing::debug!(target = name, "the clipboard's owner refused a target"),
            }
        }
        Ok(X11Snapshot { targets })
    }

    fn restore(&mut self, snapshot: &X11Snapshot) -> Result<(), CaptureError> {
        let (done, answer) = mpsc::sync_channel(1);
        let server = self.server()?;
        let (commands, server_window) = (server.commands.clone(), server.window);
        commands
            .send(Command::Offer(snapshot.targets.clone(), done))
            .map_err(|_| CaptureError::Unavailable("the clipboard server has stopped".into()))?;
        wake(&self.conn, server_window, self.atoms.wake)?;
        answer
            .recv_timeout(Duration::from_secs(2))
            .map_err(|_| CaptureError::Unavailable("the clipboard server did not answer".into()))?
            .map_err(CaptureError::Unavailable)
    }

    fn text(&mut self) -> Result<Option<String>, CaptureError> {
        for target in [self.atoms.utf8_string, AtomEnum::STRING.into()] {
            if let Some((_, 8, data)) = self.convert(target)? {
                return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
            }
        }
        Ok(None)
    }
}

impl Drop for X11Clipboard {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.commands.send(Command::Quit);
            let _ = wake(&self.conn, server.window, self.atoms.wake);
            if let Some(thread) = server.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// An unmapped window to receive selections and property changes on.
fn create_window(conn: &RustConnection, screen: usize) -> Result<Window, CaptureError> {
    let root = conn.setup().roots[screen].root;
    let window = conn.generate_id().map_err(x11)?;
    conn.create_window(
        COPY_DEPTH_FROM_PARENT,
        window,
        root,
        0,
        0,
        1,
        1,
        0,
        WindowClass::INPUT_OUTPUT,
        x11rb::COPY_FROM_PARENT,
        &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
    )
    .map_err(x11)?;
    Ok(window)
}

/// Wakes the serving thread (its window's creator gets the event) to read its commands.
fn wake(conn: &RustConnection, window: Window, kind: Atom) -> Result<(), CaptureError> {
    let event = ClientMessageEvent::new(32, window, kind, [0u32; 5]);
    conn.send_event(false, window, EventMask::NO_EVENT, event)
        .map_err(x11)?;
    conn.flush().map_err(x11)
}

impl Server {
    fn start() -> Result<Self, CaptureError> {
        let (conn, screen) = x11rb::connect(None).map_err(x11)?;
        let atoms = Atoms::intern(&conn)?;
        let window = create_window(&conn, screen)?;
        conn.flush().map_err(x11)?;
        let (commands, receive) = mpsc::channel();
        let max_chunk = (conn.maximum_request_bytes() / 4).clamp(4096, MAX_CHUNK) & !3;
        let mut serving = Serving {
            conn,
            window,
            atoms,
            offer: None,
            transfers: HashMap::new(),
            max_chunk,
        };
        let thread = std::thread::Builder::new()
            .name("utter-clipboard".into())
            .spawn(move || {
                if let Err(e) = serving.run(&receive) {
                    tracing::warn!("the clipboard server stopped: {e}");
                }
            })
            .map_err(|e| CaptureError::Unavailable(format!("no clipboard thread: {e}")))?;
        Ok(Self {
            commands,
            window,
            thread: Some(thread),
        })
    }
}

/// What the serving thread offers while it owns CLIPBOARD.
struct Offer {
    targets: Vec<Target>,
    /// When it took the clipboard (server time).
    since: Timestamp,
}

/// An `INCR` transfer under way: the next chunk goes when the requestor deletes the last.
struct Transfer {
    kind: Atom,
    format: u8,
    data: std::sync::Arc<Vec<u8>>,
    sent: usize,
    started: Instant,
}

struct Serving {
    conn: RustConnection,
    window: Window,
    atoms: Atoms,
    offer: Option<Offer>,
    /// By (requestor, property).
    transfers: HashMap<(Window, Atom), Transfer>,
    max_chunk: usize,
}

impl Serving {
    fn run(&mut self, commands: &mpsc::Receiver<Command>) -> Result<(), CaptureError> {
        loop {
            let event = self.conn.wait_for_event().map_err(x11)?;
            if let Event::ClientMessage(e) = &event
                && e.window == self.window
                && e.type_ == self.atoms.wake
            {
                while let Ok(command) = commands.try_recv() {
                    match command {
                        Command::Offer(targets, done) => {
                            let _ = done.send(self.take(targets));
                        }
                        Command::Quit => return Ok(()),
                    }
                }
                continue;
            }
            self.handle(event);
            self.conn.flush().map_err(x11)?;
        }
    }

    /// Takes CLIPBOARD to serve `targets` (none: leaves CLIPBOARD without an owner).
    fn take(&mut self, targets: Vec<Target>) -> Result<(), String> {
        let now = self.server_time().map_err(|e| e.to_string())?;
        let clipboard = self.atoms.clipboard;
        if targets.is_empty() {
            self.offer = None;
            self.conn
                .set_selection_owner(NONE, clipboard, now)
                .map_err(|e| e.to_string())?;
            self.conn.flush().map_err(|e| e.to_string())?;
            return Ok(());
        }
        self.conn
            .set_selection_owner(self.window, clipboard, now)
            .map_err(|e| e.to_string())?;
        let owner = self
            .conn
            .get_selection_owner(clipboard)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?
            .owner;
        if owner != self.window {
            return Err("another client holds the clipboard".into());
        }
        self.offer = Some(Offer {
            targets,
            since: now,
        });
        Ok(())
    }

    /// The server's time now: a zero-length append to this window reports it.
    fn server_time(&mut self) -> Result<Timestamp, CaptureError> {
        self.conn
            .change_property8(
                PropMode::APPEND,
                self.window,
                self.atoms.time,
                AtomEnum::STRING,
                &[],
            )
            .map_err(x11)?;
        self.conn.flush().map_err(x11)?;
        loop {
            match self.conn.wait_for_event().map_err(x11)? {
                Event::PropertyNotify(e)
                    if e.window == self.window && e.atom == self.atoms.time =>
                {
                    return Ok(e.time);
                }
                other => self.handle(other),
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::SelectionRequest(request) => self.answer(&request),
            Event::SelectionClear(e) if e.selection == self.atoms.clipboard => self.offer = None,
            Event::PropertyNotify(e) if e.state == Property::DELETE => {
                self.continue_transfer(e.window, e.atom)
            }
            // Errors for requests about other clients' windows (a requestor that went away).
            Event::Error(e) => tracing::debug!("clipboard server: {e:?}"),
            _ => {}
        }
        let stale = |t: &Transfer| t.started.elapsed() > TRANSFER_TIMEOUT;
        self.transfers.retain(|_, t| !stale(t));
    }

    /// Answers one request: the data in the requestor's property, then a SelectionNotify that
    /// names the property, or `None` when refused.
    fn answer(&mut self, request: &SelectionRequestEvent) {
        // Obsolete clients name no property: the target's name is used (ICCCM 2.2).
        let property = if request.property == NONE {
            request.target
        } else {
            request.property
        };
        let current = self.offer.as_ref().is_some_and(|o| {
            request.selection == self.atoms.clipboard
                && (request.time == CURRENT_TIME || request.time >= o.since)
        });
        let answered = current
            && if request.target == self.atoms.multiple {
                self.answer_multiple(request.requestor, property)
            } else {
                self.write(request.requestor, request.target, property)
            };
        let notify = SelectionNotifyEvent {
            response_type: x11rb::protocol::xproto::SELECTION_NOTIFY_EVENT,
            sequence: 0,
            time: request.time,
            requestor: request.requestor,
            selection: request.selection,
            target: request.target,
            property: if answered { property } else { NONE },
        };
        let _ = self
            .conn
            .send_event(false, request.requestor, EventMask::NO_EVENT, notify);
    }

    /// `MULTIPLE`: the requestor's property lists (target, property) pairs; each is answered,
    /// and a refused one has its property replaced by `None` in the list.
    fn answer_multiple(&mut self, requestor: Window, property: Atom) -> bool {
        let Ok(Ok(reply)) = self
            .conn
            .get_property(false, requestor, property, AtomEnum::ANY, 0, u32::MAX / 4)
            .map(|c| c.reply())
        else {
            return false;
        };
        let Some(pairs) = reply.value32() else {
            return false;
        };
        let mut pairs: Vec<u32> = pairs.collect();
        for pair in pairs.chunks_exact_mut(2) {
            if !self.write(requestor, pair[0], pair[1]) {
                pair[1] = NONE;
            }
        }
        let _ = self.conn.change_property32(
            PropMode::REPLACE,
            requestor,
            property,
            self.atoms.atom_pair,
            &pairs,
        );
        true
    }

    /// Writes `target` into the requestor's `property`; false if it is not on offer.
    fn write(&mut self, requestor: Window, target: Atom, property: Atom) -> bool {
        let Some(offer) = self.offer.as_ref() else {
            return false;
        };
        let a = self.atoms;
        if target == a.targets {
            let mut list = vec![a.targets, a.timestamp, a.multiple];
            list.extend(offer.targets.iter().map(|t| t.name));
            let _ = self.conn.change_property32(
                PropMode::REPLACE,
                requestor,
                property,
                AtomEnum::ATOM,
                &list,
            );
            return true;
        }
        if target == a.timestamp {
            let _ = self.conn.change_property32(
                PropMode::REPLACE,
                requestor,
                property,
                AtomEnum::INTEGER,
                &[offer.since],
            );
            return true;
        }
        let Some(found) = offer.targets.iter().find(|t| t.name == target) else {
            return false;
        };
        if found.data.len() <= self.max_chunk {
            let _ = change_property(
                &self.conn,
                requestor,
                property,
                found.kind,
                found.format,
                &found.data,
            );
            return true;
        }
        // Too large for one request: INCR, a chunk at a time as the requestor deletes each.
        let transfer = Transfer {
            kind: found.kind,
            format: found.format,
            data: std::sync::Arc::new(found.data.clone()),
            sent: 0,
            started: Instant::now(),
        };
        let watch = ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE);
        let _ = self.conn.change_window_attributes(requestor, &watch);
        let size = u32::try_from(transfer.data.len()).unwrap_or(u32::MAX);
        let _ =
            self.conn
                .change_property32(PropMode::REPLACE, requestor, property, a.incr, &[size]);
        self.transfers.insert((requestor, property), transfer);
        true
    }

    /// The requestor deleted `property`: the next chunk of its transfer, or the empty one that
    /// ends it.
    fn continue_transfer(&mut self, requestor: Window, property: Atom) {
        let Some(transfer) = self.transfers.get_mut(&(requestor, property)) else {
            return;
        };
        let end = (transfer.sent + self.max_chunk).min(transfer.data.len());
        let chunk = &transfer.data[transfer.sent..end];
        let _ = change_property(
            &self.conn,
            requestor,
            property,
            transfer.kind,
            transfer.format,
            chunk,
        );
        let finished = chunk.is_empty();
        transfer.sent = end;
        if finished {
            self.transfers.remove(&(requestor, property));
            let none = ChangeWindowAttributesAux::new().event_mask(EventMask::NO_EVENT);
            let _ = self.conn.change_window_attributes(requestor, &none);
        }
    }
}

/// Sets `property` to `data` of `format` (8, 16 or 32 bits per item).
fn change_property(
    conn: &RustConnection,
    window: Window,
    property: Atom,
    kind: Atom,
    format: u8,
    data: &[u8],
) -> Result<(), x11rb::errors::ConnectionError> {
    let format = if matches!(format, 8 | 16 | 32) {
        format
    } else {
        8
    };
    let items = (data.len() / usize::from(format / 8)) as u32;
    conn.change_property(
        PropMode::REPLACE,
        window,
        property,
        kind,
        format,
        items,
        data,
    )?;
    Ok(())
}

fn x11(e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Unavailable(format!("X11 clipboard: {e}"))
}
