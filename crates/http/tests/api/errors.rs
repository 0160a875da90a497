//! Bad requests get a clear OpenAI-shaped error with the right status, and the server stays up.

use serde_json::json;
use utter_http::ServerConfig;

use crate::client::{Request, send};
use crate::{server, start};

fn speak(body: serde_json::Value) -> crate::client::Reply {
    send(server().addr, Request::post("/v1/audio/speech", &body))
}

fn assert_error(r: &crate::client::Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let e = &r.json()["error"];
    assert_eq!(e["code"], code, "{e}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message says why"
    );
    assert!(e["type"].is_string());
}

#[test]
fn malformed_json_is_a_400() {
    let r = send(
        server().addr,
        Request::post_bytes(
            "/v1/audio/speech",
            b"{\"model\": \"tts-1\", \"input\": ".to_vec(),
        ),
    );
    assert_error(&r, 400, "invalid_json");
}

#[test]
fn empty_input_and_missing_fields_are_400s_naming_the_field() {
    let r = speak(json!({"model": "tts-1", "input": "   ", "voice": "alloy"}));
    assert_error(&r, 400, "empty_input");
    assert_eq!(r.json()["error"]["param"], "input");
    let r = speak(json!({"model": "tts-1", "input": "Hi."}));
    assert_error(&r, 400, "missing_voice");
    let r = speak(json!({"model": "dall-e", "input": "Hi.", "voice": "alloy"}));
    assert_error(&r, 400, "model_not_found");
}

#[test]
fn an_unknown_voice_names_close_ones() {
    let r = speak(json!({"model": "tts-1", "input": "Hello.", "voice": "af_hart"}));
    assert_error(&r, 400, "unknown_voice");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("af_heart")),
        "suggests af_heart"
    );
}

#[test]
fn bad_speed_and_unavailable_formats_are_400s() {
    let r = speak(json!({"model": "tts-1", "input": "Hi.", "voice": "alloy", "speed": 4.0}));
    assert_error(&r, 400, "invalid_speed");
    let r = speak(
        json!({"model": "tts-1", "input": "Hi.", "voice": "alloy", "response_format": "mp3"}),
    );
    assert_error(&r, 400, "unsupported_response_format");
}

#[test]
fn a_megabyte_of_input_is_refused_as_too_large_and_nothing_breaks() {
    let input = "word ".repeat(200_000);
    let r = speak(json!({"model": "tts-1", "input": input, "voice": "alloy"}));
    assert_error(&r, 413, "body_too_large");
    let ok = speak(json!({"model": "tts-1", "input": "Still fine.", "voice": "alloy"}));
    assert_eq!(ok.status, 200, "the server is healthy afterwards");
}

#[test]
fn only_emoji_is_a_400_not_silence() {
    let r = speak(json!({"model": "tts-1", "input": "🙂🙂🙂", "voice": "alloy"}));
    assert_error(&r, 400, "empty_input");
}

#[test]
fn a_foreign_host_or_origin_is_refused() {
    let addr = server().addr;
    let r = send(
        addr,
        Request::get("/v1/models").with("Host", "evil.example:8880"),
    );
    assert_error(&r, 403, "host_not_allowed");
    let r = send(
        addr,
        Request::get("/v1/models").with("Origin", "https://evil.example"),
    );
    assert_error(&r, 403, "origin_not_allowed");
    let r = send(
        addr,
        Request::get("/v1/models").with("Origin", format!("http://localhost:{}", addr.port())),
    );
    assert_eq!(r.status, 200, "a page served from this machine is fine");
}

#[test]
fn a_token_when_set_is_required_except_for_health() {
    let s = start(ServerConfig {
        token: Some("s3cret".into()),
        ..ServerConfig::default()
    });
    let r = send(s.addr, Request::get("/v1/models"));
    assert_error(&r, 401, "invalid_api_key");
    let r = send(
        s.addr,
        Request::get("/v1/models").with("Authorization", "Bearer nope"),
    );
    assert_eq!(r.status, 401);
    let r = send(
        s.addr,
        Request::get("/v1/models").with("Authorization", "Bearer s3cret"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(send(s.addr, Request::get("/health")).status, 200);
}

#[test]
fn a_non_loopback_address_without_a_token_does_not_start() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = ServerConfig {
        addr: "0.0.0.0:0".parse().expect("addr"),
        ..ServerConfig::default()
    };
    let err = runtime
        .block_on(utter_http::Server::bind(crate::engine(), config))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("token"), "{err}");
}
