//! The errors of signing: each names the value and the rule it breaks.

use time::OffsetDateTime;

/// Shortest expiry S3 accepts: 1 second.
pub const MIN_EXPIRES_SECS: u64 = 1;
/// Longest expiry S3 accepts for SigV4: 7 days.
pub const MAX_EXPIRES_SECS: u64 = 7 * 24 * 3600;

/// Why a request could not be signed.
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
    #[error("the object key is {len} bytes long; S3 allows at most 1024 bytes (UTF-8)")]
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
        "expiry of {seconds} s is out of range: SigV4 presigned requests expire in 1 to 604800 seconds (7 days)"
    )]
    ExpiryOutOfRange {
        /// The expiry asked for.
        seconds: u64,
    },
    /// The signing time plus expiry is not a representable time.
    #[error("signing time {at} is out of range")]
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
    #[error("part number {0} is out of range: S3 numbers parts 1 to 10000")]
    InvalidPartNumber(u32),
    /// An empty upload id.
    #[error("the multipart upload id is empty")]
    EmptyUploadId,
    /// A POST policy that cannot be built as asked.
    #[error("POST policy: {0}")]
    Policy(String),
    /// A multipart plan that S3 would refuse.
    #[error("multipart plan: {0}")]
    Multipart(String),
    /// The CreateMultipartUpload response has no upload id.
    #[error("the CreateMultipartUpload response is not what S3 returns: {0}")]
    InitiateResponse(String),
}
