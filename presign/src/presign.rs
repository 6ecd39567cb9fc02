//! Query-signed (presigned) URLs: SigV4 with the signature in the query string.
//!
//! A presigned URL lets whoever holds it make exactly one kind of request (method, bucket, key,
//! signed headers) until it expires, without credentials. S3 checks it as described in
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.
//!
//! ```
//! use signpost_presign::{Addressing, Credentials, Endpoint, Presigner, PresignRequest};
//! use std::time::Duration;
//! use time::macros::datetime;
//!
//! let presigner = Presigner::new(
//!     Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
//!     Endpoint::custom("https://s3.amazonaws.com", "us-east-1")?
//!         .with_addressing(Addressing::VirtualHosted),
//! );
//! // AWS's documented example: GET examplebucket/test.txt, 20130524T000000Z, 86400 s.
//! let url = presigner.presign(
//!     &PresignRequest::get_object("examplebucket", "test.txt")
//!         .expires_in(Duration::from_secs(86400))
//!         .at(datetime!(2013-05-24 0:00 UTC)),
//! )?.url;
//! assert!(url.ends_with("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use signpost_wire::amz_date::format_amz_date;
use signpost_wire::descriptor::redact_url;
use signpost_wire::{OrderedPairs, RunnerJobCustomUpload, UploadMethod};
use time::OffsetDateTime;

use crate::canonical_request::{
    ALGORITHM, CanonicalParts, canonical_request_hash, normalize_header_value,
};
use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, validate_key};
use crate::error::{MAX_EXPIRES_SECS, MIN_EXPIRES_SECS, PresignError};
use crate::signing_key::{DayScope, SigningKeyCache, calculate_signature_parts};
use crate::uri_encode::{encode_into, hex_into_array};

/// The S3 operation a URL is signed for: its method and sub-resource query.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum S3Operation {
    /// `PUT /key`.
    PutObject,
    /// `GET /key`.
    GetObject,
    /// `HEAD /key`.
    HeadObject,
    /// `DELETE /key`.
    DeleteObject,
    /// `POST /key?uploads`.
    CreateMultipartUpload,
    /// `PUT /key?partNumber=N&uploadId=ID`.
    UploadPart {
        /// 1 to 10000.
        part_number: u32,
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `POST /key?uploadId=ID`.
    CompleteMultipartUpload {
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `DELETE /key?uploadId=ID`.
    AbortMultipartUpload {
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `GET /key?uploadId=ID` (ListParts).
    ListParts {
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `PUT /` of the bucket (CreateBucket); no key.
    CreateBucket,
    /// `HEAD /` of the bucket (HeadBucket); no key.
    HeadBucket,
    /// `GET /?uploads` of the bucket (ListMultipartUploads); no key.
    ListMultipartUploads,
}

impl S3Operation {
    /// The HTTP method.
    pub fn method(&self) -> &'static str {
        match self {
            S3Operation::PutObject | S3Operation::UploadPart { .. } | S3Operation::CreateBucket => {
                "PUT"
            }
            S3Operation::GetObject
            | S3Operation::ListParts { .. }
            | S3Operation::ListMultipartUploads => "GET",
            S3Operation::HeadObject | S3Operation::HeadBucket => "HEAD",
            S3Operation::DeleteObject | S3Operation::AbortMultipartUpload { .. } => "DELETE",
            S3Operation::CreateMultipartUpload | S3Operation::CompleteMultipartUpload { .. } => {
                "POST"
            }
        }
    }

    /// The sub-resource query parameters, in the order they are written into the URL.
    fn query(&self) -> Vec<(&'static str, String)> {
        match self {
            S3Operation::CreateMultipartUpload | S3Operation::ListMultipartUploads => {
                vec![("uploads", String::new())]
            }
            S3Operation::UploadPart {
                part_number,
                upload_id,
            } => vec![
                ("partNumber", part_number.to_string()),
                ("uploadId", upload_id.clone()),
            ],
            S3Operation::CompleteMultipartUpload { upload_id }
            | S3Operation::AbortMultipartUpload { upload_id }
            | S3Operation::ListParts { upload_id } => vec![("uploadId", upload_id.clone())],
            _ => Vec::new(),
        }
    }

    /// Whether the operation is on the bucket itself (no key).
    pub fn is_bucket_operation(&self) -> bool {
        matches!(
            self,
            S3Operation::CreateBucket | S3Operation::HeadBucket | S3Operation::ListMultipartUploads
        )
    }

    fn validate(&self) -> Result<(), PresignError> {
        match self {
            S3Operation::UploadPart {
                part_number,
                upload_id,
            } => {
                if !(1..=10_000).contains(part_number) {
                    return Err(PresignError::InvalidPartNumber(*part_number));
                }
                if upload_id.is_empty() {
                    return Err(PresignError::EmptyUploadId);
                }
            }
            S3Operation::CompleteMultipartUpload { upload_id }
            | S3Operation::AbortMultipartUpload { upload_id }
            | S3Operation::ListParts { upload_id }
                if upload_id.is_empty() =>
            {
                return Err(PresignError::EmptyUploadId);
            }
            _ => {}
        }
        Ok(())
    }
}

/// What to presign: operation, bucket, key, expiry, headers the request will carry.
///
/// Build with a constructor ([`put_object`](Self::put_object), [`get_object`](Self::get_object),
/// the multipart calls) and the `with`-style methods.
#[derive(Clone, Debug)]
pub struct PresignRequest {
    operation: S3Operation,
    bucket: String,
    key: String,
    expires_in: Duration,
    at: Option<OffsetDateTime>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

impl PresignRequest {
    /// A request for `operation` on `bucket`/`key`, expiring in one hour.
    pub fn new(operation: S3Operation, bucket: impl Into<String>, key: impl Into<String>) -> Self {
        PresignRequest {
            operation,
            bucket: bucket.into(),
            key: key.into(),
            expires_in: Duration::from_secs(3600),
            at: None,
            headers: Vec::new(),
            query: Vec::new(),
        }
    }

    /// PutObject.
    pub fn put_object(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(S3Operation::PutObject, bucket, key)
    }

    /// GetObject.
    pub fn get_object(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(S3Operation::GetObject, bucket, key)
    }

    /// An operation on the bucket itself (CreateBucket, HeadBucket, ListMultipartUploads).
    pub fn bucket(operation: S3Operation, bucket: impl Into<String>) -> Self {
        Self::new(operation, bucket, "")
    }

    /// CreateMultipartUpload.
    pub fn create_multipart_upload(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(S3Operation::CreateMultipartUpload, bucket, key)
    }

    /// UploadPart number `part_number` (1-based) of `upload_id`.
    pub fn upload_part(
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
        part_number: u32,
    ) -> Self {
        Self::new(
            S3Operation::UploadPart {
                part_number,
                upload_id: upload_id.into(),
            },
            bucket,
            key,
        )
    }

    /// CompleteMultipartUpload of `upload_id`.
    pub fn complete_multipart_upload(
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> Self {
        Self::new(
            S3Operation::CompleteMultipartUpload {
                upload_id: upload_id.into(),
            },
            bucket,
            key,
        )
    }

    /// AbortMultipartUpload of `upload_id`.
    pub fn abort_multipart_upload(
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> Self {
        Self::new(
            S3Operation::AbortMultipartUpload {
                upload_id: upload_id.into(),
            },
            bucket,
            key,
        )
    }

    /// Validity from signing: 1 second to 7 days (whole seconds; a fraction is dropped).
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expires_in = d;
        self
    }

    /// Signs as of `t` instead of now (tests, reproducible URLs).
    pub fn at(mut self, t: OffsetDateTime) -> Self {
        self.at = Some(t);
        self
    }

    /// A header the request must carry, signed. Allowed: `Content-Type`, `Content-MD5`,
    /// `Content-Encoding`, `Content-Language`, `Content-Disposition`, `Cache-Control`,
    /// `Expires` and `x-amz-*` (metadata, checksums, ACL, storage class, tagging, SSE).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Content-Type`.
    pub fn content_type(self, v: impl Into<String>) -> Self {
        self.header("Content-Type", v)
    }

    /// User metadata `x-amz-meta-NAME`.
    pub fn meta(self, name: &str, v: impl Into<String>) -> Self {
        self.header(format!("x-amz-meta-{name}"), v)
    }

    /// `x-amz-checksum-sha256`: the base64 SHA-256 of the body, which S3 then verifies.
    pub fn checksum_sha256(self, base64: impl Into<String>) -> Self {
        self.header("x-amz-checksum-sha256", base64)
    }

    /// An extra signed query parameter, e.g. `response-content-disposition` on a GET.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// The operation.
    pub fn operation(&self) -> &S3Operation {
        &self.operation
    }
}

/// A signed request: the URL and the headers that must be sent with it.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// `PUT`, `GET`, `POST`, `DELETE`, `HEAD`.
    pub method: &'static str,
    /// The full URL, signature included.
    pub url: String,
    /// The signed headers, as they must be sent (Host excluded: the client sets it).
    pub headers: OrderedPairs,
    /// The last instant S3 accepts the URL.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for PresignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresignedRequest")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("headers", &self.headers)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl PresignedRequest {
    /// The upload descriptor a runner consumes: `{ url, method: "PUT", headers }`.
    ///
    /// Only a PUT is an upload target; for other methods the descriptor still carries the URL
    /// and the method is PUT or POST as the request's.
    pub fn to_descriptor(&self) -> RunnerJobCustomUpload {
        let method = if self.method == "POST" {
            UploadMethod::Post
        } else {
            UploadMethod::Put
        };
        let mut d = RunnerJobCustomUpload::new(self.url.clone(), method);
        d.headers = self.headers.clone();
        d
    }
}

/// Signs requests for one set of credentials and one endpoint, caching the derived signing key.
///
/// Cheap to share: wrap it in an `Arc` and sign from any thread.
#[derive(Debug)]
pub struct Presigner {
    credentials: Credentials,
    endpoint: Endpoint,
    service: String,
    keys: SigningKeyCache,
}

/// A header name checked and lower-cased, and its value normalized.
pub(crate) fn check_signed_header<'a>(
    name: &'a str,
    value: &'a str,
) -> Result<(Cow<'a, str>, Cow<'a, str>), PresignError> {
    let lower: Cow<'a, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    let unsignable = |reason| {
        Err(PresignError::UnsignableHeader {
            name: name.to_owned(),
            reason,
        })
    };
    if lower.is_empty()
        || !lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return unsignable("a header name is a token of letters, digits and !#$%&'*+-.^_`|~");
    }
    const STANDARD: [&str; 7] = [
        "content-type",
        "content-md5",
        "content-encoding",
        "content-language",
        "content-disposition",
        "cache-control",
        "expires",
    ];
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
    if RESERVED.contains(&&*lower) {
        return unsignable("signpost sets the SigV4 parameters itself");
    }
    if !(STANDARD.contains(&&*lower) || lower.starts_with("x-amz-")) {
        return unsignable(
            "a presigned S3 request signs only Content-Type, Content-MD5, Content-Encoding, Content-Language, Content-Disposition, Cache-Control, Expires and x-amz-* headers",
        );
    }
    if &*lower == "x-amz-meta-" {
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
    Ok((lower, normalize_header_value(value)))
}

impl Presigner {
    /// A presigner for S3 (`service` = `s3`).
    pub fn new(credentials: Credentials, endpoint: Endpoint) -> Self {
        Presigner {
            credentials,
            endpoint,
            service: "s3".to_owned(),
            keys: SigningKeyCache::default(),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The cached per-day scope (signing key, scope, encoded credential).
    pub(crate) fn day_scope(&self, date: &[u8; 8]) -> Arc<DayScope> {
        self.keys.get(
            self.credentials.access_key_id(),
            self.credentials.secret_access_key(),
            date,
            self.endpoint.region(),
            &self.service,
        )
    }

    pub(crate) fn signing_time(at: Option<OffsetDateTime>) -> OffsetDateTime {
        let t = at.unwrap_or_else(OffsetDateTime::now_utc);
        t.replace_nanosecond(0).unwrap_or(t)
    }

    /// Signs `req`.
    ///
    /// This is the hot path of a server handing out upload URLs; it writes the canonical request
    /// straight into SHA-256 and the string to sign straight into the cached HMAC state.
    pub fn presign(&self, req: &PresignRequest) -> Result<PresignedRequest, PresignError> {
        self.endpoint.validate_bucket(&req.bucket)?;
        if req.operation.is_bucket_operation() {
            if !req.key.is_empty() {
                return Err(PresignError::InvalidValue {
                    name: "key".into(),
                    reason: "a bucket operation has no object key",
                });
            }
        } else {
            validate_key(&req.key)?;
        }
        req.operation.validate()?;
        let expires = req.expires_in.as_secs();
        if !(MIN_EXPIRES_SECS..=MAX_EXPIRES_SECS).contains(&expires) {
            return Err(PresignError::ExpiryOutOfRange { seconds: expires });
        }
        let host = self.endpoint.host_for(&req.bucket);
        let mut headers: Vec<(Cow<'_, str>, Cow<'_, str>)> =
            Vec::with_capacity(req.headers.len() + 1);
        headers.push((Cow::Borrowed("host"), Cow::Borrowed(&*host)));
        for (name, value) in &req.headers {
            let (lower, value) = check_signed_header(name, value)?;
            if headers.iter().any(|(n, _)| *n == lower) {
                return Err(PresignError::UnsignableHeader {
                    name: name.clone(),
                    reason: "given twice",
                });
            }
            headers.push((lower, value));
        }
        headers.sort_unstable();

        let at = Self::signing_time(req.at);
        let expires_at = at
            .checked_add(time::Duration::seconds(expires as i64))
            .ok_or(PresignError::TimeOutOfRange { at })?;
        let amz_date_bytes = format_amz_date(at);
        let amz_date = std::str::from_utf8(&amz_date_bytes).unwrap_or_default();
        let date: [u8; 8] = amz_date_bytes[..8].try_into().unwrap_or([b'0'; 8]);
        let day = self.day_scope(&date);
        let mut expires_buf = [0u8; 20];
        let expires_str = format_u64(expires, &mut expires_buf);

        // The URL so far: scheme://host/path
        let mut url = String::with_capacity(320 + req.key.len() * 3);
        url.push_str(self.endpoint.scheme());
        url.push_str("://");
        url.push_str(&host);
        let path_start = url.len();
        self.endpoint.write_path(&mut url, &req.bucket, &req.key);
        let path_end = url.len();
        // `X-Amz-SignedHeaders`, already encoded (`;` is `%3B`), written after the path.
        for (i, (n, _)) in headers.iter().enumerate() {
            if i > 0 {
                url.push_str("%3B");
            }
            url.push_str(n);
        }
        let signed_end = url.len();
        let op_query = req.operation.query();
        let token_encoded = self
            .credentials
            .session_token()
            .map(crate::uri_encode::encode);

        {
            let path = &url[path_start..path_end];
            let signed_headers = &url[path_end..signed_end];
            let mut query: Vec<(Cow<'_, str>, Cow<'_, str>)> =
                Vec::with_capacity(op_query.len() + req.query.len() + 6);
            for (k, v) in &op_query {
                query.push((Cow::Borrowed(*k), encode_cow(v)));
            }
            for (k, v) in &req.query {
                query.push((encode_cow(k), encode_cow(v)));
            }
            query.push((Cow::Borrowed("X-Amz-Algorithm"), Cow::Borrowed(ALGORITHM)));
            query.push((
                Cow::Borrowed("X-Amz-Credential"),
                Cow::Borrowed(&day.credential_encoded),
            ));
            query.push((Cow::Borrowed("X-Amz-Date"), Cow::Borrowed(amz_date)));
            query.push((Cow::Borrowed("X-Amz-Expires"), Cow::Borrowed(expires_str)));
            query.push((
                Cow::Borrowed("X-Amz-SignedHeaders"),
                Cow::Borrowed(signed_headers),
            ));
            if let Some(t) = &token_encoded {
                query.push((Cow::Borrowed("X-Amz-Security-Token"), Cow::Borrowed(t)));
            }
            query.sort_unstable();
            let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (&**k, &**v)).collect();
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (&**k, &**v)).collect();
            let creq_hash = canonical_request_hash(&CanonicalParts {
                method: req.operation.method(),
                path,
                query: &q,
                headers: &h,
            });
            let mut creq_hex = [0u8; 64];
            hex_into_array(&mut creq_hex, &creq_hash);
            let signature = calculate_signature_parts(
                &day.mac,
                &[
                    ALGORITHM.as_bytes(),
                    b"\n",
                    amz_date.as_bytes(),
                    b"\n",
                    day.scope.as_bytes(),
                    b"\n",
                    &creq_hex,
                ],
            );
            // Reuse the hex buffer for the signature.
            hex_into_array(&mut creq_hex, &signature);
            let signed_headers = signed_headers.to_owned();
            url.truncate(path_end);

            // Operation query first, as written, then the SigV4 parameters in aws-sigv4's order.
            let sep = write_query(&mut url, &op_query, &req.query);
            url.push(sep);
            url.push_str("X-Amz-Algorithm=");
            url.push_str(ALGORITHM);
            url.push_str("&X-Amz-Credential=");
            url.push_str(&day.credential_encoded);
            url.push_str("&X-Amz-Date=");
            url.push_str(amz_date);
            url.push_str("&X-Amz-Expires=");
            url.push_str(expires_str);
            url.push_str("&X-Amz-SignedHeaders=");
            url.push_str(&signed_headers);
            url.push_str("&X-Amz-Signature=");
            url.push_str(std::str::from_utf8(&creq_hex).unwrap_or_default());
            if let Some(t) = &token_encoded {
                url.push_str("&X-Amz-Security-Token=");
                url.push_str(t);
            }
        }

        // Headers to send: as the caller named them, with normalized values; Host is the client's.
        let mut send = OrderedPairs(Vec::with_capacity(req.headers.len()));
        for (name, value) in &req.headers {
            send.push(name.clone(), normalize_header_value(value).into_owned());
        }
        Ok(PresignedRequest {
            method: req.operation.method(),
            url,
            headers: send,
            expires_at,
        })
    }

    /// The URL `req` would be signed for, without the SigV4 parameters (for comparisons and
    /// diagnostics).
    pub fn unsigned_url(&self, req: &PresignRequest) -> String {
        let mut url = format!(
            "{}://{}",
            self.endpoint.scheme(),
            self.endpoint.host_for(&req.bucket)
        );
        self.endpoint.write_path(&mut url, &req.bucket, &req.key);
        write_query(&mut url, &req.operation.query(), &req.query);
        url
    }
}

fn encode_cow(s: &str) -> Cow<'_, str> {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(crate::uri_encode::encode(s))
    }
}

/// Appends the operation's sub-resource query, then the caller's parameters, as the URL carries
/// them (the signed URL and [`Presigner::unsigned_url`] share this prefix). Returns the separator
/// for what follows: `?` if nothing was written, else `&`.
fn write_query(
    url: &mut String,
    op: &[(&'static str, String)],
    extra: &[(String, String)],
) -> char {
    let mut sep = '?';
    let pairs = op
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (k, v) in pairs {
        url.push(sep);
        sep = '&';
        encode_into(url, k, false);
        url.push('=');
        encode_into(url, v, false);
    }
    sep
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
mod tests {
    use super::*;
    use time::macros::datetime;

    fn presigner() -> Presigner {
        Presigner::new(
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            Endpoint::aws("us-east-1").unwrap(),
        )
    }

    #[test]
    fn expiry_range_is_enforced() {
        let p = presigner();
        for secs in [0, 604_801] {
            let e = p
                .presign(
                    &PresignRequest::put_object("bucket", "k")
                        .expires_in(Duration::from_secs(secs)),
                )
                .unwrap_err();
            assert!(matches!(e, PresignError::ExpiryOutOfRange { seconds } if seconds == secs));
            assert!(e.to_string().contains("604800"));
        }
        assert!(
            p.presign(
                &PresignRequest::put_object("bucket", "k").expires_in(Duration::from_secs(604_800))
            )
            .is_ok()
        );
        assert!(
            p.presign(
                &PresignRequest::put_object("bucket", "k").expires_in(Duration::from_secs(1))
            )
            .is_ok()
        );
    }

    #[test]
    fn headers_are_checked() {
        let p = presigner();
        let e = p
            .presign(&PresignRequest::put_object("bucket", "k").header("X-Custom", "1"))
            .unwrap_err();
        assert!(matches!(e, PresignError::UnsignableHeader { .. }), "{e}");
        let e = p
            .presign(&PresignRequest::put_object("bucket", "k").header("x-amz-date", "1"))
            .unwrap_err();
        assert!(matches!(e, PresignError::UnsignableHeader { .. }), "{e}");
        let e = p
            .presign(&PresignRequest::put_object("bucket", "k").meta("a", "é"))
            .unwrap_err();
        assert!(matches!(e, PresignError::InvalidValue { .. }), "{e}");
        let e = p
            .presign(
                &PresignRequest::put_object("bucket", "k")
                    .content_type("a")
                    .header("content-type", "b"),
            )
            .unwrap_err();
        assert!(e.to_string().contains("twice"));
    }

    #[test]
    fn signed_put_carries_headers_and_expiry() {
        let r = presigner()
            .presign(
                &PresignRequest::put_object("bucket", "a b.mp4")
                    .content_type("video/mp4")
                    .meta("job", "42")
                    .at(datetime!(2024-01-02 3:04:05 UTC))
                    .expires_in(Duration::from_secs(600)),
            )
            .unwrap();
        assert_eq!(r.method, "PUT");
        assert!(r.url.starts_with(
            "https://bucket.s3.us-east-1.amazonaws.com/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        ));
        assert!(
            r.url
                .contains("X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-job&")
        );
        assert_eq!(r.expires_at, datetime!(2024-01-02 3:14:05 UTC));
        assert_eq!(r.headers.get("content-type"), Some("video/mp4"));
        let d = r.to_descriptor();
        assert_eq!(d.url, r.url);
        assert!(d.validate().is_ok());
        assert!(!format!("{r:?}").contains(&r.url[r.url.len() - 64..]));
    }

    #[test]
    fn session_token_is_signed_and_redacted() {
        let p = Presigner::new(
            Credentials::new("AKID", "SECRET").with_session_token("TOKEN/+="),
            Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap(),
        );
        let r = p.presign(&PresignRequest::get_object("b", "k")).unwrap();
        assert!(r.url.contains("&X-Amz-Security-Token=TOKEN%2F%2B%3D"));
        assert!(!format!("{r:?}").contains("TOKEN"));
        assert!(!format!("{p:?}").contains("SECRET"));
    }
}
