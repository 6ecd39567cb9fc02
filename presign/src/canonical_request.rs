//! The canonical request and the string to sign of SigV4 query authentication.
//!
//! ```text
//! CanonicalRequest =
//!   HTTPMethod \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//!   SignedHeaders \n "UNSIGNED-PAYLOAD"
//! StringToSign =
//!   "AWS4-HMAC-SHA256" \n X-Amz-Date \n Date/Region/Service/aws4_request \n
//!   HexEncode(SHA256(CanonicalRequest))
//! ```
//!
//! Both the signer and the verifier describe a request as a [`CanonicalParts`] and write it
//! through [`write_canonical_request`]; the signer streams it into SHA-256 without building the
//! text, the verifier builds the text to show it when a signature does not match (as S3 does).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use sha2::{Digest, Sha256};

use crate::uri_encode::hex_into;

/// The payload hash of a presigned request: S3 does not check the body's hash.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The only algorithm signpost signs with.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Somewhere to write a canonical request: a `String` or a running SHA-256.
pub(crate) trait Sink {
    /// Appends `s`.
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, s: &str) {
        self.update(s.as_bytes());
    }
}

/// A request, reduced to what SigV4 signs.
#[derive(Debug)]
pub(crate) struct CanonicalParts<'a> {
    /// `PUT`, `GET`, …
    pub(crate) method: &'a str,
    /// The path exactly as it stands in the URL (already URI-encoded).
    pub(crate) path: &'a str,
    /// Query parameters, each name and value already URI-encoded, sorted, without
    /// `X-Amz-Signature`.
    pub(crate) query: &'a [(&'a str, &'a str)],
    /// Signed headers: lower-case names, sorted, values trimmed.
    pub(crate) headers: &'a [(&'a str, &'a str)],
}

/// Writes the canonical request.
pub(crate) fn write_canonical_request(sink: &mut impl Sink, p: &CanonicalParts<'_>) {
    sink.put(p.method);
    sink.put("\n");
    sink.put(if p.path.is_empty() { "/" } else { p.path });
    sink.put("\n");
    for (i, (k, v)) in p.query.iter().enumerate() {
        if i > 0 {
            sink.put("&");
        }
        sink.put(k);
        sink.put("=");
        sink.put(v);
    }
    sink.put("\n");
    for (k, v) in p.headers {
        sink.put(k);
        sink.put(":");
        sink.put(v);
        sink.put("\n");
    }
    sink.put("\n");
    write_signed_headers(sink, p.headers);
    sink.put("\n");
    sink.put(UNSIGNED_PAYLOAD);
}

/// `host;x-amz-meta-a;…`: the signed header names joined by `;`.
pub(crate) fn write_signed_headers(sink: &mut impl Sink, headers: &[(&str, &str)]) {
    for (i, (k, _)) in headers.iter().enumerate() {
        if i > 0 {
            sink.put(";");
        }
        sink.put(k);
    }
}

/// The canonical request as text (for diagnostics: S3 shows it in SignatureDoesNotMatch).
pub(crate) fn canonical_request_string(p: &CanonicalParts<'_>) -> String {
    let mut s = String::with_capacity(256);
    write_canonical_request(&mut s, p);
    s
}

/// SHA-256 of the canonical request, streamed.
pub(crate) fn canonical_request_hash(p: &CanonicalParts<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    write_canonical_request(&mut h, p);
    h.finalize().into()
}

/// The string to sign for `amz_date` (`YYYYMMDDTHHMMSSZ`), `scope` (`date/region/service/aws4_request`)
/// and the canonical request's hash.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, creq_hash: &[u8; 32]) -> String {
    let mut s = String::with_capacity(ALGORITHM.len() + amz_date.len() + scope.len() + 67);
    s.push_str(ALGORITHM);
    s.push('\n');
    s.push_str(amz_date);
    s.push('\n');
    s.push_str(scope);
    s.push('\n');
    hex_into(&mut s, creq_hash);
    s
}

/// Trims a header value as SigV4 does: leading and trailing spaces removed, runs of spaces
/// folded to one.
pub(crate) fn normalize_header_value(v: &str) -> std::borrow::Cow<'_, str> {
    let t = v.trim_matches(' ');
    if !t.contains("  ") {
        return std::borrow::Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(v.len());
    let mut prev_space = false;
    for c in v.trim_matches(' ').chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_fold_spaces_only() {
        assert_eq!(normalize_header_value("  a   b  c "), "a b c");
        assert_eq!(normalize_header_value("a\tb"), "a\tb");
    }
}
