//! Upload progress: a callback the library calls as bytes go out.
//!
//! Bytes count when handed to the HTTP connection. On a retry the failed attempt's bytes are
//! taken back, so `bytes_sent` can go down; it reaches `total_bytes` once on success. For a
//! multipart upload it sums all parts in flight.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A progress report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes handed to the connection so far (file bytes, form framing included for POST).
    pub bytes_sent: u64,
    /// Bytes the upload sends in all.
    pub total_bytes: u64,
}

impl Progress {
    /// `bytes_sent / total_bytes`, 1.0 for an empty upload.
    pub fn fraction(&self) -> f64 {
        if self.total_bytes == 0 {
            1.0
        } else {
            self.bytes_sent as f64 / self.total_bytes as f64
        }
    }
}

/// The callback type: called from the upload's tasks, so it must be quick and thread-safe.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Counts an upload's bytes across attempts and parts, and when it last moved.
#[derive(Clone)]
pub(crate) struct Meter {
    inner: Arc<MeterInner>,
}

struct MeterInner {
    sent: AtomicU64,
    /// File bytes handed to connections, failed attempts included (never taken back).
    file_sent: AtomicU64,
    total: u64,
    callback: Option<ProgressFn>,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter")
            .field("sent", &self.inner.sent.load(Ordering::Relaxed))
            .field("total", &self.inner.total)
            .finish()
    }
}

impl Meter {
    pub(crate) fn new(total: u64, callback: Option<ProgressFn>) -> Self {
        Meter {
            inner: Arc::new(MeterInner {
                sent: AtomicU64::new(0),
                file_sent: AtomicU64::new(0),
                total,
                callback,
            }),
        }
    }

    fn report(&self, sent: u64) {
        if let Some(cb) = &self.inner.callback {
            cb(Progress {
                // A stream's total is not known (0): what was sent is all there is to say.
                bytes_sent: if self.inner.total > 0 {
                    sent.min(self.inner.total)
                } else {
                    sent
                },
                total_bytes: self.inner.total,
            });
        }
    }

    pub(crate) fn add(&self, n: u64) {
        let sent = self.inner.sent.fetch_add(n, Ordering::Relaxed) + n;
        self.report(sent);
    }

    /// Counts file bytes sent (never taken back: what went over the wire, retries included).
    pub(crate) fn add_file(&self, n: u64) {
        self.inner.file_sent.fetch_add(n, Ordering::Relaxed);
    }

    /// File bytes sent so far, failed attempts included.
    pub(crate) fn file_bytes_sent(&self) -> u64 {
        self.inner.file_sent.load(Ordering::Relaxed)
    }

    pub(crate) fn sub(&self, n: u64) {
        let sent = self
            .inner
            .sent
            .fetch_sub(n, Ordering::Relaxed)
            .saturating_sub(n);
        self.report(sent);
    }
}

/// One attempt's share of a [`Meter`], taken back if the attempt fails; also the attempt's own
/// clock for the stall watchdog (parts run in parallel: one stalled part must be seen even while
/// others move).
#[derive(Debug)]
pub(crate) struct AttemptMeter {
    meter: Meter,
    mine: AtomicU64,
    start: Instant,
    last_ms: AtomicU64,
}

impl AttemptMeter {
    pub(crate) fn new(meter: &Meter) -> Arc<Self> {
        Arc::new(AttemptMeter {
            meter: meter.clone(),
            mine: AtomicU64::new(0),
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    pub(crate) fn add(&self, n: u64) {
        self.mine.fetch_add(n, Ordering::Relaxed);
        self.touch();
        self.meter.add(n);
    }

    /// Counts file bytes sent (see [`Meter::add_file`]).
    pub(crate) fn add_file(&self, n: u64) {
        self.meter.add_file(n);
    }

    /// Notes deliberate activity (the end of an `Expect: 100-continue` hold).
    pub(crate) fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Time since this attempt last sent a byte (or started).
    pub(crate) fn idle(&self) -> std::time::Duration {
        let now = self.start.elapsed().as_millis() as u64;
        std::time::Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }

    /// The attempt failed: its bytes no longer count.
    pub(crate) fn rollback(&self) {
        let n = self.mine.swap(0, Ordering::Relaxed);
        if n > 0 {
            self.meter.sub(n);
        }
    }
}
