//! A forwarding proxy for tests: counts the request body bytes it forwards, flips one byte in the
//! body of chosen requests (a damaged network or disk), and holds chosen requests back until a
//! time (so a URL expires while they wait). Requests are forwarded unchanged otherwise (method,
//! path, query, headers, body streamed) to the upstream server, with the upstream's `Host`, so
//! presigned signatures stay valid: a test rewrites a descriptor's URLs from the upstream's
//! address to [`TestProxy::base`].

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use signpost::fault_proxy::{relay, serve, upstream_request};
use signpost::http::path_and_query;
use tokio::net::TcpListener;

/// Selects requests: `(method, path_and_query) -> bool`.
pub type Matcher = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// What the proxy does besides forwarding.
#[derive(Clone, Default)]
pub struct ProxyRules {
    /// Flip one byte (in the middle of the body) of the first `n` requests `.0` selects
    /// (`u32::MAX`: all of them).
    pub flip: Option<(Matcher, u32)>,
    /// Hold the requests `.0` selects until `.1` before forwarding them.
    pub hold: Option<(Matcher, Instant)>,
}

/// One forwarded request, as seen.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Its method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Body bytes received from the client.
    pub body_bytes: u64,
    /// The status the upstream answered (0: none).
    pub status: u16,
}

#[derive(Default)]
struct State {
    put_bytes: AtomicU64,
    /// Requests received (each is in `seen` once its upstream call has ended).
    started: AtomicU64,
    flipped: AtomicU32,
    seen: Mutex<Vec<Seen>>,
}

impl std::fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyRules")
            .field("flip", &self.flip.as_ref().map(|(_, n)| n))
            .field("hold", &self.hold.as_ref().map(|(_, t)| t))
            .finish()
    }
}

/// A running proxy; stops when dropped.
pub struct TestProxy {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestProxy")
            .field("base", &self.base)
            .finish()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    /// Forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, rules: ProxyRules) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let client = signpost::http::client()?;
        let state = Arc::new(State::default());
        let (st, upstream) = (
            Arc::clone(&state),
            upstream.trim_end_matches('/').to_owned(),
        );
        let task = serve(listener, move |req| {
            let (client, upstream, rules, st) = (
                client.clone(),
                upstream.clone(),
                rules.clone(),
                Arc::clone(&st),
            );
            forward(req, client, upstream, rules, st)
        });
        Ok(TestProxy { base, state, task })
    }

    /// Body bytes of PUT requests received so far (parts and objects; cut-off bodies included).
    pub fn put_bytes(&self) -> u64 {
        self.state.put_bytes.load(Ordering::SeqCst)
    }

    /// Requests whose body had a byte flipped.
    pub fn flipped(&self) -> u32 {
        self.state.flipped.load(Ordering::SeqCst)
    }

    /// Requests received whose upstream call has not ended yet.
    pub fn in_flight(&self) -> u64 {
        let done = self.state.seen.lock().map(|s| s.len() as u64).unwrap_or(0);
        self.state
            .started
            .load(Ordering::SeqCst)
            .saturating_sub(done)
    }

    /// Every request forwarded (or cut off) so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

async fn forward(
    req: Request<Incoming>,
    client: reqwest::Client,
    upstream: String,
    rules: ProxyRules,
    st: Arc<State>,
) -> Response<Full<Bytes>> {
    st.started.fetch_add(1, Ordering::SeqCst);
    let method = req.method().clone();
    let pq = path_and_query(&req);
    if let Some((m, until)) = &rules.hold
        && m(method.as_str(), &pq)
    {
        tokio::time::sleep_until((*until).into()).await;
    }
    let len: u64 = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let flip_at = match &rules.flip {
        Some((m, n))
            if len > 0
                && m(method.as_str(), &pq)
                && st
                    .flipped
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| {
                        (f < *n).then_some(f + 1)
                    })
                    .is_ok() =>
        {
            Some(len / 2)
        }
        _ => None,
    };
    let rb = upstream_request(&client, &upstream, method.clone(), &pq, req.headers());
    let is_put = method == hyper::Method::PUT;
    let received = Arc::new(AtomicU64::new(0));
    let (st2, rcv) = (Arc::clone(&st), Arc::clone(&received));
    let mut pos = 0u64;
    let stream = http_body_util::BodyDataStream::new(req.into_body()).map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        let n = chunk.len() as u64;
        rcv.fetch_add(n, Ordering::SeqCst);
        if is_put {
            st2.put_bytes.fetch_add(n, Ordering::SeqCst);
        }
        let out = match flip_at {
            Some(at) if at >= pos && at < pos + n => {
                let mut v = chunk.to_vec();
                v[(at - pos) as usize] ^= 0x5a;
                Bytes::from(v)
            }
            _ => chunk,
        };
        pos += n;
        Ok::<_, std::io::Error>(out)
    });
    // In a task of its own: a client that dies mid-request drops this handler, but the upstream
    // call runs to its end (its body cut, or complete and answered) and is recorded either way.
    let call = tokio::spawn(async move {
        let result = rb.body(reqwest::Body::wrap_stream(stream)).send().await;
        let status = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
        let answer = relay(result, "test proxy").await;
        if let Ok(mut s) = st.seen.lock() {
            s.push(Seen {
                method: method.to_string(),
                target: pq,
                body_bytes: received.load(Ordering::SeqCst),
                status,
            });
        }
        answer
    });
    call.await.unwrap_or_else(|_| {
        Response::builder()
            .status(502)
            .body(Full::new(Bytes::from_static(
                b"the test proxy's call failed",
            )))
            .unwrap_or_default()
    })
}

/// Selects the UploadPart requests (PUT with `partNumber`).
pub fn parts() -> Matcher {
    Arc::new(|m, t| m == "PUT" && t.contains("partNumber="))
}

/// Selects UploadPart number `n`.
pub fn part(n: u32) -> Matcher {
    let needle = format!("partNumber={n}&");
    let last = format!("partNumber={n}");
    Arc::new(move |m, t| m == "PUT" && (t.contains(&needle) || t.ends_with(&last)))
}

/// Selects single PUTs (not parts).
pub fn object_puts() -> Matcher {
    Arc::new(|m, t| m == "PUT" && !t.contains("partNumber="))
}

/// An HTTPS proxy as corporate networks run them: a client sends `CONNECT host:port`, the proxy
/// answers `200 Connection Established` and then copies bytes both ways, so TLS runs end to end
/// between the client and the server and the proxy sees nothing of the requests. Tunnels only to
/// loopback addresses (tests never reach further). Stops when dropped.
#[derive(Debug)]
pub struct ConnectProxy {
    /// `http://127.0.0.1:PORT`: what `HTTPS_PROXY` names.
    pub base: String,
    tunnels: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    /// Binds a free loopback port and serves in the background.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&tunnels);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let _ = tunnel(client, seen).await;
                });
            }
        });
        Ok(ConnectProxy {
            base,
            tunnels,
            task,
        })
    }

    /// The `host:port` of every tunnel opened so far.
    pub fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// One client: its CONNECT head, then the tunnel until either side closes.
async fn tunnel(
    mut client: tokio::net::TcpStream,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte up to the blank line, so nothing of the TLS handshake after it is consumed.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = match head.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, ..] => target.to_owned(),
        _ => {
            client
                .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
    };
    let loopback = target
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if !loopback {
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    let mut server = tokio::net::TcpStream::connect(&target).await?;
    if let Ok(mut s) = seen.lock() {
        s.push(target);
    }
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
