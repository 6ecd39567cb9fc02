//! The journal's S3 calls upstream, each one presigned request: writing, reading and deleting
//! markers and heartbeats, aborting an upload, listing the journal with the upstream's clock.

use std::time::Duration;

use signpost_presign::{PresignRequest, S3Operation, Validity};
use signpost_wire::s3_xml::{ListBucketResult, parse};
use time::OffsetDateTime;

use super::Journal;
use crate::client::{CallError, Reply, send};

fn refused(what: String, reply: Reply) -> CallError {
    CallError::Refused { what, reply }
}

impl Journal {
    fn validity() -> Result<Validity, CallError> {
        Ok(Validity::expires_in(Duration::from_secs(900))?)
    }

    pub(super) async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), CallError> {
        let req = PresignRequest::put_object(bucket, key)
            .validity(Self::validity()?)
            .content_length(body.len() as u64);
        let r = send(
            &self.client,
            &self.presigner.presign(&req)?,
            Some(body.to_vec()),
        )
        .await?;
        match r.status {
            200 | 201 | 204 => Ok(()),
            _ => Err(refused(format!("writing {bucket}/{key}"), r)),
        }
    }

    pub(super) async fn delete(&self, bucket: &str, key: &str) -> Result<(), CallError> {
        let req =
            PresignRequest::new(S3Operation::DeleteObject, bucket, key).validity(Self::validity()?);
        let r = send(&self.client, &self.presigner.presign(&req)?, None).await?;
        match r.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(refused(format!("deleting {bucket}/{key}"), r)),
        }
    }

    pub(super) async fn get(&self, bucket: &str, key: &str) -> Result<Option<String>, CallError> {
        let req = PresignRequest::get_object(bucket, key).validity(Self::validity()?);
        let r = send(&self.client, &self.presigner.presign(&req)?, None).await?;
        match r.status {
            200 => Ok(Some(r.body)),
            404 => Ok(None),
            _ => Err(refused(format!("reading {bucket}/{key}"), r)),
        }
    }

    /// AbortMultipartUpload; an upload already gone (NoSuchUpload) counts as aborted.
    pub(in crate::gateway) async fn abort(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), CallError> {
        let req = PresignRequest::abort_multipart_upload(bucket, key, upload_id)
            .validity(Self::validity()?);
        let r = send(&self.client, &self.presigner.presign(&req)?, None).await?;
        match r.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(refused(
                format!("AbortMultipartUpload for {bucket}/{key}"),
                r,
            )),
        }
    }

    /// One page of the journal's listing in `bucket`, with the upstream's clock.
    pub(super) async fn list_page(
        &self,
        bucket: &str,
        token: Option<&str>,
    ) -> Result<(ListBucketResult, OffsetDateTime), CallError> {
        let mut req = PresignRequest::bucket(S3Operation::ListObjectsV2, bucket)
            .query("prefix", self.prefix.clone())
            .validity(Self::validity()?);
        if let Some(t) = token {
            req = req.query("continuation-token", t);
        }
        let signed = self.presigner.presign(&req)?;
        let mut rb = self.client.get(signed.url().as_str());
        for (k, v) in signed.headers().iter() {
            rb = rb.header(k, v);
        }
        let resp = rb.send().await.map_err(|source| CallError::Transport {
            method: "GET".into(),
            host: self.presigner.endpoint().host_for(bucket).into_owned(),
            source: source.without_url(),
        })?;
        let now = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .map_or_else(OffsetDateTime::now_utc, OffsetDateTime::from);
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if status != 200 {
            return Err(refused(
                format!("ListObjectsV2 of {bucket}/{}", self.prefix),
                Reply { status, body },
            ));
        }
        let page = parse::<ListBucketResult>(&body).map_err(|e| {
            refused(
                format!("ListObjectsV2 of {bucket}/{} ({e})", self.prefix),
                Reply { status, body },
            )
        })?;
        Ok((page, now))
    }
}
