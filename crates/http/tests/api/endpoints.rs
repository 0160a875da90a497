//! The read-only endpoints answer with what the engine measured.

use crate::client::{Request, send};
use crate::server;

#[test]
fn health_is_cheap_and_says_the_engine_state() {
    let r = send(server().addr, Request::get("/health"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert!(
        r.total.as_millis() < 500,
        "liveness is cheap: {:?}",
        r.total
    );
}

#[test]
fn models_and_voices_are_listed_openai_style() {
    let models = send(server().addr, Request::get("/v1/models")).json();
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&"tts-1") && ids.contains(&"kokoro"), "{ids:?}");
    let voices = send(server().addr, Request::get("/v1/audio/voices")).json();
    let list = voices["voices"].as_array().expect("voices");
    assert_eq!(list.len(), 54, "every installed voice");
    let alloy = list
        .iter()
        .find(|v| v["id"] == "af_alloy")
        .expect("af_alloy");
    assert_eq!(
        alloy["openai_aliases"][0], "alloy",
        "OpenAI names are documented"
    );
}

#[test]
fn status_and_optimization_report_measured_facts() {
    let status = send(server().addr, Request::get("/status")).json();
    assert_eq!(status["engine"]["state"], "ready");
    assert_eq!(status["execution_provider"], "CPU");
    assert!(
        status["model"]["precision"]
            .as_str()
            .expect("precision")
            .contains("int8")
    );
    assert!(status["uptime_secs"].as_f64().expect("uptime") >= 0.0);
    assert!(status["version"].is_string());
    let opt = send(server().addr, Request::get("/optimization-status")).json();
    assert_eq!(opt["first_chunk_policy"]["windowed_decoding"], true);
    assert!(
        opt["warm_up"]["ready_after_ms"].as_u64().is_some(),
        "the warm-up before ready was timed: {opt}"
    );
    assert!(opt["threads"]["intra_op"].as_u64().expect("threads") >= 1);
    assert!(opt["caches"]["audio"]["capacity"].as_u64().expect("budget") > 0);
}

#[test]
fn metrics_are_prometheus_text_and_count_requests() {
    let addr = server().addr;
    send(addr, Request::get("/health"));
    let r = send(addr, Request::get("/metrics"));
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).expect("text");
    assert!(
        text.contains("# TYPE utter_http_requests counter"),
        "{text}"
    );
    assert!(text.contains("utter_http_requests_total{path=\"/health\",status=\"200\"}"));
    assert!(text.contains("utter_process_resident_memory_bytes "));
    assert!(text.trim_end().ends_with("# EOF"));
}

#[test]
fn performance_stats_report_percentiles_and_memory() {
    let addr = server().addr;
    let speak =
        serde_json::json!({"model": "tts-1", "input": "Counting this one.", "voice": "alloy"});
    assert_eq!(
        send(addr, Request::post("/v1/audio/speech", &speak)).status,
        200
    );
    let perf = send(addr, Request::get("/performance-stats")).json();
    let ttfb = &perf["requests"]["time_to_first_byte_ms"];
    assert!(
        ttfb["p50"].as_f64().is_some() && ttfb["p99"].as_f64().is_some(),
        "{perf}"
    );
    assert!(perf["requests"]["speech_requests"].as_u64().expect("count") >= 1);
    assert!(perf["memory"]["rss_mb"].as_f64().expect("rss") > 10.0);
}

#[test]
fn an_unknown_path_is_an_openai_shaped_404() {
    let r = send(server().addr, Request::get("/v1/nothing"));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
}
