//! The wire format that signpost's two sides share.
//!
//! A platform (the *server side*, `signpost-presign`) signs an upload target and hands it to a
//! transcoding runner (the *runner side*, `signpost-upload`) as a JSON
//! [`RunnerJobCustomUpload`]. This crate holds that type and the few pieces of S3's protocol
//! both sides must read the same way, without any secret or HTTP client:
//!
//! - [`RunnerJobCustomUpload`]: the descriptor JSON, a superset of PeerTube's `{ url, method? }`.
//! - [`PolicyDocument`]: the POST policy (expiration + [`Condition`]s) and its evaluation against
//!   a form, used by the signer to guarantee a form it builds is accepted, by the verifier, and
//!   by the uploader's pre-flight check.
//! - [`QueryAuth`]: the `X-Amz-*` parameters of a SigV4 query-signed (presigned) URL.
//! - [`amz_date`]: the two timestamp formats SigV4 uses; [`limits`]: S3's numbers;
//!   [`s3_xml`]: S3's XML documents; [`sigv4`]: SigV4's parameter names and canonical request
//!   writer, shared by the signer, the Verifier and the uploader's diagnostics.
//! - [`Secret`] and [`SignedUrl`]: values that print as `******` (or with their signature
//!   redacted) in `Debug`, logs and errors; [`error_line`]: an error and its causes, one line.
//!
//! Keeping them here means a runner does not compile the signer and a signer does not compile an
//! HTTP client, while the wire type has exactly one definition.
//!
//! ```
//! use signpost_wire::{RunnerJobCustomUpload, UploadMethod};
//!
//! // What PeerTube emits today works unchanged: `method` defaults to PUT.
//! let job = RunnerJobCustomUpload::from_json(
//!     r#"{ "url": "https://bucket.s3.us-east-1.amazonaws.com/video.mp4?X-Amz-Signature=abc" }"#,
//! )?;
//! assert_eq!(job.method, UploadMethod::Put);
//! assert_eq!(job.expected_status_codes, vec![200, 201, 204]);
//! # Ok::<(), signpost_wire::DescriptorError>(())
//! ```
#![deny(missing_docs)]

pub mod amz_date;
pub mod canonical;
mod condition;
mod descriptor;
mod error_line;
pub mod limits;
mod ordered_pairs;
mod policy;
mod query_auth;
mod redact;
pub mod s3_xml;
pub mod sigv4;
pub mod uri;

pub use condition::Condition;
pub use descriptor::{
    DEFAULT_EXPECTED_STATUS_CODES, DescriptorError, MultipartTarget, RunnerJobCustomUpload,
    UploadMethod, is_token,
};
pub use error_line::error_line;
pub use ordered_pairs::OrderedPairs;
pub use policy::{PolicyDocument, PolicyError, PolicyViolation, is_exempt_field};
pub use query_auth::{CredentialScope, QueryAuth, QueryAuthError};
pub use redact::{REDACTED, Secret, SignedUrl, is_secret_name, redact_url};
