//! The embedded S3 server: `s3s` (SigV4 header and query auth) over `s3s-fs` (objects as files in
//! a directory), in-process on a local port.
//!
//! It is what `signpost roundtrip` uses when no endpoint is given, what `signpost serve` runs,
//! and what the integration tests start: a real S3 implementation that checks signatures and
//! expiry independently of signpost's signer. In front of s3s it adds what browsers need and
//! s3s 0.14 lacks: POST Object that streams the file and substitutes `${filename}` (`post`,
//! checked by signpost's Verifier), CORS preflights and headers (`cors`), and bucket CORS
//! configurations (`store`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use signpost_presign::{Credentials, Endpoint, Presigner};
use signpost_wire::Secret;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod cors;
mod post;
mod store;

use cors::Cors;
pub use cors::CorsOrigins;
use post::PostContext;

/// A running embedded server. Dropping it stops it (and removes its temporary directory).
#[derive(Debug)]
pub struct EmbeddedServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Where the objects are stored (`DATA/BUCKET/KEY`).
    pub data_dir: PathBuf,
    running: crate::running::Running,
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
    /// Browser origins admitted for buckets without a CORS configuration.
    pub cors: CorsOrigins,
    /// Let s3s answer POST forms itself (holding each form's file in memory, no `${filename}`),
    /// instead of the streaming handler: for tests that compare signpost's Verifier with an
    /// independent implementation.
    pub s3s_post_forms: bool,
}

impl EmbeddedServer {
    /// Binds, creates the buckets, and serves in the background.
    pub async fn start(opts: ServeOptions) -> Result<Self> {
        let (tmp, data_dir) = match &opts.data {
            Some(d) => {
                std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
                (None, d.clone())
            }
            None => {
                let t = tempfile::Builder::new().prefix("signpost-s3-").tempdir()?;
                let p = t.path().to_owned();
                (Some(t), p)
            }
        };
        for b in &opts.buckets {
            create_bucket_dir(&data_dir, b)?;
        }
        remove_stale_spools(&data_dir);
        let fs = s3s_fs::FileSystem::new(&data_dir)
            .map_err(|e| anyhow::anyhow!("opening {}: {e:?}", data_dir.display()))?;
        let bucket_cors = store::BucketCors::load(&data_dir);
        let mut builder = S3ServiceBuilder::new(store::Store::new(fs, bucket_cors.clone()));
        builder.set_auth(SimpleAuth::from_single(
            opts.access_key.clone(),
            opts.secret_key.expose(),
        ));
        let service = builder.build();
        let listener = TcpListener::bind(opts.addr)
            .await
            .with_context(|| format!("cannot listen on {}: is the port in use?", opts.addr))?;
        let local = listener.local_addr()?;
        let credentials = Credentials::new(opts.access_key.clone(), opts.secret_key.clone());
        let router = Arc::new(Router {
            post: Arc::new(PostContext {
                service: service.clone(),
                presigner: Presigner::new(
                    credentials.clone(),
                    Endpoint::custom(&format!("http://{local}"), "us-east-1")?,
                ),
                credentials,
                host: local.to_string(),
                spool: data_dir.clone(),
            }),
            cors: Cors {
                default: opts.cors.clone(),
                buckets: bucket_cors,
            },
            service,
            s3s_post_forms: opts.s3s_post_forms,
        });
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                tokio::select! {
                    r = listener.accept() => {
                        let Ok((sock, _)) = r else { continue };
                        let router = Arc::clone(&router);
                        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let router = Arc::clone(&router);
                            async move { router.route(req).await }
                        });
                        let conn = http.serve_connection(TokioIo::new(sock), svc);
                        let conn = graceful.watch(conn.into_owned());
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    _ = &mut stop_rx => break,
                }
            }
            tokio::select! {
                () = graceful.shutdown() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            }
        });
        Ok(EmbeddedServer {
            endpoint: format!("http://{local}"),
            data_dir,
            running: crate::running::Running::new(stop_tx, task),
            _tmp: tmp,
        })
    }

    /// Stops serving and waits for open connections (2 s at most).
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// A refusal is the server doing its job (a bad signature, an expired URL, an operation s3s-fs
/// does not implement): it is logged at debug, where `SIGNPOST_LOG=debug` finds it; a failure of
/// the server itself at warn. The query string, which holds the signature, is never logged.
fn log_answer(method: &hyper::Method, path: &str, status: hyper::StatusCode) {
    if status.is_server_error() && status != hyper::StatusCode::NOT_IMPLEMENTED {
        tracing::warn!(%method, path, %status, "the embedded S3 server failed a request");
    } else if status.is_client_error() || status.is_server_error() {
        tracing::debug!(%method, path, %status, "the embedded S3 server refused a request");
    }
}

/// Sends each request where it belongs and answers CORS.
struct Router {
    service: S3Service,
    post: Arc<PostContext>,
    cors: Cors,
    s3s_post_forms: bool,
}

impl Router {
    async fn route(&self, req: Request<Incoming>) -> Result<Response<s3s::Body>, s3s::HttpError> {
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
        if method == hyper::Method::OPTIONS
            && let Some(origin) = &origin
            && let Some(asked) = header(hyper::header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            let asked_headers = header(hyper::header::ACCESS_CONTROL_REQUEST_HEADERS);
            let headers: Vec<&str> = asked_headers
                .as_deref()
                .map(|h| {
                    h.split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let answer = match self.cors.allow(bucket.as_deref(), origin, &asked, &headers) {
                Some(allowed) => {
                    let mut r = Response::new(s3s::Body::empty());
                    cors_headers(&mut r, &allowed, true);
                    r
                }
                None => post::error(
                    403,
                    "AccessForbidden",
                    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                ),
            };
            log_answer(&method, &path, answer.status());
            return Ok(answer);
        }
        let mut answer = if post::is_form(&req) && !self.s3s_post_forms {
            post::handle(Arc::clone(&self.post), req).await
        } else {
            let mut s3 = self.service.clone();
            tower::Service::call(&mut s3, req).await?
        };
        log_answer(&method, &path, answer.status());
        if let Some(origin) = &origin
            && let Some(allowed) = self
                .cors
                .allow(bucket.as_deref(), origin, method.as_str(), &[])
        {
            cors_headers(&mut answer, &allowed, false);
        }
        Ok(answer)
    }
}

fn cors_headers(r: &mut Response<s3s::Body>, a: &cors::Allowed, preflight: bool) {
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

/// Creates a bucket directory.
pub fn create_bucket_dir(data: &Path, bucket: &str) -> Result<()> {
    if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket.starts_with('.') {
        anyhow::bail!("invalid bucket name {bucket:?}");
    }
    std::fs::create_dir_all(data.join(bucket)).with_context(|| format!("creating bucket {bucket}"))
}
