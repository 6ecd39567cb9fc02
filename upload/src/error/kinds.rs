//! The parts errors are made of: which URL, what became of an upload, how a file changed, what
//! failed on the wire, which option, why the client could not be set up.

use std::fmt;
use std::time::Duration;

use super::UploadError;

/// Which URL of a descriptor an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetKind {
    /// The presigned PUT URL.
    PresignedUrl,
    /// The URL a POST form is posted to.
    FormUrl,
    /// The POST form's policy (its `expiration`).
    PostPolicy,
    /// The UploadPart URL of this part.
    Part(u32),
    /// The CompleteMultipartUpload URL.
    Complete,
    /// The AbortMultipartUpload URL.
    Abort,
    /// The ListParts URL.
    ListParts,
    /// A presigned S3 call made through [`Uploader::call`](crate::Uploader::call), by its
    /// operation's name (`CreateMultipartUpload`, `HeadBucket`, …).
    Operation(&'static str),
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetKind::PresignedUrl => f.write_str("presigned URL"),
            TargetKind::FormUrl => f.write_str("form's URL"),
            TargetKind::PostPolicy => f.write_str("POST policy"),
            TargetKind::Part(n) => write!(f, "URL of part {n}"),
            TargetKind::Complete => f.write_str("CompleteMultipartUpload URL"),
            TargetKind::Abort => f.write_str("AbortMultipartUpload URL"),
            TargetKind::ListParts => f.write_str("ListParts URL"),
            TargetKind::Operation(name) => write!(f, "{name} URL"),
        }
    }
}

/// Why a connection carried no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The HTTP client's error (connect, TLS, reset, timeout), its URL removed.
    #[error("{}", signpost_wire::error_line(.0))]
    Http(reqwest::Error),
    /// Nothing was sent or received for the stall timeout.
    #[error("stalled: nothing sent or received for {} s", .idle.as_secs_f64())]
    Stalled {
        /// How long it was idle.
        idle: Duration,
    },
}

impl TransportError {
    /// Whether the connection was refused (nothing listens on that port).
    pub fn is_connection_refused(&self) -> bool {
        let TransportError::Http(e) = self else {
            return false;
        };
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = next {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return true;
                }
                // An io::Error's `source()` skips what it wraps: step in.
                next = io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static));
                continue;
            }
            next = err.source();
        }
        false
    }

    /// Whether the TLS handshake failed on the server's certificate (not signed by a trusted CA,
    /// expired, for another name, or none). Every try would meet the same certificate, so the
    /// funnel does not retry it, and the message says how to trust a private CA.
    pub fn is_untrusted_certificate(&self) -> bool {
        let TransportError::Http(e) = self else {
            return false;
        };
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = next {
            if matches!(
                err.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
            ) {
                return true;
            }
            // rustls' error reaches the HTTP client inside io::Errors (nested, seen: Other
            // around InvalidData), and an io::Error's `source()` skips what it wraps: step in.
            next = match err
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            };
        }
        false
    }
}

pub(super) fn transport_message(
    host: &str,
    proxy: Option<&str>,
    attempts: u32,
    source: &TransportError,
) -> String {
    if source.is_untrusted_certificate() {
        return format!(
            "could not reach {host} after {attempts} attempt(s): {source}; the server's TLS certificate is not trusted: if it is signed by a private CA (MinIO or Ceph behind TLS), trust that CA's certificate (UploaderBuilder::ca_bundle)"
        );
    }
    match proxy {
        None if source.is_connection_refused() => format!(
            "could not reach {host} after {attempts} attempt(s): {source}; nothing is listening there: check that the S3 server is running and that the target (the descriptor, or --endpoint) names its host and port"
        ),
        None => format!("could not reach {host} after {attempts} attempt(s): {source}"),
        Some(p) => format!(
            "could not reach {host} through the proxy {p} after {attempts} attempt(s): the proxy failed or refused ({source}); fix the proxy, or set NO_PROXY={host} to connect directly"
        ),
    }
}

/// What became of a multipart upload after a failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum AbortOutcome {
    /// AbortMultipartUpload succeeded: nothing of the upload is stored.
    Aborted,
    /// AbortMultipartUpload failed too: its parts stay stored until a lifecycle rule removes them.
    Failed(Box<UploadError>),
}

impl fmt::Display for AbortOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortOutcome::Aborted => {
                f.write_str("the multipart upload was aborted, so no parts are left behind")
            }
            AbortOutcome::Failed(e) => write!(
                f,
                "aborting the multipart upload failed too ({e}): its parts may remain until a lifecycle rule removes them"
            ),
        }
    }
}

/// How a file changed while it was being uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileChange {
    /// It has more bytes than when the upload started.
    Grew,
    /// It ended early.
    Shrank {
        /// Bytes missing.
        missing: u64,
    },
    /// Its size differs at the end.
    Resized {
        /// The size at the start.
        from: u64,
        /// The size at the end.
        to: u64,
    },
    /// Its modification time moved.
    Modified,
}

impl fmt::Display for FileChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileChange::Grew => f.write_str("it grew past the size it had when the upload started"),
            FileChange::Shrank { missing } => {
                write!(f, "it ended {missing} bytes early: the file shrank")
            }
            FileChange::Resized { from, to } => {
                write!(f, "its size went from {from} to {to} bytes")
            }
            FileChange::Modified => f.write_str("it was modified"),
        }
    }
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// TLS set-up (protocol versions, the platform's certificate verifier).
    #[error(transparent)]
    Tls(#[from] rustls::Error),
    /// reqwest's client builder.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The blocking wrapper's runtime.
    #[error("cannot start a runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The CA bundle cannot be used.
    #[error(
        "CA bundle {}: {reason}; give a PEM file of the CA certificates that signed the server's certificate", .path.display()
    )]
    CaBundle {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An [`UploadOptions`](crate::UploadOptions) field, as errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadOption {
    /// `file_name`: a POST form's file name and `${filename}`.
    FileName,
    /// `content_type`: a PUT's or a POST's Content-Type (a multipart upload's is fixed when it
    /// is created).
    ContentType,
    /// `on_failure: Keep`: keeping a failed multipart upload of a file to resume it.
    KeepOnFailure,
    /// `put_digest`: when a single PUT's MD5 is worked out.
    PutDigest,
}

impl fmt::Display for UploadOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UploadOption::FileName => "a file name",
            UploadOption::ContentType => "a Content-Type",
            UploadOption::KeepOnFailure => "keeping the upload after a failure",
            UploadOption::PutDigest => "a single PUT's digest mode",
        })
    }
}
