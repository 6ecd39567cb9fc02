//! # signpost-presign: the server side of S3 presigned uploads
//!
//! A platform that hands uploads to remote workers (PeerTube's transcoding runners, for one)
//! signs an upload target and gives it away; the worker uploads straight to S3 or MinIO without
//! credentials. This crate signs those targets, for AWS and any S3-compatible endpoint:
//!
//! - [`Presigner::presign`]: SigV4 query-signed URLs for PutObject, GetObject and the multipart
//!   calls, with the headers the uploader must send ([`PresignedRequest`]).
//! - [`PostPolicyBuilder`]: browser-based POST uploads: a signed policy and the form fields
//!   ([`PostForm`]), every field covered by a condition.
//! - [`MultipartPlan`]: presigned multipart uploads for files past S3's 5 GiB single-PUT limit.
//! - [`Verifier`]: the inverse, for receivers that are not S3 and for pre-flight checks: would S3
//!   accept this request or form, and if not, which rule fails.
//!
//! All three take one [`Validity`] (signing time and expiry, checked once). Each result converts
//! to the [`RunnerJobCustomUpload`](signpost_wire::RunnerJobCustomUpload) descriptor that
//! `signpost-upload` consumes. Signatures are byte-identical to the official `aws-sigv4`
//! signer's (a property test holds it to that), and faster: the derived signing key is cached
//! per day, region and credentials, and read without a lock.
//!
//! The crate has no HTTP client: sending the requests is the caller's business.
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, Presigner, PresignRequest, Validity};
//! use std::time::Duration;
//!
//! let presigner = Presigner::new(
//!     Credentials::new("minioadmin", "minioadmin"),
//!     Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?,
//! );
//! let put = presigner.presign(
//!     &PresignRequest::put_object("videos", "job-42/output.mp4")
//!         .content_type("video/mp4")
//!         .validity(Validity::expires_in(Duration::from_secs(3600))?),
//! )?;
//! let job = put.to_descriptor()?; // JSON for the runner: { url, method: "PUT", headers }
//! assert_eq!(job.headers.get("Content-Type"), Some("video/mp4"));
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```
#![deny(missing_docs)]

mod canonical_request;
mod credentials;
mod endpoint;
mod error;
mod multipart;
mod operation;
mod post_policy;
mod presigner;
mod provider;
mod request;
mod signed_headers;
mod signing_credentials;
mod signing_key;
mod uri_encode;
mod validity;
mod verify;

#[cfg(test)]
mod aws_vectors;

pub use credentials::Credentials;
pub use endpoint::{Addressing, Endpoint, validate_key, validate_region};
pub use error::PresignError;
pub use multipart::{
    MultipartPlan, MultipartPlanBuilder, PresignedMultipart, parse_initiate_response,
};
pub use operation::S3Operation;
pub use post_policy::{PostForm, PostPolicyBuilder};
pub use presigner::Presigner;
pub use request::{PresignRequest, PresignedRequest};
pub use signpost_wire;
pub use validity::Validity;
pub use verify::{BodyRules, VerifiedForm, VerifiedRequest, Verifier, VerifyError};
