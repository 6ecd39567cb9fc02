//! Verifying a presigned (query-signed) request as a receiver gets it: method, request target,
//! headers.

use signpost_wire::amz_date::format_amz_date;
use signpost_wire::limits::{MAX_CLOCK_SKEW_SECS, MAX_EXPIRES_SECS};
use signpost_wire::sigv4::param::{
    X_AMZ_ALGORITHM, X_AMZ_DATE, X_AMZ_EXPIRES, X_AMZ_SECURITY_TOKEN, X_AMZ_SIGNATURE,
    X_AMZ_SIGNED_HEADERS,
};
use signpost_wire::{QueryAuth, QueryAuthError};
use time::{Duration, OffsetDateTime};

use super::{BodyRules, Verifier, VerifyError, ct_eq};
use crate::canonical_request::{
    CanonicalParts, canonical_request_hash, canonical_request_string, normalize_header_value,
    string_to_sign,
};
use crate::uri_encode::{
    decode_path, decode_query_component, encode_component_bytes_into, encode_path_bytes_into,
    hex_into,
};

/// The methods S3 answers, spelled as S3 spells them.
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// The SigV4 query parameters, spelled as S3 reads them.
const SIGV4_PARAMS: [&str; 7] = signpost_wire::sigv4::param::ALL;

/// SigV2's query authentication: never beside SigV4's.
const SIGV2_PARAMS: [&str; 2] = ["Signature", "AWSAccessKeyId"];

/// What was verified: a receiver acts on these values, not on its own reading of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedRequest {
    /// The method.
    pub method: String,
    /// The path, percent-decoded (`/bucket/key` path-style, `/key` virtual-hosted).
    pub path_bytes: Vec<u8>,
    /// The query parameters, decoded, the signature excluded, in the order received.
    pub query: Vec<(String, String)>,
    /// The last instant the URL is accepted.
    pub expires_at: OffsetDateTime,
    /// The signed headers, lower case.
    pub signed_headers: Vec<String>,
    /// What the body must satisfy.
    pub body: BodyRules,
}

impl VerifiedRequest {
    /// The decoded path as text (invalid UTF-8 replaced; use `path_bytes` to be exact).
    pub fn path(&self) -> String {
        String::from_utf8_lossy(&self.path_bytes).into_owned()
    }

    /// A query parameter's decoded value.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A query parameter: raw name as sent, decoded name and value.
struct Param {
    raw_name: String,
    name: String,
    value: String,
}

fn decode(s: &str, what: &'static str) -> Result<String, VerifyError> {
    decode_query_component(s)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or(VerifyError::MalformedEscape(what))
}

/// Splits the query the way S3 reads it and refuses what servers read differently.
fn parse_query(query: &str) -> Result<Vec<Param>, VerifyError> {
    let mut params: Vec<Param> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name, "query string")?;
        let value = decode(raw_value, "query string")?;
        if let Some(sig) = SIGV4_PARAMS
            .iter()
            .chain(&SIGV2_PARAMS)
            .find(|p| p.eq_ignore_ascii_case(&name))
            && raw_name != *sig
        {
            return Err(VerifyError::AmbiguousParameter(raw_name.to_owned()));
        }
        if params.iter().any(|p| p.name == name) {
            return Err(VerifyError::DuplicateParameter(name));
        }
        params.push(Param {
            raw_name: raw_name.to_owned(),
            name,
            value,
        });
    }
    Ok(params)
}

fn param<'a>(params: &'a [Param], name: &'static str) -> Result<&'a str, VerifyError> {
    params
        .iter()
        .find(|p| p.raw_name == name)
        .map(|p| p.value.as_str())
        .ok_or(VerifyError::Malformed(QueryAuthError::Missing(name)))
}

fn invalid(param: &'static str, reason: String) -> VerifyError {
    VerifyError::Malformed(QueryAuthError::Invalid { param, reason })
}

/// `X-Amz-SignedHeaders`: lower-case tokens, sorted, each once, `host` among them.
fn parse_signed_headers(list: &str) -> Result<Vec<String>, VerifyError> {
    let names: Vec<String> = list.split(';').map(str::to_owned).collect();
    let ok = names
        .iter()
        .all(|n| signpost_wire::is_token(n) && !n.bytes().any(|b| b.is_ascii_uppercase()))
        && names.windows(2).all(|w| w[0] < w[1]);
    if !ok {
        return Err(invalid(
            X_AMZ_SIGNED_HEADERS,
            "the header names are lower case, sorted and each given once".into(),
        ));
    }
    if !names.iter().any(|n| n == "host") {
        return Err(VerifyError::HostNotSigned);
    }
    Ok(names)
}

impl Verifier {
    /// Verifies a presigned request as received: `method` as on the request line, `target` the
    /// request target as received (`/bucket/key?X-Amz-…`, or a full URL, whose scheme and
    /// authority are then ignored: the `Host` header is what counts), every header received,
    /// judged at `now`.
    pub fn verify_presigned(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        now: OffsetDateTime,
    ) -> Result<VerifiedRequest, VerifyError> {
        if !METHODS.contains(&method) {
            return Err(VerifyError::InvalidMethod(method.to_owned()));
        }
        let target = match target.split_once("://") {
            Some((scheme, rest)) if !scheme.contains('/') => {
                &rest[rest.find(['/', '?']).unwrap_or(rest.len())..]
            }
            _ => target,
        };
        let target = target.split('#').next().unwrap_or("");
        let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let hosts: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| *v)
            .collect();
        if hosts.len() != 1 {
            return Err(VerifyError::MissingHost);
        }
        if headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            return Err(VerifyError::TwoAuthMechanisms);
        }
        let params = parse_query(raw_query)?;
        if !params.iter().any(|p| p.raw_name == X_AMZ_ALGORITHM) {
            return Err(VerifyError::NotPresigned);
        }
        if params
            .iter()
            .any(|p| SIGV2_PARAMS.contains(&p.raw_name.as_str()))
        {
            return Err(VerifyError::TwoAuthMechanisms);
        }
        // The values are read as the runner's pre-flight reads them (one parse, in wire), then
        // held to what S3 checks beyond that.
        let get = |name: &str| {
            params
                .iter()
                .find(|p| p.raw_name == name)
                .map(|p| p.value.as_str())
        };
        let auth = QueryAuth::from_params(get)?.ok_or(VerifyError::NotPresigned)?;
        let scope = &auth.credential;
        self.check_scope(&auth.algorithm, scope)?;
        let date_raw = get(X_AMZ_DATE).unwrap_or_default();
        let date = auth.date;
        if !date_raw.starts_with(&scope.date) {
            return Err(VerifyError::BadScope(format!(
                "scope date {} differs from X-Amz-Date {date_raw}",
                scope.date
            )));
        }
        let expires_raw = get(X_AMZ_EXPIRES).unwrap_or_default();
        if !expires_raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                X_AMZ_EXPIRES,
                format!("`{expires_raw}` is not seconds"),
            ));
        }
        let expires = auth.expires;
        if !(1..=MAX_EXPIRES_SECS).contains(&expires) {
            return Err(VerifyError::ExpiresOutOfRange(expires));
        }
        if date - now > Duration::seconds(MAX_CLOCK_SKEW_SECS) {
            return Err(VerifyError::NotYetValid { date });
        }
        let expires_at = date + Duration::seconds(expires as i64);
        if now > expires_at {
            return Err(VerifyError::Expired { expires_at });
        }
        self.check_token(get(X_AMZ_SECURITY_TOKEN))?;
        let signed_headers = parse_signed_headers(get(X_AMZ_SIGNED_HEADERS).unwrap_or_default())?;

        // Headers: every signed one present; every x-amz-* one signed.
        let mut canon: Vec<(String, String)> = Vec::with_capacity(signed_headers.len());
        for name in &signed_headers {
            let values: Vec<String> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| normalize_header_value(v).into_owned())
                .collect();
            if values.is_empty() {
                return Err(VerifyError::SignedHeaderMissing(name.clone()));
            }
            canon.push((name.clone(), values.join(",")));
        }
        for (n, v) in headers {
            let lower = n.to_ascii_lowercase();
            let unsigned_payload =
                lower == "x-amz-content-sha256" && v.trim() == "UNSIGNED-PAYLOAD";
            if lower.starts_with("x-amz-") && !signed_headers.contains(&lower) && !unsigned_payload
            {
                return Err(VerifyError::UnsignedHeader(lower));
            }
        }

        // The canonical URI as S3 builds it: decoded, then encoded once.
        let path_bytes = decode_path(raw_path).ok_or(VerifyError::MalformedEscape("path"))?;
        let mut path = String::with_capacity(raw_path.len() + 8);
        encode_path_bytes_into(&mut path, &path_bytes);
        // Query: decoded, re-encoded, sorted, without the signature.
        let mut pairs: Vec<(String, String)> = params
            .iter()
            .filter(|p| p.raw_name != X_AMZ_SIGNATURE)
            .map(|p| {
                let (mut k, mut v) = (String::new(), String::new());
                encode_component_bytes_into(&mut k, p.name.as_bytes());
                encode_component_bytes_into(&mut v, p.value.as_bytes());
                (k, v)
            })
            .collect();
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
            path: &path,
            query: &q,
            headers: &h,
        };
        let amz_date = format_amz_date(date);
        let amz_date = std::str::from_utf8(&amz_date).unwrap_or_default();
        let scope_text = format!("{}/{}/s3/aws4_request", scope.date, self.region);
        let sts = string_to_sign(amz_date, &scope_text, &canonical_request_hash(&parts));
        let mut expected = String::with_capacity(64);
        hex_into(
            &mut expected,
            &self.day(&scope.date).mac.sign(&[sts.as_bytes()]),
        );
        if !ct_eq(&expected, param(&params, X_AMZ_SIGNATURE)?) {
            return Err(VerifyError::SignatureDoesNotMatch {
                canonical_request: canonical_request_string(&parts),
                string_to_sign: sts,
            });
        }

        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        };
        let length = match header("content-length") {
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| VerifyError::BadContentLength(v.to_owned()))?,
            ),
            None => None,
        };
        let content_md5 = header("content-md5")
            .map(BodyRules::parse_md5)
            .transpose()?;
        Ok(VerifiedRequest {
            method: method.to_owned(),
            path_bytes,
            query: params
                .into_iter()
                .filter(|p| p.raw_name != X_AMZ_SIGNATURE)
                .map(|p| (p.name, p.value))
                .collect(),
            expires_at,
            signed_headers,
            body: BodyRules {
                length,
                length_range: None,
                content_md5,
            },
        })
    }
}
