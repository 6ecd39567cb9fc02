//! The presigner: query-signed (presigned) URLs, SigV4 with the signature in the query string.
//!
//! A presigned URL lets whoever holds it make exactly one kind of request (method, bucket, key,
//! signed headers) until it expires, without credentials. S3 checks it as described in
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use signpost_wire::sigv4::param::{
    X_AMZ_ALGORITHM, X_AMZ_CREDENTIAL, X_AMZ_DATE, X_AMZ_EXPIRES, X_AMZ_SECURITY_TOKEN,
    X_AMZ_SIGNATURE, X_AMZ_SIGNED_HEADERS,
};
use std::borrow::Cow;

use arc_swap::ArcSwapOption;
use signpost_wire::amz_date::format_amz_date;
use signpost_wire::{OrderedPairs, SignedUrl};
use smallvec::SmallVec;
use time::OffsetDateTime;

use crate::canonical_request::{ALGORITHM, CanonicalParts, canonical_request_hash};
use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, validate_key};
use crate::error::PresignError;
use crate::operation::OpValue;
use crate::request::{PresignRequest, PresignedRequest};
use crate::signed_headers::{LowerName, check_signed_header};
use crate::signing_credentials::{SigningCredentials, loaded};
use crate::signing_key::{DayRef, SigningKeyCache};
use crate::uri_encode::{encode_component_into, hex_into_array};
use crate::validity::Validity;

/// Signs requests for one set of credentials and one endpoint, caching the derived signing key.
///
/// Share one across threads (`Arc<Presigner>`): signing takes no lock once the day's key is
/// derived, so threads do not wait for each other.
///
/// ```
/// use signpost_presign::{Addressing, Credentials, Endpoint, Presigner, PresignRequest, Validity};
/// use std::time::Duration;
/// use time::macros::datetime;
///
/// let presigner = Presigner::new(
///     Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
///     Endpoint::custom("https://s3.amazonaws.com", "us-east-1")?
///         .with_addressing(Addressing::VirtualHosted),
/// );
/// // AWS's documented example: GET examplebucket/test.txt, 20130524T000000Z, 86400 s.
/// let validity = Validity::expires_in(Duration::from_secs(86400))?
///     .signed_at(datetime!(2013-05-24 0:00 UTC))?;
/// let get = presigner.presign(
///     &PresignRequest::get_object("examplebucket", "test.txt").validity(validity),
/// )?;
/// assert!(get.url().as_str().ends_with(
///     "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
/// ));
/// # Ok::<(), signpost_presign::PresignError>(())
/// ```
#[derive(Debug)]
pub struct Presigner {
    /// The credentials signing now: replaced (never locked) when a provider refreshes them.
    pub(crate) current: ArcSwapOption<SigningCredentials>,
    provider: Option<crate::provider::Refresher>,
    endpoint: Endpoint,
    keys: SigningKeyCache,
}

impl Presigner {
    /// A presigner for S3 with fixed credentials.
    pub fn new(credentials: Credentials, endpoint: Endpoint) -> Self {
        Presigner {
            current: ArcSwapOption::from_pointee(SigningCredentials::new(credentials)),
            provider: None,
            endpoint,
            keys: SigningKeyCache::default(),
        }
    }

    /// A presigner whose credentials come from `provider` (the AWS SDKs' provider trait: the
    /// default chain of `aws-config`, an STS role, a container or instance role, or your own),
    /// loaded on first use and loaded again before they expire.
    ///
    /// Sign with [`presign_fresh`](Self::presign_fresh), or call
    /// [`refresh_credentials`](Self::refresh_credentials) and then [`presign`](Self::presign):
    /// signing itself reads the cached credentials without a lock or a call to the provider.
    pub fn with_provider(
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
        endpoint: Endpoint,
    ) -> Self {
        Presigner {
            current: ArcSwapOption::empty(),
            provider: Some(crate::provider::Refresher::new(provider)),
            endpoint,
            keys: SigningKeyCache::default(),
        }
    }

    /// Loads credentials from the provider when none are cached or the cached ones are near
    /// their expiry (a quarter of their lifetime, at most 15 minutes, before it); one caller
    /// loads while the others wait. If loading fails while the cached credentials are still
    /// valid, those keep signing (their URLs are cut to their expiry) and the error is
    /// returned only once they have expired. Does nothing for fixed credentials.
    pub async fn refresh_credentials(&self) -> Result<(), PresignError> {
        match &self.provider {
            Some(r) => r.refresh(&self.current).await,
            None => Ok(()),
        }
    }

    /// [`refresh_credentials`](Self::refresh_credentials), then [`presign`](Self::presign).
    pub async fn presign_fresh(
        &self,
        req: &PresignRequest,
    ) -> Result<PresignedRequest, PresignError> {
        self.refresh_credentials().await?;
        self.presign(req)
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The credentials signing now (`None` before a provider's first load).
    pub fn credentials(&self) -> Option<Credentials> {
        self.current.load().as_ref().map(|c| c.credentials.clone())
    }

    /// When the credentials cut `validity` short, the instant a URL signed with it now stops
    /// working (before the end asked for); `None` when they do not. Fails as signing would: no
    /// credentials loaded, credentials expired, or a strict validity they cannot cover.
    pub fn expiry_cut(&self, validity: &Validity) -> Result<Option<OffsetDateTime>, PresignError> {
        let guard = self.current.load();
        let window = validity.window_for(loaded(&guard)?.credentials.expires_at())?;
        Ok(window.capped_from.map(|_| window.expires_at))
    }

    /// The cached per-day scope (signing key, scope, encoded credential).
    pub(crate) fn day_scope(&self, credentials: &Credentials, date: &[u8; 8]) -> DayRef {
        self.keys.get(
            credentials.access_key_id(),
            credentials.secret(),
            date,
            self.endpoint.region(),
        )
    }

    /// Signs `req`.
    ///
    /// This is the hot path of a server handing out upload URLs: the URL is written once, the
    /// canonical request is streamed from slices of it into SHA-256, and the string to sign into
    /// the cached, already keyed HMAC state.
    pub fn presign(&self, req: &PresignRequest) -> Result<PresignedRequest, PresignError> {
        self.endpoint.validate_bucket(&req.bucket)?;
        if req.operation.is_bucket_operation() {
            if !req.key.is_empty() {
                return Err(PresignError::KeyOnBucketOperation);
            }
        } else {
            validate_key(&req.key)?;
        }
        req.operation.validate()?;
        let host = self.endpoint.host_for(&req.bucket);
        // Signed headers, lower-case and sorted; kept on the stack for the usual few.
        let mut names: SmallVec<[LowerName; 4]> = SmallVec::new();
        let mut values: SmallVec<[Cow<'_, str>; 4]> = SmallVec::new();
        for (name, value) in &req.headers {
            let (lower, value) = check_signed_header(name, value)?;
            names.push(lower);
            values.push(value);
        }
        let mut headers: SmallVec<[(&str, &str); 5]> = SmallVec::new();
        headers.push(("host", &host));
        for (i, (lower, value)) in names.iter().zip(&values).enumerate() {
            let lower = std::str::from_utf8(lower).unwrap_or_default();
            if headers.iter().any(|(n, _)| *n == lower) {
                return Err(PresignError::UnsignableHeader {
                    name: req.headers[i].0.clone(),
                    reason: "given twice",
                });
            }
            headers.push((lower, value));
        }
        headers.sort_unstable();

        let guard = self.current.load();
        let signing = loaded(&guard)?;
        let window = req.validity.window_for(signing.credentials.expires_at())?;
        let amz_date_bytes = format_amz_date(window.signed_at);
        let amz_date = std::str::from_utf8(&amz_date_bytes).unwrap_or_default();
        let mut date = [0u8; 8];
        date.copy_from_slice(&amz_date_bytes[..8]);
        let day = self.day_scope(&signing.credentials, &date);
        let mut expires_buf = [0u8; 20];
        let expires = format_u64(window.expires_in, &mut expires_buf);

        // The URL, written once: scheme://host/path?[sub-resources&]X-Amz-...; the canonical
        // query is read back from it as (name, value) ranges.
        let extra: usize = req.query.iter().map(|(k, v)| k.len() + v.len()).sum();
        let names_len: usize = headers.iter().map(|(n, _)| n.len() + 3).sum();
        let mut url = String::with_capacity(
            200 + host.len()
                + 3 * (req.bucket.len() + req.key.len() + extra)
                + day.credential_encoded.len()
                + names_len
                + signing.token_encoded.as_ref().map_or(0, |t| t.len() + 24),
        );
        url.push_str(self.endpoint.scheme());
        url.push_str("://");
        url.push_str(&host);
        let path_start = url.len();
        self.endpoint.write_path(&mut url, &req.bucket, &req.key);
        let path_end = url.len();
        let mut ranges: SmallVec<[[usize; 3]; 10]> = SmallVec::new();
        let mut param = |url: &mut String, name: &str, encoded: bool, value: &str| {
            url.push(if url.len() == path_end { '?' } else { '&' });
            let start = url.len();
            if encoded {
                url.push_str(name);
            } else {
                encode_component_into(url, name);
            }
            url.push('=');
            let eq = url.len();
            if encoded {
                url.push_str(value);
            } else {
                encode_component_into(url, value);
            }
            ranges.push([start, eq, url.len()]);
        };
        for (name, value) in req.operation.query().iter().flatten() {
            match value {
                OpValue::Str(v) => param(&mut url, name, false, v),
                OpValue::Number(n) => {
                    let mut buf = [0u8; 20];
                    param(&mut url, name, true, format_u64(u64::from(*n), &mut buf));
                }
            }
        }
        for (name, value) in &req.query {
            param(&mut url, name, false, value);
        }
        param(&mut url, X_AMZ_ALGORITHM, true, ALGORITHM);
        param(&mut url, X_AMZ_CREDENTIAL, true, &day.credential_encoded);
        param(&mut url, X_AMZ_DATE, true, amz_date);
        param(&mut url, X_AMZ_EXPIRES, true, expires);
        url.push('&');
        let name_start = url.len();
        url.push_str(X_AMZ_SIGNED_HEADERS);
        url.push('=');
        let signed_start = url.len();
        for (i, (n, _)) in headers.iter().enumerate() {
            if i > 0 {
                url.push_str("%3B");
            }
            url.push_str(n);
        }
        ranges.push([name_start, signed_start, url.len()]);
        let unsigned_end = url.len();
        // The token follows the signature in the URL (as aws-sigv4 writes it) but is signed.
        let token_range = signing.token_encoded.as_deref().map(|t| {
            url.push('&');
            let name = url.len();
            url.push_str(X_AMZ_SECURITY_TOKEN);
            url.push('=');
            let v = url.len();
            url.push_str(t);
            [name, v, url.len()]
        });
        ranges.extend(token_range);

        let signature = {
            let text = url.as_str();
            let pair = |r: &[usize; 3]| (&text[r[0]..r[1] - 1], &text[r[1]..r[2]]);
            let mut query: SmallVec<[(&str, &str); 10]> = SmallVec::new();
            for r in &ranges {
                query.push(pair(r));
            }
            query.sort_unstable();
            let creq_hash = canonical_request_hash(&CanonicalParts {
                method: req.operation.method().as_str(),
                path: &text[path_start..path_end],
                query: &query,
                headers: &headers,
            });
            let mut hex = [0u8; 64];
            hex_into_array(&mut hex, &creq_hash);
            let sig = day.mac.sign(&[
                ALGORITHM.as_bytes(),
                b"\n",
                amz_date.as_bytes(),
                b"\n",
                day.scope.as_bytes(),
                b"\n",
                &hex,
            ]);
            hex_into_array(&mut hex, &sig);
            hex
        };
        let token = token_range.map(|r| url[r[0]..].to_owned());
        url.truncate(unsigned_end);
        url.push('&');
        url.push_str(X_AMZ_SIGNATURE);
        url.push('=');
        url.push_str(std::str::from_utf8(&signature).unwrap_or_default());
        if let Some(t) = token {
            url.push('&');
            url.push_str(&t);
        }

        // Headers to send: as the caller named them, with normalized values; Host is the client's.
        let mut send = OrderedPairs(Vec::with_capacity(req.headers.len()));
        for (name, value) in &req.headers {
            send.push(
                name.clone(),
                crate::canonical_request::normalize_header_value(value).into_owned(),
            );
        }
        Ok(PresignedRequest {
            method: req.operation.method(),
            operation: req.operation.name(),
            url: SignedUrl::from(url),
            headers: send,
            expires_at: window.expires_at,
            capped_from: window.capped_from,
        })
    }

    /// The URL `req` would be signed for, without the SigV4 parameters: what another signer
    /// (aws-sigv4) is given for the same request, in comparisons and diagnostics.
    pub fn unsigned_url(&self, req: &PresignRequest) -> String {
        let mut url = format!(
            "{}://{}",
            self.endpoint.scheme(),
            self.endpoint.host_for(&req.bucket)
        );
        self.endpoint.write_path(&mut url, &req.bucket, &req.key);
        let mut sep = '?';
        let mut push = |url: &mut String, k: &str, v: &str| {
            url.push(sep);
            sep = '&';
            encode_component_into(url, k);
            url.push('=');
            encode_component_into(url, v);
        };
        for (name, value) in req.operation.query().iter().flatten() {
            match value {
                OpValue::Str(v) => push(&mut url, name, v),
                OpValue::Number(n) => push(&mut url, name, &n.to_string()),
            }
        }
        for (k, v) in &req.query {
            push(&mut url, k, v);
        }
        url
    }
}

fn format_u64(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests;
