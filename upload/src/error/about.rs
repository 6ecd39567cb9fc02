//! What an error tells a caller about the upload: S3's code, the HTTP status, whether anything
//! was sent.

use signpost_wire::s3_xml::S3ErrorCode;

use super::{MultipartError, PreflightError, UploadError};

impl UploadError {
    /// The S3 error code, when the server sent one.
    pub fn s3_code(&self) -> Option<&S3ErrorCode> {
        match self {
            UploadError::Refused { refusal, .. } => refusal.s3.as_ref().map(|e| &e.code),
            UploadError::Multipart(MultipartError::CompletedWithError(e)) => Some(&e.code),
            UploadError::Multipart(m) => m.cause().and_then(UploadError::s3_code),
            UploadError::ExpiredWhileRetrying { last: source, .. } => source.s3_code(),
            _ => None,
        }
    }

    /// The HTTP status, when the server refused.
    pub fn status(&self) -> Option<u16> {
        match self {
            UploadError::Refused { refusal, .. } => Some(refusal.status),
            UploadError::Multipart(m) => m.cause().and_then(UploadError::status),
            UploadError::ExpiredWhileRetrying { last: source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether the failure happened before any request was sent (the descriptor, the file,
    /// the options, the pre-flight, the HTTP client's set-up): then the server has nothing from
    /// this upload.
    pub fn before_sending(&self) -> bool {
        matches!(self, UploadError::Preflight(_) | UploadError::Client(_))
    }

    /// Whether only a new upload target from the job server can help: the descriptor (or a URL
    /// in it) expired or is malformed, it cannot take this file (too large for its parts, a
    /// policy that refuses it), its multipart upload is gone, or the file changed under a kept
    /// upload. Retrying with the same descriptor would fail the same way. A runner reports
    /// these to its job server and asks for another target; any other failure may be retried
    /// (resumed, for a kept multipart upload) with the same descriptor.
    pub fn needs_new_target(&self) -> bool {
        match self {
            UploadError::Preflight(p) => p.needs_new_target(),
            UploadError::ExpiredWhileRetrying { .. }
            | UploadError::Multipart(MultipartError::UploadGone { .. }) => true,
            UploadError::Refused { refusal, .. } => {
                use S3ErrorCode::*;
                // Garage answers AccessDenied for what S3 names more precisely (measured, 2.5:
                // "Forbidden: Invalid signature", "Forbidden: No such key: AKID…"), and S3 for
                // an expired URL ("Request has expired").
                let expired = refusal.s3.as_ref().is_some_and(|e| {
                    let m = e.message.to_ascii_lowercase();
                    m.contains("expired")
                        || m.contains("invalid signature")
                        || m.contains("no such key")
                });
                matches!(
                    self.s3_code(),
                    Some(
                        ExpiredToken
                            | InvalidToken
                            | InvalidAccessKeyId
                            | SignatureDoesNotMatch
                            | AuthorizationQueryParametersError
                            | NoSuchUpload
                            | EntityTooLarge
                    )
                ) || (self.s3_code() == Some(&AccessDenied) && expired)
            }
            UploadError::Multipart(m) => m.cause().is_some_and(UploadError::needs_new_target),
            _ => false,
        }
    }
}

impl PreflightError {
    /// Whether only a new upload target can help (see [`UploadError::needs_new_target`]): not
    /// for a missing file, a busy resume, or an option or upload shape the caller chose.
    pub fn needs_new_target(&self) -> bool {
        !matches!(
            self,
            PreflightError::FileNotFound { .. }
                | PreflightError::NotAFile { .. }
                | PreflightError::ResumeBusy { .. }
                | PreflightError::InvalidHeader { .. }
                | PreflightError::StreamNeedsMultipart
                | PreflightError::OptionNotApplicable { .. }
                | PreflightError::NotMultipart
                | PreflightError::BytesNeedPut
        )
    }
}

impl MultipartError {
    /// The failure under this one (a part's or Complete's), when there is one.
    pub fn cause(&self) -> Option<&UploadError> {
        match self {
            MultipartError::Part { source, .. }
            | MultipartError::PartFailed { source, .. }
            | MultipartError::CompleteFailed { source }
            | MultipartError::Kept { source, .. }
            | MultipartError::Complete { source, .. } => Some(source),
            _ => None,
        }
    }
}
