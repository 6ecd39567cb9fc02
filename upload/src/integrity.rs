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
use md5::{Digest, Md5};
use reqwest::header::HeaderValue;

/// An MD5 digest.
pub(crate) type Md5Digest = [u8; 16];

/// MD5 of `bytes`.
pub(crate) fn md5_of(bytes: &[u8]) -> Md5Digest {
    Md5::digest(bytes).into()
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
    let hex = etag.trim().strip_prefix('"')?.strip_suffix('"')?;
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// The ETag S3 gives a multipart object: the MD5 of the parts' MD5s, then `-` and their count.
pub(crate) fn multipart_etag(parts: &[Md5Digest]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    format!("\"{}-{}\"", hex(&h.finalize()), parts.len())
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
        assert!(etags_are_md5([("Content-Type", "video/mp4")]));
        assert!(!etags_are_md5([(
            "x-amz-server-side-encryption",
            "aws:kms"
        )]));
        assert!(etags_are_md5([("x-amz-server-side-encryption", "AES256")]));
    }
}
