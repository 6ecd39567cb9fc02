//! The wire format that signpost's two sides share.
//!
//! A platform (the *server side*, `signpost-presign`) signs an upload target and hands it to a
//! transcoding runner (the *runner side*, `signpost-upload`) as a JSON
//! [`RunnerJobCustomUpload`]. This crate holds that type and the few pieces of S3's protocol
//! both sides must read the same way, without any secret or HTTP client:
//!
//! - [`descriptor`]: the `RunnerJobCustomUpload` JSON, a superset of PeerTube's `{ url, method? }`.
//! - [`policy`]: the POST policy document (expiration + conditions) and its evaluation against a
//!   form, used by the signer to guarantee a form it builds is accepted, by the verifier, and by
//!   the uploader's pre-flight check.
//! - [`query_auth`]: the `X-Amz-*` parameters of a SigV4 query-signed (presigned) URL.
//! - [`amz_date`]: the two timestamp formats SigV4 uses.
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
pub mod descriptor;
pub mod policy;
pub mod query_auth;
pub mod s3_xml;

pub use descriptor::{
    DEFAULT_EXPECTED_STATUS_CODES, DescriptorError, MultipartTarget, OrderedPairs,
    RunnerJobCustomUpload, UploadMethod,
};
pub use policy::{Condition, PolicyDocument, PolicyError, PolicyViolation};
pub use query_auth::{CredentialScope, QueryAuth, QueryAuthError};
