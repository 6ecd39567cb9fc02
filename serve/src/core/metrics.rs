//! What `/metrics` reports, in Prometheus' text exposition format (version 0.0.4): connections,
//! requests and uploads in flight and finished, bytes received, refusals by S3 code, upstream
//! errors, and a histogram of request durations.
//!
//! Counters are atomics updated where the work happens; the refusal codes are a small map
//! (S3's codes are a closed set of a few dozen names, and only codes the receiver itself sends
//! are counted, so a client cannot grow it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0,
];

/// The counters of one receiver.
#[derive(Debug)]
pub struct Metrics {
    /// `signpost_serve`, `signpost_gateway`: the metric names' prefix.
    prefix: &'static str,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    requests_in_flight: AtomicU64,
    requests_total: AtomicU64,
    uploads_in_flight: AtomicU64,
    uploads_stored: AtomicU64,
    bytes_received: AtomicU64,
    upstream_errors: AtomicU64,
    orphans_aborted: AtomicU64,
    accept_errors: AtomicU64,
    refusals: Mutex<BTreeMap<String, u64>>,
    statuses: Mutex<BTreeMap<u16, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_sum_micros: AtomicU64,
}

impl Metrics {
    /// Counters named `PREFIX_…`.
    pub fn new(prefix: &'static str) -> Self {
        Metrics {
            prefix,
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            requests_in_flight: AtomicU64::new(0),
            requests_total: AtomicU64::new(0),
            uploads_in_flight: AtomicU64::new(0),
            uploads_stored: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            upstream_errors: AtomicU64::new(0),
            orphans_aborted: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            refusals: Mutex::new(BTreeMap::new()),
            statuses: Mutex::new(BTreeMap::new()),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            duration_sum_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Relaxed);
        self.connections_total.fetch_add(1, Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Relaxed);
    }

    pub(crate) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Relaxed);
    }

    pub(crate) fn request_started(&self) {
        self.requests_in_flight.fetch_add(1, Relaxed);
    }

    /// A request answered with `status` (0: abandoned by its client) after `took`; `refusal`
    /// is the S3 code of an error the receiver answered itself (a code of its own, so the set
    /// stays small whatever clients send).
    pub(crate) fn request_finished(&self, took: Duration, status: u16, refusal: Option<&str>) {
        self.requests_in_flight.fetch_sub(1, Relaxed);
        self.requests_total.fetch_add(1, Relaxed);
        let secs = took.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.duration_sum_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
        if let Some(code) = refusal
            && let Ok(mut m) = self.refusals.lock()
        {
            match m.get_mut(code) {
                Some(n) => *n += 1,
                None => {
                    m.insert(code.to_owned(), 1);
                }
            }
        }
        if let Ok(mut m) = self.statuses.lock() {
            *m.entry(status).or_default() += 1;
        }
    }

    pub(crate) fn received(&self, n: u64) {
        self.bytes_received.fetch_add(n, Relaxed);
    }

    /// An upload admitted (it holds a slot until [`upload_ended`](Self::upload_ended)).
    pub fn upload_started(&self) {
        self.uploads_in_flight.fetch_add(1, Relaxed);
    }

    /// An upload that ended; `stored` when its object was stored.
    pub fn upload_ended(&self, stored: bool) {
        self.uploads_in_flight.fetch_sub(1, Relaxed);
        if stored {
            self.uploads_stored.fetch_add(1, Relaxed);
        }
    }

    /// An upstream call that failed (the gateway's S3).
    pub fn upstream_error(&self) {
        self.upstream_errors.fetch_add(1, Relaxed);
    }

    /// A multipart upload found orphaned upstream and aborted (the gateway's journal).
    pub fn orphan_aborted(&self) {
        self.orphans_aborted.fetch_add(1, Relaxed);
    }

    /// Connections open now.
    pub fn connections_open(&self) -> u64 {
        self.connections_open.load(Relaxed)
    }

    /// Requests being handled now.
    pub fn requests_in_flight(&self) -> u64 {
        self.requests_in_flight.load(Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let p = self.prefix;
        let mut out = String::with_capacity(2048);
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {p}_{name} {help}");
            let _ = writeln!(out, "# TYPE {p}_{name} {kind}");
            let _ = writeln!(out, "{p}_{name} {v}");
        };
        one(
            "connections_open",
            "gauge",
            "Connections open now.",
            self.connections_open.load(Relaxed),
        );
        one(
            "connections_total",
            "counter",
            "Connections accepted.",
            self.connections_total.load(Relaxed),
        );
        one(
            "accept_errors_total",
            "counter",
            "Errors accepting a connection (each followed by a pause).",
            self.accept_errors.load(Relaxed),
        );
        one(
            "requests_in_flight",
            "gauge",
            "Requests being handled now.",
            self.requests_in_flight.load(Relaxed),
        );
        one(
            "requests_total",
            "counter",
            "Requests answered or abandoned by their client.",
            self.requests_total.load(Relaxed),
        );
        one(
            "uploads_in_flight",
            "gauge",
            "Uploads admitted and not yet ended.",
            self.uploads_in_flight.load(Relaxed),
        );
        one(
            "uploads_stored_total",
            "counter",
            "Uploads whose object was stored.",
            self.uploads_stored.load(Relaxed),
        );
        one(
            "received_bytes_total",
            "counter",
            "Request body bytes received.",
            self.bytes_received.load(Relaxed),
        );
        one(
            "upstream_errors_total",
            "counter",
            "Upstream S3 calls that failed.",
            self.upstream_errors.load(Relaxed),
        );
        one(
            "orphans_aborted_total",
            "counter",
            "Multipart uploads left upstream (by a failed abort or a killed gateway) found and aborted.",
            self.orphans_aborted.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP {p}_refusals_total Requests answered with an S3 error, by its code."
        );
        let _ = writeln!(out, "# TYPE {p}_refusals_total counter");
        if let Ok(m) = self.refusals.lock() {
            for (code, n) in m.iter() {
                let _ = writeln!(out, "{p}_refusals_total{{code=\"{code}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP {p}_responses_total Requests by the status answered (0: the client left first)."
        );
        let _ = writeln!(out, "# TYPE {p}_responses_total counter");
        if let Ok(m) = self.statuses.lock() {
            for (status, n) in m.iter() {
                let _ = writeln!(out, "{p}_responses_total{{status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP {p}_request_duration_seconds How long requests took, uploads included."
        );
        let _ = writeln!(out, "# TYPE {p}_request_duration_seconds histogram");
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{p}_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
                self.buckets[i].load(Relaxed)
            );
        }
        let total = self.requests_total.load(Relaxed);
        let _ = writeln!(
            out,
            "{p}_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(
            out,
            "{p}_request_duration_seconds_sum {}",
            self.duration_sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{p}_request_duration_seconds_count {total}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_requests_refusals_and_durations() {
        let m = Metrics::new("t");
        m.request_started();
        m.request_finished(Duration::from_millis(20), 403, Some("AccessDenied"));
        m.request_started();
        m.request_finished(Duration::from_secs(3), 200, None);
        m.received(42);
        let text = m.render();
        assert!(text.contains("t_requests_total 2\n"), "{text}");
        assert!(
            text.contains("t_refusals_total{code=\"AccessDenied\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("t_request_duration_seconds_bucket{le=\"0.025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("t_request_duration_seconds_bucket{le=\"10\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("t_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("t_received_bytes_total 42\n"), "{text}");
        assert!(
            text.contains("t_responses_total{status=\"403\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("t_requests_in_flight 0\n"), "{text}");
    }
}
