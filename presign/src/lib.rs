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
//! Each result converts to the [`RunnerJobCustomUpload`](signpost_wire::RunnerJobCustomUpload)
//! descriptor that `signpost-upload` consumes. Signatures are byte-identical to the official
//! `aws-sigv4` signer's (a property test holds it to that), and faster: the derived signing key is
//! cached per day, region and service.
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, Presigner, PresignRequest};
//! use std::time::Duration;
//!
//! let presigner = Presigner::new(
//!     Credentials::new("minioadmin", "minioadmin"),
//!     Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?,
//! );
//! let put = presigner.presign(
//!     &PresignRequest::put_object("videos", "job-42/output.mp4")
//!         .content_type("video/mp4")
//!         .expires_in(Duration::from_secs(3600)),
//! )?;
//! let job = put.to_descriptor(); // JSON for the runner: { url, method: "PUT", headers }
//! assert_eq!(job.headers.get("Content-Type"), Some("video/mp4"));
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```
#![deny(missing_docs)]

pub mod canonical_request;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod multipart;
pub mod post_policy;
pub mod presign;
pub mod signing_key;
pub mod uri_encode;
pub mod verify;

pub use credentials::Credentials;
pub use endpoint::{Addressing, Endpoint};
pub use error::PresignError;
pub use multipart::{MultipartPlan, parse_initiate_response};
pub use post_policy::{PostForm, PostPolicyBuilder};
pub use presign::{PresignRequest, PresignedRequest, Presigner, S3Operation};
pub use signpost_wire;
pub use verify::{Verifier, VerifyError};
