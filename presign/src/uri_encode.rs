//! SigV4's `UriEncode`: every byte except the unreserved characters `A-Z a-z 0-9 - . _ ~` becomes
//! `%XY` with upper-case hex; in an object key's path `/` is kept.
//!
//! S3 encodes the path once (no double encoding, no `.`/`..` normalisation), so the canonical
//! URI is exactly the path written into the URL.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>
//! ("URI encode every byte").

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `UriEncode(s)` to `out`; `/` is kept when `keep_slash`.
///
/// ```
/// let mut s = String::new();
/// signpost_presign::uri_encode::encode_into(&mut s, "a b/c+d~é", true);
/// assert_eq!(s, "a%20b/c%2Bd~%C3%A9");
/// ```
pub fn encode_into(out: &mut String, s: &str, keep_slash: bool) {
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

/// `UriEncode(s)` with `/` encoded too: for query names and values.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    encode_into(&mut out, s, false);
    out
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`, appended to `out`.
pub fn hex_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(HEX_LOWER[usize::from(b >> 4)] as char);
        out.push(HEX_LOWER[usize::from(b & 15)] as char);
    }
}

/// Lower-case hex of a SHA-256 digest into a fixed buffer: the signing hot path, no allocation.
pub fn hex_into_array(out: &mut [u8; 64], bytes: &[u8; 32]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX_LOWER[usize::from(b >> 4)];
        out[2 * i + 1] = HEX_LOWER[usize::from(b & 15)];
    }
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

    proptest! {
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
