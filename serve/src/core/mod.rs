//! The one HTTP core of every receiver: one listener and accept loop, the limits on what a
//! client controls, one access log, `/healthz`, `/readyz` and `/metrics`, optional TLS, and a
//! graceful drain.
//!
//! - **Accepting.** At most [`Limits::max_connections`] at once (further clients wait in the
//!   kernel's queue). An accept error such as EMFILE pauses the loop for a second instead of
//!   spinning on it (the error repeats until a descriptor is freed); a connection reset before it
//!   was accepted is skipped at once.
//! - **HTTP/1.1 only**, with hyper's timer set, so its header timeout is armed from the start of
//!   every connection and after every response: a connection that never sends a byte, trickles
//!   its headers or idles between requests is closed after [`Limits::header_timeout`]. (HTTP/2's
//!   preface detection in hyper-util waits without a timeout; S3 clients speak HTTP/1.1.)
//! - **Bodies** are [`RequestBody`]: abandoned after [`Limits::body_timeout`] without a byte.
//!   **Responses** the client does not take are abandoned after [`Limits::send_timeout`].
//! - **Drain** ([`Running::stop`], SIGTERM in the binary): stop accepting, let requests in flight
//!   finish for [`Limits::drain_timeout`], then cut their bodies (an upload cut short stores
//!   nothing and aborts what it started upstream) and wait for their clean-up.
//! - **Health**: `GET /healthz` answers 200 while the process serves; `GET /readyz` 200 while it
//!   accepts uploads (503 while draining, or when the receiver says it is not ready);
//!   `GET /metrics` the [`Metrics`] exposition. Only unauthenticated requests without a query
//!   reach them, so a bucket of those names is still reached by any signed S3 request.

pub mod answer;
pub mod body;
pub mod form;
mod io;
pub mod metrics;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use answer::Body;
pub use body::{BodyError, RequestBody};
pub use metrics::Metrics;
pub use tls::TlsFiles;

use crate::{Limits, ServeError};

/// What a receiver does with a request; the core does the rest.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request. The answer's [`S3Code`] extension, when set, is counted in
    /// `/metrics` by code.
    fn handle(self: Arc<Self>, req: Request<RequestBody>) -> BoxFuture<'static, Response<Body>>;
    /// Whether the receiver can take uploads now (`/readyz`).
    fn ready(&self) -> bool {
        true
    }
}

/// The S3 error code a receiver answered with, as a response extension for `/metrics`.
#[derive(Clone, Debug)]
pub(crate) struct S3Code(pub String);

/// One receiver's listener, limits and counters.
pub(crate) struct Core {
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    /// Cancelled when a drain's time is up: every body still being read then ends with
    /// [`BodyError::Draining`].
    pub cut: CancellationToken,
    /// Cancelled when the receiver stops accepting.
    pub stop: CancellationToken,
    /// What the access log calls the receiver.
    pub name: &'static str,
}

/// A running receiver: its address, and the drain that stops it. Dropping it stops accepting
/// and cuts what is in flight at once.
#[derive(Debug)]
pub struct Running {
    local: SocketAddr,
    scheme: &'static str,
    stop: CancellationToken,
    cut: CancellationToken,
    drained: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.local)
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Drains: stops accepting, lets requests in flight finish within the drain timeout, then
    /// cuts their bodies and waits for their clean-up to end.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(t) = self.drained.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut.cancel();
    }
}

/// Errors of `accept` that concern one connection only (it was reset before it was accepted):
/// the next accept may succeed at once. Others (EMFILE, ENFILE, ENOBUFS) repeat until something
/// is freed, so the loop pauses after them.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Binds `addr` and serves `handler` in the background.
pub(crate) async fn start<H: Handler>(
    core: Core,
    addr: SocketAddr,
    tls: Option<&TlsFiles>,
    handler: Arc<H>,
) -> Result<Running, ServeError> {
    core.limits.check()?;
    let tls = tls.map(tls::acceptor).transpose()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stop, cut) = (core.stop.clone(), core.cut.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    let core = Arc::new(core);
    let drained = tokio::spawn(accept_loop(core, listener, tls, handler));
    Ok(Running {
        local,
        scheme,
        stop,
        cut,
        drained: Some(drained),
    })
}

async fn accept_loop<H: Handler>(
    core: Arc<Core>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Arc<H>,
) {
    let connections = Arc::new(Semaphore::new(core.limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&connections).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = core.stop.cancelled() => break,
        };
        let sock = tokio::select! {
            r = listener.accept() => match r {
                Ok((sock, _peer)) => sock,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    core.metrics.accept_error();
                    tracing::warn!(error = %e, receiver = core.name, "accepting a connection failed; pausing 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = core.stop.cancelled() => break,
                    }
                    continue;
                }
            },
            () = core.stop.cancelled() => break,
        };
        let _ = sock.set_nodelay(true);
        let core = Arc::clone(&core);
        let handler = Arc::clone(&handler);
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            core.metrics.connection_opened();
            serve_connection(&core, sock, tls, handler, watcher).await;
            core.metrics.connection_closed();
            drop(permit);
        });
    }
    drop(listener);
    // Drain: connections finish the request they are in and close; idle ones close now.
    tokio::select! {
        () = graceful.shutdown() => return,
        () = tokio::time::sleep(core.limits.drain_timeout) => {}
    }
    tracing::warn!(
        receiver = core.name,
        requests = core.metrics.requests_in_flight(),
        "the drain timeout passed: cutting the uploads still in flight"
    );
    core.cut.cancel();
    // Their clean-up (an upstream abort waits for the parts in flight, at most 30 s) ends; the
    // connections then close.
    let deadline = Instant::now() + Duration::from_secs(45);
    while core.metrics.requests_in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serve_connection<H: Handler>(
    core: &Arc<Core>,
    sock: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Arc<H>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let limits = &core.limits;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(limits.max_headers)
        .max_header_size(limits.max_header_bytes)
        .keep_alive(true);
    let svc_core = Arc::clone(core);
    let unread = Arc::new(AtomicBool::new(false));
    let svc_unread = Arc::clone(&unread);
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let core = Arc::clone(&svc_core);
        let handler = Arc::clone(&handler);
        let unread = Arc::clone(&svc_unread);
        async move { Ok::<_, std::convert::Infallible>(request(core, handler, req, unread).await) }
    });
    let send_timeout = limits.send_timeout;
    match tls {
        None => {
            let io = TokioIo::new(io::TimedIo::new(sock, send_timeout, unread));
            let _ = watcher.watch(http.serve_connection(io, svc)).await;
        }
        Some(acceptor) => {
            // The handshake is bounded like a request's headers.
            let Ok(Ok(stream)) =
                tokio::time::timeout(limits.header_timeout, acceptor.accept(sock)).await
            else {
                return;
            };
            let io = TokioIo::new(io::TimedIo::new(stream, send_timeout, unread));
            let _ = watcher.watch(http.serve_connection(io, svc)).await;
        }
    }
}

/// Logs one line per request and counts it, however it ends: a handler dropped because its
/// client hung up is logged as status 0 ("client closed"), never as a server failure.
struct AccessLog {
    core: Arc<Core>,
    method: Method,
    path: String,
    started: Instant,
    bytes: Arc<AtomicU64>,
    answered: Option<(u16, Option<String>)>,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        let (status, code) = self.answered.take().unwrap_or((0, None));
        let bytes = self.bytes.load(Ordering::Relaxed);
        let ms = took.as_millis() as u64;
        if status == 0 {
            tracing::info!(receiver = self.core.name, method = %self.method, path = %self.path, bytes, ms, "client closed the connection before the answer");
        } else if status >= 500 {
            tracing::warn!(receiver = self.core.name, method = %self.method, path = %self.path, status, code = code.as_deref().unwrap_or(""), bytes, ms, "request");
        } else {
            tracing::info!(receiver = self.core.name, method = %self.method, path = %self.path, status, code = code.as_deref().unwrap_or(""), bytes, ms, "request");
        }
        self.core
            .metrics
            .request_finished(took, status, code.as_deref());
    }
}

async fn request<H: Handler>(
    core: Arc<Core>,
    handler: Arc<H>,
    req: Request<Incoming>,
    unread: Arc<AtomicBool>,
) -> Response<Body> {
    core.metrics.request_started();
    let bytes = Arc::new(AtomicU64::new(0));
    let mut log = AccessLog {
        core: Arc::clone(&core),
        method: req.method().clone(),
        // Never the query: it holds the signature.
        path: req.uri().path().to_owned(),
        started: Instant::now(),
        bytes: Arc::clone(&bytes),
        answered: None,
    };
    let answer = match own_path(&core, handler.as_ref(), &req) {
        Some(a) => a,
        None => {
            let (parts, body) = req.into_parts();
            let body = RequestBody::new(
                body,
                core.limits.body_timeout,
                &core.cut,
                Arc::clone(&core.metrics),
                bytes,
                unread,
            );
            handler.handle(Request::from_parts(parts, body)).await
        }
    };
    let code = answer.extensions().get::<S3Code>().map(|c| c.0.clone());
    log.answered = Some((answer.status().as_u16(), code));
    answer
}

/// Verifies a query-signed request as received, with every header it carries, as `method` (the
/// gateway verifies a POST as the PUT its URL was signed for).
pub(crate) fn verify_presigned<B>(
    verifier: &signpost_presign::Verifier,
    method: &str,
    req: &Request<B>,
) -> Result<signpost_presign::VerifiedRequest, signpost_presign::VerifyError> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    verifier.verify_presigned(
        method,
        &crate::client::path_and_query(req),
        &refs,
        time::OffsetDateTime::now_utc(),
    )
}

/// `/healthz`, `/readyz`, `/metrics`: unauthenticated GET or HEAD without a query only.
fn own_path<H: Handler>(
    core: &Core,
    handler: &H,
    req: &Request<Incoming>,
) -> Option<Response<Body>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        || req.uri().query().is_some()
        || req.headers().contains_key(hyper::header::AUTHORIZATION)
    {
        return None;
    }
    let text = |status: StatusCode, body: String, kind: &'static str| {
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(kind),
        );
        r
    };
    match req.uri().path() {
        "/healthz" => Some(text(StatusCode::OK, "ok\n".into(), "text/plain")),
        "/readyz" => Some(if core.stop.is_cancelled() {
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "draining\n".into(),
                "text/plain",
            )
        } else if !handler.ready() {
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready\n".into(),
                "text/plain",
            )
        } else {
            text(StatusCode::OK, "ready\n".into(), "text/plain")
        }),
        "/metrics" => Some(text(
            StatusCode::OK,
            core.metrics.render(),
            "text/plain; version=0.0.4",
        )),
        _ => None,
    }
}
