//! The one error type of the receivers' set-up: what could not start, and why.

use std::net::SocketAddr;

/// Why a receiver could not start (or a control call it makes failed). Requests that fail are
/// answered with S3's error documents instead; see [`S3Answer`](crate::core::answer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address is taken or not ours.
    #[error(
        "cannot listen on {addr}: {source} (is the port in use, or the address not this machine's?)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's answer.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory the receiver needs.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What it was for.
        what: &'static str,
        /// Where.
        path: std::path::PathBuf,
        /// The system's answer.
        #[source]
        source: std::io::Error,
    },
    /// A limit that cannot work.
    #[error("limits: {0}")]
    Limit(String),
    /// An option that cannot work, naming it and the fix.
    #[error("{0}")]
    Options(String),
    /// The TLS certificate or key.
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP client for upstream calls.
    #[error(transparent)]
    Upload(#[from] signpost_upload::UploadError),
    /// Signing an upstream request.
    #[error(transparent)]
    Presign(#[from] signpost_presign::PresignError),
    /// An upstream S3 call the receiver makes itself.
    #[error(transparent)]
    Call(#[from] crate::client::CallError),
}
