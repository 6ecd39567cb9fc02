//! The errors of an upload. Each says what failed and what to do; none holds a secret (URLs are
//! shown with their signature redacted). The source file is only ever opened for reading.

use std::fmt;
use std::path::PathBuf;

use signpost_wire::s3_xml::S3Xml;
use signpost_wire::{DescriptorError, PolicyViolation, QueryAuthError};
use time::OffsetDateTime;

/// An S3 error document: `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3ErrorBody {
    /// `SignatureDoesNotMatch`, `AccessDenied`, `EntityTooLarge`, `SlowDown`, …
    pub code: String,
    /// S3's sentence.
    pub message: String,
    /// For AWS support.
    pub request_id: Option<String>,
}

impl S3ErrorBody {
    /// Reads an `<Error>` document; `None` for anything else.
    pub fn parse(body: &str) -> Option<Self> {
        let doc = S3Xml::parse(body)?;
        if doc.root != "Error" {
            return None;
        }
        Some(S3ErrorBody {
            code: doc.get("Code").unwrap_or_default().to_owned(),
            message: doc.get("Message").unwrap_or_default().to_owned(),
            request_id: doc.get("RequestId").map(str::to_owned),
        })
    }
}

impl fmt::Display for S3ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (RequestId {id})")?;
        }
        Ok(())
    }
}

/// What the server answered when it refused an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The S3 error document, when the body was one.
    pub s3: Option<S3ErrorBody>,
    /// The start of the body when it was not an S3 error document.
    pub body_excerpt: String,
    /// What signpost can add from the request itself (e.g. a URL that carries no signature).
    pub note: Option<&'static str>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match &self.s3 {
            Some(e) => write!(f, " {e}"),
            None if !self.body_excerpt.is_empty() => write!(f, ": {}", self.body_excerpt),
            None => Ok(()),
        }
    }
}

fn hint(r: &Refusal) -> &'static str {
    if let Some(n) = r.note {
        return n;
    }
    match r.s3.as_ref().map(|e| e.code.as_str()) {
        Some("SignatureDoesNotMatch") => {
            "; the URL, a signed header or the form was changed after signing, or the signer used other credentials or region"
        }
        Some("AccessDenied") if r.s3.as_ref().is_some_and(|e| e.message.contains("expired")) => {
            "; ask the server for a new upload target"
        }
        Some("EntityTooLarge") => "; the file is over the size the target allows",
        Some("AuthorizationQueryParametersError") => {
            "; the presigned URL is malformed (was its query string cut?) or signed for another region"
        }
        Some("InvalidAccessKeyId") => "; the signing access key is unknown to this server",
        _ => "",
    }
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The descriptor cannot be honoured.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// The file does not exist.
    #[error("file not found: {}", .path.display())]
    FileNotFound {
        /// The path.
        path: PathBuf,
    },
    /// The path is a directory or another non-regular file.
    #[error("{} is not a regular file: give the path of the file to upload", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    FileUnreadable {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file changed while it was being uploaded.
    #[error("{} changed during the upload ({detail}); the upload was stopped: upload a file that is no longer being written", .path.display())]
    FileChanged {
        /// The path.
        path: PathBuf,
        /// What changed.
        detail: String,
    },
    /// The presigned URL or POST policy has expired (checked before sending, or before a retry).
    #[error("the {what} expired at {expires_at}; ask the server for a new upload target")]
    Expired {
        /// `presigned URL`, `POST policy`, `part URL`.
        what: &'static str,
        /// When it expired.
        expires_at: OffsetDateTime,
    },
    /// The presigned URL carries damaged SigV4 parameters.
    #[error("the upload URL is damaged: {0}")]
    MalformedUrl(#[from] QueryAuthError),
    /// The POST form or file breaks the form's policy; S3 would refuse it.
    #[error("S3 would refuse this upload ({}): {violation}", .violation.s3_code())]
    Policy {
        /// The rule broken.
        violation: PolicyViolation,
    },
    /// The POST form's `policy` field does not parse.
    #[error("the form's policy field is invalid: {0}")]
    PolicyMalformed(#[from] signpost_wire::PolicyError),
    /// A single PUT over S3's 5 GiB limit.
    #[error(
        "the file is {size} bytes; S3 accepts at most 5 GiB (5368709120 bytes) in one PUT: use a multipart upload target (signpost presign multipart)"
    )]
    TooLargeForPut {
        /// The file's size.
        size: u64,
    },
    /// The file is larger than the multipart plan's parts can carry.
    #[error(
        "the file is {size} bytes but the multipart target holds {parts} parts of {part_size} bytes ({capacity} bytes): ask for a plan with a larger maximum size"
    )]
    TooLargeForPlan {
        /// The file's size.
        size: u64,
        /// Parts available.
        parts: usize,
        /// Bytes per part.
        part_size: u64,
        /// parts × part size.
        capacity: u64,
    },
    /// A conflicting option.
    #[error("{0}")]
    Options(String),
    /// The server answered with a status that is not success.
    #[error("upload refused after {attempts} attempt(s): {refusal}{}; expected HTTP {}", hint(.refusal), join_codes(.expected))]
    Refused {
        /// The answer (boxed: it carries S3's whole error document).
        refusal: Box<Refusal>,
        /// The statuses that would have meant success.
        expected: Vec<u16>,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, reset, timed out) on every attempt.
    #[error("could not reach {host} after {attempts} attempt(s): {detail}")]
    Transport {
        /// The host.
        host: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        detail: String,
    },
    /// A retry would start after the URL expires.
    #[error(
        "gave up after {attempts} attempt(s): the {what} expires at {expires_at}, before another try could finish; last failure: {last}"
    )]
    ExpiredWhileRetrying {
        /// `presigned URL`, `POST policy`, `part URL`.
        what: &'static str,
        /// When it expires.
        expires_at: OffsetDateTime,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<UploadError>,
    },
    /// S3 answered a part upload without an ETag, so the upload cannot be completed.
    #[error(
        "part {part}: the server's answer has no ETag header, which CompleteMultipartUpload needs"
    )]
    MissingETag {
        /// The part number.
        part: u32,
    },
    /// CompleteMultipartUpload answered 200 with an error document (S3 does this).
    #[error("CompleteMultipartUpload failed: {0}")]
    CompleteFailed(S3ErrorBody),
    /// A part failed; the upload was aborted (or the abort failed too).
    #[error("part {part} of {parts} failed: {source}; {abort}")]
    Part {
        /// The part number (1-based).
        part: u32,
        /// Parts in all.
        parts: u32,
        /// Why.
        source: Box<UploadError>,
        /// What became of the upload: aborted, or why the abort failed.
        abort: String,
    },
    /// The HTTP client could not be set up.
    #[error("HTTP client setup failed: {0}")]
    Client(String),
}

fn join_codes(c: &[u16]) -> String {
    c.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

impl UploadError {
    /// The S3 error code, when the server sent one.
    pub fn s3_code(&self) -> Option<&str> {
        match self {
            UploadError::Refused { refusal, .. } => refusal.s3.as_ref().map(|e| e.code.as_str()),
            UploadError::CompleteFailed(e) => Some(&e.code),
            UploadError::Part { source, .. }
            | UploadError::ExpiredWhileRetrying { last: source, .. } => source.s3_code(),
            _ => None,
        }
    }

    /// The HTTP status, when the server refused.
    pub fn status(&self) -> Option<u16> {
        match self {
            UploadError::Refused { refusal, .. } => Some(refusal.status),
            UploadError::Part { source, .. }
            | UploadError::ExpiredWhileRetrying { last: source, .. } => source.status(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_messages_carry_s3_words() {
        let e = UploadError::Refused {
            refusal: Box::new(Refusal {
                status: 403,
                s3: S3ErrorBody::parse(
                    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
                ),
                body_excerpt: String::new(),
                note: None,
            }),
            expected: vec![200, 201, 204],
            attempts: 1,
        };
        let s = e.to_string();
        assert!(
            s.contains("HTTP 403 SignatureDoesNotMatch: The request signature we calculated"),
            "{s}"
        );
        assert!(s.contains("RequestId 4442587FB7D0A2F9"));
        assert!(s.contains("expected HTTP 200, 201, 204"));
        assert_eq!(e.s3_code(), Some("SignatureDoesNotMatch"));
        assert_eq!(e.status(), Some(403));
        assert!(S3ErrorBody::parse("<PostResponse/>").is_none());
        let bare = S3ErrorBody::parse("<Error><Code>AccessDenied</Code></Error>").unwrap();
        assert_eq!(bare.to_string(), "AccessDenied");
    }
}
