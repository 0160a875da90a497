//! The request guard, run before every handler: loopback `Host` and `Origin` only (a web page
//! that rebinds its DNS name to 127.0.0.1 still sends its own name, and is refused), and the
//! bearer token when one is set (`/health` stays open for liveness probes).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// The guard middleware.
pub async fn check(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let loopback_bind = state.config.addr.ip().is_loopback();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if loopback_bind && !is_loopback_host(host) {
        state.stats.refused();
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            "host_not_allowed",
            format!(
                "Host {host:?} is not this machine: Utter's API answers requests addressed to \
                 localhost, 127.0.0.1 or [::1] only"
            ),
        )
        .into_response();
    }
    if let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        && !origin_allowed(origin, &state.config.allowed_origins)
    {
        state.stats.refused();
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            "origin_not_allowed",
            format!("requests from web pages at {origin} are not allowed"),
        )
        .into_response();
    }
    if let Some(token) = state.config.token.as_deref()
        && path != "/health"
    {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|a| a.to_str().ok())
            .and_then(|a| a.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            state.stats.refused();
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid_api_key",
                "missing or wrong bearer token (Authorization: Bearer …)",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// `localhost`, `127.0.0.1` (any 127/8), `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        })
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A loopback origin (`http://localhost:3000`, …) or one of `extra`.
pub fn origin_allowed(origin: &str, extra: &[String]) -> bool {
    if extra.iter().any(|o| o == origin) {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    is_loopback_host(rest.trim_end_matches('/'))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        for ok in [
            "localhost",
            "localhost:8880",
            "127.0.0.1:8880",
            "[::1]:8880",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.com",
            "evil.com:8880",
            "192.168.1.5:8880",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn origins_are_loopback_or_listed() {
        assert!(origin_allowed("http://localhost:3000", &[]));
        assert!(origin_allowed("http://127.0.0.1", &[]));
        assert!(!origin_allowed("https://evil.com", &[]));
        assert!(!origin_allowed("null", &[]));
        let ext = vec!["chrome-extension://abc".to_string()];
        assert!(origin_allowed("chrome-extension://abc", &ext));
    }
}
