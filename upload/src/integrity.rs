//! Never store a wrong byte: each request carries the MD5 of its body as `Content-MD5`, which
//! S3-compatible servers check before storing (a mismatch is `400 BadDigest`, retried with the
//! bytes read again), and the ETag the server answers is compared with that MD5 where S3 defines
//! it so (a plain object or part without SSE-KMS or SSE-C: 32 hex digits). A multipart object's
//! ETag is `md5(concat(part MD5s))-N`.
//!
//! Measured: s3s-fs, Garage 2.5 and Ceph radosgw 16.2 refuse a wrong `Content-MD5` on a PUT with
//! BadDigest; on UploadPart, s3s-fs does not check it (200, and an ETag of what it stored), so
//! there the ETag comparison is what catches a corrupted part.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::path::Path;

use md5::{Digest, Md5};
use reqwest::header::HeaderValue;

/// An MD5 digest.
pub(crate) type Md5Digest = [u8; 16];

/// MD5 of `bytes`.
pub(crate) fn md5_of(bytes: &[u8]) -> Md5Digest {
    Md5::digest(bytes).into()
}

/// MD5 of `len` bytes of the file at `path` from `offset`, read in 1 MiB pieces (memory stays
/// at one piece). A file shorter than the range is an `UnexpectedEof` error.
pub(crate) fn md5_of_range(path: &Path, offset: u64, len: u64) -> std::io::Result<Md5Digest> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; (1 << 20).min(len.max(1) as usize)];
    let mut left = len;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        file.read_exact(&mut buf[..want])?;
        h.update(&buf[..want]);
        left -= want as u64;
    }
    Ok(h.finalize().into())
}

/// Parses 32 hex digits.
pub(crate) fn from_hex(hex: &str) -> Option<Md5Digest> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// The `Content-MD5` header value: base64 of the digest.
pub(crate) fn content_md5(d: &Md5Digest) -> HeaderValue {
    // Base64 is always a valid header value.
    HeaderValue::from_str(&BASE64.encode(d)).unwrap_or(HeaderValue::from_static(""))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 an ETag states, when it is a plain one (`"<32 hex digits>"`); `None` for a multipart
/// ETag (`…-N`), a weak one, or any other shape.
pub(crate) fn etag_md5(etag: &str) -> Option<Md5Digest> {
    from_hex(etag.trim().strip_prefix('"')?.strip_suffix('"')?)
}

/// Two ETags naming the same thing: equal once quotes are set aside (some servers list parts
/// with `&quot;` quotes that arrive decoded, others without quotes).
pub(crate) fn same_etag(a: &str, b: &str) -> bool {
    a.trim().trim_matches('"') == b.trim().trim_matches('"')
}

/// The ETag S3 gives a multipart object: the MD5 of the parts' MD5s, then `-` and their count.
pub(crate) fn multipart_etag(parts: &[Md5Digest]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    format!("\"{}-{}\"", hex(&h.finalize()), parts.len())
}

/// Whether `etag` has the shape of a multipart ETag of `parts` parts (`"<32 hex>-N"`) and is not
/// `expected`: the server assembled other bytes than the parts sent.
pub(crate) fn multipart_etag_differs(etag: &str, expected: &str, parts: usize) -> bool {
    let shaped = etag
        .trim()
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .and_then(|e| e.split_once('-'))
        .is_some_and(|(h, n)| from_hex(h).is_some() && n == parts.to_string());
    shaped && etag.trim() != expected
}

/// Whether ETags of objects written with these headers are MD5s: not under SSE-KMS or SSE-C,
/// whose ETags are not.
pub(crate) fn etags_are_md5<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    !headers.into_iter().any(|(k, v)| {
        (k.eq_ignore_ascii_case("x-amz-server-side-encryption") && v.starts_with("aws:kms"))
            || k.eq_ignore_ascii_case("x-amz-server-side-encryption-customer-algorithm")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_shapes() {
        let d = md5_of(b"abc");
        assert_eq!(hex(&d), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(etag_md5("\"900150983cd24fb0d6963f7d28e17f72\""), Some(d));
        assert_eq!(etag_md5("\"900150983cd24fb0d6963f7d28e17f72-2\""), None);
        assert_eq!(etag_md5("W/\"900150983cd24fb0d6963f7d28e17f72\""), None);
        assert_eq!(etag_md5("900150983cd24fb0d6963f7d28e17f72"), None);
        assert_eq!(content_md5(&d), "kAFQmDzST7DWlj99KOF/cg==");
        // AWS's documented shape: md5 of the concatenated part digests, then the count.
        let two = [md5_of(b"a"), md5_of(b"b")];
        let mut cat = Vec::new();
        cat.extend_from_slice(&two[0]);
        cat.extend_from_slice(&two[1]);
        assert_eq!(
            multipart_etag(&two),
            format!("\"{}-2\"", hex(&md5_of(&cat)))
        );
        let expected = multipart_etag(&two);
        assert!(!multipart_etag_differs(&expected, &expected, 2));
        let other = format!("\"{}-2\"", hex(&md5_of(b"x")));
        assert!(multipart_etag_differs(&other, &expected, 2));
        // Not the shape: nothing to compare (another server's scheme, or another count).
        assert!(!multipart_etag_differs("\"final-2\"", &expected, 2));
        assert!(!multipart_etag_differs(&other, &expected, 3));
        assert!(etags_are_md5([("Content-Type", "video/mp4")]));
        assert!(!etags_are_md5([(
            "x-amz-server-side-encryption",
            "aws:kms"
        )]));
        assert!(etags_are_md5([("x-amz-server-side-encryption", "AES256")]));
    }
}
