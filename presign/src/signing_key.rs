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
//! it, so a signature costs two SHA-256 compressions less, and the scope strings written into
//! every URL of the day.
//!
//! A server signs from every worker thread with one shared signer, so reading the cache must not
//! serialise them: it is an [`ArcSwap`], whose `load` takes no lock and writes no shared counter
//! (it borrows the current entry through a per-thread slot). Only a miss (a new day, other
//! credentials or another region) stores a new entry.
//!
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.

use std::sync::Arc;

use arc_swap::ArcSwap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use signpost_wire::Secret;

use crate::uri_encode::encode_component_into;

type HmacSha256 = Hmac<Sha256>;

/// The service every signpost signature is for.
pub(crate) const SERVICE: &str = "s3";

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes keys of any length.
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

/// Derives the signing key: `kSigning` in the formula above. `date` is `YYYYMMDD`.
pub(crate) fn generate_signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// An HMAC-SHA256 state keyed with a signing key.
#[derive(Clone)]
pub(crate) struct SigningMac(HmacSha256);

impl std::fmt::Debug for SigningMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningMac").finish_non_exhaustive()
    }
}

impl SigningMac {
    /// Keys a MAC with `signing_key`.
    pub(crate) fn new(signing_key: &[u8; 32]) -> Self {
        SigningMac(keyed(signing_key))
    }

    /// `HMAC(kSigning, concat(parts))`, without building the concatenation.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Everything that depends only on the credentials, the day and the region: the keyed MAC and
/// the scope strings written into every URL of that day.
#[derive(Debug)]
pub(crate) struct DayScope {
    access_key_id: String,
    secret: Secret,
    date: [u8; 8],
    region: String,
    /// HMAC state keyed with the signing key.
    pub(crate) mac: SigningMac,
    /// `YYYYMMDD/region/s3/aws4_request`.
    pub(crate) scope: String,
    /// `X-Amz-Credential`'s value, URI-encoded: `AKID%2FYYYYMMDD%2Fregion%2Fs3%2Faws4_request`.
    pub(crate) credential_encoded: String,
}

impl DayScope {
    fn derive(access_key_id: &str, secret: &Secret, date: [u8; 8], region: &str) -> Self {
        let date_str = std::str::from_utf8(&date).unwrap_or_default();
        let scope = format!("{date_str}/{region}/{SERVICE}/aws4_request");
        let mut credential_encoded = String::with_capacity(access_key_id.len() + scope.len() + 16);
        encode_component_into(&mut credential_encoded, access_key_id);
        credential_encoded.push_str("%2F");
        encode_component_into(&mut credential_encoded, &scope);
        let key = generate_signing_key(secret.expose(), date_str, region, SERVICE);
        DayScope {
            access_key_id: access_key_id.to_owned(),
            secret: secret.clone(),
            date,
            region: region.to_owned(),
            mac: SigningMac::new(&key),
            scope,
            credential_encoded,
        }
    }

    fn is_for(&self, access_key_id: &str, secret: &Secret, date: &[u8; 8], region: &str) -> bool {
        &self.date == date
            && self.region == region
            && self.access_key_id == access_key_id
            && self.secret == *secret
    }
}

/// The last [`DayScope`] derived, shared by every thread that signs with one signer.
pub(crate) struct SigningKeyCache {
    current: ArcSwap<DayScope>,
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache").finish_non_exhaustive()
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        // A placeholder no real request matches: its date is not digits.
        let empty = DayScope::derive("", &Secret::default(), [0; 8], "");
        SigningKeyCache {
            current: ArcSwap::from_pointee(empty),
        }
    }
}

/// A borrowed cache entry, or one just derived.
pub(crate) enum DayRef {
    Cached(arc_swap::Guard<Arc<DayScope>>),
    Fresh(Arc<DayScope>),
}

impl std::ops::Deref for DayRef {
    type Target = DayScope;
    fn deref(&self) -> &DayScope {
        match self {
            DayRef::Cached(g) => g,
            DayRef::Fresh(a) => a,
        }
    }
}

impl SigningKeyCache {
    /// The day's scope for these credentials, derived on a miss.
    pub(crate) fn get(
        &self,
        access_key_id: &str,
        secret: &Secret,
        date: &[u8; 8],
        region: &str,
    ) -> DayRef {
        let current = self.current.load();
        if current.is_for(access_key_id, secret, date, region) {
            return DayRef::Cached(current);
        }
        drop(current);
        let fresh = Arc::new(DayScope::derive(access_key_id, secret, *date, region));
        self.current.store(Arc::clone(&fresh));
        DayRef::Fresh(fresh)
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
    fn cache_is_keyed_by_credentials_day_and_region() {
        let cache = SigningKeyCache::default();
        let s = Secret::from("s");
        let sig = |secret: &Secret, date: &[u8; 8], region| {
            cache.get("AK", secret, date, region).mac.sign(&[b"x"])
        };
        let a = sig(&s, b"20240101", "us-east-1");
        let b = sig(&s, b"20240102", "us-east-1");
        let c = sig(&s, b"20240102", "eu-west-1");
        let d = sig(&Secret::from("rotated"), b"20240102", "eu-west-1");
        let a2 = sig(&s, b"20240101", "us-east-1");
        assert!(matches!(
            cache.get("AK", &s, b"20240101", "us-east-1"),
            DayRef::Cached(_)
        ));
        let day = cache.get("AK/x", &s, b"20240101", "us-east-1");
        assert!(matches!(day, DayRef::Fresh(_)));
        assert_eq!(day.scope, "20240101/us-east-1/s3/aws4_request");
        assert_eq!(
            day.credential_encoded,
            "AK%2Fx%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        );
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_ne!(c, d);
        assert_eq!(a, a2);
        let direct = hmac_sha256(
            &generate_signing_key("s", "20240101", "us-east-1", "s3"),
            b"x",
        );
        assert_eq!(a, direct);
    }
}
