//! A request body as every receiver reads it: abandoned when the client sends nothing for the
//! body timeout, cut when a drain runs out of time, and counted for `/metrics`.
//!
//! The timeout counts only while the receiver waits for bytes: a handler that stops reading
//! (its upstream is slow, TCP holds the client back) does not time the client out for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::metrics::Metrics;

/// Why a request body ended before its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Nothing arrived for the body timeout while the receiver waited.
    #[error("no data arrived for {} s: the upload was abandoned", .0.as_secs())]
    Idle(Duration),
    /// The receiver is draining and its deadline passed.
    #[error("the server is shutting down")]
    Draining,
    /// The connection failed or the client hung up.
    #[error("the request body could not be read: {0}")]
    Transport(#[source] hyper::Error),
}

impl BodyError {
    /// S3's code and status for the client, where one can still hear it.
    pub fn s3_code(&self) -> (u16, &'static str) {
        match self {
            BodyError::Idle(_) => (400, "RequestTimeout"),
            BodyError::Draining => (503, "ServiceUnavailable"),
            BodyError::Transport(_) => (400, "IncompleteBody"),
        }
    }

    /// The `BodyError` inside an error chain (through `io::Error`s), if there is one.
    pub fn find<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyError> {
        let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(b) = err.downcast_ref::<BodyError>() {
                return Some(b);
            }
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && let Some(inner) = io.get_ref()
                && let Some(b) = inner.downcast_ref::<BodyError>()
            {
                return Some(b);
            }
            cur = err.source();
        }
        None
    }
}

/// How a body failed, kept where the handler can read it after a library (s3s) that read the
/// body has answered in its own words.
pub type Failure = Arc<std::sync::OnceLock<(u16, &'static str, String)>>;

/// The body of a request a receiver handles.
pub struct RequestBody {
    inner: hyper::body::Incoming,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    waiting: bool,
    drain: Pin<Box<WaitForCancellationFutureOwned>>,
    metrics: Arc<Metrics>,
    /// This request's bytes, for its access-log line.
    bytes: Arc<AtomicU64>,
    failure: Failure,
    done: bool,
    /// The connection's flag: set when this body is dropped before its end, so the connection
    /// closes lingering (see `io`).
    unread: Arc<AtomicBool>,
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if !self.inner.is_end_stream() {
            self.unread.store(true, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody")
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl RequestBody {
    pub(crate) fn new(
        inner: hyper::body::Incoming,
        idle: Duration,
        cut: &CancellationToken,
        metrics: Arc<Metrics>,
        bytes: Arc<AtomicU64>,
        unread: Arc<AtomicBool>,
    ) -> Self {
        RequestBody {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
            drain: Box::pin(cut.clone().cancelled_owned()),
            metrics,
            bytes,
            failure: Failure::default(),
            done: false,
            unread,
        }
    }

    /// Where this body's failure, if it fails, will be recorded.
    pub fn failure(&self) -> Failure {
        Arc::clone(&self.failure)
    }

    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.done = true;
        let (status, code) = e.s3_code();
        let _ = self.failure.set((status, code, e.to_string()));
        Poll::Ready(Some(Err(e)))
    }
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.drain.as_mut().poll(cx).is_ready() {
            return this.fail(BodyError::Draining);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                if !this.waiting {
                    // The client's time starts now, when the receiver starts waiting.
                    this.waiting = true;
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.timer.as_mut().reset(deadline);
                }
                if this.timer.as_mut().poll(cx).is_ready() {
                    let idle = this.idle;
                    return this.fail(BodyError::Idle(idle));
                }
                Poll::Pending
            }
            Poll::Ready(Some(Ok(frame))) => {
                this.waiting = false;
                if let Some(data) = frame.data_ref() {
                    this.metrics.received(data.len() as u64);
                    this.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => this.fail(BodyError::Transport(e)),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
