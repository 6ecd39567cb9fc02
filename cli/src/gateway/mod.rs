//! `signpost gateway`: lets the runners people already run upload into S3 unmodified.
//!
//! PeerTube's stock runner (`RunnerJobsCommand.customUpload`) cannot upload to an S3 presigned
//! URL: it wraps the file in `multipart/form-data` even for a PUT (S3 would store the envelope),
//! accepts only HTTP 204, re-encodes the query through `URLSearchParams`, and sends no form
//! fields for a POST. The job server instead signs the target for the gateway, exactly as for S3
//! (`signpost presign put --endpoint http://GATEWAY --bucket videos --key job-42/out.mp4`), and
//! the gateway:
//!
//! 1. verifies the request with signpost's [`Verifier`] (signature, expiry, scope and region,
//!    signed headers; fail-closed, constant time) before reading the body, and refuses a bad or
//!    expired URL with S3's XML error; a POST is verified as the PUT its URL was signed for (the
//!    stock runner POSTs the same body when its descriptor says POST);
//! 2. takes the file from the body as the runner sends it (the `file` part of a
//!    `multipart/form-data` body, PUT or POST) or as an S3 client does (a raw PUT body, its
//!    Content-Length and Content-MD5 checked);
//! 3. streams it to the same bucket and key upstream (`upstream`): one PUT for a body within a
//!    part, else a multipart upload with at most two parts in memory, completed only once the
//!    whole body has arrived; a client that disconnects or a body that ends early aborts it;
//! 4. answers `204 No Content` (what the stock runner expects; signpost's uploader accepts it),
//!    with the object's ETag.
//!
//! Limits: `--max-object-size`, `--max-uploads` (beyond it: 503 SlowDown), a read timeout for a
//! whole upload and an idle timeout between bytes. Logs name requests by method and path, never
//! by query (the signature). For TLS, put a reverse proxy in front.

mod guard;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use signpost_presign::{Credentials, Presigner, Verifier};
use signpost_upload::{RetryPolicy, Uploader};
use signpost_wire::limits::{MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};
use signpost_wire::s3_xml::ErrorResponse;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio_util::io::StreamReader;

use guard::{Guard, refusal_of};
use upstream::{StoreError, Upstream};

/// How to run a gateway.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Signs upstream requests: the upstream S3 endpoint, region and credentials (a provider's
    /// are refreshed before each upload when they near their expiry).
    pub upstream: Arc<Presigner>,
    /// Credentials the job server signs gateway URLs with (often the same).
    pub verify_credentials: Credentials,
    /// The largest object accepted.
    pub max_object_size: u64,
    /// Uploads at once; more are answered 503 SlowDown.
    pub max_uploads: usize,
    /// Bytes per upstream part (and the largest body sent as one PUT).
    pub part_size: u64,
    /// The longest a whole upload may take.
    pub read_timeout: Duration,
    /// The longest the client may send nothing.
    pub idle_timeout: Duration,
}

/// A running gateway. Dropping it stops it.
#[derive(Debug)]
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    state: Arc<State>,
    running: crate::running::Running,
}

#[derive(Debug)]
struct State {
    verifier: Verifier,
    upstream: Upstream,
    /// `max_uploads` slots (at least one); see [`Gateway::uploads_in_flight`].
    permits: Arc<Semaphore>,
    /// Requests whose handling has ended, clean-up included: see [`Gateway::requests_finished`].
    finished: AtomicU64,
    opts: GatewayOptions,
}

/// Counts a request as finished when its handler ends, however it ends (a handler dropped with
/// its connection counts too).
struct FinishedGuard<'a>(&'a AtomicU64);

impl Drop for FinishedGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn error(status: u16, code: &str, message: &str) -> Response<http_body_util::Full<bytes::Bytes>> {
    let mut r = Response::new(http_body_util::Full::new(bytes::Bytes::from(
        ErrorResponse::new(code, message).to_xml(),
    )));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    r
}

type Answer = Response<http_body_util::Full<bytes::Bytes>>;

impl Gateway {
    /// Checks the options, binds, and serves in the background.
    pub async fn start(opts: GatewayOptions) -> Result<Self> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&opts.part_size) {
            anyhow::bail!("--part-size must be within S3's 5 MiB to 5 GiB");
        }
        if opts.max_object_size > MAX_OBJECT_SIZE
            || opts.max_object_size.div_ceil(opts.part_size) > u64::from(MAX_PARTS)
        {
            anyhow::bail!(
                "--max-object-size {} needs more than {MAX_PARTS} parts of --part-size {} (or is over S3's 5 TiB): raise the part size",
                opts.max_object_size,
                opts.part_size
            );
        }
        let uploader = Uploader::builder()
            .retry(RetryPolicy::default())
            // One part sent while the next arrives: about two parts in memory per upload.
            .concurrency(2)
            .build()?;
        let state = Arc::new(State {
            verifier: Verifier::new(
                opts.verify_credentials.clone(),
                opts.upstream.endpoint().region().to_owned(),
            ),
            upstream: Upstream {
                presigner: Arc::clone(&opts.upstream),
                uploader,
                client: crate::http::client()?,
                part_size: opts.part_size,
                max_object_size: opts.max_object_size,
            },
            permits: Arc::new(Semaphore::new(opts.max_uploads.max(1))),
            finished: AtomicU64::new(0),
            opts: opts.clone(),
        });
        let listener = TcpListener::bind(opts.addr)
            .await
            .with_context(|| format!("cannot listen on {}: is the port in use?", opts.addr))?;
        let local = listener.local_addr()?;
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let serving = Arc::clone(&state);
        let task = tokio::spawn(async move {
            let state = serving;
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                tokio::select! {
                    r = listener.accept() => {
                        let Ok((sock, _)) = r else { continue };
                        let state = Arc::clone(&state);
                        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let state = Arc::clone(&state);
                            async move { Ok::<_, std::convert::Infallible>(state.handle(req).await) }
                        });
                        let conn = http.serve_connection(TokioIo::new(sock), svc).into_owned();
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    _ = &mut stop_rx => break,
                }
            }
        });
        Ok(Gateway {
            endpoint: format!("http://{local}"),
            state,
            running: crate::running::Running::new(stop_tx, task),
        })
    }

    /// How many requests the gateway has finished with: stored, refused, or given up on when the
    /// client left, each counted only once its upstream clean-up (aborting a multipart upload
    /// that will not complete) has ended. A caller that sent N requests and sees N here knows
    /// that nothing of them is still being written or aborted upstream.
    pub fn requests_finished(&self) -> u64 {
        self.state.finished.load(Ordering::SeqCst)
    }

    /// How many uploads hold one of the `max_uploads` slots now: verified and being received or
    /// sent upstream. Past `max_uploads`, further uploads are answered `503 SlowDown`.
    pub fn uploads_in_flight(&self) -> usize {
        self.state
            .opts
            .max_uploads
            .max(1)
            .saturating_sub(self.state.permits.available_permits())
    }

    /// Stops accepting; uploads in flight are dropped (and their multipart uploads aborted only
    /// if they fail before that).
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// The file's part of a `multipart/form-data` content type's boundary, if it is one.
fn form_boundary(req: &Request<Incoming>) -> Option<String> {
    let ct = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    ct.to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(ct).ok())
        .flatten()
}

impl State {
    async fn handle(&self, req: Request<Incoming>) -> Answer {
        let _finished = FinishedGuard(&self.finished);
        let started = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let (answer, bytes) = self.upload(req).await;
        tracing::info!(
            %method,
            path,
            status = answer.status().as_u16(),
            bytes,
            ms = started.elapsed().as_millis() as u64,
            "gateway upload"
        );
        answer
    }

    async fn upload(&self, req: Request<Incoming>) -> (Answer, u64) {
        if req.method() != Method::PUT && req.method() != Method::POST {
            return (
                error(
                    405,
                    "MethodNotAllowed",
                    "the gateway takes PUT and POST uploads",
                ),
                0,
            );
        }
        let Ok(_permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            return (
                error(503, "SlowDown", "Please reduce your request rate."),
                0,
            );
        };
        let target = crate::http::path_and_query(&req);
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
        // A POST carries the body of the PUT its URL was signed for.
        let verified = match self.verifier.verify_presigned(
            "PUT",
            &target,
            &refs,
            time::OffsetDateTime::now_utc(),
        ) {
            Ok(v) => v,
            Err(e) => return (error(e.status(), e.s3_code(), &e.to_string()), 0),
        };
        let path = verified.path();
        let Some((bucket, key)) = path.trim_start_matches('/').split_once('/') else {
            return (
                error(
                    400,
                    "InvalidRequest",
                    "the URL names no object: /BUCKET/KEY",
                ),
                0,
            );
        };
        if bucket.is_empty() || key.is_empty() {
            return (
                error(
                    400,
                    "InvalidRequest",
                    "the URL names no object: /BUCKET/KEY",
                ),
                0,
            );
        }
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        tracing::info!(method = %req.method(), path = req.uri().path(), "gateway upload verified, receiving");
        let limit = self.opts.max_object_size;
        let idle = self.opts.idle_timeout;
        let boundary = form_boundary(&req);
        let raw_type = req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = req.into_body().into_data_stream();
        let work = async {
            match boundary {
                Some(boundary) => {
                    let mut form = multer::Multipart::new(body, boundary);
                    loop {
                        let field = form
                            .next_field()
                            .await
                            .map_err(|e| StoreError::Body(std::io::Error::other(e)))?;
                        let Some(field) = field else {
                            return Err(StoreError::Body(std::io::Error::other(
                                "the form has no `file` part",
                            )));
                        };
                        if field.name().is_some_and(|n| n.eq_ignore_ascii_case("file")) {
                            let ct = field.content_type().map(|m| m.to_string());
                            let reader = StreamReader::new(field.map_err(std::io::Error::other));
                            let mut guard = Guard::new(
                                reader,
                                limit,
                                signpost_presign::BodyRules::default(),
                                idle,
                            );
                            let etag = self
                                .upstream
                                .store(&bucket, &key, ct.as_deref(), &mut guard)
                                .await?;
                            return Ok((etag, guard.received()));
                        }
                    }
                }
                None => {
                    let reader = StreamReader::new(body.map_err(std::io::Error::other));
                    let mut guard = Guard::new(reader, limit, verified.body.clone(), idle);
                    let etag = self
                        .upstream
                        .store(&bucket, &key, raw_type.as_deref(), &mut guard)
                        .await?;
                    Ok((etag, guard.received()))
                }
            }
        };
        let result = match tokio::time::timeout(self.opts.read_timeout, work).await {
            Ok(r) => r,
            Err(_) => {
                return (
                    error(
                        400,
                        "RequestTimeout",
                        "the upload took longer than the gateway's read timeout",
                    ),
                    0,
                );
            }
        };
        match result {
            Ok((etag, bytes)) => {
                let mut r = Response::new(http_body_util::Full::new(bytes::Bytes::new()));
                *r.status_mut() = StatusCode::NO_CONTENT;
                if let Some(v) = etag.and_then(|e| e.parse().ok()) {
                    r.headers_mut().insert(hyper::header::ETAG, v);
                }
                (r, bytes)
            }
            Err(e) => (store_error(&e), 0),
        }
    }
}

/// S3's answer for a failed store: the body's refusal, or the upstream's failure.
fn store_error(e: &StoreError) -> Answer {
    if let Some(r) = refusal_of(e) {
        return error(r.status(), r.s3_code(), &r.to_string());
    }
    match e {
        StoreError::Body(io) => error(
            400,
            "IncompleteBody",
            &format!("the body could not be read: {io}"),
        ),
        StoreError::Upload(u) if u.s3_code() == Some("SlowDown") => {
            error(503, "SlowDown", "Please reduce your request rate.")
        }
        other => {
            tracing::warn!(error = %other, "the upstream store failed");
            error(
                502,
                "InternalError",
                &format!("the upstream store failed: {other}"),
            )
        }
    }
}
