//! SigV4's `UriEncode`: every byte except the unreserved characters `A-Z a-z 0-9 - . _ ~` becomes
//! `%XY` with upper-case hex; in an object key's path `/` is kept.
//!
//! S3 encodes the path once (no double encoding, no `.`/`..` normalisation), so the canonical
//! URI is exactly the path written into the URL.
//!
//! Both sides need it: the signer to write URLs, the verifier and the uploader's diagnostics to
//! rebuild the canonical request S3 computes from a request as received (decoded, then encoded
//! once).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>
//! ("URI encode every byte").

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `UriEncode(s)` for a path (an object key): every byte but the unreserved ones and `/`
/// is escaped.
///
/// ```
/// let mut s = String::new();
/// signpost_wire::uri::encode_path_into(&mut s, "a b/c+d~é");
/// assert_eq!(s, "a%20b/c%2Bd~%C3%A9");
/// ```
#[inline]
pub fn encode_path_into(out: &mut String, s: &str) {
    encode_str_into(out, s, true);
}

/// Appends `UriEncode(s)` for a query name or value, a bucket name or a credential: `/` is
/// escaped too.
///
/// ```
/// let mut s = String::new();
/// signpost_wire::uri::encode_component_into(&mut s, "a b/c");
/// assert_eq!(s, "a%20b%2Fc");
/// ```
#[inline]
pub fn encode_component_into(out: &mut String, s: &str) {
    encode_str_into(out, s, false);
}

/// [`encode_path_into`] for bytes that need not be UTF-8 (a percent-decoded path).
pub fn encode_path_bytes_into(out: &mut String, bytes: &[u8]) {
    encode_bytes_into(out, bytes, true);
}

/// [`encode_component_into`] for bytes that need not be UTF-8 (a percent-decoded query).
pub fn encode_component_bytes_into(out: &mut String, bytes: &[u8]) {
    encode_bytes_into(out, bytes, false);
}

/// Decodes a path's `%XX` escapes (`+` stays `+`); `None` for a `%` not followed by two hex
/// digits, which S3 refuses.
pub fn decode_path(s: &str) -> Option<Vec<u8>> {
    percent_decode(s, false)
}

/// Decodes a query name's or value's `%XX` escapes and `+` as a space, as S3 reads a query;
/// `None` for a malformed escape.
pub fn decode_query_component(s: &str) -> Option<Vec<u8>> {
    percent_decode(s, true)
}

#[inline]
fn encode_str_into(out: &mut String, s: &str, keep_slash: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            continue;
        }
        // A run of unreserved ASCII bytes ends on character boundaries at both ends.
        if start < i {
            out.push_str(&s[start..i]);
        }
        out.push('%');
        out.push(HEX_UPPER[usize::from(b >> 4)] as char);
        out.push(HEX_UPPER[usize::from(b & 15)] as char);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

fn encode_bytes_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[usize::from(b >> 4)] as char);
            out.push(HEX_UPPER[usize::from(b & 15)] as char);
        }
    }
}

fn percent_decode(s: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `UriEncode(s)` with `/` encoded too, as a new string: for query names and values.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    encode_component_into(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_cases() {
        assert_eq!(
            encode("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
            "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        );
        assert_eq!(encode("a=b&c?d#e%f"), "a%3Db%26c%3Fd%23e%25f");
        assert_eq!(encode("-._~"), "-._~");
    }

    #[test]
    fn strict_decoding() {
        assert_eq!(decode_query_component("a%2Fb+c").unwrap(), b"a/b c");
        assert_eq!(decode_path("a%2fb+c").unwrap(), b"a/b+c");
        assert_eq!(decode_path("%c3%A9").unwrap(), "é".as_bytes());
        assert!(decode_path("a%2").is_none());
        assert!(decode_path("a%zz").is_none());
        let mut s = String::new();
        encode_path_bytes_into(&mut s, b"a/b \xff~");
        assert_eq!(s, "a/b%20%FF~");
    }

    proptest! {
        #[test]
        fn decoding_undoes_encoding(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut e = String::new();
            encode_component_bytes_into(&mut e, &bytes);
            prop_assert_eq!(decode_query_component(&e).unwrap(), bytes);
        }

        #[test]
        fn matches_percent_decoding(s in "\\PC{0,40}") {
            let e = encode(&s);
            prop_assert!(e.bytes().all(|b| is_unreserved(b) || b == b'%'));
            let decoded = url::form_urlencoded::parse(format!("k={e}").as_bytes())
                .next().map(|(_, v)| v.into_owned()).unwrap_or_default();
            prop_assert_eq!(decoded, s);
        }
    }
}
