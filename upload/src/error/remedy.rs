//! What to do about a failure, as a value: the library's messages say it in the library's terms
//! (an [`UploaderBuilder`](crate::UploaderBuilder) setting, an [`UploadOptions`](crate::UploadOptions)
//! field, a method), and a command renders each remedy as its own flags (the `signpost` command
//! does), so no library message names a command-line flag.

use super::{ClientError, UploadError, UploadOption};
use crate::error::MultipartError;
use crate::error::PreflightError;

/// One thing the caller can do to get past a failure.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remedy {
    /// The server's TLS certificate is not trusted: if a private CA signed it, trust that CA
    /// ([`UploaderBuilder::ca_bundle`](crate::UploaderBuilder::ca_bundle)).
    TrustCa,
    /// The CA bundle given cannot be used: give a PEM file of the CA certificates that signed the
    /// server's certificate.
    FixCaBundle,
    /// The multipart upload is kept: upload again with the same descriptor (or a fresh one for
    /// the same upload) to resume it, or abort it ([`Uploader::abort`](crate::Uploader::abort)).
    ResumeOrAbort {
        /// The kept upload.
        upload_id: String,
    },
    /// A kept upload cannot be resumed from this file: abort it
    /// ([`Uploader::abort`](crate::Uploader::abort)), then upload to a new descriptor.
    AbortThenNewTarget {
        /// The kept upload.
        upload_id: String,
    },
    /// Give the upload's Content-Type
    /// ([`UploadOptions::content_type`](crate::UploadOptions::content_type)).
    GiveContentType,
    /// Leave this option out: it has no effect on this upload.
    LeaveOut(UploadOption),
}

impl UploadError {
    /// What the caller can do about this failure, the outermost first (a kept upload whose last
    /// failure was an untrusted certificate: resume-or-abort, then trust the CA). Empty when the
    /// message says all there is (the server refused, the descriptor is wrong, …).
    pub fn remedies(&self) -> Vec<Remedy> {
        let mut out = Vec::new();
        let mut e = Some(self);
        while let Some(err) = e {
            e = None;
            match err {
                UploadError::Transport { source, .. } if source.is_untrusted_certificate() => {
                    out.push(Remedy::TrustCa);
                }
                UploadError::Client(c) => out.extend(c.remedy()),
                UploadError::Multipart(MultipartError::Kept {
                    upload_id, source, ..
                }) => {
                    out.push(Remedy::ResumeOrAbort {
                        upload_id: upload_id.clone(),
                    });
                    e = Some(source);
                }
                UploadError::Preflight(PreflightError::ResumeFileChanged { upload_id, .. }) => {
                    out.push(Remedy::AbortThenNewTarget {
                        upload_id: upload_id.clone(),
                    });
                }
                UploadError::Preflight(PreflightError::ContentTypeOutsidePrefix { .. }) => {
                    out.push(Remedy::GiveContentType)
                }
                UploadError::Preflight(PreflightError::OptionNotApplicable { option, .. }) => {
                    out.push(Remedy::LeaveOut(*option));
                }
                UploadError::Multipart(m) => e = m.cause(),
                UploadError::ExpiredWhileRetrying { last: source, .. } => e = Some(source),
                _ => {}
            }
        }
        out
    }
}

impl ClientError {
    /// What the caller can do about this failure, if anything.
    pub fn remedy(&self) -> Option<Remedy> {
        matches!(self, ClientError::CaBundle { .. }).then_some(Remedy::FixCaBundle)
    }
}
