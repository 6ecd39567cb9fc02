//! One stable word per kind of failure, for programs that act on it (a runner's job server, the
//! command's `--json`, the bindings): the message may be reworded, the kind is not.

use signpost_wire::s3_xml::S3ErrorCode;

use super::{MultipartError, PreflightError, UploadError};

/// What kind of failure an [`UploadError`] is; [`ErrorKind::as_str`] is its stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The descriptor cannot be used as written (a field, a URL, a header, its policy).
    InvalidDescriptor,
    /// The target expired (before sending, by the server's clock, or while retrying).
    Expired,
    /// The file to upload is missing, not a file, or unreadable; or the data source failed.
    FileUnreadable,
    /// The file changed during the upload, or since the kept upload's parts were sent.
    FileChanged,
    /// The server refused the upload (its code and status say why).
    Refused,
    /// The server answered in a way S3 does not (a missing or unreadable document).
    BadAnswer,
    /// No answer: connection, TLS, timeout, stall.
    Unreachable,
    /// The server stored other bytes than were sent (an ETag that does not match).
    Integrity,
    /// Only a new upload target can help (the upload is gone, the file is too large for it).
    NeedsNewTarget,
    /// S3 would refuse the request as the descriptor and file make it (caught before sending).
    WouldBeRefused,
    /// An option does not apply to this descriptor or source.
    InvalidOption,
    /// Another upload of the same file to the same target is running.
    Busy,
    /// The HTTP client could not be set up (the CA bundle, TLS).
    Setup,
}

impl ErrorKind {
    /// The stable name: `invalid-descriptor`, `expired`, `file-unreadable`, `file-changed`,
    /// `refused`, `bad-answer`, `unreachable`, `integrity`, `needs-new-target`,
    /// `would-be-refused`, `invalid-option`, `busy`, `setup`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidDescriptor => "invalid-descriptor",
            ErrorKind::Expired => "expired",
            ErrorKind::FileUnreadable => "file-unreadable",
            ErrorKind::FileChanged => "file-changed",
            ErrorKind::Refused => "refused",
            ErrorKind::BadAnswer => "bad-answer",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Integrity => "integrity",
            ErrorKind::NeedsNewTarget => "needs-new-target",
            ErrorKind::WouldBeRefused => "would-be-refused",
            ErrorKind::InvalidOption => "invalid-option",
            ErrorKind::Busy => "busy",
            ErrorKind::Setup => "setup",
        }
    }

    /// Every kind, for documentation and tests.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidDescriptor,
        ErrorKind::Expired,
        ErrorKind::FileUnreadable,
        ErrorKind::FileChanged,
        ErrorKind::Refused,
        ErrorKind::BadAnswer,
        ErrorKind::Unreachable,
        ErrorKind::Integrity,
        ErrorKind::NeedsNewTarget,
        ErrorKind::WouldBeRefused,
        ErrorKind::InvalidOption,
        ErrorKind::Busy,
        ErrorKind::Setup,
    ];
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl UploadError {
    /// What kind of failure this is (a multipart failure: its cause's kind).
    pub fn kind(&self) -> ErrorKind {
        match self {
            UploadError::Preflight(p) => p.kind(),
            UploadError::Multipart(m) => match m {
                MultipartError::UploadGone { .. } => ErrorKind::NeedsNewTarget,
                MultipartError::MultipartETagMismatch { .. } => ErrorKind::Integrity,
                MultipartError::MissingETag { .. } => ErrorKind::BadAnswer,
                MultipartError::CompletedWithError(_) => ErrorKind::Refused,
                MultipartError::PartNotSigned { .. } => ErrorKind::Refused,
                m => m.cause().map_or(ErrorKind::Refused, UploadError::kind),
            },
            UploadError::FileUnreadable { .. } | UploadError::SourceUnreadable { .. } => {
                ErrorKind::FileUnreadable
            }
            UploadError::FileChanged { .. } => ErrorKind::FileChanged,
            UploadError::ExpiredWhileRetrying { .. } => ErrorKind::Expired,
            UploadError::Refused { refusal, .. } => {
                let expired = refusal
                    .s3
                    .as_ref()
                    .is_some_and(|e| e.message.to_ascii_lowercase().contains("expired"));
                match self.s3_code() {
                    Some(S3ErrorCode::ExpiredToken) => ErrorKind::Expired,
                    Some(S3ErrorCode::AccessDenied) if expired => ErrorKind::Expired,
                    _ if self.needs_new_target() => ErrorKind::NeedsNewTarget,
                    _ => ErrorKind::Refused,
                }
            }
            UploadError::Transport { .. } => ErrorKind::Unreachable,
            UploadError::ETagMismatch { .. } => ErrorKind::Integrity,
            UploadError::UnreadableAnswer { .. } | UploadError::MissingAnswer { .. } => {
                ErrorKind::BadAnswer
            }
            UploadError::Client(_) => ErrorKind::Setup,
        }
    }
}

impl PreflightError {
    /// What kind of refusal this is.
    pub fn kind(&self) -> ErrorKind {
        use PreflightError::*;
        match self {
            Descriptor(_)
            | MalformedUrl { .. }
            | PolicyMalformed(_)
            | InvalidHeader { .. }
            | UnsignedContentLength { .. } => ErrorKind::InvalidDescriptor,
            FileNotFound { .. } | NotAFile { .. } => ErrorKind::FileUnreadable,
            Expired { .. } | ExpiredByServerClock { .. } => ErrorKind::Expired,
            TooLargeForPut { .. } | SizeNotSigned { .. } | TooLargeForPlan { .. } => {
                ErrorKind::NeedsNewTarget
            }
            ResumeFileChanged { .. } => ErrorKind::FileChanged,
            ResumeBusy { .. } => ErrorKind::Busy,
            StreamNeedsMultipart | OptionNotApplicable { .. } | NotMultipart | BytesNeedPut => {
                ErrorKind::InvalidOption
            }
            Policy { .. }
            | ContentTypeConflict { .. }
            | ContentTypeNotInForm
            | EmptyBodyChecksum { .. }
            | ChecksumAlgorithmWithoutChecksum { .. }
            | SignedHeaderNotCarried { .. }
            | UnsignedAmzHeader { .. }
            | ContentTypeOutsidePrefix { .. } => ErrorKind::WouldBeRefused,
        }
    }
}
