//! The few plain S3 calls the CLI makes itself (bucket checks, starting a multipart upload,
//! reading an object back), each through a presigned request, so the signer under test signs
//! them too.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use signpost_presign::{PresignRequest, PresignedRequest, Presigner, S3Operation, Validity};

pub use signpost_serve::client::Reply;
use signpost_upload::{Call, Uploader};

/// Sends a presigned request with its signed headers and an optional body, through the
/// uploader's funnel (retried as uploads are); any answer is returned.
pub async fn send(
    caller: &Uploader,
    req: &PresignedRequest,
    body: Option<Vec<u8>>,
) -> Result<Reply> {
    Ok(signpost_serve::client::send(caller, req.operation_name(), req, body).await?)
}

/// Makes sure `bucket` exists: HeadBucket, and CreateBucket when it answers 404.
pub async fn ensure_bucket(client: &Uploader, p: &Presigner, bucket: &str) -> Result<()> {
    let head = p.presign(&PresignRequest::bucket(S3Operation::HeadBucket, bucket))?;
    let r = send(client, &head, None).await?;
    match r.status {
        200 => Ok(()),
        404 => {
            let create = p.presign(&PresignRequest::bucket(S3Operation::CreateBucket, bucket))?;
            let r = send(client, &create, None).await?;
            if r.status == 200 {
                Ok(())
            } else {
                bail!("bucket {bucket} is missing and creating it failed: {}", r)
            }
        }
        _ => bail!("cannot use bucket {bucket}: {r}"),
    }
}

/// CreateMultipartUpload, sent; returns the upload id.
pub async fn create_multipart(
    client: &Uploader,
    p: &Presigner,
    bucket: &str,
    key: &str,
    content_type: Option<&str>,
) -> Result<String> {
    Ok(signpost_serve::client::create_multipart(client, p, bucket, key, content_type).await?)
}

/// GETs an object through a presigned URL and returns its length and SHA-256, streaming.
pub async fn get_sha256(
    client: &Uploader,
    p: &Presigner,
    bucket: &str,
    key: &str,
) -> Result<(u64, [u8; 32])> {
    let validity = Validity::expires_in(Duration::from_secs(3600))?;
    let get = p.presign(&PresignRequest::get_object(bucket, key).validity(validity))?;
    let call = Call::new(get.method().clone(), get.url().clone())
        .named("GetObject")
        .headers(get.headers())
        .expect(&[200]);
    let mut resp = client
        .open(&call)
        .await
        .with_context(|| format!("GET {bucket}/{key} back"))?;
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = resp.chunk().await.context("reading the object back")? {
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    Ok((n, h.finalize().into()))
}

/// Deletes an object (best effort: round-trip clean-up).
pub async fn delete(client: &Uploader, p: &Presigner, bucket: &str, key: &str) {
    if let Ok(req) = p.presign(&PresignRequest::new(S3Operation::DeleteObject, bucket, key)) {
        let _ = send(client, &req, None).await;
    }
}
