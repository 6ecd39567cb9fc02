//! The journal's S3 calls upstream, each one presigned request: writing, reading and deleting
//! markers and heartbeats, aborting an upload, listing the journal with the upstream's clock.

use std::time::Duration;

use signpost_presign::{PresignRequest, S3Operation, Validity};
use signpost_wire::s3_xml::{ListBucketResult, parse};
use time::OffsetDateTime;

use super::Journal;
use crate::client::{CallError, Reply, send};

fn refused(what: String, reply: Reply) -> CallError {
    CallError::Refused {
        what,
        reply: Box::new(reply),
    }
}

impl Journal {
    fn validity() -> Result<Validity, CallError> {
        Ok(Validity::expires_in(Duration::from_secs(900))?)
    }

    async fn send(
        &self,
        what: &str,
        req: &PresignRequest,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, CallError> {
        send(&self.caller, what, &self.presigner.presign(req)?, body).await
    }

    pub(super) async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), CallError> {
        let req = PresignRequest::put_object(bucket, key)
            .validity(Self::validity()?)
            .content_length(body.len() as u64);
        let what = format!("writing {bucket}/{key}");
        let r = self.send(&what, &req, Some(body.to_vec())).await?;
        match r.status {
            200 | 201 | 204 => Ok(()),
            _ => Err(refused(what, r)),
        }
    }

    pub(super) async fn delete(&self, bucket: &str, key: &str) -> Result<(), CallError> {
        let req =
            PresignRequest::new(S3Operation::DeleteObject, bucket, key).validity(Self::validity()?);
        let what = format!("deleting {bucket}/{key}");
        let r = self.send(&what, &req, None).await?;
        match r.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(refused(what, r)),
        }
    }

    pub(super) async fn get(&self, bucket: &str, key: &str) -> Result<Option<String>, CallError> {
        let req = PresignRequest::get_object(bucket, key).validity(Self::validity()?);
        let what = format!("reading {bucket}/{key}");
        let r = self.send(&what, &req, None).await?;
        match r.status {
            200 => Ok(Some(r.body)),
            404 => Ok(None),
            _ => Err(refused(what, r)),
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
        let what = format!("AbortMultipartUpload for {bucket}/{key}");
        let r = self.send(&what, &req, None).await?;
        match r.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(refused(what, r)),
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
        let what = format!("ListObjectsV2 of {bucket}/{}", self.prefix);
        let r = self.send(&what, &req, None).await?;
        let now = r
            .headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .map_or_else(OffsetDateTime::now_utc, OffsetDateTime::from);
        if r.status != 200 {
            return Err(refused(what, r));
        }
        let page =
            parse::<ListBucketResult>(&r.body).map_err(|e| refused(format!("{what} ({e})"), r))?;
        Ok((page, now))
    }
}
