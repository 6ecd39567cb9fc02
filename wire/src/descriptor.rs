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

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The statuses S3 answers for a successful upload: 200 (PUT, POST by default), 201 and 204 (POST
/// with `success_action_status`).
pub const DEFAULT_EXPECTED_STATUS_CODES: [u16; 3] = [200, 201, 204];

/// S3's smallest part size for every part but the last: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part size: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's largest number of parts in one multipart upload.
pub const MAX_PARTS: usize = 10_000;

/// An upload target handed to a runner. See the [module documentation](self) for the JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunnerJobCustomUpload {
    /// The target URL, exactly as it must be requested.
    pub url: String,
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MultipartTarget {
    /// The upload id CreateMultipartUpload returned (informational: the URLs carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Bytes per part; every part but the last has exactly this size.
    pub part_size: u64,
    /// Presigned UploadPart URLs for parts 1, 2, … in order.
    pub parts: Vec<String>,
    /// Presigned AbortMultipartUpload URL (DELETE), called when the upload fails.
    pub abort_url: String,
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UploadMethod {
    /// A presigned PUT: the body is the file.
    #[default]
    #[serde(rename = "PUT")]
    Put,
    /// A browser-style POST form (or, with `multipart`, the completion request).
    #[serde(rename = "POST")]
    Post,
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

/// Name/value pairs that keep their order; JSON shape: an object.
///
/// JSON objects are ordered in the text but many parsers forget the order. POST fields must be
/// sent before the file and are best sent as the signer listed them, so this type keeps document
/// order on both ways.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OrderedPairs(pub Vec<(String, String)>);

impl OrderedPairs {
    /// No pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of the first pair whose name equals `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Appends a pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for OrderedPairs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        OrderedPairs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Names whose values are credentials: shown as `******` by `Debug`.
pub fn is_secret_name(name: &str) -> bool {
    const SECRET: [&str; 6] = [
        "x-amz-signature",
        "x-amz-security-token",
        "authorization",
        "signature",
        "awsaccesskeyid",
        "x-amz-credential",
    ];
    SECRET.iter().any(|s| s.eq_ignore_ascii_case(name))
}

impl fmt::Debug for OrderedPairs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            if is_secret_name(k) {
                m.entry(&k, &"******");
            } else {
                m.entry(&k, &v);
            }
        }
        m.finish()
    }
}

impl Serialize for OrderedPairs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedPairs, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(OrderedPairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Replaces the values of credential query parameters (`X-Amz-Signature`,
/// `X-Amz-Security-Token`, `X-Amz-Credential`, SigV2's `Signature`) with `******`, so a URL can be
/// logged or shown in an error.
///
/// ```
/// let u = "https://b.s3.amazonaws.com/k?X-Amz-Date=20130524T000000Z&X-Amz-Signature=aeeed9bbccd4";
/// assert_eq!(
///     signpost_wire::descriptor::redact_url(u),
///     "https://b.s3.amazonaws.com/k?X-Amz-Date=20130524T000000Z&X-Amz-Signature=******"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => {
                out.push_str(name);
                out.push_str("=******");
            }
            _ => out.push_str(pair),
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

impl fmt::Debug for RunnerJobCustomUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerJobCustomUpload")
            .field("url", &redact_url(&self.url))
            .field("method", &self.method)
            .field("fields", &self.fields)
            .field("headers", &self.headers)
            .field("expected_status_codes", &self.expected_status_codes)
            .field("multipart", &self.multipart)
            .finish()
    }
}

impl fmt::Debug for MultipartTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultipartTarget")
            .field("upload_id", &self.upload_id)
            .field("part_size", &self.part_size)
            .field("parts", &self.parts.len())
            .field("abort_url", &redact_url(&self.abort_url))
            .finish()
    }
}

/// Why a descriptor was refused. Each message names the JSON field and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptorError {
    /// Not JSON, or not of the descriptor's shape (the message names the field).
    #[error("malformed upload descriptor: {0}")]
    Json(#[from] serde_json::Error),
    /// `url` (or a multipart URL) is empty.
    #[error("descriptor field `{field}` is empty: give the full upload URL")]
    EmptyUrl {
        /// The JSON field.
        field: &'static str,
    },
    /// A URL does not parse.
    #[error("descriptor field `{field}` is not a valid URL ({reason}): {url}")]
    InvalidUrl {
        /// The JSON field.
        field: &'static str,
        /// The parser's reason.
        reason: String,
        /// The URL, credentials redacted.
        url: String,
    },
    /// A URL's scheme is not http or https.
    #[error(
        "descriptor field `{field}` uses the unsupported scheme `{scheme}`: only http and https URLs can be uploaded to"
    )]
    UnsupportedScheme {
        /// The JSON field.
        field: &'static str,
        /// The scheme found.
        scheme: String,
    },
    /// `fields` given with method PUT.
    #[error(
        "descriptor has `fields` but method PUT: form fields only exist in a POST upload; set \"method\": \"POST\" or drop `fields`"
    )]
    FieldsOnPut,
    /// `fields` has a `file` entry.
    #[error(
        "descriptor `fields` contains `file`: the uploader sends the file part itself, last; remove it"
    )]
    FileField,
    /// A field or header name appears twice.
    #[error("descriptor `{field}` names `{name}` twice (names are case-insensitive)")]
    Duplicate {
        /// `fields` or `headers`.
        field: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A header that HTTP cannot carry or the uploader must set itself.
    #[error("descriptor header `{name}` cannot be sent: {reason}")]
    InvalidHeader {
        /// The header name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A form field name or value that a multipart/form-data body cannot carry.
    #[error("descriptor form field `{name}` cannot be sent: {reason}")]
    InvalidField {
        /// The field name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// `expectedStatusCodes` is empty or holds a value that is not a success or redirect code.
    #[error("descriptor `expectedStatusCodes` {0}")]
    StatusCodes(String),
    /// A multipart descriptor that cannot be honoured.
    #[error("descriptor `multipart` {0}")]
    Multipart(String),
}

impl RunnerJobCustomUpload {
    /// A PUT to `url` with the default expected statuses: PeerTube's shape.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(url, UploadMethod::Put)
    }

    /// A target with `method`, nothing else set, the default expected statuses.
    pub fn new(url: impl Into<String>, method: UploadMethod) -> Self {
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
        check_unique("fields", &self.fields)?;
        check_unique("headers", &self.headers)?;
        for (name, value) in self.fields.iter() {
            if name.eq_ignore_ascii_case("file") {
                return Err(DescriptorError::FileField);
            }
            check_field(name, value)?;
        }
        for (name, value) in self.headers.iter() {
            check_header(name, value)?;
        }
        if self.expected_status_codes.is_empty() {
            return Err(DescriptorError::StatusCodes(
                "is empty: list the statuses that mean success, e.g. [200, 201, 204]".into(),
            ));
        }
        if let Some(bad) = self
            .expected_status_codes
            .iter()
            .find(|c| !(200..=399).contains(*c))
        {
            return Err(DescriptorError::StatusCodes(format!(
                "holds {bad}: only 2xx and 3xx statuses can mean a successful upload"
            )));
        }
        if let Some(mp) = &self.multipart {
            self.check_multipart(mp)?;
        }
        Ok(())
    }

    fn check_multipart(&self, mp: &MultipartTarget) -> Result<(), DescriptorError> {
        if self.method != UploadMethod::Post {
            return Err(DescriptorError::Multipart(
                "needs \"method\": \"POST\": `url` is the CompleteMultipartUpload URL".into(),
            ));
        }
        if !self.fields.is_empty() || !self.headers.is_empty() {
            return Err(DescriptorError::Multipart(
                "cannot be combined with `fields` or `headers`: part uploads carry neither".into(),
            ));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&mp.part_size) {
            return Err(DescriptorError::Multipart(format!(
                "partSize {} is outside S3's range of 5 MiB ({MIN_PART_SIZE}) to 5 GiB ({MAX_PART_SIZE})",
                mp.part_size
            )));
        }
        if mp.parts.is_empty() {
            return Err(DescriptorError::Multipart(
                "has no `parts`: give one presigned UploadPart URL per part".into(),
            ));
        }
        if mp.parts.len() > MAX_PARTS {
            return Err(DescriptorError::Multipart(format!(
                "has {} parts; S3 allows at most {MAX_PARTS}",
                mp.parts.len()
            )));
        }
        for p in &mp.parts {
            check_url("multipart.parts[]", p)?;
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

fn check_unique(field: &'static str, pairs: &OrderedPairs) -> Result<(), DescriptorError> {
    for (i, (a, _)) in pairs.0.iter().enumerate() {
        if pairs.0[..i].iter().any(|(b, _)| a.eq_ignore_ascii_case(b)) {
            return Err(DescriptorError::Duplicate {
                field,
                name: a.clone(),
            });
        }
    }
    Ok(())
}

/// RFC 9110 `token` characters: what a header name may contain.
fn is_token(s: &str) -> bool {
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
    // These describe the body or the connection; the uploader computes them from the file.
    const OWN: [&str; 5] = [
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "expect",
    ];
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn peertube_shapes_parse_unchanged() {
        let put = RunnerJobCustomUpload::from_json(
            r#"{"url":"http://127.0.0.1:9000/b/k?X-Amz-Signature=ab&X-Amz-Date=1"}"#,
        )
        .unwrap();
        assert_eq!(put.method, UploadMethod::Put);
        assert_eq!(
            put.url,
            "http://127.0.0.1:9000/b/k?X-Amz-Signature=ab&X-Amz-Date=1"
        );
        let post =
            RunnerJobCustomUpload::from_json(r#"{"url":"https://x.example/up","method":"POST"}"#)
                .unwrap();
        assert_eq!(post.method, UploadMethod::Post);
        assert_eq!(post.expected_status_codes, vec![200, 201, 204]);
    }

    #[test]
    fn fields_keep_document_order() {
        let d = RunnerJobCustomUpload::from_json(
            r#"{"url":"https://x.example/","method":"POST","fields":{"z":"1","key":"a","a":"2","policy":"p"}}"#,
        )
        .unwrap();
        let names: Vec<_> = d.fields.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["z", "key", "a", "policy"]);
        let back = serde_json::to_string(&d).unwrap();
        assert!(
            back.contains(r#""fields":{"z":"1","key":"a","a":"2","policy":"p"}"#),
            "{back}"
        );
    }

    fn err(json: &str) -> String {
        RunnerJobCustomUpload::from_json(json)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(err(r#"{"url":"http://h/","method":"PATCH"}"#).contains("PATCH"));
        assert!(
            err(r#"{"url":"http://h/","fields":{"key":"k"}}"#).contains("`fields` but method PUT")
        );
        assert!(
            err(r#"{"url":"http://h/","method":"POST","fields":{"File":"x"}}"#).contains("`file`")
        );
        assert!(err(r#"{"url":"ftp://h/"}"#).contains("unsupported scheme `ftp`"));
        assert!(err(r#"{"url":""}"#).contains("`url` is empty"));
        assert!(err(r#"{"url":"not a url"}"#).contains("not a valid URL"));
        assert!(err(r#"{"url":"http://h/","checksum":"x"}"#).contains("unknown field `checksum`"));
        assert!(
            err(r#"{"url":"http://h/","headers":{"Content-Length":"3"}}"#)
                .contains("Content-Length")
        );
        assert!(err(r#"{"url":"http://h/","headers":{"a":"1","A":"2"}}"#).contains("twice"));
        assert!(err(r#"{"url":"http://h/","expectedStatusCodes":[]}"#).contains("empty"));
        assert!(err(r#"{"url":"http://h/","expectedStatusCodes":[403]}"#).contains("403"));
        assert!(err(r#"{"method":"PUT"}"#).contains("missing field `url`"));
        assert!(err("{").contains("malformed"));
    }

    #[test]
    fn multipart_rules() {
        let ok = r#"{"url":"http://h/b/k?uploadId=1","method":"POST","multipart":{"partSize":5242880,"parts":["http://h/b/k?partNumber=1"],"abortUrl":"http://h/b/k?uploadId=1"}}"#;
        let d = RunnerJobCustomUpload::from_json(ok).unwrap();
        let mp = d.multipart.as_ref().unwrap();
        assert_eq!(mp.capacity(), 5_242_880);
        assert_eq!(mp.parts_needed(0), 1);
        assert_eq!(mp.parts_needed(5_242_881), 2);
        assert!(err(&ok.replace("5242880", "1024")).contains("partSize 1024"));
        assert!(err(&ok.replace(r#""method":"POST","#, "")).contains("POST"));
        assert!(err(&ok.replace(r#"["http://h/b/k?partNumber=1"]"#, "[]")).contains("no `parts`"));
    }

    #[test]
    fn debug_redacts_signatures() {
        let mut d = RunnerJobCustomUpload::put(
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=TOKEN123&X-Amz-Signature=SIG456",
        );
        d.headers.push("x-amz-security-token", "TOKEN123");
        let s = format!("{d:?}");
        assert!(!s.contains("TOKEN123") && !s.contains("SIG456"), "{s}");
        assert!(s.contains("******"));
    }

    fn arb_pairs() -> impl Strategy<Value = OrderedPairs> {
        proptest::collection::btree_map("[a-z][a-z0-9-]{0,12}", "[ -~]{0,20}", 0..5)
            .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn serialize_then_deserialize_is_identity(
            path in "[a-z0-9/._-]{0,30}",
            post in any::<bool>(),
            fields in arb_pairs(),
            headers in arb_pairs(),
            codes in proptest::collection::vec(200u16..400, 1..4),
        ) {
            let d = RunnerJobCustomUpload {
                url: format!("https://h.example/{path}?X-Amz-Signature=00"),
                method: if post { UploadMethod::Post } else { UploadMethod::Put },
                fields: if post { fields } else { OrderedPairs::default() },
                headers,
                expected_status_codes: codes,
                multipart: None,
            };
            let json = serde_json::to_string(&d).unwrap();
            let back: RunnerJobCustomUpload = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,200}") {
            let _ = RunnerJobCustomUpload::from_json(&s);
        }

        #[test]
        fn arbitrary_json_values_never_panic(
            url in proptest::option::of(".{0,30}"),
            method in proptest::option::of(".{0,6}"),
            extra in proptest::option::of("[a-zA-Z]{1,8}"),
            codes in proptest::collection::vec(any::<u16>(), 0..4),
        ) {
            let mut m = serde_json::Map::new();
            if let Some(u) = url { m.insert("url".into(), u.into()); }
            if let Some(me) = method { m.insert("method".into(), me.into()); }
            if let Some(e) = extra { m.insert(e, serde_json::Value::Null); }
            m.insert("expectedStatusCodes".into(), codes.into());
            let _ = RunnerJobCustomUpload::from_json(&serde_json::Value::Object(m).to_string());
        }
    }
}
