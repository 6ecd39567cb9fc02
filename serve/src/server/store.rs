//! What the embedded server stores: s3s-fs's objects, with S3's answers where s3s-fs 0.14 gives
//! other ones, and what it lacks. s3s authenticates every operation, these included.
//!
//! - A bucket that does not exist is `404 NoSuchBucket` for writes too (s3s-fs created it);
//!   re-creating one's own bucket is `409 BucketAlreadyOwnedByYou`.
//! - Keys from a request body or header (DeleteObjects, CopyObject's source) follow the same
//!   rules as keys in paths ([`crate::keys`]); every key is checked again here, so no operation
//!   reaches s3s-fs with a key that is not a path inside its bucket.
//! - Multipart uploads ([`super::uploads`]): an unknown upload id, or one of another bucket or
//!   key, is `404 NoSuchUpload` (s3s-fs: `403 AccessDenied`, or an empty list for ListParts);
//!   ListParts lists each part's ETag, in part order; Complete checks the parts it is given;
//!   ListMultipartUploads lists what is open (s3s-fs: NotImplemented); after a Complete the
//!   object answers no checksum of the object it replaced.
//! - `If-None-Match: ETAG` on a PUT is refused with 412 when the object has that ETag (s3s-fs
//!   checks only `*`).
//! - Bucket CORS configurations (PutBucketCors, GetBucketCors, DeleteBucketCors).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use s3s::dto::{
    CORSRule, DeleteBucketCorsInput, DeleteBucketCorsOutput, GetBucketCorsInput,
    GetBucketCorsOutput, PutBucketCorsInput, PutBucketCorsOutput,
};
use s3s::{S3, S3Error, S3Request, S3Response, S3Result, s3_error};

use super::uploads::{Completed, Uploads, no_such_upload};

/// The CORS rules of each bucket that has some, shared with the server's CORS layer.
#[derive(Clone, Debug, Default)]
pub struct BucketCors {
    rules: Arc<RwLock<HashMap<String, Vec<CORSRule>>>>,
    dir: PathBuf,
}

impl BucketCors {
    /// Loads the configurations saved in `data` (one hidden file per bucket, beside s3s-fs's own
    /// metadata files, so no directory looks like a bucket).
    pub fn load(data: &Path) -> Self {
        let mut rules = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(data) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(bucket) = name
                    .strip_prefix(".signpost-cors-")
                    .and_then(|n| n.strip_suffix(".json"))
                    && let Ok(text) = std::fs::read_to_string(e.path())
                    && let Ok(r) = serde_json::from_str::<Vec<CORSRule>>(&text)
                {
                    rules.insert(bucket.to_owned(), r);
                }
            }
        }
        BucketCors {
            rules: Arc::new(RwLock::new(rules)),
            dir: data.to_owned(),
        }
    }

    fn file(&self, bucket: &str) -> PathBuf {
        self.dir.join(format!(".signpost-cors-{bucket}.json"))
    }

    /// The bucket's rules, if it has a configuration.
    pub fn rules(&self, bucket: &str) -> Option<Vec<CORSRule>> {
        self.rules.read().ok()?.get(bucket).cloned()
    }

    fn set(&self, bucket: &str, rules: Option<Vec<CORSRule>>) -> std::io::Result<()> {
        match &rules {
            Some(r) => std::fs::write(self.file(bucket), serde_json::to_vec(r)?)?,
            None => match std::fs::remove_file(self.file(bucket)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            },
        }
        if let Ok(mut map) = self.rules.write() {
            match rules {
                Some(r) => map.insert(bucket.to_owned(), r),
                None => map.remove(bucket),
            };
        }
        Ok(())
    }
}

/// s3s-fs with S3's answers.
#[derive(Debug)]
pub struct Store {
    fs: s3s_fs::FileSystem,
    cors: BucketCors,
    uploads: Uploads,
    dir: PathBuf,
}

fn key_refused(e: &crate::keys::NameError) -> S3Error {
    let mut err = match e.s3_code().1 {
        "KeyTooLongError" => s3_error!(KeyTooLongError),
        "InvalidBucketName" => s3_error!(InvalidBucketName),
        _ => s3_error!(InvalidArgument),
    };
    err.set_message(e.to_string());
    err
}

fn checked(bucket: &str, key: &str) -> S3Result<()> {
    crate::keys::check_bucket(bucket).map_err(|e| key_refused(&e))?;
    crate::keys::check_file_key(key).map_err(|e| key_refused(&e))
}

impl Store {
    /// Wraps `fs`, whose data directory is `dir`.
    pub fn new(fs: s3s_fs::FileSystem, cors: BucketCors, dir: &Path) -> Self {
        Store {
            fs,
            cors,
            uploads: Uploads::new(dir),
            dir: dir.to_owned(),
        }
    }

    fn bucket_exists(&self, bucket: &str) -> S3Result<()> {
        crate::keys::check_bucket(bucket).map_err(|e| key_refused(&e))?;
        if self.dir.join(bucket).is_dir() {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ))
        }
    }

    /// s3s-fs's record of an object's ETag and checksums.
    fn internal_info(&self, bucket: &str, key: &str) -> PathBuf {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        self.dir.join(format!(
            ".bucket-{}.object-{}.internal.json",
            b64(bucket),
            b64(key)
        ))
    }

    async fn current_etag(&self, bucket: &str, key: &str) -> Option<String> {
        if !self.dir.join(bucket).join(key).is_file() {
            return None;
        }
        let text = tokio::fs::read(self.internal_info(bucket, key))
            .await
            .ok()?;
        let info: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&text).ok()?;
        info.get("e_tag")?.as_str().map(str::to_owned)
    }
}

/// Implements `S3` for `Store`: the listed operations go to s3s-fs, after the key check for
/// those that name an object.
macro_rules! store {
    (
        buckets { $($bop:ident: $binput:ident => $boutput:ident),* $(,)? }
        objects { $($oop:ident: $oinput:ident => $ooutput:ident),* $(,)? }
        $($rest:tt)*
    ) => {
        #[async_trait::async_trait]
        impl S3 for Store {
            $(
                async fn $bop(
                    &self,
                    req: S3Request<s3s::dto::$binput>,
                ) -> S3Result<S3Response<s3s::dto::$boutput>> {
                    self.fs.$bop(req).await
                }
            )*
            $(
                async fn $oop(
                    &self,
                    req: S3Request<s3s::dto::$oinput>,
                ) -> S3Result<S3Response<s3s::dto::$ooutput>> {
                    checked(&req.input.bucket, &req.input.key)?;
                    self.fs.$oop(req).await
                }
            )*
            $($rest)*
        }
    };
}

store! {
    buckets {
        delete_bucket: DeleteBucketInput => DeleteBucketOutput,
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
        head_bucket: HeadBucketInput => HeadBucketOutput,
        list_buckets: ListBucketsInput => ListBucketsOutput,
        list_objects: ListObjectsInput => ListObjectsOutput,
        list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,
    }
    objects {
        delete_object: DeleteObjectInput => DeleteObjectOutput,
        get_object: GetObjectInput => GetObjectOutput,
        head_object: HeadObjectInput => HeadObjectOutput,
    }

    async fn create_bucket(
        &self,
        req: S3Request<s3s::dto::CreateBucketInput>,
    ) -> S3Result<S3Response<s3s::dto::CreateBucketOutput>> {
        crate::keys::check_bucket(&req.input.bucket).map_err(|e| key_refused(&e))?;
        if self.dir.join(&req.input.bucket).is_dir() {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        self.fs.create_bucket(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<s3s::dto::PutObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::PutObjectOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        self.bucket_exists(&req.input.bucket)?;
        if let Some(cond) = &req.input.if_none_match
            && !cond.is_any()
            && let Some(current) = self.current_etag(&req.input.bucket, &req.input.key).await
            && cond.as_etag().is_some_and(|e| e.value() == current)
        {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        self.fs.put_object(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<s3s::dto::CopyObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::CopyObjectOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        self.bucket_exists(&req.input.bucket)?;
        match &req.input.copy_source {
            s3s::dto::CopySource::Bucket { bucket, key, .. } => checked(bucket, key)?,
            _ => return Err(s3_error!(NotImplemented, "copy sources other than BUCKET/KEY")),
        }
        self.fs.copy_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<s3s::dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<s3s::dto::DeleteObjectsOutput>> {
        for o in &req.input.delete.objects {
            checked(&req.input.bucket, &o.key)?;
        }
        self.fs.delete_objects(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<s3s::dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<s3s::dto::UploadPartCopyOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        match &req.input.copy_source {
            s3s::dto::CopySource::Bucket { bucket, key, .. } => checked(bucket, key)?,
            _ => return Err(s3_error!(NotImplemented, "copy sources other than BUCKET/KEY")),
        }
        self.uploads
            .open(&req.input.upload_id, &req.input.bucket, &req.input.key)
            .await?;
        self.fs.upload_part_copy(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<s3s::dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::CreateMultipartUploadOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        self.bucket_exists(&req.input.bucket)?;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let out = self.fs.create_multipart_upload(req).await?;
        if let Some(id) = &out.output.upload_id {
            self.uploads.record(id, &bucket, &key).await?;
        }
        Ok(out)
    }

    async fn upload_part(
        &self,
        req: S3Request<s3s::dto::UploadPartInput>,
    ) -> S3Result<S3Response<s3s::dto::UploadPartOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        let (id, n) = (req.input.upload_id.clone(), req.input.part_number);
        self.uploads.open(&id, &req.input.bucket, &req.input.key).await?;
        if !(1..=10_000).contains(&n) {
            return Err(s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive"));
        }
        let kept = self.uploads.etag_path(&id, n);
        let _ = tokio::fs::remove_file(&kept).await;
        let out = self.fs.upload_part(req).await?;
        if let Some(etag) = &out.output.e_tag {
            let _ = tokio::fs::write(&kept, etag.value()).await;
        }
        Ok(out)
    }

    async fn list_parts(
        &self,
        req: S3Request<s3s::dto::ListPartsInput>,
    ) -> S3Result<S3Response<s3s::dto::ListPartsOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        let id = req.input.upload_id.clone();
        self.uploads.open(&id, &req.input.bucket, &req.input.key).await?;
        let mut out = self.fs.list_parts(req).await?;
        if let Some(parts) = &mut out.output.parts {
            parts.sort_by_key(|p| p.part_number);
            for p in parts.iter_mut() {
                if let Some(n) = p.part_number
                    && let Ok(v) = tokio::fs::read_to_string(self.uploads.etag_path(&id, n)).await
                {
                    p.e_tag = Some(s3s::dto::ETag::Strong(v));
                }
            }
        }
        Ok(out)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<s3s::dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<s3s::dto::ListMultipartUploadsOutput>> {
        let input = req.input;
        self.bucket_exists(&input.bucket)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let all = self.uploads.list(&input.bucket, &prefix).await;
        let is_truncated = all.len() > max;
        let uploads: Vec<s3s::dto::MultipartUpload> = all
            .into_iter()
            .take(max)
            .map(|(id, r)| s3s::dto::MultipartUpload {
                key: Some(r.key),
                upload_id: Some(id),
                initiated: time::OffsetDateTime::from_unix_timestamp(r.initiated)
                    .ok()
                    .map(s3s::dto::Timestamp::from),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(s3s::dto::ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            max_uploads: Some(max as i32),
            is_truncated: Some(is_truncated),
            next_key_marker: uploads.last().filter(|_| is_truncated).and_then(|u| u.key.clone()),
            next_upload_id_marker: uploads
                .last()
                .filter(|_| is_truncated)
                .and_then(|u| u.upload_id.clone()),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<s3s::dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::CompleteMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        checked(&bucket, &key)?;
        let id = req.input.upload_id.clone();
        if let Err(e) = self.uploads.open(&id, &bucket, &key).await {
            // A Complete retried after its answer was lost gets the same answer.
            return match self.uploads.completed(&id, &bucket, &key) {
                Some(done) if self.current_etag(&bucket, &key).await.as_deref() == Some(&done.e_tag) => {
                    Ok(S3Response::new(s3s::dto::CompleteMultipartUploadOutput {
                        bucket: Some(bucket),
                        key: Some(key),
                        e_tag: Some(s3s::dto::ETag::Strong(done.e_tag)),
                        ..Default::default()
                    }))
                }
                _ => Err(e),
            };
        }
        self.bucket_exists(&bucket)?;
        let parts = req
            .input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.clone())
            .unwrap_or_default();
        self.uploads.check_parts(&id, &parts).await?;
        // s3s-fs keeps the replaced object's checksums beside the new ETag: without them a GET
        // answers no checksum rather than a wrong one.
        let _ = tokio::fs::remove_file(self.internal_info(&bucket, &key)).await;
        let out = self.fs.complete_multipart_upload(req).await?;
        let e_tag = self.current_etag(&bucket, &key).await.unwrap_or_default();
        self.uploads
            .forget(&id, Some(Completed { bucket, key, e_tag }))
            .await;
        Ok(out)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<s3s::dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::AbortMultipartUploadOutput>> {
        checked(&req.input.bucket, &req.input.key)?;
        let id = req.input.upload_id.clone();
        self.uploads.open(&id, &req.input.bucket, &req.input.key).await?;
        let out = self.fs.abort_multipart_upload(req).await;
        if out.is_ok() {
            self.uploads.forget(&id, None).await;
        }
        out.map_err(|e| if *e.code() == s3s::S3ErrorCode::AccessDenied { no_such_upload() } else { e })
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let input = req.input;
        self.bucket_exists(&input.bucket)?;
        let rules = input.cors_configuration.cors_rules;
        if rules.is_empty() || rules.len() > 100 {
            return Err(s3_error!(MalformedXML, "a CORS configuration has 1 to 100 rules"));
        }
        self.cors
            .set(&input.bucket, Some(rules))
            .map_err(|e| s3_error!(e, InternalError))?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let bucket = &req.input.bucket;
        self.bucket_exists(bucket)?;
        match self.cors.rules(bucket) {
            Some(rules) => Ok(S3Response::new(GetBucketCorsOutput {
                cors_rules: Some(rules),
            })),
            None => Err(s3_error!(NoSuchCORSConfiguration)),
        }
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.bucket_exists(&req.input.bucket)?;
        self.cors
            .set(&req.input.bucket, None)
            .map_err(|e| s3_error!(e, InternalError))?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }
}
