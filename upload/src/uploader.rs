//! The uploader: one HTTP client, a retry policy, and the three kinds of target.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use signpost_wire::descriptor::redact_url;
use signpost_wire::s3_xml::S3Xml;
use signpost_wire::{MultipartTarget, RunnerJobCustomUpload, UploadMethod};
use time::OffsetDateTime;

use crate::body::{Attempt, FileRangeBody};
use crate::error::{Refusal, S3ErrorBody, UploadError};
use crate::form::framing;
use crate::preflight::{effective_fields, preflight};
use crate::progress::{AttemptMeter, Meter, ProgressFn};
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};

/// Per-upload options.
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// Called as bytes go out.
    pub progress: Option<ProgressFn>,
    /// The file name sent in a POST's file part and substituted for `${filename}` in its key;
    /// default: the path's file name.
    pub file_name: Option<String>,
    /// The Content-Type of a POST's `Content-Type` field (checked against the policy) or of a PUT
    /// (which must agree with a signed one).
    pub content_type: Option<String>,
    /// Send without the pre-flight checks (expiry, policy, size limits), to hear the server's own
    /// verdict. For diagnostics and negative tests; a runner leaves this off.
    pub skip_preflight: bool,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("progress", &self.progress.is_some())
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("skip_preflight", &self.skip_preflight)
            .finish()
    }
}

/// What a POST with `success_action_status=201` answers: where the object is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostResponse {
    /// The object's URL.
    pub location: Option<String>,
    /// Its bucket.
    pub bucket: Option<String>,
    /// Its key.
    pub key: Option<String>,
    /// Its ETag.
    pub etag: Option<String>,
}

/// A successful upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOutcome {
    /// The final HTTP status (one of the expected ones).
    pub status: u16,
    /// File bytes uploaded.
    pub bytes: u64,
    /// Attempts of the final request (for multipart: the most any part needed).
    pub attempts: u32,
    /// The object's ETag, when the server sent one.
    pub etag: Option<String>,
    /// The POST response document (POST with `success_action_status=201`).
    pub post_response: Option<PostResponse>,
    /// Parts uploaded (multipart only).
    pub parts: Option<u32>,
    /// Wall time from the first byte to the last answer.
    pub elapsed: Duration,
}

/// Builds an [`Uploader`].
#[derive(Clone, Debug)]
pub struct UploaderBuilder {
    retry: RetryPolicy,
    concurrency: usize,
    stall_timeout: Duration,
    connect_timeout: Duration,
    expect_continue_timeout: Duration,
}

impl Default for UploaderBuilder {
    fn default() -> Self {
        UploaderBuilder {
            retry: RetryPolicy::default(),
            concurrency: 4,
            stall_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            expect_continue_timeout: Duration::from_secs(1),
        }
    }
}

impl UploaderBuilder {
    /// The retry policy (default: 4 attempts, 250 ms doubling to 20 s, full jitter).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Parts uploaded at once in a multipart upload (default 4, at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// An attempt that sends nothing and receives nothing for this long is abandoned (and
    /// retried). Default 120 s.
    pub fn stall_timeout(mut self, d: Duration) -> Self {
        self.stall_timeout = d;
        self
    }

    /// After a connection failure, retries send `Expect: 100-continue` and hold the body back this
    /// long (default 1 s, as curl), so a server that refuses before reading is heard.
    pub fn expect_continue_timeout(mut self, d: Duration) -> Self {
        self.expect_continue_timeout = d;
        self
    }

    /// Connection set-up limit (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Builds the uploader and its HTTP client (rustls with the ring provider, the platform's
    /// certificate verifier, redirects not followed: a 303 from `success_action_redirect` is
    /// an answer, not a hop).
    pub fn build(self) -> Result<Uploader, UploadError> {
        use rustls_platform_verifier::BuilderVerifierExt;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| UploadError::Client(e.to_string()))?
            .with_platform_verifier()
            .map_err(|e| UploadError::Client(e.to_string()))?
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("signpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UploadError::Client(error_chain(&e)))?;
        Ok(Uploader {
            client,
            retry: self.retry,
            concurrency: self.concurrency,
            stall_timeout: self.stall_timeout,
            expect_continue_timeout: self.expect_continue_timeout,
        })
    }
}

/// Uploads files to [`RunnerJobCustomUpload`] targets. Cheap to clone; share one per process.
#[derive(Clone, Debug)]
pub struct Uploader {
    client: reqwest::Client,
    retry: RetryPolicy,
    concurrency: usize,
    stall_timeout: Duration,
    expect_continue_timeout: Duration,
}

/// The status, headers and (bounded) body of an accepted request.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
    attempts: u32,
}

/// What a request is, for messages and for the expiry check before a retry.
struct Target<'a> {
    what: &'static str,
    url: &'a str,
    expires_at: Option<OffsetDateTime>,
    /// Authorized by a query-string signature (everything but a POST form).
    method_signed_by_query: bool,
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    // reqwest names the URL in its messages; keep the signature out of them.
    redact_url_in(&s)
}

fn redact_url_in(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if w.contains("X-Amz-Signature=") || w.contains("X-Amz-Security-Token=") {
                let trimmed = w.trim_matches(|c| c == '(' || c == ')');
                w.replace(trimmed, &redact_url(trimmed))
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| "the server".into())
}

/// Reads at most `cap` bytes of a response body (answers are small XML documents).
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> String {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= cap {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct FileInfo {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

fn inspect(path: &Path) -> Result<FileInfo, UploadError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => UploadError::FileNotFound {
            path: path.to_owned(),
        },
        _ => UploadError::FileUnreadable {
            path: path.to_owned(),
            source: e,
        },
    })?;
    if !meta.is_file() {
        return Err(UploadError::NotAFile {
            path: path.to_owned(),
        });
    }
    // Opening proves it is readable before anything is sent.
    std::fs::File::open(path).map_err(|e| UploadError::FileUnreadable {
        path: path.to_owned(),
        source: e,
    })?;
    Ok(FileInfo {
        path: path.to_owned(),
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

fn check_unchanged(info: &FileInfo) -> Result<(), UploadError> {
    let meta = std::fs::metadata(&info.path).map_err(|e| UploadError::FileUnreadable {
        path: info.path.clone(),
        source: e,
    })?;
    if meta.len() != info.len {
        return Err(UploadError::FileChanged {
            path: info.path.clone(),
            detail: format!("its size went from {} to {} bytes", info.len, meta.len()),
        });
    }
    if meta.modified().ok() != info.modified {
        return Err(UploadError::FileChanged {
            path: info.path.clone(),
            detail: "it was modified".into(),
        });
    }
    Ok(())
}

fn header_map(pairs: &signpost_wire::OrderedPairs) -> Result<HeaderMap, UploadError> {
    let mut h = HeaderMap::with_capacity(pairs.0.len());
    for (k, v) in pairs.iter() {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| UploadError::Options(format!("header {k:?}: {e}")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|e| UploadError::Options(format!("header {k:?}: {e}")))?;
        h.insert(name, value);
    }
    Ok(h)
}

impl Uploader {
    /// An uploader with the default settings.
    pub fn new() -> Result<Self, UploadError> {
        UploaderBuilder::default().build()
    }

    /// Starts a builder.
    pub fn builder() -> UploaderBuilder {
        UploaderBuilder::default()
    }

    /// The HTTP client (TLS set up as described in [`UploaderBuilder::build`]), for companion
    /// requests such as fetching an object back.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Uploads `path` to `job` with default options.
    pub async fn upload(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
    ) -> Result<UploadOutcome, UploadError> {
        self.upload_with(job, path, &UploadOptions::default()).await
    }

    /// Uploads `path` to `job`: validates the descriptor, checks the file and the target
    /// (pre-flight), then sends, retrying as the policy allows.
    pub async fn upload_with(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError> {
        job.validate()?;
        let info = inspect(path.as_ref())?;
        let file_name = opts.file_name.clone().unwrap_or_else(|| {
            info.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into())
        });
        let expires_at = if opts.skip_preflight {
            None
        } else {
            preflight(
                job,
                info.len,
                &file_name,
                opts.content_type.as_deref(),
                OffsetDateTime::now_utc(),
            )?
        };
        let start = Instant::now();
        let mut outcome = match (&job.multipart, job.method) {
            (Some(mp), _) => self.multipart(job, mp, &info, opts).await?,
            (None, UploadMethod::Put) => self.put(job, &info, opts, expires_at).await?,
            (None, UploadMethod::Post) => {
                self.post(job, &info, &file_name, opts, expires_at).await?
            }
        };
        check_unchanged(&info)?;
        outcome.elapsed = start.elapsed();
        Ok(outcome)
    }

    /// Runs `make` until the answer is expected, a failure is final, attempts run out, or the
    /// target would expire before the next try.
    async fn send<F, Fut>(
        &self,
        target: &Target<'_>,
        expected: &[u16],
        meter: &Meter,
        mut make: F,
    ) -> Result<Answer, UploadError>
    where
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<reqwest::RequestBuilder, UploadError>>,
    {
        let mut attempt = 0u32;
        // After a connection failure, ask before sending: a server that refuses without reading
        // the body (bad signature, expired URL, a POST field its policy forbids) closes the
        // connection while we write, and its answer is lost; with `Expect: 100-continue` and the
        // file held back (after a POST's fields) it is read instead.
        let mut hold = None;
        loop {
            attempt += 1;
            let am = AttemptMeter::new(meter);
            let fail: crate::body::FailSlot = Arc::default();
            let ctx = Attempt {
                meter: Arc::clone(&am),
                fail: Arc::clone(&fail),
                hold,
            };
            let mut request = make(ctx).await?;
            if hold.is_some() {
                request = request.header(reqwest::header::EXPECT, "100-continue");
            }
            let mut retry_after = None;
            let err = match self.watch(request, &am).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let body = read_capped(resp, 1 << 20).await;
                    if expected.contains(&status) {
                        return Ok(Answer {
                            status,
                            headers,
                            body,
                            attempts: attempt,
                        });
                    }
                    let s3 = S3ErrorBody::parse(&body);
                    let retryable =
                        is_retryable_status(status, s3.as_ref().map(|e| e.code.as_str()));
                    retry_after = headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let excerpt = if s3.is_none() {
                        body.chars().take(200).collect::<String>().trim().to_owned()
                    } else {
                        String::new()
                    };
                    // The bug that started this project: a presigned URL whose query string
                    // (and so its signature) was lost on the way.
                    let note = (matches!(status, 401 | 403)
                        && target.method_signed_by_query
                        && matches!(signpost_wire::QueryAuth::from_url(target.url), Ok(None)))
                    .then_some(
                        "; the URL carries no signature (no X-Amz-* query parameters): if it was presigned, its query string was lost on the way",
                    );
                    let e = UploadError::Refused {
                        refusal: Box::new(Refusal {
                            status,
                            s3,
                            body_excerpt: excerpt,
                            note,
                        }),
                        expected: expected.to_vec(),
                        attempts: attempt,
                    };
                    if !retryable {
                        am.rollback();
                        return Err(e);
                    }
                    e
                }
                Err(detail) => {
                    let slot = fail.lock().ok().and_then(|mut s| s.take());
                    if let Some(file_error) = slot {
                        am.rollback();
                        return Err(file_error);
                    }
                    // Held less than the stall timeout, which would otherwise end the attempt.
                    hold = Some(self.expect_continue_timeout.min(self.stall_timeout / 2));
                    UploadError::Transport {
                        host: host_of(target.url),
                        attempts: attempt,
                        detail,
                    }
                }
            };
            am.rollback();
            if attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let wait = self.retry.backoff(attempt, retry_after);
            if let Some(expires_at) = target.expires_at
                && OffsetDateTime::now_utc() + wait >= expires_at
            {
                return Err(UploadError::ExpiredWhileRetrying {
                    what: target.what,
                    expires_at,
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            tracing::warn!(
                url = %redact_url(target.url),
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying {}",
                target.what
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends, abandoning the attempt when nothing moves for the stall timeout.
    async fn watch(
        &self,
        request: reqwest::RequestBuilder,
        am: &AttemptMeter,
    ) -> Result<reqwest::Response, String> {
        let send = request.send();
        tokio::pin!(send);
        let tick =
            (self.stall_timeout / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
        let mut interval = tokio::time::interval(tick);
        loop {
            tokio::select! {
                r = &mut send => return r.map_err(|e| error_chain(&e)),
                _ = interval.tick() => {
                    if am.idle() > self.stall_timeout {
                        return Err(format!(
                            "stalled: nothing sent or received for {} s",
                            self.stall_timeout.as_secs_f64()
                        ));
                    }
                }
            }
        }
    }

    async fn put(
        &self,
        job: &RunnerJobCustomUpload,
        info: &FileInfo,
        opts: &UploadOptions,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<UploadOutcome, UploadError> {
        let mut headers = header_map(&job.headers)?;
        if let Some(ct) = &opts.content_type {
            let v = HeaderValue::from_str(ct)
                .map_err(|e| UploadError::Options(format!("Content-Type {ct:?}: {e}")))?;
            headers.insert(CONTENT_TYPE, v);
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(info.len));
        let meter = Meter::new(info.len, opts.progress.clone());
        let target = Target {
            what: "presigned URL",
            url: &job.url,
            method_signed_by_query: true,
            expires_at,
        };
        let answer = self
            .send(&target, &job.expected_status_codes, &meter, |attempt| {
                let headers = headers.clone();
                let path = info.path.clone();
                let len = info.len;
                async move {
                    let body =
                        FileRangeBody::open(path, 0, len, true, None, None, &attempt).await?;
                    Ok(self
                        .client
                        .put(&job.url)
                        .headers(headers)
                        .body(reqwest::Body::wrap(body)))
                }
            })
            .await?;
        Ok(UploadOutcome {
            status: answer.status,
            bytes: info.len,
            attempts: answer.attempts,
            etag: etag_of(&answer.headers),
            post_response: None,
            parts: None,
            elapsed: Duration::ZERO,
        })
    }

    async fn post(
        &self,
        job: &RunnerJobCustomUpload,
        info: &FileInfo,
        file_name: &str,
        opts: &UploadOptions,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<UploadOutcome, UploadError> {
        let fields = effective_fields(job, file_name, opts.content_type.as_deref());
        let file_type = fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map_or("application/octet-stream", |(_, v)| v.as_str())
            .to_owned();
        let f = framing(&fields, file_name, &file_type);
        let total = f.prefix.len() as u64 + info.len + f.suffix.len() as u64;
        let mut headers = header_map(&job.headers)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&f.content_type)
                .map_err(|e| UploadError::Options(e.to_string()))?,
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(total));
        let meter = Meter::new(total, opts.progress.clone());
        let target = Target {
            what: "POST policy",
            url: &job.url,
            method_signed_by_query: false,
            expires_at,
        };
        let (prefix, suffix) = (f.prefix, f.suffix);
        let answer = self
            .send(&target, &job.expected_status_codes, &meter, |attempt| {
                let headers = headers.clone();
                let path = info.path.clone();
                let (prefix, suffix) = (prefix.clone(), suffix.clone());
                let len = info.len;
                async move {
                    let body = FileRangeBody::open(
                        path,
                        0,
                        len,
                        true,
                        Some(prefix),
                        Some(suffix),
                        &attempt,
                    )
                    .await?;
                    Ok(self
                        .client
                        .post(&job.url)
                        .headers(headers)
                        .body(reqwest::Body::wrap(body)))
                }
            })
            .await?;
        let post_response = S3Xml::parse(&answer.body)
            .filter(|d| d.root != "Error")
            .map(|d| PostResponse {
                location: d.get("Location").map(str::to_owned),
                bucket: d.get("Bucket").map(str::to_owned),
                key: d.get("Key").map(str::to_owned),
                etag: d.get("ETag").map(str::to_owned),
            });
        Ok(UploadOutcome {
            status: answer.status,
            bytes: info.len,
            attempts: answer.attempts,
            etag: etag_of(&answer.headers)
                .or_else(|| post_response.as_ref().and_then(|p| p.etag.clone())),
            post_response,
            parts: None,
            elapsed: Duration::ZERO,
        })
    }

    async fn multipart(
        &self,
        job: &RunnerJobCustomUpload,
        mp: &MultipartTarget,
        info: &FileInfo,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError> {
        // Not a question for the server: without enough part URLs there is nothing to send.
        if info.len > mp.capacity() {
            return Err(UploadError::TooLargeForPlan {
                size: info.len,
                parts: mp.parts.len(),
                part_size: mp.part_size,
                capacity: mp.capacity(),
            });
        }
        let n = mp.parts_needed(info.len) as u32;
        let meter = Meter::new(info.len, opts.progress.clone());
        let mut stream = Box::pin(
            futures_util::stream::iter(1..=n)
                .map(|part| {
                    let meter = meter.clone();
                    async move {
                        self.upload_part(mp, info, part, &meter)
                            .await
                            .map_err(|e| (part, e))
                    }
                })
                .buffer_unordered(self.concurrency),
        );
        let mut etags = vec![None; n as usize];
        let mut max_attempts = 0;
        while let Some(r) = stream.next().await {
            match r {
                Ok((part, etag, attempts)) => {
                    etags[(part - 1) as usize] = Some(etag);
                    max_attempts = max_attempts.max(attempts);
                }
                Err((part, e)) => {
                    // Stop at the first failure: dropping the stream drops the parts in flight
                    // (closing their connections) before the abort.
                    drop(stream);
                    let abort = self.abort(mp).await;
                    return Err(UploadError::Part {
                        part,
                        parts: n,
                        source: Box::new(e),
                        abort,
                    });
                }
            }
        }
        let mut xml = String::with_capacity(64 + n as usize * 96);
        xml.push_str("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (i, etag) in etags.iter().enumerate() {
            let etag = etag.as_deref().unwrap_or_default();
            xml.push_str("<Part><PartNumber>");
            xml.push_str(&(i + 1).to_string());
            xml.push_str("</PartNumber><ETag>");
            xml.push_str(&quick_xml::escape::escape(etag));
            xml.push_str("</ETag></Part>");
        }
        xml.push_str("</CompleteMultipartUpload>");
        let xml = Bytes::from(xml);
        let target = Target {
            what: "CompleteMultipartUpload URL",
            url: &job.url,
            method_signed_by_query: true,
            expires_at: crate::preflight::url_expiry(&job.url)?,
        };
        let complete = self
            .send(&target, &job.expected_status_codes, &meter, |_| {
                let xml = xml.clone();
                async move {
                    Ok(self
                        .client
                        .post(&job.url)
                        .header(CONTENT_TYPE, "application/xml")
                        .body(xml))
                }
            })
            .await;
        let answer = match complete {
            Ok(a) => a,
            Err(e) => {
                let abort = self.abort(mp).await;
                return Err(UploadError::Part {
                    part: n,
                    parts: n,
                    source: Box::new(e),
                    abort: format!("CompleteMultipartUpload failed; {abort}"),
                });
            }
        };
        // S3 may answer 200 and put the error in the body.
        let doc = S3Xml::parse(&answer.body);
        if let Some(err) = S3ErrorBody::parse(&answer.body) {
            let abort = self.abort(mp).await;
            return Err(UploadError::Part {
                part: n,
                parts: n,
                source: Box::new(UploadError::CompleteFailed(err)),
                abort,
            });
        }
        Ok(UploadOutcome {
            status: answer.status,
            bytes: info.len,
            attempts: max_attempts.max(answer.attempts),
            etag: doc
                .as_ref()
                .and_then(|d| d.get("ETag").map(str::to_owned))
                .or_else(|| etag_of(&answer.headers)),
            post_response: None,
            parts: Some(n),
            elapsed: Duration::ZERO,
        })
    }

    async fn upload_part(
        &self,
        mp: &MultipartTarget,
        info: &FileInfo,
        part: u32,
        meter: &Meter,
    ) -> Result<(u32, String, u32), UploadError> {
        let url = &mp.parts[(part - 1) as usize];
        let offset = u64::from(part - 1) * mp.part_size;
        let len = mp.part_size.min(info.len - offset.min(info.len));
        let target = Target {
            what: "part URL",
            url,
            method_signed_by_query: true,
            expires_at: crate::preflight::url_expiry(url)?,
        };
        let answer = self
            .send(&target, &[200], meter, |attempt| {
                let path = info.path.clone();
                async move {
                    let body =
                        FileRangeBody::open(path, offset, len, false, None, None, &attempt).await?;
                    Ok(self
                        .client
                        .put(url)
                        .header(CONTENT_LENGTH, len)
                        .body(reqwest::Body::wrap(body)))
                }
            })
            .await?;
        let etag = etag_of(&answer.headers).ok_or(UploadError::MissingETag { part })?;
        Ok((part, etag, answer.attempts))
    }

    /// Calls AbortMultipartUpload; says what happened, for the error message.
    async fn abort(&self, mp: &MultipartTarget) -> String {
        let meter = Meter::new(0, None);
        let target = Target {
            what: "AbortMultipartUpload URL",
            url: &mp.abort_url,
            method_signed_by_query: true,
            expires_at: crate::preflight::url_expiry(&mp.abort_url).ok().flatten(),
        };
        let r = self
            .send(&target, &[204, 200], &meter, |_| async move {
                Ok(self.client.delete(&mp.abort_url))
            })
            .await;
        match r {
            Ok(_) => "the multipart upload was aborted, so no parts are left behind".into(),
            Err(e) => format!(
                "aborting the multipart upload failed too ({e}): its parts may remain until a lifecycle rule removes them"
            ),
        }
    }
}

fn etag_of(h: &HeaderMap) -> Option<String> {
    h.get("etag")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
