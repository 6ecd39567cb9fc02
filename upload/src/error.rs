//! The errors of an upload. Each says what failed, what was and was not stored, and what to do;
//! none holds a secret (URLs are shown with their signature redacted). The source file is only
//! ever opened for reading.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::s3_xml::ErrorResponse;
use signpost_wire::{DescriptorError, PolicyError, PolicyViolation, QueryAuthError};

pub use crate::refusal::Refusal;
use time::OffsetDateTime;

/// Which URL of a descriptor an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetKind {
    /// The presigned PUT URL.
    PresignedUrl,
    /// The URL a POST form is posted to.
    FormUrl,
    /// The POST form's policy (its `expiration`).
    PostPolicy,
    /// The UploadPart URL of this part.
    Part(u32),
    /// The CompleteMultipartUpload URL.
    Complete,
    /// The AbortMultipartUpload URL.
    Abort,
    /// The ListParts URL.
    ListParts,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetKind::PresignedUrl => f.write_str("presigned URL"),
            TargetKind::FormUrl => f.write_str("form's URL"),
            TargetKind::PostPolicy => f.write_str("POST policy"),
            TargetKind::Part(n) => write!(f, "URL of part {n}"),
            TargetKind::Complete => f.write_str("CompleteMultipartUpload URL"),
            TargetKind::Abort => f.write_str("AbortMultipartUpload URL"),
            TargetKind::ListParts => f.write_str("ListParts URL"),
        }
    }
}

/// Why a connection carried no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The HTTP client's error (connect, TLS, reset, timeout), its URL removed.
    #[error("{}", signpost_wire::error_line(.0))]
    Http(reqwest::Error),
    /// Nothing was sent or received for the stall timeout.
    #[error("stalled: nothing sent or received for {} s", .idle.as_secs_f64())]
    Stalled {
        /// How long it was idle.
        idle: Duration,
    },
}

impl TransportError {
    /// Whether the TLS handshake failed on the server's certificate (not signed by a trusted CA,
    /// expired, for another name, or none). Every try would meet the same certificate, so the
    /// funnel does not retry it, and the message says how to trust a private CA.
    pub fn is_untrusted_certificate(&self) -> bool {
        let TransportError::Http(e) = self else {
            return false;
        };
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = next {
            if matches!(
                err.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
            ) {
                return true;
            }
            // rustls' error reaches the HTTP client inside io::Errors (nested, seen: Other
            // around InvalidData), and an io::Error's `source()` skips what it wraps: step in.
            next = match err
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            };
        }
        false
    }
}

fn transport_message(
    host: &str,
    proxy: Option<&str>,
    attempts: u32,
    source: &TransportError,
) -> String {
    if source.is_untrusted_certificate() {
        return format!(
            "could not reach {host} after {attempts} attempt(s): {source}; the server's TLS certificate is not trusted: if it is signed by a private CA (MinIO or Ceph behind TLS), give that CA's certificate with --ca-bundle FILE or AWS_CA_BUNDLE (library: UploaderBuilder::ca_bundle)"
        );
    }
    match proxy {
        None => format!("could not reach {host} after {attempts} attempt(s): {source}"),
        Some(p) => format!(
            "could not reach {host} through the proxy {p} after {attempts} attempt(s): the proxy failed or refused ({source}); fix the proxy, or set NO_PROXY={host} to connect directly"
        ),
    }
}

/// What became of a multipart upload after a failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum AbortOutcome {
    /// AbortMultipartUpload succeeded: nothing of the upload is stored.
    Aborted,
    /// AbortMultipartUpload failed too: its parts stay stored until a lifecycle rule removes them.
    Failed(Box<UploadError>),
}

impl fmt::Display for AbortOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortOutcome::Aborted => {
                f.write_str("the multipart upload was aborted, so no parts are left behind")
            }
            AbortOutcome::Failed(e) => write!(
                f,
                "aborting the multipart upload failed too ({e}): its parts may remain until a lifecycle rule removes them"
            ),
        }
    }
}

/// How a file changed while it was being uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileChange {
    /// It has more bytes than when the upload started.
    Grew,
    /// It ended early.
    Shrank {
        /// Bytes missing.
        missing: u64,
    },
    /// Its size differs at the end.
    Resized {
        /// The size at the start.
        from: u64,
        /// The size at the end.
        to: u64,
    },
    /// Its modification time moved.
    Modified,
}

impl fmt::Display for FileChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileChange::Grew => f.write_str("it grew past the size it had when the upload started"),
            FileChange::Shrank { missing } => {
                write!(f, "it ended {missing} bytes early: the file shrank")
            }
            FileChange::Resized { from, to } => {
                write!(f, "its size went from {from} to {to} bytes")
            }
            FileChange::Modified => f.write_str("it was modified"),
        }
    }
}

fn ahead(secs: i64) -> String {
    match secs {
        s if s.abs() <= 2 => "within 2 s of it".into(),
        s if s > 0 => format!("{s} s ahead"),
        s => format!("{} s behind", -s),
    }
}

/// What a server holds after it stored other bytes than were sent.
fn wrong_bytes_left(what: &TargetKind) -> &'static str {
    match what {
        TargetKind::Part(_) => {
            "the part is not used: the upload is not completed with it, and sending it again replaces it"
        }
        _ => "the object at that key holds those wrong bytes until it is uploaded again or deleted",
    }
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The descriptor cannot be honoured.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// The file does not exist.
    #[error("file not found: {}; nothing was sent", .path.display())]
    FileNotFound {
        /// The path.
        path: PathBuf,
    },
    /// The path is a directory or another non-regular file.
    #[error("{} is not a regular file: give the path of the file to upload; nothing was sent", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    FileUnreadable {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file changed while it was being uploaded.
    #[error("{} changed during the upload ({change}); the upload was stopped before the server could complete the object: upload a file that is no longer being written", .path.display())]
    FileChanged {
        /// The path.
        path: PathBuf,
        /// What changed.
        change: FileChange,
    },
    /// The presigned URL or POST policy has expired (checked before sending).
    #[error("the {what} expired at {}; ask the server for a new upload target", format_rfc3339(*.expires_at))]
    Expired {
        /// Which URL, or the policy.
        what: TargetKind,
        /// When it expired.
        expires_at: OffsetDateTime,
    },
    /// The URL has expired by the server's clock too (asked because this machine's said so).
    #[error("the {what} expired at {}: the server's clock says it is now {} (this machine's clock is {}); ask the server for a new upload target", format_rfc3339(*.expires_at), format_rfc3339(*.server_time), ahead(*.local_ahead_secs))]
    ExpiredByServerClock {
        /// Which URL, or the policy.
        what: TargetKind,
        /// When it expired.
        expires_at: OffsetDateTime,
        /// The server's time (its `Date` header).
        server_time: OffsetDateTime,
        /// How far this machine's clock is ahead of the server's (negative: behind), seconds.
        local_ahead_secs: i64,
    },
    /// A presigned URL carries damaged SigV4 parameters.
    #[error("the {what} is damaged: {source}")]
    MalformedUrl {
        /// Which URL.
        what: TargetKind,
        /// What is wrong with it.
        source: QueryAuthError,
    },
    /// The POST form or file breaks the form's policy; S3 would refuse it.
    #[error("S3 would refuse this upload ({}): {violation}", .violation.s3_code())]
    Policy {
        /// The rule broken.
        violation: PolicyViolation,
    },
    /// The POST form's `policy` field does not parse.
    #[error("the form's policy field is invalid: {0}")]
    PolicyMalformed(#[from] PolicyError),
    /// A single PUT over S3's 5 GiB limit.
    #[error(
        "the file is {size} bytes; S3 accepts at most 5 GiB (5368709120 bytes) in one PUT: use a multipart upload target (signpost presign multipart)"
    )]
    TooLargeForPut {
        /// The file's size.
        size: u64,
    },
    /// The URL signs a Content-Length other than the file's size.
    #[error(
        "the file is {size} bytes but the URL was signed for exactly {signed} bytes (a fixed-size PUT: the server refuses any other size); nothing was sent: upload the file it was signed for, or ask for a URL signed for {size} bytes"
    )]
    SizeNotSigned {
        /// The file's size.
        size: u64,
        /// The signed Content-Length.
        signed: u64,
    },
    /// The file is larger than the multipart plan's parts can carry.
    #[error(
        "the file is {size} bytes but the multipart target holds {parts} parts of {part_size} bytes ({capacity} bytes): ask for a plan with a larger maximum size"
    )]
    TooLargeForPlan {
        /// The file's size.
        size: u64,
        /// Parts available.
        parts: usize,
        /// Bytes per part.
        part_size: u64,
        /// parts × part size.
        capacity: u64,
    },
    /// A Content-Type option that the signature or the form does not allow.
    #[error(
        "Content-Type {given:?} conflicts with the signed Content-Type {signed:?}: the signature covers it; drop the option or presign with that type"
    )]
    ContentTypeConflict {
        /// The option.
        given: String,
        /// What was signed.
        signed: String,
    },
    /// A Content-Type option for a form that has no Content-Type field.
    #[error(
        "the form has no Content-Type field, so its policy cannot allow one: presign the POST with a Content-Type condition"
    )]
    ContentTypeNotInForm,
    /// A header value HTTP cannot carry.
    #[error("header {name:?} cannot be sent: {source}")]
    InvalidHeader {
        /// The header.
        name: String,
        /// Why.
        source: http::Error,
    },
    /// The server answered with a status that is not success.
    #[error("upload refused after {attempts} attempt(s): {refusal}{}{}; expected HTTP {}", if .refusal.hint().is_empty() { "" } else { "; " }, .refusal.hint(), join_codes(.expected))]
    Refused {
        /// The answer (boxed: it carries S3's whole error document).
        refusal: Box<Refusal>,
        /// The statuses that would have meant success.
        expected: Vec<u16>,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, reset, timed out, stalled) on every attempt.
    #[error("{}", transport_message(.host, .proxy.as_deref(), *.attempts, .source))]
    Transport {
        /// The host.
        host: String,
        /// The proxy the requests went through (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, minus
        /// `NO_PROXY`), without its user and password: then it is what failed or refused.
        proxy: Option<String>,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        source: TransportError,
    },
    /// A retry would start after the URL expires.
    #[error(
        "gave up after {attempts} attempt(s): the {what} expires at {}, before another try could finish; last failure: {last}", format_rfc3339(*.expires_at)
    )]
    ExpiredWhileRetrying {
        /// Which URL.
        what: TargetKind,
        /// When it expires.
        expires_at: OffsetDateTime,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<UploadError>,
    },
    /// The server answered success with an ETag that is not the MD5 of what was sent: it stored
    /// other bytes. Retried (the bytes sent again); this is the last attempt's.
    #[error(
        "the server stored other bytes than were sent to the {what}: its ETag is {etag}, the MD5 of what was sent is {sent_md5}; {}", wrong_bytes_left(.what)
    )]
    ETagMismatch {
        /// Which URL.
        what: TargetKind,
        /// Hex MD5 of the body sent.
        sent_md5: String,
        /// The ETag answered.
        etag: String,
    },
    /// A multipart upload failed and was kept on the server, to be resumed.
    #[error(
        "{source}; the multipart upload {upload_id} is kept with {stored} of {parts} parts stored: upload again with this descriptor (or a fresh one for the same upload) to resume it, or abort it (signpost upload --abort --job JOB)"
    )]
    Kept {
        /// What failed.
        source: Box<UploadError>,
        /// The upload.
        upload_id: String,
        /// Parts the server holds (sent in this run or before).
        stored: u32,
        /// Parts in the plan.
        parts: u32,
    },
    /// A journal says the upload was begun from a file that has changed since.
    #[error(
        "{} cannot resume multipart upload {upload_id}: {change} since its parts were sent, so they are not this file's; nothing was sent. Abort that upload (signpost upload --abort --job JOB) and upload to a new descriptor", .path.display()
    )]
    ResumeFileChanged {
        /// The file.
        path: PathBuf,
        /// The upload.
        upload_id: String,
        /// What differs.
        change: String,
    },
    /// Another process is uploading the same multipart upload.
    #[error(
        "another process is uploading multipart upload {upload_id} now (its lock is held); nothing was sent: wait for it to finish, or stop it first"
    )]
    ResumeBusy {
        /// The upload.
        upload_id: String,
    },
    /// The server no longer has the multipart upload (completed or aborted): nothing to resume.
    #[error(
        "the server has no multipart upload {upload_id} (NoSuchUpload): it was completed or aborted, so it cannot be resumed; its journal was removed. Ask for a new descriptor"
    )]
    UploadGone {
        /// The upload.
        upload_id: String,
    },
    /// CompleteMultipartUpload's ETag is not the one the parts sent make.
    #[error(
        "the server's multipart ETag {etag} is not the {expected} the {parts} parts sent make: it assembled other bytes"
    )]
    MultipartETagMismatch {
        /// The ETag answered.
        etag: String,
        /// `md5(concat(part MD5s))-N`.
        expected: String,
        /// Parts.
        parts: usize,
    },
    /// S3 answered a part upload without an ETag, so the upload cannot be completed.
    #[error(
        "part {part}: the server's answer has no ETag header, which CompleteMultipartUpload needs"
    )]
    MissingETag {
        /// The part number.
        part: u32,
    },
    /// CompleteMultipartUpload answered 200 with an error document (S3 does this).
    #[error("{0}")]
    CompletedWithError(Box<ErrorResponse>),
    /// A part failed; the upload was aborted (or the abort failed too).
    #[error("part {part} of {parts} failed: {source}; {abort}")]
    Part {
        /// The part number (1-based).
        part: u32,
        /// Parts in all.
        parts: u32,
        /// Why.
        source: Box<UploadError>,
        /// What became of the upload.
        abort: AbortOutcome,
    },
    /// A part failed (what [`UploadError::Kept`] says when the upload is kept).
    #[error("part {part} of {parts} failed: {source}")]
    PartFailed {
        /// The part number (1-based).
        part: u32,
        /// Parts in all.
        parts: u32,
        /// Why.
        source: Box<UploadError>,
    },
    /// CompleteMultipartUpload failed (what [`UploadError::Kept`] says when the upload is kept).
    #[error("CompleteMultipartUpload failed: {source}")]
    CompleteFailed {
        /// Why.
        source: Box<UploadError>,
    },
    /// Every part was stored but CompleteMultipartUpload failed; the upload was aborted.
    #[error("CompleteMultipartUpload failed: {source}; {abort}")]
    Complete {
        /// Why.
        source: Box<UploadError>,
        /// What became of the upload.
        abort: AbortOutcome,
    },
    /// The URL carries the checksum of an empty body, an AWS SDK default, for a file that is not
    /// empty.
    #[error(
        "the {what} carries {param}={value}, the checksum of an empty body that some AWS SDKs bake into presigned URLs: S3 will refuse these bytes. Presign without a checksum (AWS SDK for JavaScript v3: requestChecksumCalculation \"WHEN_REQUIRED\"; boto3: request_checksum_calculation=\"when_required\"), or with this file's checksum"
    )]
    EmptyBodyChecksum {
        /// Which URL.
        what: TargetKind,
        /// The query parameter.
        param: &'static str,
        /// Its value.
        value: &'static str,
    },
    /// `x-amz-sdk-checksum-algorithm` in the URL, but no checksum to go with it.
    #[error(
        "the {what} carries x-amz-sdk-checksum-algorithm but no x-amz-checksum-* value: S3 expects a checksum this upload does not send. Presign without the SDK's checksum (requestChecksumCalculation \"WHEN_REQUIRED\")"
    )]
    ChecksumAlgorithmWithoutChecksum {
        /// Which URL.
        what: TargetKind,
    },
    /// The URL signs a header the descriptor does not carry.
    #[error(
        "the {what} signs the header {header} but the descriptor does not carry it: add it to the descriptor's `headers` with the signed value, or presign without it"
    )]
    SignedHeaderNotCarried {
        /// Which URL.
        what: TargetKind,
        /// The header.
        header: String,
    },
    /// The descriptor sends an `x-amz-*` header the URL does not sign.
    #[error(
        "the descriptor sends {header}, which the {what} does not sign: S3 refuses unsigned x-amz-* headers; presign with it, or drop it"
    )]
    UnsignedAmzHeader {
        /// Which URL.
        what: TargetKind,
        /// The header.
        header: String,
    },
    /// A POST policy requires a Content-Type prefix the file's type does not have.
    #[error(
        "the form's policy requires a Content-Type starting with {prefix:?}, and this file's type {found}: give the upload's type (--content-type)"
    )]
    ContentTypeOutsidePrefix {
        /// The policy's prefix.
        prefix: String,
        /// The type found from the file's name, or "cannot be told from its name".
        found: String,
    },
    /// A stream (standard input, a request body) given a descriptor that is not multipart.
    #[error(
        "a stream of unknown length can only go to a multipart descriptor (S3 needs a PUT's length before its body): presign a multipart upload (signpost presign multipart), or upload a file"
    )]
    StreamNeedsMultipart,
    /// An abort asked of a descriptor that is not a multipart upload.
    #[error(
        "only a multipart upload can be aborted, and this descriptor is a single PUT or POST: there is nothing to abort"
    )]
    NotMultipart,
    /// Bytes in memory given a descriptor that is not a PUT.
    #[error("bytes held in memory are uploaded with a PUT descriptor")]
    BytesNeedPut,
    /// Reading the stream being uploaded failed.
    #[error("reading the data to upload failed: {source}")]
    SourceUnreadable {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP client could not be set up.
    #[error("HTTP client setup failed: {0}")]
    Client(#[source] ClientError),
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// TLS set-up (protocol versions, the platform's certificate verifier).
    #[error(transparent)]
    Tls(#[from] rustls::Error),
    /// reqwest's client builder.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The blocking wrapper's runtime.
    #[error("cannot start a runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The CA bundle cannot be used.
    #[error(
        "CA bundle {}: {reason}; give a PEM file of the CA certificates that signed the server's certificate (--ca-bundle or AWS_CA_BUNDLE)", .path.display()
    )]
    CaBundle {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn join_codes(c: &[u16]) -> String {
    c.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

impl UploadError {
    /// The S3 error code, when the server sent one.
    pub fn s3_code(&self) -> Option<&str> {
        match self {
            UploadError::Refused { refusal, .. } => refusal.s3.as_ref().map(|e| e.code.as_str()),
            UploadError::CompletedWithError(e) => Some(&e.code),
            UploadError::Part { source, .. }
            | UploadError::PartFailed { source, .. }
            | UploadError::CompleteFailed { source }
            | UploadError::Kept { source, .. }
            | UploadError::Complete { source, .. }
            | UploadError::ExpiredWhileRetrying { last: source, .. } => source.s3_code(),
            _ => None,
        }
    }

    /// The HTTP status, when the server refused.
    pub fn status(&self) -> Option<u16> {
        match self {
            UploadError::Refused { refusal, .. } => Some(refusal.status),
            UploadError::Part { source, .. }
            | UploadError::PartFailed { source, .. }
            | UploadError::CompleteFailed { source }
            | UploadError::Kept { source, .. }
            | UploadError::Complete { source, .. }
            | UploadError::ExpiredWhileRetrying { last: source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether the failure happened before any request was sent (the descriptor, the file,
    /// pre-flight): then the server has nothing from this upload.
    pub fn before_sending(&self) -> bool {
        matches!(
            self,
            UploadError::Descriptor(_)
                | UploadError::FileNotFound { .. }
                | UploadError::NotAFile { .. }
                | UploadError::Expired { .. }
                | UploadError::ExpiredByServerClock { .. }
                | UploadError::MalformedUrl { .. }
                | UploadError::Policy { .. }
                | UploadError::PolicyMalformed(_)
                | UploadError::TooLargeForPut { .. }
                | UploadError::SizeNotSigned { .. }
                | UploadError::TooLargeForPlan { .. }
                | UploadError::ContentTypeConflict { .. }
                | UploadError::ContentTypeNotInForm
                | UploadError::InvalidHeader { .. }
                | UploadError::EmptyBodyChecksum { .. }
                | UploadError::ChecksumAlgorithmWithoutChecksum { .. }
                | UploadError::SignedHeaderNotCarried { .. }
                | UploadError::UnsignedAmzHeader { .. }
                | UploadError::ContentTypeOutsidePrefix { .. }
                | UploadError::ResumeFileChanged { .. }
                | UploadError::ResumeBusy { .. }
                | UploadError::Client(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_messages_carry_s3_words() {
        let e = UploadError::Refused {
            refusal: Box::new(Refusal {
                status: 403,
                s3: ErrorResponse::parse(
                    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
                ),
                body_excerpt: String::new(),
                explanation: None,
            }),
            expected: vec![200, 201, 204],
            attempts: 1,
        };
        let s = e.to_string();
        assert!(
            s.contains("HTTP 403 SignatureDoesNotMatch: The request signature we calculated"),
            "{s}"
        );
        assert!(s.contains("RequestId 4442587FB7D0A2F9"));
        assert!(s.contains("expected HTTP 200, 201, 204"));
        assert_eq!(e.s3_code(), Some("SignatureDoesNotMatch"));
        assert_eq!(e.status(), Some(403));
        assert!(!e.before_sending());
        let bare = UploadError::Refused {
            refusal: Box::new(Refusal {
                status: 500,
                s3: None,
                body_excerpt: String::new(),
                explanation: None,
            }),
            expected: vec![200],
            attempts: 2,
        };
        assert_eq!(
            bare.to_string(),
            "upload refused after 2 attempt(s): HTTP 500; expected HTTP 200"
        );
    }

    #[test]
    fn abort_outcomes_say_what_is_stored() {
        let e = UploadError::Complete {
            source: Box::new(UploadError::CompletedWithError(Box::new(
                ErrorResponse::new("InternalError", "try again"),
            ))),
            abort: AbortOutcome::Aborted,
        };
        assert_eq!(
            e.to_string(),
            "CompleteMultipartUpload failed: InternalError: try again; the multipart upload was aborted, so no parts are left behind"
        );
        assert_eq!(e.s3_code(), Some("InternalError"));
    }
}
