//! SigV4's text, in one place for the signer, the Verifier and the uploader's diagnostics: the
//! query parameter names, the algorithm, and the canonical request writer. Writing a canonical
//! request needs no secret (only signing it does), so it lives here, beside the query reader.
//!
//! ```text
//! CanonicalRequest =
//!   HTTPMethod \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//!   SignedHeaders \n "UNSIGNED-PAYLOAD"
//! ```
//!
//! The signer streams it into SHA-256 without building the text; the Verifier and `explain`
//! build the text, to show it when a signature does not match (as S3 does).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use std::borrow::Cow;

/// The `X-Amz-*` query parameters of a presigned URL, as S3 spells them.
pub mod param {
    /// `X-Amz-Algorithm`: [`ALGORITHM`](super::ALGORITHM).
    pub const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
    /// `X-Amz-Credential`: `AKID/YYYYMMDD/region/service/aws4_request`.
    pub const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
    /// `X-Amz-Date`: the signing time, `YYYYMMDDTHHMMSSZ`.
    pub const X_AMZ_DATE: &str = "X-Amz-Date";
    /// `X-Amz-Expires`: seconds the URL is valid for, from `X-Amz-Date`.
    pub const X_AMZ_EXPIRES: &str = "X-Amz-Expires";
    /// `X-Amz-SignedHeaders`: the signed header names, lower case, `;`-joined.
    pub const X_AMZ_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
    /// `X-Amz-Signature`: the signature, 64 lower-case hex digits (never part of what is signed).
    pub const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";
    /// `X-Amz-Security-Token`: a temporary credential's session token.
    pub const X_AMZ_SECURITY_TOKEN: &str = "X-Amz-Security-Token";

    /// All of them.
    pub const ALL: [&str; 7] = [
        X_AMZ_ALGORITHM,
        X_AMZ_CREDENTIAL,
        X_AMZ_DATE,
        X_AMZ_EXPIRES,
        X_AMZ_SIGNED_HEADERS,
        X_AMZ_SIGNATURE,
        X_AMZ_SECURITY_TOKEN,
    ];
}

/// The only algorithm signpost signs with or accepts.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a presigned request: S3 does not check the body's hash.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Somewhere to write a canonical request: a `String`, or (in the signer) a running SHA-256.
pub trait Sink {
    /// Appends `s`.
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// A request, reduced to what SigV4 signs.
#[derive(Debug)]
pub struct CanonicalParts<'a> {
    /// `PUT`, `GET`, …
    pub method: &'a str,
    /// The canonical URI (already URI-encoded; empty means `/`).
    pub path: &'a str,
    /// Query parameters, each name and value already URI-encoded, sorted, without
    /// `X-Amz-Signature`.
    pub query: &'a [(&'a str, &'a str)],
    /// Signed headers: lower-case names, sorted, values [trimmed](normalize_header_value).
    pub headers: &'a [(&'a str, &'a str)],
}

/// Writes the canonical request of `p` into `sink`.
///
/// ```
/// use signpost_wire::sigv4::{CanonicalParts, write_canonical_request};
/// let mut s = String::new();
/// write_canonical_request(&mut s, &CanonicalParts {
///     method: "PUT",
///     path: "/b/k",
///     query: &[("X-Amz-SignedHeaders", "host")],
///     headers: &[("host", "h")],
/// });
/// assert_eq!(s, "PUT\n/b/k\nX-Amz-SignedHeaders=host\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
/// ```
pub fn write_canonical_request(sink: &mut impl Sink, p: &CanonicalParts<'_>) {
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
pub fn write_signed_headers(sink: &mut impl Sink, headers: &[(&str, &str)]) {
    for (i, (k, _)) in headers.iter().enumerate() {
        if i > 0 {
            sink.put(";");
        }
        sink.put(k);
    }
}

/// The canonical request as text.
pub fn canonical_request_string(p: &CanonicalParts<'_>) -> String {
    let mut s = String::with_capacity(256);
    write_canonical_request(&mut s, p);
    s
}

/// A header value as SigV4 signs it: leading and trailing spaces removed, runs of spaces folded
/// to one (tabs and other characters kept).
pub fn normalize_header_value(v: &str) -> Cow<'_, str> {
    let t = v.trim_matches(' ');
    if !t.contains("  ") {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    let mut prev_space = false;
    for c in t.chars() {
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
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_fold_spaces_only() {
        assert_eq!(normalize_header_value("  a   b  c "), "a b c");
        assert_eq!(normalize_header_value("a\tb"), "a\tb");
        assert!(matches!(
            normalize_header_value(" a b "),
            Cow::Borrowed("a b")
        ));
    }
}
