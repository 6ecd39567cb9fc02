//! What to presign ([`PresignRequest`]) and what comes out ([`PresignedRequest`]).

use http::Method;
use signpost_wire::{OrderedPairs, RunnerJobCustomUpload, SignedUrl, UploadMethod};
use time::OffsetDateTime;

use crate::error::PresignError;
use crate::operation::S3Operation;
use crate::validity::Validity;

/// What to presign: operation, bucket, key, validity, headers the request will carry.
///
/// Build with a constructor ([`put_object`](Self::put_object), [`get_object`](Self::get_object),
/// the multipart calls) and the `with`-style methods.
#[derive(Clone, Debug)]
pub struct PresignRequest {
    pub(crate) operation: S3Operation,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) validity: Validity,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
}

impl PresignRequest {
    /// A request for `operation` on `bucket`/`key`, valid for one hour from signing.
    pub fn new(operation: S3Operation, bucket: impl Into<String>, key: impl Into<String>) -> Self {
        PresignRequest {
            operation,
            bucket: bucket.into(),
            key: key.into(),
            validity: Validity::default(),
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
        let upload_id = upload_id.into();
        Self::new(
            S3Operation::UploadPart {
                part_number,
                upload_id,
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
        let upload_id = upload_id.into();
        Self::new(
            S3Operation::CompleteMultipartUpload { upload_id },
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
        let upload_id = upload_id.into();
        Self::new(S3Operation::AbortMultipartUpload { upload_id }, bucket, key)
    }

    /// ListParts of `upload_id`: what the server holds of it (its first 1,000 parts).
    pub fn list_parts(
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> Self {
        let upload_id = upload_id.into();
        Self::new(S3Operation::ListParts { upload_id }, bucket, key)
    }

    /// When it is signed and how long it is accepted (default: now, one hour).
    pub fn validity(mut self, v: Validity) -> Self {
        self.validity = v;
        self
    }

    /// A header the request must carry, signed. Allowed: `Content-Type`, `Content-MD5`,
    /// `Content-Encoding`, `Content-Language`, `Content-Disposition`, `Cache-Control`,
    /// `Expires` and `x-amz-*` (metadata, checksums, ACL, storage class, tagging, SSE).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Signs `Content-Length`: S3 then refuses a body of any other size (a fixed-size PUT).
    /// The descriptor carries it as a header so that the uploader checks the file first.
    pub fn content_length(mut self, bytes: u64) -> Self {
        self.headers
            .push(("Content-Length".into(), bytes.to_string()));
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
///
/// `Debug` shows the URL with its signature and token redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedRequest {
    pub(crate) method: Method,
    pub(crate) operation: &'static str,
    pub(crate) url: SignedUrl,
    pub(crate) headers: OrderedPairs,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) capped_from: Option<OffsetDateTime>,
}

impl PresignedRequest {
    /// `PUT`, `GET`, `POST`, `DELETE`, `HEAD`.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The operation's name (`CreateMultipartUpload`), as messages name the request.
    pub fn operation_name(&self) -> &'static str {
        self.operation
    }

    /// The full URL, signature included (`Display` redacts it; `as_str` does not).
    pub fn url(&self) -> &SignedUrl {
        &self.url
    }

    /// The signed headers, as they must be sent (Host excluded: the client sets it).
    pub fn headers(&self) -> &OrderedPairs {
        &self.headers
    }

    /// The last instant S3 accepts the URL: the requested end, or the expiry of the
    /// credentials that signed it when that comes first.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// The end that was asked for, when the credentials' expiry cut it short
    /// ([`expires_at`](Self::expires_at) is then the credentials' expiry).
    pub fn expiry_capped_from(&self) -> Option<OffsetDateTime> {
        self.capped_from
    }

    /// The upload descriptor a runner consumes: `{ url, method, headers }`. Only PUT and POST are
    /// uploads; a GET, HEAD or DELETE URL is refused rather than turned into one.
    pub fn to_descriptor(&self) -> Result<RunnerJobCustomUpload, PresignError> {
        let method = match self.method {
            Method::PUT => UploadMethod::Put,
            Method::POST => UploadMethod::Post,
            _ => {
                return Err(PresignError::NotAnUpload {
                    method: self.method.clone(),
                });
            }
        };
        let mut d = RunnerJobCustomUpload::new(self.url.clone(), method);
        d.headers = self.headers.clone();
        Ok(d)
    }
}
