//! The errors of an upload. Each says what failed, what was and was not stored, and what to do;
//! none holds a secret (URLs are shown with their signature redacted). The source file is only
//! ever opened for reading.

use std::path::PathBuf;

use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::{DescriptorError, PolicyError};

pub use crate::refusal::Refusal;

mod kinds;
#[cfg(test)]
mod tests;

mod about;
mod kind;
mod multipart;
mod preflight;
mod remedy;

pub use kind::ErrorKind;
use kinds::transport_message;
pub use kinds::{AbortOutcome, ClientError, FileChange, TargetKind, TransportError, UploadOption};
pub use multipart::MultipartError;
pub use preflight::PreflightError;
pub use remedy::Remedy;
use time::OffsetDateTime;

fn ahead(secs: i64) -> String {
    match secs {
        s if s.abs() <= 2 => "within 2 s of it".into(),
        s if s > 0 => format!("{s} s ahead"),
        s => format!("{} s behind", -s),
    }
}

/// What a server holds after it stored other bytes than were sent.
fn wrong_bytes_left(what: &TargetKind) -> &'static str {
    match what {
        TargetKind::Part(_) => {
            "the part is not used: the upload is not completed with it, and sending it again replaces it"
        }
        _ => "the object at that key holds those wrong bytes until it is uploaded again or deleted",
    }
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// A multipart upload failed: a part, its completion, or the upload itself.
    #[error(transparent)]
    Multipart(#[from] MultipartError),
    /// Refused before anything was sent (the descriptor, the file, the options, the
    /// pre-flight): the server holds nothing from this upload.
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// The file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    FileUnreadable {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file changed while it was being uploaded.
    #[error("{} changed during the upload ({change}); the upload was stopped before the server could complete the object: upload a file that is no longer being written", .path.display())]
    FileChanged {
        /// The path.
        path: PathBuf,
        /// What changed.
        change: FileChange,
    },
    /// The server answered with a status that is not success.
    #[error("upload refused after {attempts} attempt(s): {refusal}{}{}; expected HTTP {}", if .refusal.hint().is_empty() { "" } else { "; " }, .refusal.hint(), join_codes(.expected))]
    Refused {
        /// The answer (boxed: it carries S3's whole error document).
        refusal: Box<Refusal>,
        /// The statuses that would have meant success.
        expected: Vec<u16>,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, reset, timed out, stalled) on every attempt.
    #[error("{}", transport_message(.host, .proxy.as_deref(), *.attempts, .source))]
    Transport {
        /// The host.
        host: String,
        /// The proxy the requests went through (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, minus
        /// `NO_PROXY`), without its user and password: then it is what failed or refused.
        proxy: Option<String>,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        source: TransportError,
    },
    /// A retry would start after the URL expires.
    #[error(
        "gave up after {attempts} attempt(s): the {what} expires at {}, before another try could finish; last failure: {last}", format_rfc3339(*.expires_at)
    )]
    ExpiredWhileRetrying {
        /// Which URL.
        what: TargetKind,
        /// When it expires.
        expires_at: OffsetDateTime,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<UploadError>,
    },
    /// The server answered success with an ETag that is not the MD5 of what was sent: it stored
    /// other bytes. Retried (the bytes sent again); this is the last attempt's.
    #[error(
        "the server stored other bytes than were sent to the {what}: its ETag is {etag}, the MD5 of what was sent is {sent_md5}; {}", wrong_bytes_left(.what)
    )]
    ETagMismatch {
        /// Which URL.
        what: TargetKind,
        /// Hex MD5 of the body sent.
        sent_md5: String,
        /// The ETag answered.
        etag: String,
    },
    /// The server's answer to a call could not be read as the document it should be.
    #[error("the answer to the {what} is not the document S3 sends: {source}")]
    UnreadableAnswer {
        /// Which call.
        what: TargetKind,
        /// Why it could not be read.
        #[source]
        source: signpost_wire::s3_xml::XmlError,
    },
    /// The funnel returned no response to stream (never expected).
    #[error("the {what} was answered without a body to read")]
    MissingAnswer {
        /// Which call.
        what: TargetKind,
    },
    /// Reading the stream being uploaded failed.
    #[error("reading the data to upload failed: {source}")]
    SourceUnreadable {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP client could not be set up.
    #[error("HTTP client setup failed: {0}")]
    Client(#[source] ClientError),
}

impl From<DescriptorError> for UploadError {
    fn from(e: DescriptorError) -> Self {
        UploadError::Preflight(PreflightError::Descriptor(e))
    }
}

impl From<PolicyError> for UploadError {
    fn from(e: PolicyError) -> Self {
        UploadError::Preflight(PreflightError::PolicyMalformed(e))
    }
}

fn join_codes(c: &[u16]) -> String {
    c.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}
