//! A forwarding proxy that fails chosen requests on purpose: the round trip puts it in front of a
//! real S3 server to show that a part failing twice is retried alone and the upload completes.
//!
//! Requests are forwarded unchanged (method, path, query, headers, streamed body) to the
//! upstream, whose host the presigned URL was signed for, so signatures stay valid.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Result;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Which requests to fail: `(method, path_and_query) -> bool`.
pub type Matcher = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    failed: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Forwards to `upstream` (`http://host:port`) with `client` (which must not follow
    /// redirects); the first `fail_first` requests that `matcher` selects are answered
    /// `503 SlowDown` after their body is read.
    pub async fn start(
        client: reqwest::Client,
        upstream: String,
        fail_first: u32,
        matcher: Matcher,
    ) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let failed = Arc::new(AtomicU32::new(0));
        let failed2 = Arc::clone(&failed);
        let task = serve(listener, move |req| {
            let (client, upstream, matcher, failed) = (
                client.clone(),
                upstream.clone(),
                Arc::clone(&matcher),
                Arc::clone(&failed2),
            );
            async move { handle(req, client, upstream, matcher, failed, fail_first).await }
        });
        Ok(FaultProxy { base, failed, task })
    }

    /// How many requests were failed on purpose.
    pub fn failed(&self) -> u32 {
        self.failed.load(Ordering::SeqCst)
    }
}

/// Serves HTTP/1 on `listener` until the returned task is aborted, each request answered by
/// `handle`.
pub fn serve<H, F>(listener: TcpListener, handle: H) -> tokio::task::JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let f = handle(req);
                    async move { Ok::<_, Infallible>(f.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(sock), svc)
                    .await;
            });
        }
    })
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    r
}

async fn handle(
    req: Request<Incoming>,
    client: reqwest::Client,
    upstream: String,
    matcher: Matcher,
    failed: Arc<AtomicU32>,
    fail_first: u32,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let pq = crate::http::path_and_query(&req);
    if matcher(method.as_str(), &pq)
        && failed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < fail_first).then_some(n + 1)
            })
            .is_ok()
    {
        // Read the body as S3 would, then refuse it.
        let _ = req.into_body().collect().await;
        return reply(
            503,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>signpost-fault-proxy</RequestId></Error>".into(),
        );
    }
    let rb = upstream_request(&client, &upstream, method, &pq, req.headers());
    let stream =
        http_body_util::BodyDataStream::new(req.into_body()).map_err(std::io::Error::other);
    relay(
        rb.body(reqwest::Body::wrap_stream(stream)).send().await,
        "fault proxy",
    )
    .await
}

/// The request to forward to `upstream` (`http://host:port`): the method, path and query, and
/// the headers but `Host` (the client sets the upstream's, which the signature covers) and the
/// hop-by-hop ones. The caller adds the body.
pub fn upstream_request(
    client: &reqwest::Client,
    upstream: &str,
    method: hyper::Method,
    path_and_query: &str,
    headers: &hyper::HeaderMap,
) -> reqwest::RequestBuilder {
    let mut rb = client.request(method, format!("{upstream}{path_and_query}"));
    for (k, v) in headers {
        if !matches!(k.as_str(), "host" | "connection" | "transfer-encoding") {
            rb = rb.header(k, v);
        }
    }
    rb
}

/// The upstream's answer, relayed: status, headers (but the hop-by-hop ones) and body; a failed
/// request is a 502 naming `proxy`.
pub async fn relay(
    result: reqwest::Result<reqwest::Response>,
    proxy: &str,
) -> Response<Full<Bytes>> {
    match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.unwrap_or_default();
            let mut r = Response::new(Full::new(body));
            *r.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
            for (k, v) in &headers {
                if !matches!(
                    k.as_str(),
                    "connection" | "transfer-encoding" | "content-length"
                ) {
                    r.headers_mut().insert(k, v.clone());
                }
            }
            r
        }
        Err(e) => reply(502, format!("{proxy}: upstream failed: {e}")),
    }
}
