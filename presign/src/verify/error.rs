//! Why the Verifier refuses, and the S3 error code and status each refusal answers.

use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::{PolicyError, PolicyViolation, QueryAuthError};
use time::OffsetDateTime;

/// Why S3 would refuse the request. [`s3_code`](Self::s3_code) and [`status`](Self::status) give
/// what a receiver answers.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The URL carries no SigV4 query parameters.
    #[error("the URL is not SigV4-presigned (no X-Amz-Algorithm)")]
    NotPresigned,
    /// A SigV4 parameter is missing or malformed.
    #[error(transparent)]
    Malformed(#[from] QueryAuthError),
    /// A query parameter appears twice (names compared after percent-decoding).
    #[error(
        "the query parameter {0} appears twice: S3 takes one value per parameter; send the URL as signed"
    )]
    DuplicateParameter(String),
    /// A SigV4 parameter spelled other than S3 spells it (`X-Amz-%53ignature`, `x-amz-date`).
    #[error(
        "the query parameter {0:?} is a SigV4 parameter spelled another way; S3 reads only the exact spelling"
    )]
    AmbiguousParameter(String),
    /// The query string or path has a malformed percent-escape.
    #[error("the request {0} has a malformed percent-escape")]
    MalformedEscape(&'static str),
    /// Not one of S3's methods, or not in upper case.
    #[error("{0:?} is not an S3 method: S3 takes GET, PUT, POST, DELETE and HEAD, in upper case")]
    InvalidMethod(String),
    /// No `Host` header.
    #[error("the request has no Host header, which SigV4 signs and HTTP/1.1 requires")]
    MissingHost,
    /// Query authentication together with an `Authorization` header.
    #[error(
        "only one auth mechanism allowed: the request has both X-Amz-Algorithm in the query and an Authorization header"
    )]
    TwoAuthMechanisms,
    /// A POST form lacks a field.
    #[error("the POST form lacks the field {0}")]
    MissingField(&'static str),
    /// A POST form field appears twice (names are case-insensitive).
    #[error(
        "the POST form has the field {0:?} twice (field names are case-insensitive); S3 servers disagree on which copy counts, so it is refused"
    )]
    DuplicateField(String),
    /// Not `AWS4-HMAC-SHA256`.
    #[error("unsupported signing algorithm {0:?}: S3 SigV4 uses AWS4-HMAC-SHA256")]
    UnsupportedAlgorithm(String),
    /// The access key is not the verifier's.
    #[error("the access key {0:?} is not known to this receiver")]
    UnknownAccessKey(String),
    /// The credential scope names another region.
    #[error(
        "the request is signed for region {got:?}, expecting {expected:?}: sign with the receiver's region"
    )]
    WrongRegion {
        /// The receiver's region.
        expected: String,
        /// The scope's region.
        got: String,
    },
    /// The scope names another service, or its date differs from X-Amz-Date.
    #[error("the credential scope is invalid: {0}")]
    BadScope(String),
    /// `X-Amz-Expires` outside 1..=604800.
    #[error("X-Amz-Expires {0} is out of range: S3 accepts 1 to 604800 seconds")]
    ExpiresOutOfRange(u64),
    /// Signed for a time too far in the future.
    #[error(
        "the request is dated {}, more than 15 minutes after now: check the signer's clock",
        format_rfc3339(*.date)
    )]
    NotYetValid {
        /// X-Amz-Date.
        date: OffsetDateTime,
    },
    /// Expired.
    #[error("the request expired at {} (request has expired): ask for a new URL", format_rfc3339(*.expires_at))]
    Expired {
        /// Date + Expires.
        expires_at: OffsetDateTime,
    },
    /// The security token differs from the credentials'.
    #[error("the security token does not match the credentials'")]
    TokenMismatch,
    /// `X-Amz-SignedHeaders` does not include `host`.
    #[error("X-Amz-SignedHeaders must include host")]
    HostNotSigned,
    /// A signed header was not sent.
    #[error("the signed header {0:?} is missing from the request")]
    SignedHeaderMissing(String),
    /// An `x-amz-*` header was sent but not signed.
    #[error(
        "the header {0:?} is sent but not signed: S3 requires every x-amz-* header to be signed"
    )]
    UnsignedHeader(String),
    /// The signature does not match.
    #[error(
        "the request signature we calculated does not match the signature you provided. Check your key and signing method."
    )]
    SignatureDoesNotMatch {
        /// The canonical request computed here (as S3 shows it).
        canonical_request: String,
        /// The string to sign computed here.
        string_to_sign: String,
    },
    /// The policy does not parse.
    #[error(transparent)]
    PolicyMalformed(#[from] PolicyError),
    /// The form breaks its policy.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The body is longer than signed or allowed.
    #[error("the body is {size} bytes, over the {limit} bytes allowed")]
    EntityTooLarge {
        /// Bytes received.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The body is shorter than the policy allows.
    #[error("the body is {size} bytes, under the {limit} bytes required")]
    EntityTooSmall {
        /// Bytes received.
        size: u64,
        /// The minimum.
        limit: u64,
    },
    /// The body ended before its signed Content-Length.
    #[error("the body ended after {size} of {expected} bytes")]
    IncompleteBody {
        /// Bytes received.
        size: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// A `Content-Length` that is not a number.
    #[error("Content-Length {0:?} is not a number of bytes")]
    BadContentLength(String),
    /// A `Content-MD5` that is not the base64 of 16 bytes.
    #[error(
        "the Content-MD5 you specified is not valid: it is the base64 of the body's 16-byte MD5"
    )]
    InvalidDigest,
    /// The body's MD5 differs from its Content-MD5.
    #[error("the Content-MD5 you specified did not match what we received")]
    BadDigest,
}

impl VerifyError {
    /// The S3 error code AWS answers for this.
    pub fn s3_code(&self) -> &'static str {
        match self {
            VerifyError::NotPresigned
            | VerifyError::Expired { .. }
            | VerifyError::TokenMismatch => "AccessDenied",
            VerifyError::Malformed(_)
            | VerifyError::WrongRegion { .. }
            | VerifyError::BadScope(_)
            | VerifyError::ExpiresOutOfRange(_)
            | VerifyError::UnsupportedAlgorithm(_)
            | VerifyError::DuplicateParameter(_)
            | VerifyError::AmbiguousParameter(_)
            | VerifyError::HostNotSigned => "AuthorizationQueryParametersError",
            VerifyError::MalformedEscape(_) => "InvalidURI",
            VerifyError::InvalidMethod(_) => "MethodNotAllowed",
            VerifyError::MissingHost
            | VerifyError::TwoAuthMechanisms
            | VerifyError::DuplicateField(_)
            | VerifyError::BadContentLength(_) => "InvalidArgument",
            VerifyError::MissingField(_) | VerifyError::PolicyMalformed(_) => {
                "InvalidPolicyDocument"
            }
            VerifyError::UnknownAccessKey(_) => "InvalidAccessKeyId",
            VerifyError::NotYetValid { .. } => "RequestTimeTooSkewed",
            VerifyError::SignedHeaderMissing(_)
            | VerifyError::UnsignedHeader(_)
            | VerifyError::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            VerifyError::Policy(v) => v.s3_code(),
            VerifyError::EntityTooLarge { .. } => "EntityTooLarge",
            VerifyError::EntityTooSmall { .. } => "EntityTooSmall",
            VerifyError::IncompleteBody { .. } => "IncompleteBody",
            VerifyError::BadDigest => "BadDigest",
            VerifyError::InvalidDigest => "InvalidDigest",
        }
    }

    /// The HTTP status S3 answers with [`s3_code`](Self::s3_code).
    pub fn status(&self) -> u16 {
        match self.s3_code() {
            "AccessDenied"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "RequestTimeTooSkewed" => 403,
            "MethodNotAllowed" => 405,
            _ => 400,
        }
    }
}
