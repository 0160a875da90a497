//! Request counters and timings: the figures of `/performance-stats` and `/metrics`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

/// Timings kept for percentiles.
const RECENT: usize = 2000;

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Endpoint path.
    pub path: String,
    /// Status code.
    pub status: u16,
}

/// p50/p95/p99 of recent values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Values summarized.
    pub count: usize,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (None when empty).
    pub fn of(values: impl Iterator<Item = f64>) -> Option<Self> {
        let mut v: Vec<f64> = values.collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Self {
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            count: v.len(),
        })
    }
}

#[derive(Default)]
struct Recent {
    ttfb_ms: VecDeque<f64>,
    first_audio_ms: VecDeque<f64>,
    rtf: VecDeque<f64>,
    by_status: BTreeMap<u16, u64>,
}

fn push(q: &mut VecDeque<f64>, v: f64) {
    if q.len() == RECENT {
        q.pop_front();
    }
    q.push_back(v);
}

/// The server's counters.
pub struct ApiStats {
    recent: Mutex<Recent>,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    ttfb: Histogram,
    speech_requests: Counter,
    cancelled: Counter,
    refused: Counter,
    busy: Counter,
    audio_seconds: Counter<f64, AtomicU64>,
    in_flight: Gauge,
    /// Scrape-time gauges (engine and process).
    pub gauges: ScrapeGauges,
}

/// Gauges set when `/metrics` is scraped.
#[derive(Default)]
pub struct ScrapeGauges {
    /// Resident memory, bytes.
    pub rss_bytes: Gauge,
    /// Audio cache hits.
    pub cache_hits: Gauge,
    /// Audio cache misses.
    pub cache_misses: Gauge,
    /// Audio cache size, bytes.
    pub cache_bytes: Gauge,
    /// 1 when the engine is ready.
    pub engine_ready: Gauge,
    /// Decoder cost per frame, microseconds (real-time factor × 25,000).
    pub decode_us_per_frame: Gauge<i64, AtomicI64>,
}

/// Figures of `/performance-stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Request → first audio bytes handed to the connection, ms.
    pub time_to_first_byte_ms: Option<Percentiles>,
    /// Request → first audio ready in the engine, ms.
    pub time_to_first_audio_ms: Option<Percentiles>,
    /// Synthesis time over audio time, per request.
    pub real_time_factor: Option<Percentiles>,
    /// Speech requests received.
    pub speech_requests: u64,
    /// Responses by status code.
    pub responses_by_status: BTreeMap<u16, u64>,
    /// Requests cancelled by a client hanging up.
    pub cancelled_by_client: u64,
    /// Requests refused by the guard (host, origin, token).
    pub refused: u64,
    /// Requests refused because too many were in progress (429).
    pub busy: u64,
    /// Speech requests in progress now.
    pub in_flight: i64,
    /// Audio produced, seconds.
    pub audio_seconds: f64,
}

impl ApiStats {
    /// Empty counters, registered for `/metrics`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("utter");
        let requests = Family::<RequestLabels, Counter>::default();
        let ttfb = Histogram::new(exponential_buckets(0.025, 2.0, 10));
        let speech_requests = Counter::default();
        let cancelled = Counter::default();
        let refused = Counter::default();
        let busy = Counter::default();
        let audio_seconds = Counter::<f64, AtomicU64>::default();
        let in_flight = Gauge::default();
        let gauges = ScrapeGauges::default();
        registry.register(
            "http_requests",
            "HTTP responses by path and status",
            requests.clone(),
        );
        registry.register(
            "speech_time_to_first_byte_seconds",
            "Speech request to first audio bytes sent",
            ttfb.clone(),
        );
        registry.register(
            "speech_requests",
            "Speech requests received",
            speech_requests.clone(),
        );
        registry.register(
            "speech_cancelled",
            "Speech requests cancelled by the client hanging up",
            cancelled.clone(),
        );
        registry.register(
            "refused",
            "Requests refused by host, origin or token",
            refused.clone(),
        );
        registry.register("busy", "Speech requests refused with 429", busy.clone());
        registry.register("audio_seconds", "Audio produced", audio_seconds.clone());
        registry.register(
            "speech_in_flight",
            "Speech requests in progress",
            in_flight.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory",
            gauges.rss_bytes.clone(),
        );
        registry.register(
            "audio_cache_hits",
            "Audio cache hits",
            gauges.cache_hits.clone(),
        );
        registry.register(
            "audio_cache_misses",
            "Audio cache misses",
            gauges.cache_misses.clone(),
        );
        registry.register(
            "audio_cache_bytes",
            "Audio cache size",
            gauges.cache_bytes.clone(),
        );
        registry.register(
            "engine_ready",
            "1 when the engine is ready",
            gauges.engine_ready.clone(),
        );
        registry.register(
            "decode_microseconds_per_frame",
            "Measured decoder cost per 25 ms frame",
            gauges.decode_us_per_frame.clone(),
        );
        Self {
            recent: Mutex::new(Recent::default()),
            registry,
            requests,
            ttfb,
            speech_requests,
            cancelled,
            refused,
            busy,
            audio_seconds,
            in_flight,
            gauges,
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A response went out.
    pub fn response(&self, path: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                path: path.to_string(),
                status,
            })
            .inc();
        *self.recent().by_status.entry(status).or_default() += 1;
    }

    /// A speech request arrived; returns the in-flight count including it.
    pub fn speech_started(&self) -> i64 {
        self.speech_requests.inc();
        self.in_flight.inc() + 1
    }

    /// A speech request ended (however).
    pub fn speech_ended(&self) {
        self.in_flight.dec();
    }

    /// Speech requests in progress.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// The first audio bytes of a request left after `ttfb_ms`; the engine had them after
    /// `first_audio_ms`.
    pub fn first_bytes(&self, ttfb_ms: f64, first_audio_ms: f64) {
        self.ttfb.observe(ttfb_ms / 1e3);
        let mut r = self.recent();
        push(&mut r.ttfb_ms, ttfb_ms);
        push(&mut r.first_audio_ms, first_audio_ms);
    }

    /// A request finished with `audio_secs` of audio made in `synth_secs`.
    pub fn finished(&self, audio_secs: f64, synth_secs: f64) {
        self.audio_seconds.inc_by(audio_secs);
        if audio_secs > 0.0 {
            push(&mut self.recent().rtf, synth_secs / audio_secs);
        }
    }

    /// A client hung up mid-request.
    pub fn cancelled(&self) {
        self.cancelled.inc();
    }

    /// The guard refused a request.
    pub fn refused(&self) {
        self.refused.inc();
    }

    /// A speech request was refused as too many were in progress.
    pub fn busy(&self) {
        self.busy.inc();
    }

    /// Figures for `/performance-stats`.
    pub fn snapshot(&self) -> Snapshot {
        let r = self.recent();
        Snapshot {
            time_to_first_byte_ms: Percentiles::of(r.ttfb_ms.iter().copied()),
            time_to_first_audio_ms: Percentiles::of(r.first_audio_ms.iter().copied()),
            real_time_factor: Percentiles::of(r.rtf.iter().copied()),
            speech_requests: self.speech_requests.get(),
            responses_by_status: r.by_status.clone(),
            cancelled_by_client: self.cancelled.get(),
            refused: self.refused.get(),
            busy: self.busy.get(),
            in_flight: self.in_flight.get(),
            audio_seconds: self.audio_seconds.get(),
        }
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for ApiStats {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from)).expect("values");
        assert_eq!((p.p50, p.p95, p.p99, p.count), (50.0, 95.0, 99.0, 100));
        assert!(Percentiles::of(std::iter::empty()).is_none());
    }

    #[test]
    fn metrics_are_prometheus_text() {
        let s = ApiStats::new();
        s.response("/health", 200);
        s.first_bytes(120.0, 110.0);
        let text = s.encode();
        assert!(
            text.contains("utter_http_requests_total{path=\"/health\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE utter_speech_time_to_first_byte_seconds histogram"));
        assert!(text.ends_with("# EOF\n"));
    }
}
