//! Which headers a presigned S3 request may sign, and how a signed header is written.
//!
//! A presigned URL can require headers: the uploader must send them with exactly the signed
//! values. signpost signs only the headers S3 documents for PutObject and the multipart calls
//! (`Content-Type`, `Content-MD5`, `Content-Encoding`, `Content-Language`, `Content-Disposition`,
//! `Cache-Control`, `Expires`) and `x-amz-*` (metadata, checksums, ACL,
//! storage class, tagging, SSE). Anything else would either be ignored by S3 or be a header a
//! proxy may legitimately change on the way, turning a valid URL into a refused one.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use std::borrow::Cow;

use signpost_wire::is_token;
use smallvec::SmallVec;

use crate::canonical_request::normalize_header_value;
use crate::error::PresignError;

/// Standard headers S3 lets a presigned request sign.
const STANDARD: [&str; 7] = [
    "content-type",
    "content-md5",
    "content-encoding",
    "content-language",
    "content-disposition",
    "cache-control",
    "expires",
];

/// SigV4's own parameters: never a caller's header.
const RESERVED: [&str; 8] = [
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
];

/// A header name in lower case: on the stack when it is short, as header names are.
pub(crate) type LowerName = SmallVec<[u8; 40]>;

/// A header name checked and lower-cased, and its value normalized as SigV4 signs it.
pub(crate) fn check_signed_header<'a>(
    name: &'a str,
    value: &'a str,
) -> Result<(LowerName, Cow<'a, str>), PresignError> {
    let mut lower_bytes = LowerName::from_slice(name.as_bytes());
    lower_bytes.make_ascii_lowercase();
    let lower = std::str::from_utf8(&lower_bytes).unwrap_or_default();
    let unsignable = |reason| {
        Err(PresignError::UnsignableHeader {
            name: name.to_owned(),
            reason,
        })
    };
    if !is_token(lower) {
        return unsignable("a header name is a token of letters, digits and !#$%&'*+-.^_`|~");
    }
    if RESERVED.contains(&lower) {
        return unsignable("signpost sets the SigV4 parameters itself");
    }
    if lower == "content-length" {
        let v = value.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.parse::<u64>().is_err() {
            return Err(PresignError::InvalidValue {
                name: name.to_owned(),
                reason: "Content-Length is a number of bytes",
            });
        }
    } else if !(STANDARD.contains(&lower) || lower.starts_with("x-amz-")) {
        return unsignable(
            "a presigned S3 request signs only Content-Type, Content-MD5, Content-Encoding, Content-Language, Content-Disposition, Cache-Control, Expires, Content-Length and x-amz-* headers",
        );
    }
    if lower == "x-amz-meta-" {
        return unsignable("a metadata header needs a name after x-amz-meta-");
    }
    if !value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return Err(PresignError::InvalidValue {
            name: name.to_owned(),
            reason: "header values are printable US-ASCII (encode other text, e.g. RFC 2047)",
        });
    }
    Ok((lower_bytes, normalize_header_value(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_signable_as_a_number_only() {
        let (n, v) = check_signed_header("Content-Length", "1048576").unwrap();
        assert_eq!((&n[..], &*v), (&b"content-length"[..], "1048576"));
        for bad in ["", "1.5", "-1", "0x10", "99999999999999999999999"] {
            let e = check_signed_header("Content-Length", bad).unwrap_err();
            assert!(e.to_string().contains("number of bytes"), "{bad}: {e}");
        }
    }

    #[test]
    fn rules() {
        let (n, v) = check_signed_header("Content-Type", "  video/mp4 ").unwrap();
        assert_eq!((&n[..], &*v), (&b"content-type"[..], "video/mp4"));
        for (name, value) in [
            ("X-Custom", "1"),
            ("x-amz-date", "1"),
            ("x-amz-meta-", "1"),
            ("bad name", "1"),
            ("Host", "h"),
        ] {
            assert!(
                matches!(
                    check_signed_header(name, value),
                    Err(PresignError::UnsignableHeader { .. })
                ),
                "{name}"
            );
        }
        assert!(matches!(
            check_signed_header("x-amz-meta-a", "é"),
            Err(PresignError::InvalidValue { .. })
        ));
    }
}
