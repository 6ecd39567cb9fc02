//! `signpost gateway`: lets the runners people already run upload into S3 unmodified.
//!
//! PeerTube's stock runner (`RunnerJobsCommand.customUpload`) cannot upload to an S3 presigned
//! URL: it wraps the file in `multipart/form-data` even for a PUT (S3 would store the envelope),
//! accepts only HTTP 204, re-encodes the query through `URLSearchParams`, and sends no form
//! fields for a POST. The job server instead signs the target for the gateway, exactly as for S3
//! (`signpost presign put --endpoint http://GATEWAY --bucket videos --key job-42/out.mp4`), and
//! the gateway, on the receivers' HTTP core (its timeouts, connection and form limits):
//!
//! 1. verifies the request with signpost's [`Verifier`] (signature, expiry, scope and region,
//!    signed headers; fail-closed, constant time) before reading the body, and refuses a bad or
//!    expired URL with S3's XML error; a POST is verified as the PUT its URL was signed for (the
//!    stock runner POSTs the same body when its descriptor says POST). Only a plain PutObject URL
//!    is taken: one signed for a sub-resource (`?uploadId=`, `?acl`, `?tagging`, …) is refused,
//!    and so is a bucket name S3 refuses or a key that is not the same on every server
//!    ([`crate::keys`]), with `400` and S3's code;
//! 2. admits the upload by the memory it can hold (its announced length, at most two parts)
//!    within `max_memory`, by a count (`max_uploads`) and by key (`max_uploads_per_key`): past
//!    any of them, `503 SlowDown`, so one valid URL cannot hold every slot;
//! 3. takes the file from the body as the runner sends it (the `file` part of a
//!    `multipart/form-data` body, PUT or POST) or as an S3 client does (a raw PUT body, its
//!    Content-Length and Content-MD5 checked);
//! 4. streams it to the same bucket and key upstream (`upstream`): one PUT for a body within
//!    a part, else a multipart upload with at most two parts in memory, completed only once the
//!    whole body has arrived; a client that disconnects, a body that stops or ends early, or a
//!    drain that runs out of time aborts it; every multipart upload is journaled upstream
//!    (`journal`), so one that could not be aborted then, or whose gateway was killed, is
//!    aborted by a later sweep of this gateway or another;
//! 5. answers `204 No Content` (what the stock runner expects; signpost's uploader accepts it),
//!    with the object's ETag. An upstream failure is `502` (`503 SlowDown` when upstream says
//!    so); its details, and the upstream's address, go to the log, never to the client.

mod admission;
mod guard;
mod journal;
mod receive;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use hyper::{Method, Request, Response, StatusCode};
use signpost_presign::{Credentials, Presigner, Verifier};
use signpost_upload::{RetryPolicy, Uploader};
use signpost_wire::limits::{MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};

use crate::core::{self, Body, Core, Handler, Metrics, RequestBody, Running, S3Code};
use crate::{Limits, ServeError, TlsFiles};
use admission::{Admission, Refused};
use upstream::Upstream;

/// How to run a gateway.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Signs upstream requests: the upstream S3 endpoint, region and credentials (a provider's
    /// are refreshed before each upload when they near their expiry).
    pub upstream: Arc<Presigner>,
    /// Trust only these certificate authorities for the upstream (`None`: the platform's).
    pub upstream_ca: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
    /// Credentials the job server signs gateway URLs with (often the same).
    pub verify_credentials: Credentials,
    /// The largest object accepted.
    pub max_object_size: u64,
    /// Uploads at once, whatever their size; more are answered 503 SlowDown.
    pub max_uploads: usize,
    /// Uploads at once to one bucket and key.
    pub max_uploads_per_key: usize,
    /// The memory all uploads in flight may hold at once: each is admitted with its announced
    /// length, or two parts when that is larger or unknown.
    pub max_memory: u64,
    /// Bytes per upstream part (and the largest body sent as one PUT).
    pub part_size: u64,
    /// The longest a whole upload may take.
    pub read_timeout: Duration,
    /// The limits every receiver has (timeouts, connections, header and form sizes).
    pub limits: Limits,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// Where in each bucket the gateway journals the multipart uploads it starts, so that any
    /// gateway in front of the same upstream aborts those a failure or a kill left unfinished;
    /// clients cannot write there.
    pub journal_prefix: String,
    /// A multipart upload journaled by a gateway whose heartbeat is this old is aborted.
    pub orphan_after: Duration,
    /// Buckets swept for orphaned uploads from the start (besides those written to since).
    pub sweep_buckets: Vec<String>,
}

impl GatewayOptions {
    /// A gateway on `addr` to `upstream` with the default limits: 50 GiB objects, 16 MiB parts,
    /// 512 MiB of uploads in memory, 1024 uploads at once and 4 per key, 6 hours per upload; its
    /// journal under `.signpost-gateway/`, orphans aborted 45 s after their gateway's last
    /// heartbeat.
    pub fn new(
        addr: SocketAddr,
        upstream: Arc<Presigner>,
        verify_credentials: Credentials,
    ) -> Self {
        GatewayOptions {
            addr,
            upstream,
            upstream_ca: None,
            verify_credentials,
            max_object_size: 50 << 30,
            max_uploads: 1024,
            max_uploads_per_key: 4,
            max_memory: 512 << 20,
            part_size: 16 << 20,
            read_timeout: Duration::from_secs(6 * 3600),
            limits: Limits::default(),
            tls: None,
            journal_prefix: ".signpost-gateway/".into(),
            orphan_after: Duration::from_secs(45),
            sweep_buckets: Vec::new(),
        }
    }
}

/// A running gateway. Dropping it stops it.
#[derive(Debug)]
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    state: Arc<State>,
    running: Running,
}

#[derive(Debug)]
struct State {
    verifier: Verifier,
    upstream: Upstream,
    admission: Admission,
    /// Requests whose handling has ended, clean-up included: see [`Gateway::requests_finished`].
    finished: AtomicU64,
    metrics: Arc<Metrics>,
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

fn error(status: u16, code: &str, message: &str) -> Response<Body> {
    let mut r = core::answer::error(status, code, message);
    r.extensions_mut().insert(S3Code(code.to_owned()));
    r
}

impl Gateway {
    /// Checks the options, binds, and serves in the background.
    pub async fn start(opts: GatewayOptions) -> Result<Self, ServeError> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&opts.part_size) {
            return Err(ServeError::Options(
                "the part size must be within S3's 5 MiB to 5 GiB".into(),
            ));
        }
        if opts.max_object_size > MAX_OBJECT_SIZE
            || opts.max_object_size.div_ceil(opts.part_size) > u64::from(MAX_PARTS)
        {
            return Err(ServeError::Options(format!(
                "an object of {} bytes needs more than {MAX_PARTS} parts of {} bytes (or is over S3's 5 TiB): raise the part size",
                opts.max_object_size, opts.part_size
            )));
        }
        if opts.max_memory < 2 * opts.part_size {
            return Err(ServeError::Options(format!(
                "the upload memory ({} bytes) must hold two parts of {} bytes: one upload holds that much",
                opts.max_memory, opts.part_size
            )));
        }
        let mut uploader = Uploader::builder()
            .retry(RetryPolicy::default())
            // One part sent while the next arrives: about two parts in memory per upload.
            .concurrency(2);
        if let Some(ca) = &opts.upstream_ca {
            uploader = uploader.ca_bundle(ca.clone());
        }
        let metrics = Arc::new(Metrics::new("signpost_gateway"));
        if opts.journal_prefix.is_empty() || !opts.journal_prefix.ends_with('/') {
            return Err(ServeError::Options(format!(
                "the journal prefix `{}` must be a folder, ending with `/`",
                opts.journal_prefix
            )));
        }
        for b in &opts.sweep_buckets {
            crate::keys::check_bucket(b).map_err(|e| ServeError::Options(e.to_string()))?;
        }
        let uploader = uploader.build()?;
        let journal = Arc::new(journal::Journal::new(
            opts.journal_prefix.clone(),
            opts.orphan_after,
            &opts.sweep_buckets,
            Arc::clone(&opts.upstream),
            uploader.clone(),
            Arc::clone(&metrics),
        ));
        let state = Arc::new(State {
            verifier: Verifier::new(
                opts.verify_credentials.clone(),
                opts.upstream.endpoint().region().to_owned(),
            ),
            upstream: Upstream {
                presigner: Arc::clone(&opts.upstream),
                uploader,
                part_size: opts.part_size,
                journal: Arc::clone(&journal),
            },
            admission: Admission::new(
                opts.max_uploads.max(1),
                opts.max_uploads_per_key.max(1),
                opts.max_memory,
                2 * opts.part_size,
            ),
            finished: AtomicU64::new(0),
            metrics: Arc::clone(&metrics),
            opts: opts.clone(),
        });
        let core = Core {
            limits: opts.limits.clone(),
            metrics,
            cut: Default::default(),
            stop: Default::default(),
            name: "gateway",
        };
        let stop = core.stop.clone();
        let running = core::start(core, opts.addr, opts.tls.as_ref(), Arc::clone(&state)).await?;
        tokio::spawn(journal.run(stop));
        Ok(Gateway {
            endpoint: running.endpoint(),
            state,
            running,
        })
    }

    /// How many requests the gateway has finished with: stored, refused, or given up on when the
    /// client left, each counted only once its upstream clean-up (aborting a multipart upload
    /// that will not complete) has ended. A caller that sent N requests and sees N here knows
    /// that nothing of them is still being written or aborted upstream.
    pub fn requests_finished(&self) -> u64 {
        self.state.finished.load(Ordering::SeqCst)
    }

    /// How many uploads are admitted now: verified and being received or sent upstream.
    pub fn uploads_in_flight(&self) -> usize {
        self.state.admission.in_flight()
    }

    /// What `/metrics` reports.
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Drains: stops accepting, lets uploads in flight finish within the drain timeout, then
    /// cuts them (their multipart uploads upstream are aborted) and stops.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

impl Handler for State {
    fn handle(self: Arc<Self>, req: Request<RequestBody>) -> BoxFuture<'static, Response<Body>> {
        Box::pin(async move {
            let _finished = FinishedGuard(&self.finished);
            self.upload(req).await
        })
    }
}

/// The query parameters a PutObject URL may carry besides SigV4's: the AWS SDKs add `x-id`, and
/// hoist signed headers (`x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`) into the query.
fn plain_put_param(name: &str) -> bool {
    name == "x-id" || name.to_ascii_lowercase().starts_with("x-amz-")
}

impl State {
    async fn upload(&self, req: Request<RequestBody>) -> Response<Body> {
        if req.method() != Method::PUT && req.method() != Method::POST {
            return error(
                405,
                "MethodNotAllowed",
                "the gateway takes PUT and POST uploads",
            );
        }
        // A POST carries the body of the PUT its URL was signed for.
        let verified = match core::verify_presigned(&self.verifier, "PUT", &req) {
            Ok(v) => v,
            Err(e) => return core::answer::refused(&e),
        };
        if let Some((name, _)) = verified.query.iter().find(|(n, _)| !plain_put_param(n)) {
            return error(
                400,
                "InvalidRequest",
                &format!(
                    "the URL is signed for a sub-resource (`{name}`), not for a plain PutObject: the gateway stores whole objects only; sign PutObject for BUCKET/KEY"
                ),
            );
        }
        let path = verified.path();
        let Some((bucket, key)) = path.trim_start_matches('/').split_once('/') else {
            return error(
                400,
                "InvalidRequest",
                "the URL names no object: /BUCKET/KEY",
            );
        };
        if let Err(e) = crate::keys::check_bucket(bucket).and_then(|()| crate::keys::check_key(key))
        {
            let (status, code) = e.s3_code();
            return error(status, code, &e.to_string());
        }
        if self.upstream.journal.owns(key) {
            return error(
                400,
                "InvalidRequest",
                &format!(
                    "keys under `{}` hold the gateway's journal of uploads; choose another key",
                    self.opts.journal_prefix
                ),
            );
        }
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let announced = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > self.opts.max_object_size + 64 * 1024) {
            return error(
                400,
                "EntityTooLarge",
                &format!(
                    "the body is {} bytes; this gateway takes objects of at most {} bytes",
                    announced.unwrap_or_default(),
                    self.opts.max_object_size
                ),
            );
        }
        let _slot = match self.admission.admit(&bucket, &key, announced) {
            Ok(slot) => slot,
            Err(why) => {
                return error(
                    503,
                    "SlowDown",
                    &format!(
                        "Please reduce your request rate. ({})",
                        match why {
                            Refused::Count => "the gateway's uploads at once are all taken",
                            Refused::Key => "this key's uploads at once are all taken",
                            Refused::Memory => "the gateway's upload memory is all taken",
                        }
                    ),
                );
            }
        };
        self.metrics.upload_started();
        let result = self
            .receive(req, &bucket, &key, verified.body.clone())
            .await;
        self.metrics.upload_ended(result.is_ok());
        match result {
            Ok(etag) => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                if let Some(v) = etag.and_then(|e| e.parse().ok()) {
                    r.headers_mut().insert(hyper::header::ETAG, v);
                }
                r
            }
            Err(r) => r,
        }
    }
}
