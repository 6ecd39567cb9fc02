//! Where a verified body goes: the same bucket and key on the upstream S3, through
//! signpost-upload (Content-MD5 on every request, ETags checked, retries). A body that fits in one
//! part goes as one PUT once it has fully arrived; a larger one streams into a multipart upload,
//! at most two parts in memory, and is completed only after its last byte has arrived and passed
//! the body's checks. Any failure, the client's included, aborts the multipart upload: nothing is
//! stored and no part is left behind; an upload that cannot be aborted then (or whose gateway is
//! killed) stays in the [journal](super::journal) until a sweep aborts it.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use signpost_presign::{MultipartPlan, PresignRequest, PresignedMultipart, Presigner, Validity};
use signpost_upload::{PartSigner, PartUrlFuture, UploadError, UploadOptions, Uploader};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The upstream store and how to write to it.
#[derive(Debug)]
pub struct Upstream {
    pub presigner: std::sync::Arc<Presigner>,
    pub uploader: Uploader,
    pub part_size: u64,
    /// Where the multipart uploads started are journaled until completed or aborted.
    pub journal: std::sync::Arc<super::journal::Journal>,
}

/// Why storing failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading the body failed (the client's refusal or disconnection); nothing stored.
    #[error("reading the body failed: {0}")]
    Body(#[source] std::io::Error),
    /// The upstream refused or failed.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// Signing the upstream requests failed.
    #[error(transparent)]
    Sign(#[from] signpost_presign::PresignError),
    /// Starting the multipart upload failed.
    #[error(transparent)]
    Start(#[from] crate::client::CallError),
}

/// How long a part URL signed on demand lives: it is sent at once, and retried for minutes at
/// most.
const PART_URL_LIFETIME: Duration = Duration::from_secs(3600);

/// Signs the upstream UploadPart URLs one at a time, as the upload reaches each part (with the
/// credentials as they are then), instead of every part the size limit allows up front.
struct UpstreamParts<'a> {
    presigner: &'a Presigner,
    bucket: &'a str,
    key: &'a str,
    upload_id: &'a str,
}

impl PartSigner for UpstreamParts<'_> {
    fn sign_part(&self, number: u32) -> PartUrlFuture<'_> {
        Box::pin(async move {
            self.presigner.refresh_credentials().await?;
            let part = PresignRequest::upload_part(self.bucket, self.key, self.upload_id, number)
                .validity(Validity::expires_in(PART_URL_LIFETIME)?);
            Ok(self.presigner.presign(&part)?.url().clone())
        })
    }
}

/// Up to `size` bytes: a full part, or all there is.
async fn read_part<R: AsyncRead + Unpin>(r: &mut R, size: usize) -> std::io::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let want = (size - buf.len()) as u64;
        if (&mut *r).take(want).read_buf(&mut buf).await? == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}

impl Upstream {
    /// Stores what `body` yields as `bucket`/`key`; returns the object's ETag. `max_size` is the
    /// most the body can hold (its announced length, else the gateway's limit): a multipart
    /// upload never takes more parts than that many bytes need, and signs each as it is reached.
    pub async fn store<R: AsyncRead + Unpin>(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<&str>,
        max_size: u64,
        mut body: R,
    ) -> Result<Option<String>, StoreError> {
        self.presigner.refresh_credentials().await?;
        let first = read_part(&mut body, self.part_size as usize)
            .await
            .map_err(StoreError::Body)?;
        let day = Validity::expires_in(Duration::from_secs(24 * 3600))?;
        if (first.len() as u64) < self.part_size {
            let mut put = PresignRequest::put_object(bucket, key).validity(day);
            if let Some(ct) = content_type {
                put = put.content_type(ct);
            }
            let job = self
                .presigner
                .presign(&put)
                .and_then(|p| p.to_descriptor())?;
            return Ok(self
                .uploader
                .upload_bytes(&job, first, &UploadOptions::default())
                .await?
                .etag);
        }
        let upload_id = crate::client::create_multipart(
            &self.uploader,
            &self.presigner,
            bucket,
            key,
            content_type,
        )
        .await?;
        let entry = match self.journal.started(bucket, key, &upload_id).await {
            Ok(entry) => entry,
            Err(e) => {
                // Not journaled: aborted now, or left to a lifecycle rule if that fails too.
                if let Err(a) = self.journal.abort(bucket, key, &upload_id).await {
                    tracing::warn!(bucket = %bucket, key = %key, error = %a,
                        "a multipart upload that could not be journaled could not be aborted either");
                }
                return Err(StoreError::Start(e));
            }
        };
        // The descriptor lists part 1 (already read); the rest are signed as they are reached.
        let max_parts = max_size.div_ceil(self.part_size).max(1);
        let signer = UpstreamParts {
            presigner: &self.presigner,
            bucket,
            key,
            upload_id: &upload_id,
        };
        let result = match MultipartPlan::builder(bucket, key, upload_id.clone())
            .part_size(self.part_size)
            .max_object_size(self.part_size)
            .build()
            .and_then(|plan| plan.presign(&self.presigner, day))
            .map(PresignedMultipart::into_descriptor)
        {
            Ok(job) => self
                .uploader
                .upload_stream_signed(
                    &job,
                    &signer,
                    u32::try_from(max_parts).unwrap_or(u32::MAX),
                    first,
                    body,
                    &UploadOptions::default(),
                )
                .await
                .map_err(StoreError::from),
            Err(e) => Err(StoreError::from(e)),
        };
        self.journal.finish(entry, result.is_ok()).await;
        Ok(result?.etag)
    }
}
