//! Verification: would S3 accept this presigned request or this POST form, and if not, why?
//!
//! For receivers that are not S3 but accept signpost's targets, for pre-flight checks, and for
//! tests (sign, then verify, holds; any tampering fails). The rules are S3's:
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html>.
//! Signatures are compared in constant time.
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, Presigner, PresignRequest, Verifier};
//! let creds = Credentials::new("AKID", "SECRET");
//! let p = Presigner::new(creds.clone(), Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?);
//! let put = p.presign(&PresignRequest::put_object("b", "k").content_type("video/mp4"))?;
//! let v = Verifier::new(creds, "us-east-1");
//! let now = time::OffsetDateTime::now_utc();
//! assert!(v.verify_presigned("PUT", put.url(), &[("Content-Type", "video/mp4")], now).is_ok());
//! assert!(v.verify_presigned("PUT", put.url(), &[("Content-Type", "text/html")], now).is_err());
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```

use signpost_wire::amz_date::format_amz_date;
use signpost_wire::{PolicyDocument, PolicyError, PolicyViolation, QueryAuth, QueryAuthError};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use signpost_wire::limits::{MAX_CLOCK_SKEW_SECS, MAX_EXPIRES_SECS};

use crate::canonical_request::{
    ALGORITHM, CanonicalParts, canonical_request_hash, canonical_request_string,
    normalize_header_value, string_to_sign,
};
use crate::credentials::Credentials;
use crate::signing_key::{DayRef, SigningKeyCache};
use crate::uri_encode::{encode_into, hex_into};

/// Why S3 would refuse the request. [`s3_code`](Self::s3_code) gives the code S3 answers.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The URL carries no SigV4 query parameters.
    #[error("the URL is not SigV4-presigned (no X-Amz-Algorithm)")]
    NotPresigned,
    /// A SigV4 parameter is missing or malformed.
    #[error(transparent)]
    Malformed(#[from] QueryAuthError),
    /// A POST form lacks a field.
    #[error("the POST form lacks the field {0}")]
    MissingField(&'static str),
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
        "the request is dated {date}, more than 15 minutes after now: check the signer's clock"
    )]
    NotYetValid {
        /// X-Amz-Date.
        date: OffsetDateTime,
    },
    /// Expired.
    #[error("the request expired at {expires_at} (request has expired): ask for a new URL")]
    Expired {
        /// Date + Expires.
        expires_at: OffsetDateTime,
    },
    /// The security token differs from the credentials'.
    #[error("the security token does not match the credentials'")]
    TokenMismatch,
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
        "SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided. Check your key and signing method."
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
            | VerifyError::UnsupportedAlgorithm(_) => "AuthorizationQueryParametersError",
            VerifyError::MissingField(_) | VerifyError::PolicyMalformed(_) => {
                "InvalidPolicyDocument"
            }
            VerifyError::UnknownAccessKey(_) => "InvalidAccessKeyId",
            VerifyError::NotYetValid { .. } => "RequestTimeTooSkewed",
            VerifyError::SignedHeaderMissing(_)
            | VerifyError::UnsignedHeader(_)
            | VerifyError::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            VerifyError::Policy(v) => v.s3_code(),
        }
    }
}

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

fn hex(b: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    hex_into(&mut s, b);
    s
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

    fn check_scope(
        &self,
        algorithm: &str,
        scope: &signpost_wire::CredentialScope,
    ) -> Result<(), VerifyError> {
        if algorithm != ALGORITHM {
            return Err(VerifyError::UnsupportedAlgorithm(algorithm.to_owned()));
        }
        if scope.access_key_id != self.credentials.access_key_id() {
            return Err(VerifyError::UnknownAccessKey(scope.access_key_id.clone()));
        }
        if scope.region != self.region {
            return Err(VerifyError::WrongRegion {
                expected: self.region.clone(),
                got: scope.region.clone(),
            });
        }
        if scope.service != "s3" {
            return Err(VerifyError::BadScope(format!(
                "service {:?}, expecting \"s3\"",
                scope.service
            )));
        }
        Ok(())
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

    /// Verifies a presigned request: `method`, the full `url` as received, the request's
    /// `headers` (Host may be omitted: it is taken from the URL), judged at `now`.
    pub fn verify_presigned(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let auth = QueryAuth::from_url(url)?.ok_or(VerifyError::NotPresigned)?;
        self.check_scope(&auth.algorithm, &auth.credential)?;
        let amz_date = format_amz_date(auth.date);
        let amz_date = std::str::from_utf8(&amz_date).unwrap_or_default();
        if auth.credential.date != amz_date[..8] {
            return Err(VerifyError::BadScope(format!(
                "scope date {} differs from X-Amz-Date {amz_date}",
                auth.credential.date
            )));
        }
        if !(1..=MAX_EXPIRES_SECS).contains(&auth.expires) {
            return Err(VerifyError::ExpiresOutOfRange(auth.expires));
        }
        if auth.date - now > Duration::seconds(MAX_CLOCK_SKEW_SECS) {
            return Err(VerifyError::NotYetValid { date: auth.date });
        }
        if now > auth.expires_at() {
            return Err(VerifyError::Expired {
                expires_at: auth.expires_at(),
            });
        }
        match (
            self.credentials.session_token(),
            auth.security_token
                .as_ref()
                .map(signpost_wire::Secret::expose),
        ) {
            (None, None) => {}
            (Some(a), Some(b)) if ct_eq(a, b) => {}
            _ => return Err(VerifyError::TokenMismatch),
        }

        // Split the URL as received: authority, raw path, raw query.
        let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
        let (authority, rest) = match after_scheme.find(['/', '?']) {
            Some(i) => after_scheme.split_at(i),
            None => (after_scheme, ""),
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));

        // Headers: every signed one present; every x-amz-* one signed.
        let mut canon: Vec<(String, String)> = Vec::with_capacity(auth.signed_headers.len());
        for name in &auth.signed_headers {
            let values: Vec<String> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| normalize_header_value(v).into_owned())
                .collect();
            let value = if values.is_empty() {
                if name == "host" {
                    authority.to_owned()
                } else {
                    return Err(VerifyError::SignedHeaderMissing(name.clone()));
                }
            } else {
                values.join(",")
            };
            canon.push((name.clone(), value));
        }
        for (n, _) in headers {
            let lower = n.to_ascii_lowercase();
            if lower.starts_with("x-amz-") && !auth.signed_headers.contains(&lower) {
                return Err(VerifyError::UnsignedHeader(lower));
            }
        }

        // Query: decoded, re-encoded, sorted, without the signature.
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if k == "X-Amz-Signature" {
                continue;
            }
            let mut ek = String::new();
            encode_into(&mut ek, &k, false);
            let mut ev = String::new();
            encode_into(&mut ev, &v, false);
            pairs.push((ek, ev));
        }
        pairs.sort_unstable();
        let q: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let h: Vec<(&str, &str)> = canon
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let parts = CanonicalParts {
            method,
            path,
            query: &q,
            headers: &h,
        };
        let scope = format!("{}/{}/s3/aws4_request", auth.credential.date, self.region);
        let sts = string_to_sign(amz_date, &scope, &canonical_request_hash(&parts));
        let expected = hex(&self.day(&auth.credential.date).mac.sign(&[sts.as_bytes()]));
        if !ct_eq(&expected, auth.signature.expose()) {
            return Err(VerifyError::SignatureDoesNotMatch {
                canonical_request: canonical_request_string(&parts),
                string_to_sign: sts,
            });
        }
        Ok(())
    }

    /// Verifies a POST form: the `url` it is posted to, its fields (names case-insensitive), the
    /// file's size, judged at `now`.
    pub fn verify_post<'a>(
        &self,
        url: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
        file_len: u64,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let get = |name: &'static str| {
            fields
                .clone()
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .ok_or(VerifyError::MissingField(name))
        };
        let policy_b64 = get("policy")?;
        let algorithm = get("x-amz-algorithm")?;
        let credential = signpost_wire::CredentialScope::parse(get("x-amz-credential")?)?;
        let date = get("x-amz-date")?;
        let signature = get("x-amz-signature")?;
        self.check_scope(algorithm, &credential)?;
        if !date.starts_with(&credential.date) {
            return Err(VerifyError::BadScope(format!(
                "scope date {} differs from x-amz-date {date}",
                credential.date
            )));
        }
        if let Some(token) = self.credentials.session_token() {
            let sent = get("x-amz-security-token").map_err(|_| VerifyError::TokenMismatch)?;
            if !ct_eq(token, sent) {
                return Err(VerifyError::TokenMismatch);
            }
        }
        let expected = hex(&self
            .day(&credential.date)
            .mac
            .sign(&[policy_b64.as_bytes()]));
        if !ct_eq(&expected, signature) {
            return Err(VerifyError::SignatureDoesNotMatch {
                canonical_request: String::new(),
                string_to_sign: policy_b64.to_owned(),
            });
        }
        let policy = PolicyDocument::from_base64(policy_b64)?;
        let bucket = bucket_of(url);
        policy.check_form(fields, bucket.as_deref(), Some(file_len), Some(now))?;
        Ok(())
    }
}

/// The bucket a POST URL names: the first path segment (path style) or the first host label.
fn bucket_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let first = parsed.path_segments()?.next().unwrap_or("");
    if !first.is_empty() {
        return url::form_urlencoded::parse(format!("b={first}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned());
    }
    parsed
        .host_str()
        .and_then(|h| h.split('.').next())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Endpoint, PresignRequest, Presigner};
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

    fn setup() -> (Presigner, Verifier) {
        let c = Credentials::new("AKID", "SECRET");
        (
            Presigner::new(
                c.clone(),
                Endpoint::custom("http://127.0.0.1:9000", "eu-west-1").unwrap(),
            ),
            Verifier::new(c, "eu-west-1"),
        )
    }

    #[test]
    fn rules_in_turn() {
        let (p, v) = setup();
        let put = p
            .presign(
                &PresignRequest::put_object("b", "k")
                    .meta("a", "1")
                    .validity(
                        crate::Validity::expires_in(std::time::Duration::from_secs(60))
                            .unwrap()
                            .signed_at(T)
                            .unwrap(),
                    ),
            )
            .unwrap();
        let h = [("x-amz-meta-a", "1")];
        assert_eq!(v.verify_presigned("PUT", put.url(), &h, T), Ok(()));
        assert!(matches!(
            v.verify_presigned("PUT", put.url(), &h, T + Duration::seconds(61)),
            Err(VerifyError::Expired { .. })
        ));
        assert!(matches!(
            v.verify_presigned("PUT", put.url(), &h, T - Duration::hours(1)),
            Err(VerifyError::NotYetValid { .. })
        ));
        assert!(matches!(
            v.verify_presigned("PUT", put.url(), &[], T),
            Err(VerifyError::SignedHeaderMissing(_))
        ));
        let extra = [("x-amz-meta-a", "1"), ("x-amz-acl", "public-read")];
        assert!(matches!(
            v.verify_presigned("PUT", put.url(), &extra, T),
            Err(VerifyError::UnsignedHeader(_))
        ));
        let e = v.verify_presigned("GET", put.url(), &h, T).unwrap_err();
        assert_eq!(e.s3_code(), "SignatureDoesNotMatch");
        if let VerifyError::SignatureDoesNotMatch {
            canonical_request, ..
        } = e
        {
            assert!(
                canonical_request.starts_with("GET\n/b/k\n"),
                "{canonical_request}"
            );
        }
        let other_region = Verifier::new(Credentials::new("AKID", "SECRET"), "us-east-1");
        let e = other_region
            .verify_presigned("PUT", put.url(), &h, T)
            .unwrap_err();
        assert!(e.to_string().contains("\"eu-west-1\""), "{e}");
        let wrong_key = Verifier::new(Credentials::new("AKID", "OTHER"), "eu-west-1");
        assert!(matches!(
            wrong_key.verify_presigned("PUT", put.url(), &h, T),
            Err(VerifyError::SignatureDoesNotMatch { .. })
        ));
        assert_eq!(
            v.verify_presigned("PUT", "http://127.0.0.1:9000/b/k", &[], T),
            Err(VerifyError::NotPresigned)
        );
    }

    #[test]
    fn post_forms() {
        let (p, v) = setup();
        let form = p
            .post_policy("b")
            .key_starts_with("up/")
            .content_length_range(1, 10)
            .validity(crate::Validity::default().signed_at(T).unwrap())
            .build()
            .unwrap();
        let mut fields: Vec<(String, String)> = form
            .fields
            .iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        fields[0].1 = "up/video.mp4".into();
        fn f(fs: &[(String, String)]) -> Vec<(&str, &str)> {
            fs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
        }
        assert_eq!(v.verify_post(&form.url, f(&fields), 5, T), Ok(()));
        assert_eq!(
            v.verify_post(&form.url, f(&fields), 11, T)
                .unwrap_err()
                .s3_code(),
            "EntityTooLarge"
        );
        let mut moved = fields.clone();
        moved[0].1 = "elsewhere/video.mp4".into();
        assert!(matches!(
            v.verify_post(&form.url, f(&moved), 5, T),
            Err(VerifyError::Policy(PolicyViolation::ConditionFailed { .. }))
        ));
        assert!(matches!(
            v.verify_post(&form.url, f(&fields), 5, T + Duration::hours(2)),
            Err(VerifyError::Policy(PolicyViolation::Expired { .. }))
        ));
        assert!(matches!(
            v.verify_post("http://127.0.0.1:9000/other", f(&fields), 5, T),
            Err(VerifyError::Policy(_))
        ));
        let mut extra = fields.clone();
        extra.insert(1, ("acl".into(), "public-read".into()));
        assert!(matches!(
            v.verify_post(&form.url, f(&extra), 5, T),
            Err(VerifyError::Policy(
                PolicyViolation::FieldNotInPolicy { .. }
            ))
        ));
        let mut tampered = fields.clone();
        let pol = tampered.iter_mut().find(|(k, _)| k == "policy").unwrap();
        pol.1 = pol.1.replace('A', "B");
        assert!(matches!(
            v.verify_post(&form.url, f(&tampered), 5, T),
            Err(VerifyError::SignatureDoesNotMatch { .. })
        ));
    }
}
