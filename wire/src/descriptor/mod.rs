//! `RunnerJobCustomUpload`: where and how a runner uploads its output.
//!
//! PeerTube's type is `{ url: string, method?: 'PUT' | 'POST' }`. signpost keeps that shape and
//! extends it, so a descriptor PeerTube emits today parses unchanged:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `url` | string | the full target URL, query string included (a presigned PUT's signature lives there) |
//! | `method` | `"PUT"` \| `"POST"` | default `"PUT"` |
//! | `fields` | object | POST only: form fields, sent in document order before the file part |
//! | `headers` | object | headers the uploader must send because they were signed |
//! | `expectedStatusCodes` | number\[\] | statuses that mean success, default `[200, 201, 204]` |
//! | `multipart` | object | a presigned multipart upload, see [`MultipartTarget`] |
//!
//! **Unknown fields are refused.** A field this version does not know may carry a requirement
//! (a checksum, an encryption header) that it would silently drop; refusing the descriptor with
//! the field's name is safer than half-honouring it. Likewise `fields` on a PUT, a `file` entry
//! in `fields`, a non-http(s) URL, or a header that cannot be sent are errors, not warnings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

mod error;

pub use error::DescriptorError;

use crate::limits::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};
use crate::ordered_pairs::OrderedPairs;
use crate::redact::{SignedUrl, redact_url};

/// The statuses S3 answers for a successful upload: 200 (PUT, POST by default), 201 and 204 (POST
/// with `success_action_status`).
pub const DEFAULT_EXPECTED_STATUS_CODES: [u16; 3] = [200, 201, 204];

/// An upload target handed to a runner.
///
/// PeerTube's type is `{ url: string, method?: 'PUT' | 'POST' }`. signpost keeps that shape and
/// extends it, so a descriptor PeerTube emits today parses unchanged:
///
/// | field | type | meaning |
/// |---|---|---|
/// | `url` | string | the full target URL, query string included (a presigned PUT's signature lives there) |
/// | `method` | `"PUT"` \| `"POST"` | default `"PUT"` |
/// | `fields` | object | POST only: form fields, sent in document order before the file part |
/// | `headers` | object | headers the uploader must send because they were signed |
/// | `expectedStatusCodes` | number\[\] | statuses that mean success, default `[200, 201, 204]` |
/// | `multipart` | object | a presigned multipart upload, see [`MultipartTarget`] |
///
/// **Unknown fields are refused.** A field this version does not know may carry a requirement
/// (a checksum, an encryption header) that it would silently drop; refusing the descriptor with
/// the field's name is safer than half-honouring it. Likewise `fields` on a PUT, a `file` entry
/// in `fields`, a non-http(s) URL, or a header that cannot be sent are errors, not warnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunnerJobCustomUpload {
    /// The target URL, exactly as it must be requested.
    pub url: SignedUrl,
    /// PUT (presigned URL) or POST (form upload, or multipart completion).
    #[serde(default)]
    pub method: UploadMethod,
    /// POST form fields, in the order they are sent.
    #[serde(default, skip_serializing_if = "OrderedPairs::is_empty")]
    pub fields: OrderedPairs,
    /// Headers to send as given (they were signed, or the policy requires them).
    #[serde(default, skip_serializing_if = "OrderedPairs::is_empty")]
    pub headers: OrderedPairs,
    /// Statuses that count as success.
    #[serde(default = "default_expected_status_codes")]
    pub expected_status_codes: Vec<u16>,
    /// Present for a presigned multipart upload: then `url` is the CompleteMultipartUpload URL
    /// and `method` is POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartTarget>,
}

fn default_expected_status_codes() -> Vec<u16> {
    DEFAULT_EXPECTED_STATUS_CODES.to_vec()
}

/// The parts of a presigned multipart upload.
///
/// ```json
/// { "url": "<CompleteMultipartUpload URL>", "method": "POST",
///   "multipart": { "uploadId": "…", "partSize": 67108864,
///                  "parts": ["<UploadPart 1 URL>", "<UploadPart 2 URL>"],
///                  "abortUrl": "<AbortMultipartUpload URL>" } }
/// ```
///
/// Part *n* (1-based) covers bytes `(n-1)*partSize .. n*partSize` of the file; a file needs
/// `ceil(len / partSize)` parts, at least one, and no more than `parts` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MultipartTarget {
    /// The upload id CreateMultipartUpload returned (informational: the URLs carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Bytes per part; every part but the last has exactly this size.
    pub part_size: u64,
    /// Presigned UploadPart URLs for parts 1, 2, … in order.
    pub parts: Vec<SignedUrl>,
    /// Presigned AbortMultipartUpload URL (DELETE), called when the upload fails.
    pub abort_url: SignedUrl,
    /// Presigned ListParts URL (GET): what the server already holds, so an interrupted upload is
    /// resumed from the server's own list (its first page: 1,000 parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_parts_url: Option<SignedUrl>,
}

impl MultipartTarget {
    /// The largest file these parts can carry.
    pub fn capacity(&self) -> u64 {
        self.part_size.saturating_mul(self.parts.len() as u64)
    }

    /// How many parts a file of `len` bytes needs (at least one: an empty file is one empty part).
    pub fn parts_needed(&self, len: u64) -> u64 {
        if self.part_size == 0 {
            return u64::MAX;
        }
        len.div_ceil(self.part_size).max(1)
    }
}

/// The HTTP method of an upload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum UploadMethod {
    /// A presigned PUT: the body is the file.
    #[default]
    #[serde(rename = "PUT")]
    Put,
    /// A browser-style POST form (or, with `multipart`, the completion request).
    #[serde(rename = "POST")]
    Post,
}

impl<'de> Deserialize<'de> for UploadMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "PUT" => Ok(UploadMethod::Put),
            "POST" => Ok(UploadMethod::Post),
            other => Err(serde::de::Error::custom(format_args!(
                "method: {other:?} is not an upload method; use \"PUT\" or \"POST\""
            ))),
        }
    }
}

impl UploadMethod {
    /// `"PUT"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadMethod::Put => "PUT",
            UploadMethod::Post => "POST",
        }
    }
}

impl fmt::Display for UploadMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RunnerJobCustomUpload {
    /// A PUT to `url` with the default expected statuses: PeerTube's shape.
    pub fn put(url: impl Into<SignedUrl>) -> Self {
        Self::new(url, UploadMethod::Put)
    }

    /// A target with `method`, nothing else set, the default expected statuses.
    pub fn new(url: impl Into<SignedUrl>, method: UploadMethod) -> Self {
        RunnerJobCustomUpload {
            url: url.into(),
            method,
            fields: OrderedPairs::default(),
            headers: OrderedPairs::default(),
            expected_status_codes: default_expected_status_codes(),
            multipart: None,
        }
    }

    /// Parses and [validates](Self::validate) a descriptor.
    pub fn from_json(json: &str) -> Result<Self, DescriptorError> {
        let d: RunnerJobCustomUpload = serde_json::from_str(json)?;
        d.validate()?;
        Ok(d)
    }

    /// Serializes to compact JSON (never fails for this type).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Serializes to JSON (never fails for this type).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks everything that can be checked without sending a byte. A descriptor that passes
    /// can be honoured in full.
    pub fn validate(&self) -> Result<(), DescriptorError> {
        check_url("url", &self.url)?;
        if self.method == UploadMethod::Put && !self.fields.is_empty() {
            return Err(DescriptorError::FieldsOnPut);
        }
        for (field, pairs) in [("fields", &self.fields), ("headers", &self.headers)] {
            if let Some(name) = pairs.first_duplicate() {
                return Err(DescriptorError::Duplicate {
                    field,
                    name: name.to_owned(),
                });
            }
        }
        for (name, value) in self.fields.iter() {
            if name.eq_ignore_ascii_case("file") {
                return Err(DescriptorError::FileField);
            }
            check_field(name, value)?;
        }
        for (name, value) in self.headers.iter() {
            check_header(name, value)?;
            if name.eq_ignore_ascii_case("content-length")
                && (self.method != UploadMethod::Put || self.multipart.is_some())
            {
                return Err(DescriptorError::InvalidHeader {
                    name: name.to_owned(),
                    reason: "only a single PUT signs its size; a form's or a part's body length is the uploader's to set: remove it",
                });
            }
        }
        if self.expected_status_codes.is_empty() {
            return Err(DescriptorError::NoStatusCodes);
        }
        if let Some(&code) = self
            .expected_status_codes
            .iter()
            .find(|c| !(200..=399).contains(*c))
        {
            return Err(DescriptorError::NotASuccessStatus { code });
        }
        // A redirect is S3's answer to a stored form only when the form asks for one.
        let redirects = self.method == UploadMethod::Post
            && self.fields.get("success_action_redirect").is_some();
        if let Some(&code) = self
            .expected_status_codes
            .iter()
            .find(|c| (300..=399).contains(*c))
            && !redirects
        {
            return Err(DescriptorError::RedirectNotSuccess { code });
        }
        if let Some(mp) = &self.multipart {
            self.check_multipart(mp)?;
        }
        Ok(())
    }

    fn check_multipart(&self, mp: &MultipartTarget) -> Result<(), DescriptorError> {
        if self.method != UploadMethod::Post {
            return Err(DescriptorError::MultipartNeedsPost);
        }
        if !self.fields.is_empty() || !self.headers.is_empty() {
            return Err(DescriptorError::MultipartWithFormOrHeaders);
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&mp.part_size) {
            return Err(DescriptorError::PartSizeOutOfRange {
                part_size: mp.part_size,
            });
        }
        if mp.parts.is_empty() {
            return Err(DescriptorError::NoParts);
        }
        if mp.parts.len() > MAX_PARTS as usize {
            return Err(DescriptorError::TooManyParts {
                parts: mp.parts.len(),
            });
        }
        for p in &mp.parts {
            check_url("multipart.parts[]", p)?;
        }
        if let Some(l) = &mp.list_parts_url {
            check_url("multipart.listPartsUrl", l)?;
        }
        check_url("multipart.abortUrl", &mp.abort_url)
    }
}

fn check_url(field: &'static str, url: &str) -> Result<(), DescriptorError> {
    if url.trim().is_empty() {
        return Err(DescriptorError::EmptyUrl { field });
    }
    let parsed = url::Url::parse(url).map_err(|e| DescriptorError::InvalidUrl {
        field,
        reason: e.to_string(),
        url: redact_url(url),
    })?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => {
            return Err(DescriptorError::UnsupportedScheme {
                field,
                scheme: other.to_owned(),
            });
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(DescriptorError::InvalidUrl {
            field,
            reason: "no host".into(),
            url: redact_url(url),
        });
    }
    Ok(())
}

/// RFC 9110 `token` characters: what a header name may contain.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_header(name: &str, value: &str) -> Result<(), DescriptorError> {
    let bad = |reason| {
        Err(DescriptorError::InvalidHeader {
            name: name.to_owned(),
            reason,
        })
    };
    if !is_token(name) {
        return bad("a header name is a non-empty token (letters, digits, !#$%&'*+-.^_`|~)");
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return bad("the value contains CR, LF or NUL");
    }
    // A fixed-size PUT signs Content-Length: the descriptor carries the size the URL was signed
    // for, so that the uploader refuses another file before sending it.
    if name.eq_ignore_ascii_case("content-length") {
        if value.is_empty()
            || !value.bytes().all(|b| b.is_ascii_digit())
            || value.parse::<u64>().is_err()
        {
            return bad("a signed Content-Length is a number of bytes");
        }
        return Ok(());
    }
    // These describe the body or the connection; the uploader computes them from the file.
    const OWN: [&str; 4] = ["transfer-encoding", "host", "connection", "expect"];
    if OWN.iter().any(|o| o.eq_ignore_ascii_case(name)) {
        return bad("the uploader sets it from the file and connection; remove it");
    }
    Ok(())
}

fn check_field(name: &str, value: &str) -> Result<(), DescriptorError> {
    let bad = |reason| {
        Err(DescriptorError::InvalidField {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name
        .bytes()
        .any(|b| b == b'"' || b == b'\r' || b == b'\n' || b == 0)
    {
        return bad("the name contains a quote, CR, LF or NUL");
    }
    if value.bytes().any(|b| b == 0) {
        return bad("the value contains NUL");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
