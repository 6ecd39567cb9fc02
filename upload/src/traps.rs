//! Pre-flight checks of a presigned URL against the headers the descriptor carries: the mistakes
//! that make S3 refuse an upload after its bytes were sent, found before the first one is.
//!
//! - A header the URL signs that the descriptor does not carry (S3: SignatureDoesNotMatch).
//! - An `x-amz-*` header the descriptor sends that the URL does not sign (S3 refuses unsigned
//!   `x-amz-*` headers; `x-amz-content-sha256: UNSIGNED-PAYLOAD` excepted).
//! - SDK defaults baked into a URL: `x-amz-checksum-crc32=AAAAAA==` and its kin are the checksum
//!   of an *empty* body, which some AWS SDKs put into every presigned URL (S3 then refuses any
//!   non-empty upload); `x-amz-sdk-checksum-algorithm` without a checksum makes S3 expect a
//!   checksum the uploader does not send.

use crate::error::PreflightError;
use signpost_wire::{OrderedPairs, QueryAuth};

use crate::error::{TargetKind, UploadError};

/// The checksums of an empty body, by query parameter.
const EMPTY_BODY_CHECKSUMS: [(&str, &str); 5] = [
    ("x-amz-checksum-crc32", "AAAAAA=="),
    ("x-amz-checksum-crc32c", "AAAAAA=="),
    ("x-amz-checksum-crc64nvme", "AAAAAAAAAAA="),
    ("x-amz-checksum-sha1", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="),
    (
        "x-amz-checksum-sha256",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    ),
];

/// Headers the uploader sets itself, whatever the URL signs.
const OWN: [&str; 2] = ["host", "content-length"];

/// Checks `url` (a presigned PUT or part URL) against `headers` for an upload of `len` bytes.
/// A Content-Length in the descriptor's headers that a SigV4 URL does not sign: refused, as a
/// size the server would not enforce (a URL that is not SigV4, a gateway's own, is left to its
/// server).
pub(crate) fn unsigned_content_length(
    url: &str,
    what: TargetKind,
    headers: &OrderedPairs,
) -> Result<(), UploadError> {
    let Some(value) = headers.get("content-length") else {
        return Ok(());
    };
    match QueryAuth::from_url(url) {
        Ok(Some(auth)) if !auth.signed_headers.iter().any(|h| h == "content-length") => Err(
            UploadError::Preflight(PreflightError::UnsignedContentLength {
                what,
                value: value.to_owned(),
            }),
        ),
        _ => Ok(()),
    }
}

pub(crate) fn check(
    url: &str,
    what: TargetKind,
    headers: &OrderedPairs,
    len: u64,
) -> Result<(), UploadError> {
    let query: Vec<(String, String)> = match url.split_once('?') {
        Some((_, q)) => url::form_urlencoded::parse(q.split('#').next().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect(),
        None => return Ok(()),
    };
    if len > 0
        && let Some((param, value)) = EMPTY_BODY_CHECKSUMS
            .iter()
            .find(|(p, v)| query.iter().any(|(k, val)| k == p && val == v))
    {
        return Err(UploadError::Preflight(PreflightError::EmptyBodyChecksum {
            what,
            param,
            value,
        }));
    }
    let has_checksum = query.iter().any(|(k, _)| k.starts_with("x-amz-checksum-"))
        || headers
            .iter()
            .any(|(k, _)| k.to_ascii_lowercase().starts_with("x-amz-checksum-"));
    if query
        .iter()
        .any(|(k, _)| k == "x-amz-sdk-checksum-algorithm")
        && !has_checksum
    {
        return Err(UploadError::Preflight(
            PreflightError::ChecksumAlgorithmWithoutChecksum { what },
        ));
    }
    unsigned_content_length(url, what, headers)?;
    let Ok(Some(auth)) = QueryAuth::from_url(url) else {
        return Ok(());
    };
    for signed in &auth.signed_headers {
        if !OWN.contains(&signed.as_str()) && headers.get(signed).is_none() {
            return Err(UploadError::Preflight(
                PreflightError::SignedHeaderNotCarried {
                    what,
                    header: signed.clone(),
                },
            ));
        }
    }
    for (name, value) in headers.iter() {
        let lower = name.to_ascii_lowercase();
        let unsigned_payload = lower == "x-amz-content-sha256" && value == "UNSIGNED-PAYLOAD";
        if lower.starts_with("x-amz-") && !auth.signed_headers.contains(&lower) && !unsigned_payload
        {
            return Err(UploadError::Preflight(PreflightError::UnsignedAmzHeader {
                what,
                header: name.to_owned(),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-Signature=00";

    fn url(extra: &str, signed: &str) -> String {
        format!("{BASE}&X-Amz-SignedHeaders={signed}{extra}")
    }

    fn pairs(p: &[(&str, &str)]) -> OrderedPairs {
        p.iter().copied().collect()
    }

    #[test]
    fn sdk_traps_and_header_mismatches_are_named() {
        let none = pairs(&[]);
        let ok = url("", "host");
        assert!(check(&ok, TargetKind::PresignedUrl, &none, 10).is_ok());
        let crc = url(
            "&x-amz-checksum-crc32=AAAAAA%3D%3D&x-amz-sdk-checksum-algorithm=CRC32",
            "host",
        );
        let e = check(&crc, TargetKind::PresignedUrl, &none, 10).unwrap_err();
        assert!(
            matches!(
                e,
                UploadError::Preflight(PreflightError::EmptyBodyChecksum { .. })
            ),
            "{e}"
        );
        assert!(e.to_string().contains("WHEN_REQUIRED"), "{e}");
        assert!(
            check(&crc, TargetKind::PresignedUrl, &none, 0).is_ok(),
            "an empty file matches"
        );
        let alg = url("&x-amz-sdk-checksum-algorithm=CRC32", "host");
        assert!(matches!(
            check(&alg, TargetKind::PresignedUrl, &none, 10),
            Err(UploadError::Preflight(
                PreflightError::ChecksumAlgorithmWithoutChecksum { .. }
            ))
        ));
        let signs_type = url("", "content-type%3Bhost");
        let e = check(&signs_type, TargetKind::PresignedUrl, &none, 10).unwrap_err();
        assert!(
            matches!(e, UploadError::Preflight(PreflightError::SignedHeaderNotCarried { ref header, .. }) if header == "content-type")
        );
        assert!(
            check(
                &signs_type,
                TargetKind::PresignedUrl,
                &pairs(&[("Content-Type", "a/b")]),
                10
            )
            .is_ok()
        );
        let e = check(
            &ok,
            TargetKind::PresignedUrl,
            &pairs(&[("x-amz-acl", "public-read")]),
            10,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                UploadError::Preflight(PreflightError::UnsignedAmzHeader { .. })
            ),
            "{e}"
        );
        assert!(
            check(
                &ok,
                TargetKind::PresignedUrl,
                &pairs(&[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]),
                10
            )
            .is_ok()
        );
    }
}
