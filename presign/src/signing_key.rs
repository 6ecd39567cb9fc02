//! The SigV4 signing key, its derivation and its cache.
//!
//! ```text
//! kDate    = HMAC("AWS4" + kSecret, Date)
//! kRegion  = HMAC(kDate, Region)
//! kService = HMAC(kRegion, Service)
//! kSigning = HMAC(kService, "aws4_request")
//! ```
//!
//! The key depends only on the secret, the date, the region and the service, so one derivation
//! (four HMACs) serves every URL signed that day; the cache also keeps the HMAC state keyed with
//! it, so a signature costs two SHA-256 compressions less.
//!
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.

use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

// HMAC accepts keys of any length; this cannot happen.
fn unreachable_hmac() -> HmacSha256 {
    unreachable!("HMAC-SHA256 takes keys of any length")
}

/// Derives the signing key: `kSigning` in the formula above. `date` is `YYYYMMDD`.
pub fn generate_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// `signature = HexEncode(HMAC(kSigning, StringToSign))`, given a MAC already keyed with
/// `kSigning`.
pub fn calculate_signature(keyed: &SigningMac, string_to_sign: &[u8]) -> [u8; 32] {
    calculate_signature_parts(keyed, &[string_to_sign])
}

/// [`calculate_signature`] of the concatenation of `parts`, without building it.
pub fn calculate_signature_parts(keyed: &SigningMac, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed.0.clone();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// An HMAC-SHA256 state keyed with a signing key.
#[derive(Clone)]
pub struct SigningMac(HmacSha256);

impl SigningMac {
    /// Keys a MAC with `signing_key`.
    pub fn new(signing_key: &[u8; 32]) -> Self {
        SigningMac(HmacSha256::new_from_slice(signing_key).unwrap_or_else(|_| unreachable_hmac()))
    }
}

impl std::fmt::Debug for SigningMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningMac(******)")
    }
}

/// Everything that depends only on the day, region and service: the keyed MAC and the scope
/// strings written into every URL of that day.
#[derive(Debug)]
pub struct DayScope {
    /// HMAC state keyed with the signing key.
    pub mac: SigningMac,
    /// `YYYYMMDD/region/service/aws4_request`.
    pub scope: String,
    /// `X-Amz-Credential`'s value, URI-encoded: `AKID%2FYYYYMMDD%2Fregion%2Fservice%2Faws4_request`.
    pub credential_encoded: String,
}

/// The last [`DayScope`] derived, by date, region and service.
///
/// One entry suffices: a presigner signs for one region and service, and the date changes once a
/// day. A miss derives anew; the lock is held only to clone an `Arc`.
#[derive(Default)]
pub struct SigningKeyCache {
    entry: Mutex<Option<CacheEntry>>,
}

struct CacheEntry {
    access_key_id: String,
    date: [u8; 8],
    region: String,
    service: String,
    day: Arc<DayScope>,
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeyCache(******)")
    }
}

impl SigningKeyCache {
    /// The day's scope for these credentials, derived on a miss.
    pub fn get(
        &self,
        access_key_id: &str,
        secret: &str,
        date: &[u8; 8],
        region: &str,
        service: &str,
    ) -> Arc<DayScope> {
        let mut guard = match self.entry.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(e) = guard.as_ref()
            && &e.date == date
            && e.access_key_id == access_key_id
            && e.region == region
            && e.service == service
        {
            return Arc::clone(&e.day);
        }
        let date_str = std::str::from_utf8(date).unwrap_or_default();
        let scope = format!("{date_str}/{region}/{service}/aws4_request");
        let mut credential_encoded = String::with_capacity(access_key_id.len() + scope.len() + 16);
        crate::uri_encode::encode_into(&mut credential_encoded, access_key_id, false);
        credential_encoded.push_str("%2F");
        crate::uri_encode::encode_into(&mut credential_encoded, &scope, false);
        let day = Arc::new(DayScope {
            mac: SigningMac::new(&generate_signing_key(secret, date_str, region, service)),
            scope,
            credential_encoded,
        });
        *guard = Some(CacheEntry {
            access_key_id: access_key_id.to_owned(),
            date: *date,
            region: region.to_owned(),
            service: service.to_owned(),
            day: Arc::clone(&day),
        });
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        let mut s = String::new();
        crate::uri_encode::hex_into(&mut s, b);
        s
    }

    /// The signing key of AWS's documented example: secret
    /// `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, 20120215, us-east-1, iam.
    #[test]
    fn aws_documented_signing_key() {
        let k = generate_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn cache_is_keyed_by_scope() {
        let cache = SigningKeyCache::default();
        let sig = |date: &[u8; 8], region| {
            calculate_signature(&cache.get("AK", "s", date, region, "s3").mac, b"x")
        };
        let a = sig(b"20240101", "us-east-1");
        let b = sig(b"20240102", "us-east-1");
        let c = sig(b"20240102", "eu-west-1");
        let a2 = sig(b"20240101", "us-east-1");
        let day = cache.get("AK/x", "s", b"20240101", "us-east-1", "s3");
        assert_eq!(day.scope, "20240101/us-east-1/s3/aws4_request");
        assert_eq!(
            day.credential_encoded,
            "AK%2Fx%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        );
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_eq!(a, a2);
        let direct = hmac_sha256(
            &generate_signing_key("s", "20240101", "us-east-1", "s3"),
            b"x",
        );
        assert_eq!(a, direct);
    }
}
