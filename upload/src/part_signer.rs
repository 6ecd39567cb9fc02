//! Part URLs signed when they are needed rather than listed in the descriptor.
//!
//! A stream's length is not known when its upload starts, so a descriptor for it must list a URL
//! for every part the largest allowed object could need (the gateway's default limit, 50 GiB in
//! 16 MiB parts, is 3,200 URLs), of which a short stream uses a few. A [`PartSigner`] signs each
//! UploadPart URL just before its part is sent instead: nothing is signed, held or parsed for a
//! part that is never reached, and each URL is fresh however long the upload has run.

use std::future::Future;
use std::pin::Pin;

use signpost_wire::SignedUrl;

/// What signing a part URL failed with, for [`MultipartError::PartNotSigned`](crate::MultipartError::PartNotSigned).
pub type PartSignError = Box<dyn std::error::Error + Send + Sync>;

/// The future [`PartSigner::sign_part`] returns.
pub type PartUrlFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SignedUrl, PartSignError>> + Send + 'a>>;

/// Signs the UploadPart URL of one part of a multipart upload, just before it is sent: used by
/// [`Uploader::upload_stream_signed`](crate::Uploader::upload_stream_signed) for every part past
/// those the descriptor lists.
///
/// ```
/// use signpost_upload::{PartSigner, PartUrlFuture};
/// use signpost_upload::signpost_wire::SignedUrl;
///
/// /// Signs with the job server's own presigner (here: a fixed URL pattern, for the example).
/// struct Parts { upload_id: String }
///
/// impl PartSigner for Parts {
///     fn sign_part(&self, number: u32) -> PartUrlFuture<'_> {
///         let url = format!(
///             "http://127.0.0.1:9000/b/k?partNumber={number}&uploadId={}", self.upload_id);
///         Box::pin(async move { Ok(SignedUrl::from(url)) })
///     }
/// }
/// ```
pub trait PartSigner: Send + Sync {
    /// The presigned UploadPart URL of part `number` (1-based, at most the plan's part count).
    fn sign_part(&self, number: u32) -> PartUrlFuture<'_>;
}
