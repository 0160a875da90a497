//! A deliberately small HTTP/1.1 client over a TcpStream, so tests control every header (Host,
//! Origin) and can hang up mid-response.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A response.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// Request sent → first body byte.
    pub first_byte: Duration,
    /// Request sent → end of body.
    pub total: Duration,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A request to send.
pub struct Request<'a> {
    /// GET or POST.
    pub method: &'a str,
    /// Path.
    pub path: &'a str,
    /// Extra headers (Host defaults to the address).
    pub headers: Vec<(&'a str, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl<'a> Request<'a> {
    /// GET `path`.
    pub fn get(path: &'a str) -> Self {
        Self {
            method: "GET",
            path,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// POST `json` to `path`.
    pub fn post(path: &'a str, json: &serde_json::Value) -> Self {
        Self::post_bytes(path, serde_json::to_vec(json).expect("json"))
    }

    /// POST raw bytes.
    pub fn post_bytes(path: &'a str, body: Vec<u8>) -> Self {
        Self {
            method: "POST",
            path,
            headers: vec![("Content-Type", "application/json".into())],
            body,
        }
    }

    /// With a header.
    pub fn with(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

fn connect(addr: SocketAddr, req: &Request<'_>) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        head += &format!("Host: {addr}\r\n");
    }
    for (n, v) in &req.headers {
        head += &format!("{n}: {v}\r\n");
    }
    head += &format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    );
    stream.write_all(head.as_bytes()).expect("head sent");
    // A server refusing an oversized body may close before reading it all: the reply still comes.
    let _ = stream.write_all(&req.body);
    stream
}

/// Sends `req` and reads the whole response.
pub fn send(addr: SocketAddr, req: Request<'_>) -> Reply {
    let started = Instant::now();
    let stream = connect(addr, &req);
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let mut body = Vec::new();
    let mut first_byte = None;
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).expect("chunk size");
            let size = usize::from_str_radix(line.trim(), 16).expect("hex size");
            if size == 0 {
                break;
            }
            first_byte.get_or_insert_with(|| started.elapsed());
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk).expect("chunk");
            body.extend_from_slice(&chunk);
            line.clear();
            reader.read_line(&mut line).expect("chunk end");
        }
    } else {
        let mut buf = [0u8; 8192];
        loop {
            let n = reader.read(&mut buf).expect("body");
            if n == 0 {
                break;
            }
            first_byte.get_or_insert_with(|| started.elapsed());
            body.extend_from_slice(&buf[..n]);
        }
    }
    let total = started.elapsed();
    Reply {
        status,
        headers,
        body,
        first_byte: first_byte.unwrap_or(total),
        total,
    }
}

/// Sends `req`, reads `bytes` bytes of the response, then hangs up.
pub fn hang_up_after(addr: SocketAddr, req: Request<'_>, bytes: usize) {
    let mut stream = connect(addr, &req);
    let mut got = 0;
    let mut buf = [0u8; 4096];
    while got < bytes {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    drop(stream);
}

/// Sends `req`, waits until `until()` holds (or 10 s pass), then hangs up without reading.
pub fn hang_up_when(addr: SocketAddr, req: Request<'_>, until: impl Fn() -> bool) {
    let stream = connect(addr, &req);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !until() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(stream);
}
