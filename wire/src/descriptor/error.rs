//! Why a descriptor is refused.

use crate::limits::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};

/// Why a descriptor was refused. Each message names the JSON field and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptorError {
    /// Not JSON, or not of the descriptor's shape (serde's message names the field).
    #[error("malformed upload descriptor: {0}")]
    Json(serde_json::Error),
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
        /// The parser's words.
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
    /// `expectedStatusCodes` is empty.
    #[error(
        "descriptor `expectedStatusCodes` is empty: list the statuses that mean success, e.g. [200, 201, 204]"
    )]
    NoStatusCodes,
    /// `expectedStatusCodes` holds a status that cannot mean success.
    #[error(
        "descriptor `expectedStatusCodes` holds {code}: only 2xx and 3xx statuses can mean a successful upload"
    )]
    NotASuccessStatus {
        /// The status.
        code: u16,
    },
    /// A 3xx in `expectedStatusCodes` of a descriptor that is not a form with
    /// `success_action_redirect`.
    #[error(
        "descriptor `expectedStatusCodes` holds {code}, a redirect: S3 answers one for a stored object only to a POST form with a success_action_redirect field; anything else redirected (301 PermanentRedirect: another region) was not stored"
    )]
    RedirectNotSuccess {
        /// The status.
        code: u16,
    },
    /// `multipart` with a method other than POST.
    #[error(
        "descriptor `multipart` needs \"method\": \"POST\": `url` is the CompleteMultipartUpload URL"
    )]
    MultipartNeedsPost,
    /// `multipart` with `fields` or `headers`.
    #[error(
        "descriptor `multipart` cannot be combined with `fields` or `headers`: part uploads carry neither"
    )]
    MultipartWithFormOrHeaders,
    /// `multipart.partSize` outside S3's range.
    #[error(
        "descriptor `multipart` partSize {part_size} is outside S3's range of 5 MiB ({MIN_PART_SIZE}) to 5 GiB ({MAX_PART_SIZE})"
    )]
    PartSizeOutOfRange {
        /// The size given.
        part_size: u64,
    },
    /// `multipart.parts` is empty.
    #[error("descriptor `multipart` has no `parts`: give one presigned UploadPart URL per part")]
    NoParts,
    /// `multipart.parts` holds more URLs than S3 has parts.
    #[error("descriptor `multipart` has {parts} parts; S3 allows at most {MAX_PARTS}")]
    TooManyParts {
        /// How many.
        parts: usize,
    },
}

impl From<serde_json::Error> for DescriptorError {
    fn from(e: serde_json::Error) -> Self {
        // Not a `source`: serde's message is the whole story and is shown once.
        DescriptorError::Json(e)
    }
}
