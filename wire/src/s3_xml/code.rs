//! S3's error codes, typed: the ones signpost reads, writes or explains have their own variant;
//! any other is kept as [`S3ErrorCode::Other`], spelled as the server sent it.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList>.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// An S3 error code (`<Code>` of an error document).
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum S3ErrorCode {
            $($(#[$doc])* $name,)*
            /// A code without a variant here, as the server spelled it (empty when it sent none).
            #[default]
            Unknown,
            /// Any other code, as the server spelled it.
            Other(String),
        }

        impl S3ErrorCode {
            /// The code as S3 spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(S3ErrorCode::$name => stringify!($name),)*
                    S3ErrorCode::Unknown => "",
                    S3ErrorCode::Other(s) => s,
                }
            }
        }

        impl From<&str> for S3ErrorCode {
            fn from(s: &str) -> Self {
                match s {
                    $(stringify!($name) => S3ErrorCode::$name,)*
                    "" => S3ErrorCode::Unknown,
                    other => S3ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

codes! {
    /// 403: the request is not allowed (a policy condition, an expired URL on AWS, …).
    AccessDenied,
    /// 400: the credential's region is not the bucket's (header auth; the answer names it).
    AuthorizationHeaderMalformed,
    /// 400: a presigned query's auth parameters are malformed.
    AuthorizationQueryParametersError,
    /// 400: the bytes received are not the ones `Content-MD5` (or a checksum) describes.
    BadDigest,
    /// 409: CreateBucket for a bucket the caller owns already.
    BucketAlreadyOwnedByYou,
    /// 400: the body is larger than allowed.
    EntityTooLarge,
    /// 400: a part other than the last is smaller than 5 MiB.
    EntityTooSmall,
    /// 400: the session token has expired.
    ExpiredToken,
    /// 400: fewer bytes arrived than `Content-Length` announced.
    IncompleteBody,
    /// 500: the server failed; try again.
    InternalError,
    /// 403: the access key is unknown to the server.
    InvalidAccessKeyId,
    /// 400: the region is not the bucket's (CreateBucket and others).
    IllegalLocationConstraintException,
    /// 400: an argument is invalid.
    InvalidArgument,
    /// 400: the bucket name breaks S3's rules.
    InvalidBucketName,
    /// 400: a part named in CompleteMultipartUpload is missing or its ETag differs.
    InvalidPart,
    /// 400: CompleteMultipartUpload's parts are not in ascending order.
    InvalidPartOrder,
    /// 400: the request is not valid (Garage's answer for many refusals).
    InvalidRequest,
    /// 400: the session token is not valid for this key.
    InvalidToken,
    /// 400: the XML body is not well formed.
    MalformedXML,
    /// 405: the method is not allowed on this resource.
    MethodNotAllowed,
    /// 404: the bucket does not exist.
    NoSuchBucket,
    /// 404: the key does not exist.
    NoSuchKey,
    /// 404: the multipart upload does not exist (completed or aborted).
    NoSuchUpload,
    /// 501: the server does not implement this.
    NotImplemented,
    /// 403: the account is not signed up for the service (an unknown key on some servers).
    NotSignedUp,
    /// 301: the bucket is in another region; the answer names its endpoint.
    PermanentRedirect,
    /// 412: a condition (`If-None-Match`, `If-Match`) failed.
    PreconditionFailed,
    /// 400: the connection was idle too long while the body was read.
    RequestTimeout,
    /// 403: the request's time is too far from the server's.
    RequestTimeTooSkewed,
    /// 503: the server is unavailable; try again.
    ServiceUnavailable,
    /// 403: the signature computed by the server differs.
    SignatureDoesNotMatch,
    /// 503: too many requests; slow down and try again.
    SlowDown,
}

impl S3ErrorCode {
    /// Whether the code says a retry later may succeed (S3 asks for one on these).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            S3ErrorCode::SlowDown
                | S3ErrorCode::BadDigest
                | S3ErrorCode::RequestTimeout
                | S3ErrorCode::InternalError
                | S3ErrorCode::ServiceUnavailable
        )
    }
}

impl From<String> for S3ErrorCode {
    fn from(s: String) -> Self {
        S3ErrorCode::from(s.as_str())
    }
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for S3ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for S3ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for S3ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for S3ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(S3ErrorCode::from(String::deserialize(d)?.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_as_they_are_spelled() {
        for s in [
            "NoSuchUpload",
            "SlowDown",
            "SignatureDoesNotMatch",
            "XAmzContentSHA256Mismatch",
            "",
        ] {
            let c = S3ErrorCode::from(s);
            assert_eq!(c.as_str(), s);
            assert_eq!(c, s);
        }
        assert_eq!(S3ErrorCode::from("NoSuchUpload"), S3ErrorCode::NoSuchUpload);
        assert!(matches!(
            S3ErrorCode::from("Nosuchupload"),
            S3ErrorCode::Other(_)
        ));
        assert!(S3ErrorCode::SlowDown.is_transient());
        assert!(!S3ErrorCode::AccessDenied.is_transient());
    }
}
