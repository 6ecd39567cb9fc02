//! # signpost-upload: the runner side of S3 presigned uploads
//!
//! A transcoding runner (PeerTube's, or any worker) receives an upload target as JSON, a
//! [`RunnerJobCustomUpload`], and sends its output file there, straight to S3 or MinIO:
//!
//! - **PUT** to a presigned URL, exactly as given (query string and signature intact), the file
//!   streamed with its `Content-Length` (S3 refuses chunked PUTs), the signed headers sent.
//! - **POST** a form (S3 browser-based upload): the fields in order, the file part last.
//! - **Multipart**: parts uploaded in parallel to presigned UploadPart URLs, each retried alone,
//!   then CompleteMultipartUpload; AbortMultipartUpload on failure.
//!
//! An upload is planned, then executed. [`Uploader::plan`] (the pre-flight) refuses what S3
//! would refuse (an expired URL or policy, a file outside `content-length-range`, a key outside
//! the policy's prefix) and works out everything to send; [`Uploader::execute`] sends it
//! through one request funnel that owns retries, the stall watchdog and progress. Success is
//! any status in `expectedStatusCodes` (default 200, 201, 204); otherwise the error carries
//! S3's `Code`, `Message` and `RequestId`. Connection faults, 5xx, 429 and `SlowDown` are
//! retried with exponential backoff and jitter ([`RetryPolicy`]); other 4xx are not; nothing is
//! retried past the URL's expiry. The file is read from disk as it is sent, at most two 512 KiB
//! chunks ahead, so memory does not grow with its size, and it is only ever opened for reading.
//!
//! **When retries run out** a multipart upload is aborted (AbortMultipartUpload, nothing left
//! stored) unless it can be resumed: with a resume store in [`UploadOptions::resume`] (what the
//! `signpost upload` command always sets, in its state directory) it is kept, and the next call
//! with the same (or a freshly signed) descriptor sends only the parts the server lacks. That is
//! the library's default, [`OnFailure::KeepIfResumable`]: a caller that never asked for resuming
//! leaves no parts stored and billed; set `resume` to get the command's behaviour. A stream
//! ([`Uploader::upload_stream`]) cannot be resumed and is always aborted.
//!
//! ```no_run
//! use signpost_upload::{RunnerJobCustomUpload, Uploader, UploadOptions, Progress};
//! use std::sync::Arc;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // What PeerTube hands a runner today, or signpost's extended form.
//! let job = RunnerJobCustomUpload::from_json(r#"{
//!     "url": "http://127.0.0.1:9000/videos/out.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&…",
//!     "method": "PUT",
//!     "headers": { "Content-Type": "video/mp4" }
//! }"#)?;
//! let opts = UploadOptions {
//!     progress: Some(Arc::new(|p: Progress| eprintln!("{:.0}%", p.fraction() * 100.0))),
//!     ..Default::default()
//! };
//! let outcome = Uploader::new()?.upload_with(&job, "out.mp4", &opts).await?;
//! println!("HTTP {} after {} attempt(s), ETag {:?}", outcome.status, outcome.attempts, outcome.etag);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

#[cfg(feature = "blocking")]
pub mod blocking;
mod body;
mod call;
mod client;
mod clock;
mod error;
mod explain;
mod findings;
mod form;
mod funnel;
mod integrity;
mod multipart;
mod options;
mod outcome;
mod part_signer;
mod plan;
mod post;
mod progress;
mod put;
mod refusal;
mod resume;
mod retry;
mod source;
mod stream;
mod target;
mod traps;
mod uploader;

pub use call::{Call, Reply};
pub use client::{CaBundle, read_ca_bundle, tls_config};
pub use clock::Clock;
pub use error::{
    AbortOutcome, ClientError, ErrorKind, FileChange, MultipartError, PreflightError, Refusal,
    Remedy, TargetKind, TransportError, UploadError, UploadOption,
};
pub use findings::findings;
pub use options::{PutDigest, UploadOptions};
pub use outcome::UploadOutcome;
pub use part_signer::{PartSignError, PartSigner, PartUrlFuture};
pub use plan::UploadPlan;
pub use progress::{Progress, ProgressFn};
pub use resume::{
    FileIdentity, FileResumeStore, Journal, JournalHeader, JournalPart, OnFailure, ResumeClaim,
    ResumeStore, UploadKey,
};
pub use retry::RetryPolicy;
pub use signpost_wire::s3_xml::{ErrorResponse, PostResponse};
pub use signpost_wire::{self, RunnerJobCustomUpload, UploadMethod};
pub use source::FileSource;
pub use uploader::{Uploader, UploaderBuilder};
