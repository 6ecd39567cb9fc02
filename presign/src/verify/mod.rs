//! Verification: would S3 accept this presigned request or this POST form, and if not, why?
//!
//! For receivers that are not S3 but accept signpost's targets (`signpost gateway`), for
//! pre-flight checks, and for tests (sign, then verify, holds; any tampering fails). The rules are
//! S3's: <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html>.
//!
//! # The rule: never accept what S3 refuses
//!
//! The Verifier fails closed. Where S3 servers disagree it follows AWS's documented rule where
//! there is one and otherwise refuses: it may be stricter than a server, never looser. Each case,
//! as measured against s3s-fs 0.14, Garage 2.5 and Ceph radosgw 16.2:
//!
//! | case | servers | the Verifier |
//! |---|---|---|
//! | method not GET/PUT/POST/DELETE/HEAD in upper case (`put`) | refuse (400/405/501) | refuses |
//! | no `Host` header, or two | refuse | refuses |
//! | an `Authorization` header beside query authentication | AWS: "only one auth mechanism" | refuses |
//! | a query parameter twice (names decoded first, so `X-Amz-%53ignature` is `X-Amz-Signature`) | refuse, except Ceph which takes the last | refuses any duplicate |
//! | a SigV4 parameter spelled otherwise (`X-Amz-%53ignature` alone, `x-amz-date`) | differ | refuses |
//! | the path | decoded, then URI-encoded once (`/` kept) | the same: `%2F` signed inside a key is refused, `held%6Fut` is accepted as `heldout`, `%c3%a9` signed in lower case is refused |
//! | `X-Amz-Date` more than 15 minutes ahead | AWS refuses; Garage and Ceph accept an hour | refuses (RequestTimeTooSkewed) |
//! | past `X-Amz-Date + X-Amz-Expires`, or `X-Amz-Expires` outside 1 to 604800 | refuse | refuses |
//! | another region in the scope | AWS and Garage refuse; Ceph and s3s ignore it | refuses |
//! | `X-Amz-SignedHeaders` without `host`, unsorted, repeated or not lower case | AWS requires host | refuses |
//! | an `x-amz-*` header sent but not signed | AWS refuses | refuses, except `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which every server accepts |
//! | a session token that is not the credentials' (or one where there is none) | refuse | refuses |
//! | a POST form field twice, in any letter case (`key` and `Key`) | s3s-fs and Ceph read the last, Garage refuses | refuses |
//! | a POST form field the policy does not name, a broken condition, an expired policy | refuse | refuses |
//!
//! Signatures are compared in constant time.
//!
//! # What it cannot see: the body
//!
//! The Verifier checks the request line, the headers and the form fields, never the body. What
//! a body must satisfy comes back as [`BodyRules`] (a signed or announced `Content-Length`, the
//! policy's `content-length-range`, a `Content-MD5`): a receiver counts and hashes the body as it
//! streams and calls [`BodyRules::check_progress`] and [`BodyRules::check_complete`], which answer
//! S3's codes (EntityTooLarge, EntityTooSmall, IncompleteBody, BadDigest).
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, Presigner, PresignRequest, Verifier};
//! let creds = Credentials::new("AKID", "SECRET");
//! let p = Presigner::new(creds.clone(), Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?);
//! let put = p.presign(&PresignRequest::put_object("b", "k").content_type("video/mp4"))?;
//! let v = Verifier::new(creds, "us-east-1");
//! let now = time::OffsetDateTime::now_utc();
//! let host = ("Host", "127.0.0.1:9000");
//! let ok = v.verify_presigned("PUT", put.url(), &[host, ("Content-Type", "video/mp4")], now)?;
//! assert_eq!(ok.path(), "/b/k");
//! assert!(v.verify_presigned("PUT", put.url(), &[host, ("Content-Type", "text/html")], now).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod body;
mod error;
mod post;
mod presigned;
#[cfg(test)]
mod tests;

pub use body::BodyRules;
pub use error::VerifyError;
pub use post::VerifiedForm;
pub use presigned::VerifiedRequest;

use signpost_wire::CredentialScope;
use subtle::ConstantTimeEq;

use crate::canonical_request::ALGORITHM;
use crate::credentials::Credentials;
use crate::signing_key::{DayRef, SERVICE, SigningKeyCache};

/// Checks requests and forms against one set of credentials and a region.
#[derive(Debug)]
pub struct Verifier {
    credentials: Credentials,
    region: String,
    keys: SigningKeyCache,
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Verifier {
    /// A verifier for `credentials` in `region`.
    pub fn new(credentials: Credentials, region: impl Into<String>) -> Self {
        Verifier {
            credentials,
            region: region.into(),
            keys: SigningKeyCache::default(),
        }
    }

    /// The region requests must be signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn check_scope(&self, algorithm: &str, scope: &CredentialScope) -> Result<(), VerifyError> {
        if algorithm != ALGORITHM {
            return Err(VerifyError::UnsupportedAlgorithm(algorithm.to_owned()));
        }
        if !ct_eq(&scope.access_key_id, self.credentials.access_key_id()) {
            return Err(VerifyError::UnknownAccessKey(scope.access_key_id.clone()));
        }
        if scope.region != self.region {
            return Err(VerifyError::WrongRegion {
                expected: self.region.clone(),
                got: scope.region.clone(),
            });
        }
        if scope.service != SERVICE {
            return Err(VerifyError::BadScope(format!(
                "service {:?}, expecting \"s3\"",
                scope.service
            )));
        }
        Ok(())
    }

    /// The session token sent must be the credentials' own, and none sent when they have none.
    fn check_token(&self, sent: Option<&str>) -> Result<(), VerifyError> {
        match (self.credentials.session_token(), sent) {
            (None, None) => Ok(()),
            (Some(a), Some(b)) if ct_eq(a, b) => Ok(()),
            _ => Err(VerifyError::TokenMismatch),
        }
    }

    /// The day's signing key for a scope date (`YYYYMMDD`, checked by `CredentialScope::parse`),
    /// from the same per-day cache the presigner uses.
    fn day(&self, date: &str) -> DayRef {
        let day: [u8; 8] = date.as_bytes().try_into().unwrap_or([b'0'; 8]);
        self.keys.get(
            self.credentials.access_key_id(),
            self.credentials.secret(),
            &day,
            &self.region,
        )
    }
}
