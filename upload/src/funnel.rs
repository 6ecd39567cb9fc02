//! The request funnel: every HTTP request an upload makes goes through [`Funnel::send`], which
//! owns what all of them need: retries (backoff with jitter, `Retry-After`, never past the
//! target's expiry, never on a 4xx other than 429/SlowDown), the stall watchdog, the
//! `Expect: 100-continue` hold after a cut connection, progress metering, and the mapping of
//! answers to errors. PUT, POST and multipart only describe their requests.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderValue};
use signpost_wire::s3_xml::ErrorResponse;
use time::OffsetDateTime;

use crate::body::{Attempt, DigestSlot, FailSlot, FileRangeBody, Payload};
use crate::error::{Refusal, TargetKind, TransportError, UploadError};
use crate::integrity::{Md5Digest, content_md5, etag_md5, hex};
use crate::plan::Target;
use crate::progress::{AttemptMeter, Meter};
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};

/// One request, described: the funnel sends it as many times as needed. Built with
/// [`Request::new`] and its methods; by default an empty body, success on 200, no digest.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) target: &'a Target,
    pub(crate) headers: HeaderMap,
    pub(crate) payload: Payload,
    /// Statuses that mean success.
    pub(crate) expected: &'a [u16],
    /// The body's MD5: sent as `Content-MD5` (the server refuses other bytes).
    pub(crate) content_md5: Option<Md5Digest>,
    /// Compare an MD5-shaped ETag in the answer with the body's MD5 (`content_md5`, or the one
    /// worked out while sending): not under SSE-KMS or SSE-C, whose ETags are not MD5s.
    pub(crate) check_etag: bool,
    /// Hash the file bytes as they are sent (one pass over the file), for the ETag check when
    /// no `content_md5` was worked out first.
    pub(crate) hash_body: bool,
    /// The body's MD5 when known but not sent (`Content-MD5` turned off): for the ETag check.
    pub(crate) known_md5: Option<Md5Digest>,
    /// Every answer is returned, not only `expected` ones, once S3 no longer asks for a retry
    /// (or the attempts ran out): a control-plane call whose caller reads the status itself.
    pub(crate) answer_any: bool,
    /// An accepted answer's body is left unread, for the caller to stream (an object read back).
    pub(crate) stream_answer: bool,
}

impl<'a> Request<'a> {
    /// `method` to `target`, no body, success on 200.
    pub(crate) fn new(method: Method, target: &'a Target) -> Self {
        Request {
            method,
            target,
            headers: HeaderMap::new(),
            payload: Payload::Empty,
            expected: &[200],
            content_md5: None,
            check_etag: false,
            hash_body: false,
            known_md5: None,
            answer_any: false,
            stream_answer: false,
        }
    }

    /// Sends these headers (the descriptor's signed ones) besides the funnel's own.
    pub(crate) fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Sends `Content-Type: application/xml` (a CompleteMultipartUpload document).
    pub(crate) fn xml(mut self) -> Self {
        self.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        self
    }

    /// The body.
    pub(crate) fn with_payload(mut self, payload: Payload) -> Self {
        self.payload = payload;
        self
    }

    /// The statuses that mean success.
    pub(crate) fn expect(mut self, codes: &'a [u16]) -> Self {
        self.expected = codes;
        self
    }

    /// Sends `Content-MD5` with this digest of the body.
    pub(crate) fn content_md5(mut self, md5: Option<Md5Digest>) -> Self {
        self.content_md5 = md5;
        self
    }

    /// The body's MD5, known but not sent as `Content-MD5`: the answer's ETag is compared with it.
    pub(crate) fn known_md5(mut self, md5: Option<Md5Digest>) -> Self {
        self.known_md5 = md5;
        self
    }

    /// Compares an MD5-shaped ETag in the answer with the body's MD5 when `yes`; with
    /// `hash_body`, the file bytes are hashed as they are sent for it.
    pub(crate) fn check_etag(mut self, yes: bool, hash_body: bool) -> Self {
        self.check_etag = yes;
        self.hash_body = hash_body;
        self
    }
}

/// An accepted answer: status, headers and (bounded) body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    pub(crate) attempts: u32,
    /// The MD5 of the file bytes the accepted attempt sent, when known.
    pub(crate) md5: Option<Md5Digest>,
    /// The response, its body unread, when the request asked to stream it.
    pub(crate) response: Option<reqwest::Response>,
}

impl Answer {
    /// Whether the answer's ETag can be an MD5: not when it says the object is encrypted with
    /// SSE-KMS or SSE-C.
    pub(crate) fn etag_is_md5(&self) -> bool {
        crate::integrity::etags_are_md5(
            self.headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        )
    }

    /// The `ETag` header, when the server sent one; else the ETag of a POST's response document
    /// (`success_action_status=201`).
    pub(crate) fn etag(&self) -> Option<String> {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                signpost_wire::s3_xml::parse::<signpost_wire::s3_xml::PostResponse>(&self.body)
                    .ok()
                    .and_then(|p| p.etag)
            })
    }
}

/// The HTTP client and the settings every request shares.
#[derive(Clone, Debug)]
pub(crate) struct Funnel {
    pub(crate) client: reqwest::Client,
    pub(crate) retry: RetryPolicy,
    pub(crate) stall_timeout: Duration,
    pub(crate) expect_continue_timeout: Duration,
    /// The time expiries are judged by (the server's, when the local clock was found off).
    pub(crate) clock: crate::Clock,
}

/// Answers are small XML documents; more than this is not read.
const MAX_ANSWER: usize = 1 << 20;

impl Funnel {
    /// This funnel with its clock shifted by `offset` (to the server's time).
    pub(crate) fn shifted(&self, offset: time::Duration) -> Funnel {
        let mut f = self.clone();
        f.clock = self.clock.shifted(offset);
        f
    }

    /// Sends `req` until the answer is expected, a failure is final, attempts run out, or the
    /// target would expire before the next try.
    pub(crate) async fn send(
        &self,
        req: &Request<'_>,
        meter: &Meter,
    ) -> Result<Answer, UploadError> {
        let mut attempt = 0u32;
        // After a connection failure, ask before sending: a server that refuses without reading
        // the body (bad signature, expired URL, a POST field its policy forbids) closes the
        // connection while we write, and its answer is lost; with `Expect: 100-continue` and the
        // file held back (after a POST's fields) it is read instead.
        let mut hold = None;
        loop {
            attempt += 1;
            let am = AttemptMeter::new(meter);
            let fail: FailSlot = Arc::default();
            let digest = (req.hash_body && req.content_md5.is_none()).then(DigestSlot::default);
            let ctx = Attempt {
                meter: Arc::clone(&am),
                fail: Arc::clone(&fail),
                hold,
                digest: digest.clone(),
            };
            let request = self.build(req, &ctx, hold.is_some()).await?;
            let mut retry_after = None;
            let err = match self.watch(request, &am).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    if req.stream_answer && req.expected.contains(&status) {
                        return Ok(Answer {
                            status,
                            headers,
                            body: String::new(),
                            attempts: attempt,
                            md5: None,
                            response: Some(resp),
                        });
                    }
                    let body = read_capped(resp, MAX_ANSWER).await;
                    let streamed = digest.as_ref().and_then(|d| d.lock().ok().and_then(|s| *s));
                    let answer = Answer {
                        status,
                        headers,
                        body,
                        attempts: attempt,
                        md5: req.content_md5.or(req.known_md5).or(streamed),
                        response: None,
                    };
                    let accepted = req.expected.contains(&status)
                        || (req.answer_any
                            && (attempt >= self.retry.max_attempts
                                || !is_retryable_status(
                                    status,
                                    ErrorResponse::parse(&answer.body).map(|e| e.code).as_ref(),
                                )));
                    if accepted {
                        match stored_other_bytes(req, &answer) {
                            None => return Ok(answer),
                            // The server stored something else: send the bytes again.
                            Some(e) => {
                                am.rollback();
                                if attempt >= self.retry.max_attempts {
                                    return Err(e);
                                }
                                tracing::warn!(error = %e, "sending the {} again", req.target.kind);
                                tokio::time::sleep(self.retry.backoff(attempt, None)).await;
                                continue;
                            }
                        }
                    }
                    let Answer { headers, body, .. } = answer;
                    retry_after = headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let refusal = refusal(req, status, &headers, &body, self.clock.now());
                    let retryable =
                        is_retryable_status(status, refusal.s3.as_ref().map(|e| &e.code));
                    let e = UploadError::Refused {
                        refusal: Box::new(refusal),
                        expected: req.expected.to_vec(),
                        attempts: attempt,
                    };
                    if !retryable {
                        am.rollback();
                        return Err(e);
                    }
                    e
                }
                Err(source) => {
                    if let Some(file_error) = fail.lock().ok().and_then(|mut s| s.take()) {
                        am.rollback();
                        return Err(file_error);
                    }
                    let untrusted = source.is_untrusted_certificate();
                    let err = UploadError::Transport {
                        host: crate::target::host_of(req.target.url.as_str()),
                        proxy: crate::client::proxy_for(req.target.url.as_str()),
                        attempts: attempt,
                        source,
                    };
                    // The next try would meet the same certificate.
                    if untrusted {
                        am.rollback();
                        return Err(err);
                    }
                    // Held less than the stall timeout, which would otherwise end the attempt.
                    hold = Some(self.expect_continue_timeout.min(self.stall_timeout / 2));
                    err
                }
            };
            am.rollback();
            if attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let wait = self.retry.backoff(attempt, retry_after);
            if let Some(expires_at) = req.target.expires_at
                && self.clock.now() + wait >= expires_at
            {
                return Err(UploadError::ExpiredWhileRetrying {
                    what: req.target.kind,
                    expires_at,
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            tracing::warn!(
                url = %req.target.url,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying the {}",
                req.target.kind
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt's request: the file reopened, `Content-Length` exact, `Expect` when holding.
    async fn build(
        &self,
        req: &Request<'_>,
        attempt: &Attempt,
        holding: bool,
    ) -> Result<reqwest::RequestBuilder, UploadError> {
        let mut headers = req.headers.clone();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(req.payload.len()));
        if let Some(md5) = &req.content_md5 {
            headers.insert("content-md5", content_md5(md5));
        }
        let rb = self
            .client
            .request(req.method.clone(), req.target.url.as_str());
        Ok(match &req.payload {
            Payload::Empty => rb.headers(headers),
            Payload::Bytes(b) => {
                if matches!(
                    req.target.kind,
                    TargetKind::Part(_) | TargetKind::PresignedUrl
                ) {
                    // Handed to the connection whole: counted as sent at once.
                    attempt.meter.add(b.len() as u64);
                    attempt.meter.add_file(b.len() as u64);
                }
                rb.headers(headers).body(b.clone())
            }
            Payload::File(slice) => {
                if holding {
                    headers.insert(
                        reqwest::header::EXPECT,
                        HeaderValue::from_static("100-continue"),
                    );
                }
                let body = FileRangeBody::open(slice, attempt).await?;
                rb.headers(headers).body(reqwest::Body::wrap(body))
            }
        })
    }

    /// Sends, abandoning the attempt when nothing moves for the stall timeout.
    async fn watch(
        &self,
        request: reqwest::RequestBuilder,
        am: &AttemptMeter,
    ) -> Result<reqwest::Response, TransportError> {
        let send = request.send();
        tokio::pin!(send);
        let tick =
            (self.stall_timeout / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
        let mut interval = tokio::time::interval(tick);
        loop {
            tokio::select! {
                r = &mut send => {
                    // reqwest names the URL in its errors; the signature must not be shown.
                    return r.map_err(|e| TransportError::Http(e.without_url()));
                }
                _ = interval.tick() => {
                    let idle = am.idle();
                    if idle > self.stall_timeout {
                        return Err(TransportError::Stalled { idle });
                    }
                }
            }
        }
    }
}

/// The error when an accepted answer's ETag is an MD5 other than the body's.
fn stored_other_bytes(req: &Request<'_>, answer: &Answer) -> Option<UploadError> {
    let sent = answer.md5.filter(|_| req.check_etag)?;
    // A bucket's default encryption can be SSE-KMS although the request said nothing: the answer
    // says so, and then the ETag is not an MD5.
    if !answer.etag_is_md5() {
        return None;
    }
    let etag = answer.etag()?;
    let stored = etag_md5(&etag)?;
    (stored != sent).then(|| UploadError::ETagMismatch {
        what: req.target.kind,
        sent_md5: hex(&sent),
        etag,
    })
}

/// What a refusal says, with what the request and the answer tell about its cause.
fn refusal(
    req: &Request<'_>,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: OffsetDateTime,
) -> Refusal {
    let s3 = ErrorResponse::parse(body);
    let body_excerpt = if s3.is_none() {
        body.chars().take(200).collect::<String>().trim().to_owned()
    } else {
        String::new()
    };
    let sent = crate::explain::Sent {
        method: &req.method,
        target: req.target,
        headers: &req.headers,
    };
    let explanation = crate::explain::explain(
        &sent,
        status,
        s3.as_ref(),
        headers,
        req.target.form_credential.as_deref(),
        now,
    );
    Refusal {
        status,
        s3,
        body_excerpt,
        explanation,
    }
}

/// Reads at most `cap` bytes of a response body.
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
