//! Presigned S3 calls besides the upload itself (the control plane: CreateMultipartUpload,
//! bucket checks, reading an object back, deleting, listing), sent through the same funnel as
//! every part: the same retries (5xx, 429, `SlowDown`, cut connections; never past the URL's
//! expiry), TLS settings and CA bundle, proxies, redaction and S3 error parsing. A runner or a
//! job server needs no HTTP client of its own.

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::HeaderMap;
use signpost_wire::s3_xml::{ErrorResponse, InitiateMultipartUploadResult, S3ErrorCode, parse};
use signpost_wire::{OrderedPairs, SignedUrl};

use crate::body::Payload;
use crate::error::{TargetKind, UploadError};
use crate::funnel::Request;
use crate::plan::{Target, header_map};
use crate::progress::Meter;
use crate::uploader::Uploader;

/// One presigned S3 call, described: built with [`Call::new`] and its methods, sent with
/// [`Uploader::call`] (or [`Uploader::open`] to stream the answer's body).
///
/// By default every answer is returned once S3 no longer asks for a retry, and the caller reads
/// its status; with [`expect`](Call::expect) any other status is an error carrying S3's
/// `Code`, `Message` and `RequestId`.
#[derive(Clone, Debug)]
pub struct Call {
    method: Method,
    url: SignedUrl,
    name: &'static str,
    headers: OrderedPairs,
    body: Bytes,
    expected: Option<Vec<u16>>,
}

impl Call {
    /// `method` to the presigned `url`, no body.
    pub fn new(method: Method, url: impl Into<SignedUrl>) -> Self {
        Call {
            method,
            url: url.into(),
            name: "S3 request",
            headers: OrderedPairs::default(),
            body: Bytes::new(),
            expected: None,
        }
    }

    /// The operation's name, as messages and logs name the call (`CreateMultipartUpload`).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Sends these headers (the presigned request's signed ones).
    pub fn headers(mut self, headers: &OrderedPairs) -> Self {
        for (k, v) in headers.iter() {
            self.headers.push(k, v.to_owned());
        }
        self
    }

    /// Sends one more header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push(name, value.into());
        self
    }

    /// The body.
    pub fn with_payload(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Only these statuses are success; any other is an error.
    pub fn expect(mut self, codes: &[u16]) -> Self {
        self.expected = Some(codes.to_vec());
        self
    }
}

/// A call's answer: status, headers and body (S3's answers here are small documents; at most
/// 1 MiB is read).
#[derive(Clone, Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers (`Date`, `ETag`, …).
    pub headers: HeaderMap,
    /// The body, as text.
    pub body: String,
    /// Attempts it took.
    pub attempts: u32,
}

impl Reply {
    /// The S3 error document in the body, if it is one.
    pub fn s3_error(&self) -> Option<ErrorResponse> {
        ErrorResponse::parse(&self.body)
    }

    /// S3's `Code`, when the body is an error document.
    pub fn s3_code(&self) -> Option<S3ErrorCode> {
        self.s3_error().map(|e| e.code)
    }

    /// A 4xx with an S3 error document: what a refusal looks like.
    pub fn is_s3_refusal(&self) -> bool {
        (400..500).contains(&self.status) && self.s3_error().is_some()
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.s3_error() {
            Some(e) => write!(f, "HTTP {} {e}", self.status),
            None => write!(f, "HTTP {}", self.status),
        }
    }
}

impl Uploader {
    /// Sends `call` through the funnel and returns its answer.
    pub async fn call(&self, call: &Call) -> Result<Reply, UploadError> {
        let (target, headers) = self.call_target(call)?;
        let request = self.call_request(call, &target, headers);
        let answer = self.funnel.send(&request, &Meter::new(0, None)).await?;
        Ok(Reply {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            attempts: answer.attempts,
        })
    }

    /// Sends `call` (whose [`expect`](Call::expect)ed statuses default to 200) and returns the
    /// response with its body unread, for the caller to stream: an object read back.
    pub async fn open(&self, call: &Call) -> Result<reqwest::Response, UploadError> {
        let (target, headers) = self.call_target(call)?;
        let mut request = self.call_request(call, &target, headers);
        request.answer_any = false;
        request.stream_answer = true;
        let answer = self.funnel.send(&request, &Meter::new(0, None)).await?;
        answer
            .response
            .ok_or(UploadError::MissingAnswer { what: target.kind })
    }

    /// CreateMultipartUpload from its presigned URL (and the headers it signs, such as
    /// `Content-Type`): the new upload's id. The rest of a multipart descriptor can then be
    /// signed for it.
    pub async fn create_multipart_upload(
        &self,
        url: impl Into<SignedUrl>,
        headers: &OrderedPairs,
    ) -> Result<String, UploadError> {
        let call = Call::new(Method::POST, url)
            .named("CreateMultipartUpload")
            .headers(headers)
            .expect(&[200]);
        let reply = self.call(&call).await?;
        parse::<InitiateMultipartUploadResult>(&reply.body)
            .map(|r| r.upload_id)
            .map_err(|source| UploadError::UnreadableAnswer {
                what: TargetKind::Operation("CreateMultipartUpload"),
                source,
            })
    }

    fn call_target(&self, call: &Call) -> Result<(Target, HeaderMap), UploadError> {
        let kind = TargetKind::Operation(call.name);
        let target = Target::read(&call.url, kind, true, self.funnel.clock.now())?;
        Ok((target, header_map(&call.headers)?))
    }

    fn call_request<'a>(
        &self,
        call: &'a Call,
        target: &'a Target,
        headers: HeaderMap,
    ) -> Request<'a> {
        let mut request = Request::new(call.method.clone(), target)
            .headers(headers)
            .with_payload(if call.body.is_empty() {
                Payload::Empty
            } else {
                Payload::Bytes(call.body.clone())
            });
        match &call.expected {
            Some(codes) => request = request.expect(codes),
            None => request.answer_any = true,
        }
        request
    }
}
