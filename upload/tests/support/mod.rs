//! A fault-injecting HTTP server for the uploader's tests: real HTTP/1.1 on 127.0.0.1, scripted
//! answers, and a record of every request it received.

#![allow(clippy::unwrap_used)]
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Read the whole body, answer this status, headers and body.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Read the whole body, answer an S3 error document.
    S3Error(u16, &'static str, &'static str),
    /// Read `n` body bytes, then drop the connection without answering.
    DropAfter(usize),
    /// Read nothing and answer nothing for this long (then drop).
    Stall(Duration),
    /// Answer an S3 error at once without reading the body, as S3 servers do when the signature
    /// is wrong (the connection is then closed with the body unread).
    RefuseUnread(u16, &'static str, &'static str),
    /// Answer an S3 error at once and read the body to its end afterwards, as a server that
    /// closes lingering does (nginx, signpost's receivers): the client hears it mid-body.
    RefuseDraining(u16, &'static str, &'static str),
    /// Read `n` body bytes (a POST's fields), then answer an S3 error and close with the rest
    /// unread, as servers do when a form field breaks the policy.
    RefuseAfter(usize, u16, &'static str, &'static str),
    /// Read the whole body, answer 200 with its MD5 as the ETag, as S3 does.
    Md5ETag,
    /// Read the whole body, answer 200 with the MD5 of other bytes: a server that stored
    /// something else.
    WrongETag,
}

impl Act {
    pub fn ok() -> Act {
        Act::Answer(200, vec![("ETag", "\"etag-1\"".into())], String::new())
    }
    pub fn status(s: u16) -> Act {
        Act::Answer(s, vec![], String::new())
    }
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query exactly as on the request line.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was read to its end (not dropped or stalled).
    pub complete: bool,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Chooses the act for a request: by default the script in order, the last act repeating.
pub type Router = Arc<dyn Fn(&str, &str, usize) -> Act + Send + Sync>;

#[derive(Clone)]
pub struct FaultServer {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultServer {
    /// Answers requests with `script` in order; the last entry repeats.
    pub async fn start(script: Vec<Act>) -> FaultServer {
        let script = Arc::new(script);
        Self::start_routed(Arc::new(move |_m: &str, _t: &str, i: usize| {
            script[i.min(script.len() - 1)].clone()
        }))
        .await
    }

    /// Answers each request with `router(method, target, index)`.
    pub async fn start_routed(router: Router) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let counter = Arc::new(Mutex::new(0usize));
        let seen2 = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = Arc::clone(&seen2);
                let router = Arc::clone(&router);
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let seen = Arc::clone(&seen);
                        let router = Arc::clone(&router);
                        let counter = Arc::clone(&counter);
                        async move { handle(req, seen, router, counter).await }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        FaultServer {
            base: format!("http://{addr}"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

#[derive(Debug)]
struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dropped on purpose")
    }
}
impl std::error::Error for Dropped {}

/// Reads body frames into `into` until it holds `n` bytes or the body ends.
async fn read_up_to(body: &mut Incoming, into: &mut Vec<u8>, n: usize) {
    while into.len() < n {
        match body.frame().await {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    into.extend_from_slice(&d);
                }
            }
            _ => break,
        }
    }
}

/// The body of the request just recorded.
fn record_body(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<u8> {
    seen.lock()
        .unwrap()
        .last()
        .map(|r| r.body.clone())
        .unwrap_or_default()
}

/// Lower-case hex MD5.
/// The ETag S3 gives an object uploaded as parts of `part_size` bytes of `d`: the MD5 of the
/// parts' MD5s, then `-N`.
pub fn multipart_etag(d: &[u8], part_size: usize) -> String {
    use md5::Digest;
    let chunks: Vec<&[u8]> = d.chunks(part_size).collect();
    let cat: Vec<u8> = chunks
        .iter()
        .flat_map(|c| md5::Md5::digest(c).to_vec())
        .collect();
    format!("\"{}-{}\"", md5_hex(&cat), chunks.len())
}

/// CompleteMultipartUpload's answer, with `etag`.
pub fn complete(etag: &str) -> Act {
    Act::Answer(
        200,
        vec![],
        format!(
            "<CompleteMultipartUploadResult><ETag>{etag}</ETag></CompleteMultipartUploadResult>"
        ),
    )
}

/// The Content-MD5 a body is sent with: base64 of its MD5.
pub fn content_md5(body: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An S3 error document with `status`.
fn s3_error(status: u16, code: &str, msg: &str) -> Response<Full<Bytes>> {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{msg}</Message><RequestId>REQ123</RequestId></Error>"
    );
    Response::builder()
        .status(status)
        .header("Content-Type", "application/xml")
        .body(Full::new(Bytes::from(text)))
        .unwrap()
}

async fn handle(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    router: Router,
    counter: Arc<Mutex<usize>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let index = {
        let mut c = counter.lock().unwrap();
        *c += 1;
        *c - 1
    };
    let act = router(&method, &target, index);
    let mut record = Seen {
        method,
        target,
        headers,
        body: Vec::new(),
        complete: false,
    };
    let mut body = req.into_body();
    if let Act::RefuseDraining(status, code, msg) = act {
        seen.lock().unwrap().push(record);
        tokio::spawn(async move { while let Some(Ok(_)) = body.frame().await {} });
        return Ok(s3_error(status, code, msg));
    }
    if let Act::RefuseUnread(status, code, msg) | Act::RefuseAfter(_, status, code, msg) = act {
        if let Act::RefuseAfter(n, ..) = act {
            read_up_to(&mut body, &mut record.body, n).await;
        }
        seen.lock().unwrap().push(record);
        return Ok(s3_error(status, code, msg));
    }
    match act {
        Act::Stall(d) => {
            seen.lock().unwrap().push(record);
            tokio::time::sleep(d).await;
            Err(Dropped)
        }
        Act::DropAfter(n) => {
            read_up_to(&mut body, &mut record.body, n).await;
            seen.lock().unwrap().push(record);
            Err(Dropped)
        }
        Act::RefuseUnread(..) | Act::RefuseAfter(..) | Act::RefuseDraining(..) => {
            unreachable!("handled above")
        }
        Act::Answer(..) | Act::S3Error(..) | Act::Md5ETag | Act::WrongETag => {
            while let Some(f) = body.frame().await {
                match f {
                    Ok(f) => {
                        if let Ok(d) = f.into_data() {
                            record.body.extend_from_slice(&d);
                        }
                    }
                    Err(_) => {
                        seen.lock().unwrap().push(record);
                        return Err(Dropped);
                    }
                }
            }
            record.complete = true;
            seen.lock().unwrap().push(record);
            match act {
                Act::Md5ETag | Act::WrongETag => {
                    let mut body = record_body(&seen);
                    if matches!(act, Act::WrongETag) {
                        body.push(b'!');
                    }
                    let etag = format!("\"{}\"", md5_hex(&body));
                    Ok(Response::builder()
                        .status(200)
                        .header("ETag", etag)
                        .body(Full::new(Bytes::new()))
                        .unwrap())
                }
                Act::S3Error(status, code, msg) => Ok(s3_error(status, code, msg)),
                Act::Answer(status, headers, text) => {
                    let mut resp = Response::builder().status(status);
                    for (k, v) in headers {
                        resp = resp.header(k, v);
                    }
                    Ok(resp.body(Full::new(Bytes::from(text))).unwrap())
                }
                _ => unreachable!("handled above"),
            }
        }
    }
}

/// A multipart descriptor for upload `U1` of `b/big` on the fault server at `base`: `parts` part
/// URLs of `part_size` bytes, Complete at the descriptor's URL, an abort URL.
pub fn multipart_job(
    base: &str,
    parts: usize,
    part_size: u64,
) -> signpost_upload::RunnerJobCustomUpload {
    use signpost_upload::{RunnerJobCustomUpload, UploadMethod};
    use signpost_wire::MultipartTarget;

    let mut job = RunnerJobCustomUpload::put(format!("{base}/b/big?uploadId=U1"));
    job.method = UploadMethod::Post;
    job.expected_status_codes = vec![200];
    job.multipart = Some(MultipartTarget {
        upload_id: Some("U1".into()),
        part_size,
        parts: (1..=parts)
            .map(|n| format!("{base}/b/big?partNumber={n}&uploadId=U1").into())
            .collect(),
        abort_url: format!("{base}/b/big?uploadId=U1&abort").into(),
        list_parts_url: None,
    });
    job
}

/// Bytes that do not repeat within a part: a xorshift stream.
pub fn data(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `n` such bytes written to `name` in `dir`.
pub fn file(dir: &tempfile::TempDir, name: &str, n: usize) -> (std::path::PathBuf, Vec<u8>) {
    let p = dir.path().join(name);
    let d = data(n);
    std::fs::write(&p, &d).unwrap();
    (p, d)
}

/// An uploader with fast retries and a stall timeout a test can cross.
pub fn uploader() -> signpost_upload::Uploader {
    signpost_upload::Uploader::builder()
        .retry(signpost_upload::RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        })
        // Well under the 5 s `Act::Stall`, well over any pause a loaded CI machine makes on
        // loopback, where an attempt counted twice would fail the exact counts below.
        .stall_timeout(Duration::from_millis(1500))
        .build()
        .unwrap()
}

/// A query string shaped like a SigV4 presigned URL's, dated `at`, valid `expires` seconds.
pub fn sigv4_query(at: time::OffsetDateTime, expires: u64) -> String {
    let d = signpost_wire::amz_date::format_amz_date(at);
    let d = std::str::from_utf8(&d).unwrap();
    format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F{}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={d}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature=00ff",
        &d[..8]
    )
}

pub fn post_job(base: &str, fields: &[(&str, &str)]) -> signpost_upload::RunnerJobCustomUpload {
    let mut job = signpost_upload::RunnerJobCustomUpload::put(format!("{base}/videos"));
    job.method = signpost_upload::UploadMethod::Post;
    job.fields = fields
        .iter()
        .map(|(a, b)| (*a, *b))
        .collect::<signpost_wire::OrderedPairs>();
    job
}
