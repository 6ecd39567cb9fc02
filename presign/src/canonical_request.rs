//! The string to sign of SigV4 query authentication, and the canonical request's hash.
//!
//! ```text
//! StringToSign =
//!   "AWS4-HMAC-SHA256" \n X-Amz-Date \n Date/Region/Service/aws4_request \n
//!   HexEncode(SHA256(CanonicalRequest))
//! ```
//!
//! The canonical request itself is written by [`signpost_wire::sigv4`], the one writer the
//! signer, the Verifier and the uploader's diagnostics share; the signer streams it into
//! SHA-256 here without building the text.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use sha2::{Digest, Sha256};
pub(crate) use signpost_wire::sigv4::{
    ALGORITHM, CanonicalParts, Sink, canonical_request_string, normalize_header_value,
    write_canonical_request,
};

use crate::uri_encode::hex_into;

/// A running SHA-256 as a [`Sink`].
struct Hashing(Sha256);

impl Sink for Hashing {
    fn put(&mut self, s: &str) {
        self.0.update(s.as_bytes());
    }
}

/// SHA-256 of the canonical request, streamed.
pub(crate) fn canonical_request_hash(p: &CanonicalParts<'_>) -> [u8; 32] {
    let mut h = Hashing(Sha256::new());
    write_canonical_request(&mut h, p);
    h.0.finalize().into()
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
