//! The embedded S3 server: `s3s` (SigV4 header and query auth, POST policies) over `s3s-fs`
//! (objects as files in a directory), in-process on a local port.
//!
//! It is what `signpost roundtrip` uses when no endpoint is given, what `signpost serve` runs,
//! and what the integration tests start: a real S3 implementation that checks signatures,
//! expiry and policies independently of signpost's own code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use signpost_wire::Secret;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running embedded server. Dropping it stops it (and removes its temporary directory).
#[derive(Debug)]
pub struct EmbeddedServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Where the objects are stored (`DATA/BUCKET/KEY`).
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
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
        let fs = s3s_fs::FileSystem::new(&data_dir)
            .map_err(|e| anyhow::anyhow!("opening {}: {e:?}", data_dir.display()))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(
            opts.access_key.clone(),
            opts.secret_key.expose(),
        ));
        let service = builder.build();
        let listener = TcpListener::bind(opts.addr)
            .await
            .with_context(|| format!("cannot listen on {}: is the port in use?", opts.addr))?;
        let local = listener.local_addr()?;
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                tokio::select! {
                    r = listener.accept() => {
                        let Ok((sock, _)) = r else { continue };
                        let s3 = service.clone();
                        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let mut s3 = s3.clone();
                            let is_form = req.method() == hyper::Method::POST
                                && req
                                    .headers()
                                    .get(hyper::header::CONTENT_TYPE)
                                    .and_then(|v| v.to_str().ok())
                                    .is_some_and(|v| v.starts_with("multipart/form-data"));
                            let limit = if is_form { MAX_FRAME } else { usize::MAX };
                            let (method, path) = (req.method().clone(), req.uri().path().to_owned());
                            let answer =
                                tower::Service::call(&mut s3, req.map(|b| SmallFrames::new(b, limit)));
                            async move {
                                let answer = answer.await;
                                if let Ok(r) = &answer {
                                    log_answer(&method, &path, r.status());
                                }
                                answer
                            }
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
            _tmp: tmp,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// Stops serving and waits for open connections (2 s at most).
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
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

/// The largest request frame handed to s3s.
const MAX_FRAME: usize = 32 * 1024;

/// POST form bodies cut into frames of at most [`MAX_FRAME`] bytes (other bodies pass whole).
///
/// s3s 0.14.1's POST form parser buffers the whole next frame when a frame of file data ends
/// in what could be the start of the boundary (a `\r`), and refuses past 64 KiB with
/// "400 InvalidRequest: failed to read file stream". hyper hands over frames of hundreds of KiB,
/// so about one form in eight with random data failed; a file of `\r` bytes failed every time.
/// Small frames keep that buffer under the limit.
struct SmallFrames {
    inner: hyper::body::Incoming,
    rest: bytes::Bytes,
    limit: usize,
}

impl SmallFrames {
    fn new(inner: hyper::body::Incoming, limit: usize) -> Self {
        SmallFrames {
            inner,
            rest: bytes::Bytes::new(),
            limit,
        }
    }
}

impl http_body::Body for SmallFrames {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, hyper::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        if !this.rest.is_empty() {
            let n = this.rest.len().min(this.limit);
            return Poll::Ready(Some(Ok(http_body::Frame::data(this.rest.split_to(n)))));
        }
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    if data.len() > this.limit {
                        this.rest = data.split_off(this.limit);
                    }
                    Poll::Ready(Some(Ok(http_body::Frame::data(data))))
                }
                Err(other) => Poll::Ready(Some(Ok(other))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let mut h = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        h.set_lower(h.lower() + rest);
        if let Some(u) = h.upper() {
            h.set_upper(u + rest);
        }
        h
    }
}

/// Creates a bucket directory.
pub fn create_bucket_dir(data: &Path, bucket: &str) -> Result<()> {
    if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket.starts_with('.') {
        anyhow::bail!("invalid bucket name {bucket:?}");
    }
    std::fs::create_dir_all(data.join(bucket)).with_context(|| format!("creating bucket {bucket}"))
}
