//! The `X-Amz-*` query parameters of a SigV4 presigned URL.
//!
//! Reading them needs no secret: the runner uses them to refuse an expired URL before sending
//! gigabytes, and the verifier starts from them.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use crate::sigv4::param::{
    X_AMZ_ALGORITHM, X_AMZ_CREDENTIAL, X_AMZ_DATE, X_AMZ_EXPIRES, X_AMZ_SECURITY_TOKEN,
    X_AMZ_SIGNATURE, X_AMZ_SIGNED_HEADERS,
};
use time::{Duration, OffsetDateTime};

use crate::amz_date::parse_amz_date;
use crate::redact::Secret;

/// `AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request`, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id.
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The service, `s3`.
    pub service: String,
}

impl CredentialScope {
    /// Parses `AKID/YYYYMMDD/region/service/aws4_request`.
    pub fn parse(s: &str) -> Result<Self, QueryAuthError> {
        let parts: Vec<&str> = s.split('/').collect();
        let invalid = |reason: &str| QueryAuthError::Invalid {
            param: X_AMZ_CREDENTIAL,
            reason: reason.to_owned(),
        };
        if parts.len() != 5 {
            return Err(invalid(
                "expected ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request",
            ));
        }
        if parts[4] != "aws4_request" {
            return Err(invalid("the scope must end with aws4_request"));
        }
        if parts[1].len() != 8 || !parts[1].bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the scope date is not YYYYMMDD"));
        }
        if parts[0].is_empty() || parts[2].is_empty() || parts[3].is_empty() {
            return Err(invalid("access key, region and service must not be empty"));
        }
        Ok(CredentialScope {
            access_key_id: parts[0].to_owned(),
            date: parts[1].to_owned(),
            region: parts[2].to_owned(),
            service: parts[3].to_owned(),
        })
    }
}

/// The SigV4 query parameters, as S3 spells them.
const PARAMS: [&str; 7] = crate::sigv4::param::ALL;

/// The SigV4 query parameters of a presigned URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryAuth {
    /// `X-Amz-Algorithm`, `AWS4-HMAC-SHA256`.
    pub algorithm: String,
    /// `X-Amz-Credential`.
    pub credential: CredentialScope,
    /// `X-Amz-Date`.
    pub date: OffsetDateTime,
    /// `X-Amz-Expires`, seconds.
    pub expires: u64,
    /// `X-Amz-SignedHeaders`, lowercase, in order.
    pub signed_headers: Vec<String>,
    /// `X-Amz-Signature`, lowercase hex.
    pub signature: Secret,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub security_token: Option<Secret>,
}

/// A presigned URL whose `X-Amz-*` parameters are incomplete or malformed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryAuthError {
    /// A required parameter is absent.
    #[error("the presigned URL lacks the query parameter {0}; was the query string cut off?")]
    Missing(&'static str),
    /// A parameter does not parse.
    #[error("the presigned URL's {param} is invalid: {reason}")]
    Invalid {
        /// The parameter.
        param: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl QueryAuth {
    /// Reads the SigV4 parameters from `url`'s query string.
    ///
    /// `Ok(None)` when the URL carries no `X-Amz-Algorithm` (it is not SigV4-presigned: a
    /// public bucket, or a receiver that is not S3); an error when it is presigned but a
    /// parameter is missing or malformed.
    ///
    /// ```
    /// use signpost_wire::QueryAuth;
    /// let url = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    ///     &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
    ///     &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
    ///     &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    /// let q = QueryAuth::from_url(url)?.unwrap();
    /// assert_eq!(q.credential.region, "us-east-1");
    /// assert_eq!(q.expires_at().unix_timestamp(), 1369353600 + 86400);
    /// # Ok::<(), signpost_wire::QueryAuthError>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Option<Self>, QueryAuthError> {
        let query = match url.split_once('?') {
            Some((_, q)) => q.split('#').next().unwrap_or(""),
            None => return Ok(None),
        };
        let mut values: [Option<String>; 7] = Default::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if let Some(i) = PARAMS.iter().position(|p| *p == k) {
                values[i] = Some(v.into_owned());
            }
        }
        Self::from_params(|name| {
            PARAMS
                .iter()
                .position(|p| *p == name)
                .and_then(|i| values[i].as_deref())
        })
    }

    /// Reads the SigV4 parameters from a query already split and decoded: `get` answers a
    /// parameter's value by its exact name. The lenient [`from_url`](Self::from_url) and the
    /// strict Verifier (which refuses duplicates and look-alike names first) both read the values
    /// here, so a date, an expiry or a credential scope means the same to both.
    pub fn from_params<'a>(
        get: impl Fn(&'static str) -> Option<&'a str>,
    ) -> Result<Option<Self>, QueryAuthError> {
        let Some(algorithm) = get(X_AMZ_ALGORITHM) else {
            return Ok(None);
        };
        let credential = CredentialScope::parse(
            get(X_AMZ_CREDENTIAL).ok_or(QueryAuthError::Missing(X_AMZ_CREDENTIAL))?,
        )?;
        let date_raw = get(X_AMZ_DATE).ok_or(QueryAuthError::Missing(X_AMZ_DATE))?;
        let date = parse_amz_date(date_raw).ok_or_else(|| QueryAuthError::Invalid {
            param: X_AMZ_DATE,
            reason: format!("`{date_raw}` is not YYYYMMDDTHHMMSSZ"),
        })?;
        let expires_raw = get(X_AMZ_EXPIRES).ok_or(QueryAuthError::Missing(X_AMZ_EXPIRES))?;
        let expires = expires_raw
            .parse::<u64>()
            .map_err(|_| QueryAuthError::Invalid {
                param: X_AMZ_EXPIRES,
                reason: format!("`{expires_raw}` is not a number of seconds"),
            })?;
        let signed_headers = get(X_AMZ_SIGNED_HEADERS)
            .ok_or(QueryAuthError::Missing(X_AMZ_SIGNED_HEADERS))?
            .split(';')
            .map(str::to_owned)
            .collect();
        let signature = get(X_AMZ_SIGNATURE).ok_or(QueryAuthError::Missing(X_AMZ_SIGNATURE))?;
        Ok(Some(QueryAuth {
            algorithm: algorithm.to_owned(),
            credential,
            date,
            expires,
            signed_headers,
            signature: Secret::from(signature.to_owned()),
            security_token: get(X_AMZ_SECURITY_TOKEN).map(|t| Secret::from(t.to_owned())),
        }))
    }

    /// The last instant at which S3 accepts the URL: `X-Amz-Date + X-Amz-Expires`.
    pub fn expires_at(&self) -> OffsetDateTime {
        let secs = i64::try_from(self.expires).unwrap_or(i64::MAX);
        self.date
            .checked_add(Duration::seconds(secs))
            .unwrap_or(self.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn absent_and_partial() {
        assert_eq!(QueryAuth::from_url("http://h/k"), Ok(None));
        assert_eq!(QueryAuth::from_url("http://h/k?a=1"), Ok(None));
        let e = QueryAuth::from_url("http://h/k?X-Amz-Algorithm=AWS4-HMAC-SHA256").unwrap_err();
        assert_eq!(e, QueryAuthError::Missing("X-Amz-Credential"));
        assert!(e.to_string().contains("cut off"));
        let e = QueryAuth::from_url(
            "http://h/k?X-Amz-Algorithm=A&X-Amz-Credential=AK%2F20130524%2Fr%2Fs3%2Faws4_request&X-Amz-Date=2013",
        )
        .unwrap_err();
        assert!(matches!(
            e,
            QueryAuthError::Invalid {
                param: "X-Amz-Date",
                ..
            }
        ));
    }

    #[test]
    fn debug_hides_signature_and_token() {
        let url = "http://h/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fr%2Fs3%2Faws4_request\
            &X-Amz-Date=20130524T000000Z&X-Amz-Expires=5&X-Amz-SignedHeaders=host&X-Amz-Signature=SECRETSIG&X-Amz-Security-Token=TOK";
        let q = QueryAuth::from_url(url).unwrap().unwrap();
        assert_eq!(q.security_token.as_ref().map(Secret::expose), Some("TOK"));
        let s = format!("{q:?}");
        assert!(!s.contains("SECRETSIG") && !s.contains("TOK\""), "{s}");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = QueryAuth::from_url(&s);
            let _ = QueryAuth::from_url(&format!("http://h/?X-Amz-Algorithm=x&{s}"));
        }
    }
}
