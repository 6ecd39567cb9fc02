//! The errors of signing: each names the value and the rule it breaks.

use signpost_wire::PolicyViolation;
use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::limits::{MAX_EXPIRES_SECS, MAX_KEY_BYTES, MAX_PARTS};
use signpost_wire::s3_xml::{ErrorResponse, XmlError};
use time::OffsetDateTime;

/// Why a request, a form or a plan could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PresignError {
    /// An environment variable with credentials is unset.
    #[error(
        "{variable} is not set: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)"
    )]
    MissingCredentials {
        /// The variable.
        variable: &'static str,
    },
    /// The credentials had expired at the signing time.
    #[error(
        "the credentials expired at {}, before the signing time {}: refresh them (a new session token, or the source that issued them) and sign again",
        format_rfc3339(*.expired_at),
        format_rfc3339(*.signed_at)
    )]
    CredentialsExpired {
        /// When they expired.
        expired_at: OffsetDateTime,
        /// The signing time.
        signed_at: OffsetDateTime,
    },
    /// Strict expiry: the URL would outlive the credentials that sign it.
    #[error(
        "the URL would be valid until {}, but the credentials that sign it expire at {end} and S3 refuses it from then on: ask for a shorter expiry, sign with longer-lived credentials, or drop strict expiry to have it cut to {end}",
        format_rfc3339(*.requested),
        end = format_rfc3339(*.credentials_expire)
    )]
    ExpiryBeyondCredentials {
        /// The end asked for.
        requested: OffsetDateTime,
        /// When the credentials expire.
        credentials_expire: OffsetDateTime,
    },
    /// No credentials were loaded from the provider yet, or loading them failed.
    #[error("no credentials from the provider: {reason}")]
    CredentialsUnavailable {
        /// What the provider said.
        reason: String,
    },
    /// The bucket name is empty.
    #[error("the bucket name is empty")]
    EmptyBucket,
    /// The bucket name breaks a rule.
    #[error("invalid bucket name {bucket:?}: {rule}")]
    InvalidBucketName {
        /// The name.
        bucket: String,
        /// The rule.
        rule: &'static str,
    },
    /// The key is empty.
    #[error("the object key is empty")]
    EmptyKey,
    /// The key is longer than S3 allows.
    #[error("the object key is {len} bytes long; S3 allows at most {MAX_KEY_BYTES} bytes (UTF-8)")]
    KeyTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The key has a `.` or `..` segment.
    #[error(
        "the object key {key:?} has a '.' or '..' path segment, which HTTP clients remove from URLs; choose a key without one"
    )]
    KeyDotSegment {
        /// The key.
        key: String,
    },
    /// A bucket operation given a key.
    #[error("a bucket operation has no object key; leave the key empty")]
    KeyOnBucketOperation,
    /// The endpoint URL does not parse or has parts an endpoint cannot have.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// The endpoint's scheme is not http(s).
    #[error(
        "endpoint {endpoint:?} uses the unsupported scheme {scheme:?}: use http:// or https://"
    )]
    UnsupportedScheme {
        /// The endpoint.
        endpoint: String,
        /// The scheme.
        scheme: String,
    },
    /// The region is empty or has characters a region cannot have.
    #[error("invalid region {region:?}: a region is letters, digits and '-' (e.g. us-east-1)")]
    InvalidRegion {
        /// The region.
        region: String,
    },
    /// The expiry is outside 1 second to 7 days.
    #[error(
        "expiry of {seconds} s is out of range: SigV4 presigned requests expire in 1 to {MAX_EXPIRES_SECS} seconds (7 days)"
    )]
    ExpiryOutOfRange {
        /// The expiry asked for.
        seconds: u64,
    },
    /// The signing time, or the signing time plus expiry, is outside the years SigV4 can write.
    #[error("signing time {at} is out of range: SigV4 dates are years 0000 to 9999")]
    TimeOutOfRange {
        /// The time.
        at: OffsetDateTime,
    },
    /// A header that cannot be signed.
    #[error("header {name:?} cannot be signed: {reason}")]
    UnsignableHeader {
        /// The header.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A header or field value that cannot be sent.
    #[error("the value of {name:?} cannot be sent: {reason}")]
    InvalidValue {
        /// The header or field.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A part number outside 1..=10000.
    #[error("part number {0} is out of range: S3 numbers parts 1 to {MAX_PARTS}")]
    InvalidPartNumber(u32),
    /// An empty upload id.
    #[error("the multipart upload id is empty")]
    EmptyUploadId,
    /// Only PUT and POST requests are uploads.
    #[error(
        "a presigned {method} request is not an upload target: a runner uploads with PUT (PutObject) or POST (a POST policy form)"
    )]
    NotAnUpload {
        /// The request's method.
        method: http::Method,
    },
    /// A POST policy without a key condition.
    #[error("POST policy: set the key or a key prefix (key / key_starts_with)")]
    PolicyWithoutKey,
    /// `content-length-range` with min > max.
    #[error("POST policy: content-length-range minimum {min} exceeds maximum {max}")]
    LengthRangeInverted {
        /// The minimum.
        min: u64,
        /// The maximum.
        max: u64,
    },
    /// A `success_action_status` S3 does not offer.
    #[error("POST policy: success_action_status {0} is not one of 200, 201, 204")]
    SuccessStatus(u16),
    /// A form field given twice.
    #[error("POST policy: field {0:?} is given twice")]
    FieldGivenTwice(String),
    /// A form field the builder writes itself.
    #[error("POST policy: field {0:?} is set by the builder itself")]
    FieldSetByBuilder(String),
    /// A form field name a form cannot carry.
    #[error("POST policy: field name {0:?} cannot be sent in a form")]
    InvalidFieldName(String),
    /// The builder made a form its own policy refuses (a bug, reported rather than signed).
    #[error("POST policy: the built form breaks its own policy: {0}")]
    FormBreaksPolicy(#[source] PolicyViolation),
    /// A part size outside S3's range.
    #[error("multipart plan: part size {part_size} is outside S3's 5 MiB to 5 GiB")]
    PartSizeOutOfRange {
        /// The size asked for.
        part_size: u64,
    },
    /// A multipart plan without a part size or a maximum size.
    #[error("multipart plan: {0} is not set")]
    PlanIncomplete(&'static str),
    /// An object over S3's 5 TiB.
    #[error("multipart plan: {size} bytes is over S3's largest object, 5 TiB")]
    ObjectTooLarge {
        /// The size asked for.
        size: u64,
    },
    /// More parts than S3 allows.
    #[error(
        "multipart plan: {parts} parts of {part_size} bytes would be needed; S3 allows {MAX_PARTS}: use parts of at least {min_part_size} bytes"
    )]
    TooManyParts {
        /// Parts needed.
        parts: u64,
        /// The part size asked for.
        part_size: u64,
        /// The smallest part size that fits.
        min_part_size: u64,
    },
    /// CreateMultipartUpload answered an error document.
    #[error("CreateMultipartUpload was refused: {0}")]
    InitiateRefused(Box<ErrorResponse>),
    /// CreateMultipartUpload answered something that is not its document.
    #[error("the CreateMultipartUpload response is not what S3 returns: {0}")]
    InitiateResponse(#[source] XmlError),
}
