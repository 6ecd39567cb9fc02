//! The embedded S3 server: `s3s` (SigV4 header auth) over `s3s-fs` (objects as files in a
//! directory), on the receivers' HTTP core.
//!
//! It is what `signpost roundtrip` uses when no endpoint is given, what `signpost serve` runs,
//! and what the integration tests start: a real S3 implementation that checks signatures and
//! expiry independently of signpost's signer. In front of s3s it judges every request as S3
//! would before s3s sees it (`guard`): bucket names and keys ([`crate::keys`]), the region of
//! every signature, query authentication by signpost's [`Verifier`] (the gateway's rules), and
//! every POST form, whatever its query, through the streaming handler (`post`: the file is
//! spooled, `${filename}` substituted, the policy checked by the Verifier). Behind s3s, the
//! store (`store`) adds what s3s-fs 0.14 lacks or gets wrong: a missing bucket is
//! `NoSuchBucket`, ListMultipartUploads, part ETags checked at Complete, bucket CORS.

mod cors;
mod guard;
mod post;
mod store;
mod uploads;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use hyper::{Request, Response};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use signpost_presign::{Credentials, Endpoint, Presigner, Verifier};
use signpost_wire::Secret;

pub use cors::CorsOrigins;

use crate::core::{self, Body, Core, Handler, Metrics, RequestBody, Running, S3Code, TlsFiles};
use crate::{Limits, ServeError};
use cors::Cors;
use post::PostContext;

/// A running embedded server. Dropping it stops it (and removes its temporary directory).
#[derive(Debug)]
pub struct EmbeddedServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Where the objects are stored (`DATA/BUCKET/KEY`).
    pub data_dir: PathBuf,
    metrics: Arc<Metrics>,
    running: Running,
    // After `running`: fields drop in order, so the loop is told to stop before the directory
    // goes.
    _tmp: Option<tempfile::TempDir>,
}

/// How to start one.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Where to store objects; `None`: a temporary directory removed on stop.
    pub data: Option<PathBuf>,
    /// Buckets to create (directories under the data directory).
    pub buckets: Vec<String>,
    /// The one access key the server accepts.
    pub access_key: String,
    /// Its secret.
    pub secret_key: Secret,
    /// The region requests must be signed for (AWS and Garage refuse another; s3s alone
    /// ignores it).
    pub region: String,
    /// Browser origins admitted for buckets without a CORS configuration.
    pub cors: CorsOrigins,
    /// The limits on what clients send.
    pub limits: Limits,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// Let s3s alone judge presigned URLs and answer POST forms (holding each form's file in
    /// memory, no `${filename}`), instead of signpost's Verifier and streaming handler: only for
    /// tests that compare the Verifier with an independent implementation. Never set it on a
    /// server others can reach.
    pub s3s_auth: bool,
}

impl ServeOptions {
    /// A server on `addr` for one access key, region `us-east-1`, a temporary directory, no
    /// bucket, loopback CORS origins and the default limits.
    pub fn new(
        addr: SocketAddr,
        access_key: impl Into<String>,
        secret_key: impl Into<Secret>,
    ) -> Self {
        ServeOptions {
            addr,
            data: None,
            buckets: Vec::new(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: "us-east-1".into(),
            cors: CorsOrigins::Loopback,
            limits: Limits::default(),
            tls: None,
            s3s_auth: false,
        }
    }
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ServeError {
    let path = path.to_owned();
    move |source| ServeError::Io { what, path, source }
}

impl EmbeddedServer {
    /// Binds, creates the buckets, and serves in the background.
    pub async fn start(opts: ServeOptions) -> Result<Self, ServeError> {
        let (tmp, data_dir) = match &opts.data {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(io_error("creating the data directory", d))?;
                (None, d.clone())
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("signpost-s3-")
                    .tempdir()
                    .map_err(io_error(
                        "creating a temporary directory in",
                        &std::env::temp_dir(),
                    ))?;
                let p = t.path().to_owned();
                (Some(t), p)
            }
        };
        for b in &opts.buckets {
            create_bucket_dir(&data_dir, b)?;
        }
        remove_stale_spools(&data_dir);
        let fs = s3s_fs::FileSystem::new(&data_dir).map_err(|e| ServeError::Io {
            what: "opening the data directory",
            path: data_dir.clone(),
            source: std::io::Error::other(format!("{e:?}")),
        })?;
        let bucket_cors = store::BucketCors::load(&data_dir);
        let store = store::Store::new(fs, bucket_cors.clone(), &data_dir);
        let mut builder = S3ServiceBuilder::new(store);
        builder.set_auth(SimpleAuth::from_single(
            opts.access_key.clone(),
            opts.secret_key.expose(),
        ));
        let mut config = s3s::config::S3Config::default();
        config.xml_max_body_size = opts.limits.xml_bytes;
        config.form_max_fields_size = opts.limits.form_bytes;
        config.form_max_parts = opts.limits.form_fields + 1;
        builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(
            config,
        ))));
        let service = builder.build();
        let credentials = Credentials::new(opts.access_key.clone(), opts.secret_key.clone());
        let metrics = Arc::new(Metrics::new("signpost_serve"));
        let core = Core {
            limits: opts.limits.clone(),
            metrics: Arc::clone(&metrics),
            cut: Default::default(),
            stop: Default::default(),
            name: "serve",
        };
        // The server's own PUT of a POST's spooled file is signed for whatever address the
        // listener gets; the handler learns it once bound.
        let bound = Arc::new(std::sync::OnceLock::new());
        let router = Arc::new(Router {
            post: Arc::new(PostContext {
                service: service.clone(),
                verifier: Verifier::new(credentials, opts.region.clone()),
                bound: Arc::clone(&bound),
                spool: data_dir.clone(),
                limits: opts.limits.clone(),
            }),
            guard: guard::Guard::new(Verifier::new(
                Credentials::new(opts.access_key.clone(), opts.secret_key.clone()),
                opts.region.clone(),
            )),
            cors: Cors {
                default: opts.cors.clone(),
                buckets: bucket_cors,
            },
            service,
            s3s_auth: opts.s3s_auth,
        });
        let running = core::start(core, opts.addr, opts.tls.as_ref(), router).await?;
        let local = running.local_addr();
        let presigner = Presigner::new(
            Credentials::new(opts.access_key.clone(), opts.secret_key.clone()),
            Endpoint::custom(&format!("http://{local}"), &opts.region)?,
        );
        let _ = bound.set((local.to_string(), presigner));
        Ok(EmbeddedServer {
            endpoint: running.endpoint(),
            data_dir,
            metrics,
            running,
            _tmp: tmp,
        })
    }

    /// What `/metrics` reports.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Drains (see [`Running::stop`]) and stops.
    pub async fn stop(self) {
        let EmbeddedServer { running, _tmp, .. } = self;
        running.stop().await;
        drop(_tmp);
    }
}

/// Sends each request where it belongs and answers CORS.
struct Router {
    service: S3Service,
    post: Arc<PostContext>,
    guard: guard::Guard,
    cors: Cors,
    s3s_auth: bool,
}

impl Handler for Router {
    fn handle(self: Arc<Self>, req: Request<RequestBody>) -> BoxFuture<'static, Response<Body>> {
        Box::pin(async move { self.route(req).await })
    }
}

/// An answer of the server's own, marked with its code for `/metrics`.
pub(crate) fn own(status: u16, code: &'static str, message: &str) -> Response<Body> {
    let mut r = core::answer::error(status, code, message);
    r.extensions_mut().insert(S3Code(code.to_owned()));
    r
}

impl Router {
    async fn route(&self, req: Request<RequestBody>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let bucket = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let bucket = (!bucket.is_empty()).then(|| bucket.to_owned());
        let header = |name: hyper::header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let origin = header(hyper::header::ORIGIN);
        if method == hyper::Method::OPTIONS {
            return self.preflight(bucket.as_deref(), origin, &req);
        }
        let mut answer = if let Err(refusal) = self.guard.check(&req, !self.s3s_auth) {
            *refusal
        } else if crate::core::form::is_form_type(
            header(hyper::header::CONTENT_TYPE).as_deref().unwrap_or(""),
        ) && method == hyper::Method::POST
            && !self.s3s_auth
        {
            post::handle(Arc::clone(&self.post), req).await
        } else {
            let failure = req.body().failure();
            let mut s3 = self.service.clone();
            let answer = match tower::Service::call(&mut s3, req).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = ?e, "s3s failed a request");
                    own(500, "InternalError", "the server failed the request")
                }
            };
            // A body that stopped, or was cut by a drain, is the client's (or the drain's)
            // doing, whatever s3s made of it.
            match failure.get() {
                Some((status, code, message)) => own(*status, code, message),
                None => answer,
            }
        };
        if let Some(origin) = &origin
            && let Some(allowed) = self
                .cors
                .allow(bucket.as_deref(), origin, method.as_str(), &[])
        {
            cors_headers(&mut answer, &allowed, false);
        }
        answer
    }

    /// A CORS preflight, as S3 answers it: 400 without `Origin` or
    /// `Access-Control-Request-Method`, 403 when no rule allows it.
    fn preflight(
        &self,
        bucket: Option<&str>,
        origin: Option<String>,
        req: &Request<RequestBody>,
    ) -> Response<Body> {
        let header =
            |name: hyper::header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
        let Some(origin) = origin else {
            return own(
                400,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
            );
        };
        let Some(asked) = header(hyper::header::ACCESS_CONTROL_REQUEST_METHOD) else {
            return own(
                400,
                "BadRequest",
                "Invalid Access-Control-Request-Method: the preflight names no method.",
            );
        };
        let headers: Vec<&str> = header(hyper::header::ACCESS_CONTROL_REQUEST_HEADERS)
            .map(|h| {
                h.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        match self.cors.allow(bucket, &origin, asked, &headers) {
            Some(allowed) => {
                let mut r = Response::new(Body::empty());
                cors_headers(&mut r, &allowed, true);
                r
            }
            None => own(
                403,
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
            ),
        }
    }
}

fn cors_headers(r: &mut Response<Body>, a: &cors::Allowed, preflight: bool) {
    let h = r.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    };
    set("access-control-allow-origin", &a.origin);
    set("vary", "Origin");
    if preflight {
        set("access-control-allow-methods", &a.methods);
        if let Some(headers) = &a.headers {
            set("access-control-allow-headers", headers);
        }
        if let Some(age) = a.max_age {
            set("access-control-max-age", &age.to_string());
        }
    } else if !a.expose.is_empty() {
        set("access-control-expose-headers", &a.expose);
    }
}

/// Spooled POST files of a server that was killed mid-upload: never objects, removed at start.
fn remove_stale_spools(data: &Path) {
    if let Ok(entries) = std::fs::read_dir(data) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".signpost-post-") && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Creates a bucket directory, for a name S3 accepts.
pub fn create_bucket_dir(data: &Path, bucket: &str) -> Result<(), ServeError> {
    crate::keys::check_bucket(bucket).map_err(|e| ServeError::Options(e.to_string()))?;
    let dir = data.join(bucket);
    std::fs::create_dir_all(&dir).map_err(io_error("creating the bucket directory", &dir))
}
