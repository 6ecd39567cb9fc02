//! The errors of an upload. Each says what failed, what was and was not stored, and what to do;
//! none holds a secret (URLs are shown with their signature redacted). The source file is only
//! ever opened for reading.

use std::path::PathBuf;

use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::s3_xml::ErrorResponse;
use signpost_wire::{DescriptorError, PolicyError, PolicyViolation, QueryAuthError};

pub use crate::refusal::Refusal;

mod kinds;
#[cfg(test)]
mod tests;

mod about;
mod remedy;

use kinds::transport_message;
pub use kinds::{AbortOutcome, ClientError, FileChange, TargetKind, TransportError, UploadOption};
pub use remedy::Remedy;
use time::OffsetDateTime;

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
        "{source}; the multipart upload {upload_id} is kept with {stored} of {parts} parts stored: upload again with this descriptor (or a fresh one for the same upload) to resume it, or abort it (Uploader::abort)"
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
        "{} cannot resume multipart upload {upload_id}: {change} since its parts were sent, so they are not this file's; nothing was sent. Abort that upload (Uploader::abort) and upload to a new descriptor", .path.display()
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
        "the form's policy requires a Content-Type starting with {prefix:?}, and this file's type {found}: give the upload's type (UploadOptions::content_type)"
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
    /// The server's answer to a call could not be read as the document it should be.
    #[error("the answer to the {what} is not the document S3 sends: {source}")]
    UnreadableAnswer {
        /// Which call.
        what: TargetKind,
        /// Why it could not be read.
        #[source]
        source: signpost_wire::s3_xml::XmlError,
    },
    /// The funnel returned no response to stream (never expected).
    #[error("the {what} was answered without a body to read")]
    MissingAnswer {
        /// Which call.
        what: TargetKind,
    },
    /// An [`UploadOptions`](crate::UploadOptions) field that has no effect on this upload: it is
    /// refused rather than silently ignored.
    #[error("{option} has no effect on {upload}: leave it out")]
    OptionNotApplicable {
        /// Which option.
        option: UploadOption,
        /// What kind of upload this is.
        upload: &'static str,
    },
    /// An abort asked of a descriptor that is not a multipart upload.
    #[error(
        "only a multipart upload can be aborted, and this descriptor is a single PUT or POST: there is nothing to abort"
    )]
    NotMultipart,
    /// Bytes in memory given a descriptor that is not a PUT.
    #[error("bytes held in memory are uploaded with a PUT descriptor")]
    BytesNeedPut,
    /// The [`PartSigner`](crate::PartSigner) could not sign a part's URL (or answered one that
    /// cannot be sent); the upload is aborted, as for any failure of a stream.
    #[error("part {number}'s URL could not be signed: {source}")]
    PartNotSigned {
        /// The part.
        number: u32,
        /// What the signer said.
        #[source]
        source: crate::part_signer::PartSignError,
    },
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

fn join_codes(c: &[u16]) -> String {
    c.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}
