//! Failures found before anything is sent: the descriptor, the file, the options and the
//! pre-flight (what S3 would refuse). Any of them means the server holds nothing from this
//! upload.

use std::path::PathBuf;

use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::{DescriptorError, PolicyError, PolicyViolation, QueryAuthError};
use time::OffsetDateTime;

use super::{TargetKind, UploadOption, ahead};

/// Why an upload was refused before a byte was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
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
    /// A journal says the upload was begun from a file that has changed since.
    #[error(
        "{} cannot resume multipart upload {upload_id}: {change}, so they are not this file's bytes; nothing was sent. Abort that upload (Uploader::abort) and upload to a new descriptor", .path.display()
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
    /// The descriptor's headers carry a Content-Length the URL does not sign.
    #[error(
        "the descriptor's headers set Content-Length: {value}, which the {what} does not sign: the server would not hold the upload to that size, so the descriptor promises a check nobody makes; nothing was sent. The job server should sign it (a fixed-size PUT) or leave it out of `headers`"
    )]
    UnsignedContentLength {
        /// Which URL.
        what: TargetKind,
        /// The header's value.
        value: String,
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
}
