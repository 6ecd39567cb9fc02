//! What the embedded server stores: s3s-fs's objects, plus each bucket's CORS configuration
//! (PutBucketCors, GetBucketCors, DeleteBucketCors), which s3s-fs does not implement. Every other
//! operation is s3s-fs's own; s3s authenticates all of them, these included.
//!
//! Multipart uploads answer as S3 does where s3s-fs 0.14 does not, because resuming an upload
//! relies on it: an upload id the server does not know is `404 NoSuchUpload` (s3s-fs: `403
//! AccessDenied` for UploadPart, Complete and Abort, an empty list for ListParts), and ListParts
//! lists each part's ETag, in part order (s3s-fs: no ETags, directory order). The ETag a part
//! was answered with is kept beside it, removed before the part is written again, so a part
//! cut short by a crash is listed without one rather than with its predecessor's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use s3s::dto::{
    CORSRule, DeleteBucketCorsInput, DeleteBucketCorsOutput, GetBucketCorsInput,
    GetBucketCorsOutput, PutBucketCorsInput, PutBucketCorsOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

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

/// s3s-fs with bucket CORS.
#[derive(Debug)]
pub struct Store {
    fs: s3s_fs::FileSystem,
    cors: BucketCors,
}

impl Store {
    /// Wraps `fs`.
    pub fn new(fs: s3s_fs::FileSystem, cors: BucketCors) -> Self {
        Store { fs, cors }
    }

    fn bucket_dir_exists(&self, bucket: &str) -> bool {
        self.cors.dir.join(bucket).is_dir()
    }

    /// Whether s3s-fs has the upload (its id is a UUID, with an info file).
    fn upload_known(&self, upload_id: &str) -> bool {
        upload_id.len() == 36
            && upload_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && self
                .cors
                .dir
                .join(format!(".upload-{upload_id}.json"))
                .is_file()
    }

    fn etag_file(&self, upload_id: &str, part: i32) -> PathBuf {
        self.cors
            .dir
            .join(format!(".signpost-etag-{upload_id}.part-{part}"))
    }

    /// Removes the kept part ETags of an upload that was completed or aborted.
    async fn forget_etags(&self, upload_id: &str) {
        let prefix = format!(".signpost-etag-{upload_id}.");
        if let Ok(mut dir) = tokio::fs::read_dir(&self.cors.dir).await {
            while let Ok(Some(e)) = dir.next_entry().await {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = tokio::fs::remove_file(e.path()).await;
                }
            }
        }
    }
}

fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

/// Implements `S3` for `Store`: the listed operations go to s3s-fs; bucket CORS is `Store`'s.
macro_rules! store {
    ($($op:ident: $input:ident => $output:ident),* $(,)?) => {
        #[async_trait::async_trait]
        impl S3 for Store {
            $(
                async fn $op(
                    &self,
                    req: S3Request<s3s::dto::$input>,
                ) -> S3Result<S3Response<s3s::dto::$output>> {
                    self.fs.$op(req).await
                }
            )*

            async fn put_bucket_cors(
                &self,
                req: S3Request<PutBucketCorsInput>,
            ) -> S3Result<S3Response<PutBucketCorsOutput>> {
                let input = req.input;
                if !self.bucket_dir_exists(&input.bucket) {
                    return Err(s3_error!(NoSuchBucket));
                }
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
                if !self.bucket_dir_exists(bucket) {
                    return Err(s3_error!(NoSuchBucket));
                }
                match self.cors.rules(bucket) {
                    Some(rules) => Ok(S3Response::new(GetBucketCorsOutput {
                        cors_rules: Some(rules),
                    })),
                    None => Err(s3_error!(NoSuchCORSConfiguration)),
                }
            }

            async fn upload_part(
                &self,
                req: S3Request<s3s::dto::UploadPartInput>,
            ) -> S3Result<S3Response<s3s::dto::UploadPartOutput>> {
                let (id, n) = (req.input.upload_id.clone(), req.input.part_number);
                if !self.upload_known(&id) {
                    return Err(no_such_upload());
                }
                let kept = self.etag_file(&id, n);
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
                let id = req.input.upload_id.clone();
                if !self.upload_known(&id) {
                    return Err(no_such_upload());
                }
                let mut out = self.fs.list_parts(req).await?;
                if let Some(parts) = &mut out.output.parts {
                    parts.sort_by_key(|p| p.part_number);
                    for p in parts.iter_mut() {
                        if let Some(n) = p.part_number
                            && let Ok(v) = tokio::fs::read_to_string(self.etag_file(&id, n)).await
                        {
                            p.e_tag = Some(s3s::dto::ETag::Strong(v));
                        }
                    }
                }
                Ok(out)
            }

            async fn complete_multipart_upload(
                &self,
                req: S3Request<s3s::dto::CompleteMultipartUploadInput>,
            ) -> S3Result<S3Response<s3s::dto::CompleteMultipartUploadOutput>> {
                let id = req.input.upload_id.clone();
                if !self.upload_known(&id) {
                    return Err(no_such_upload());
                }
                let out = self.fs.complete_multipart_upload(req).await;
                if out.is_ok() {
                    self.forget_etags(&id).await;
                }
                out
            }

            async fn abort_multipart_upload(
                &self,
                req: S3Request<s3s::dto::AbortMultipartUploadInput>,
            ) -> S3Result<S3Response<s3s::dto::AbortMultipartUploadOutput>> {
                let id = req.input.upload_id.clone();
                if !self.upload_known(&id) {
                    return Err(no_such_upload());
                }
                let out = self.fs.abort_multipart_upload(req).await;
                if out.is_ok() {
                    self.forget_etags(&id).await;
                }
                out
            }

            async fn delete_bucket_cors(
                &self,
                req: S3Request<DeleteBucketCorsInput>,
            ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
                self.cors
                    .set(&req.input.bucket, None)
                    .map_err(|e| s3_error!(e, InternalError))?;
                Ok(S3Response::new(DeleteBucketCorsOutput::default()))
            }
        }
    };
}

store! {
    create_bucket: CreateBucketInput => CreateBucketOutput,
    copy_object: CopyObjectInput => CopyObjectOutput,
    delete_bucket: DeleteBucketInput => DeleteBucketOutput,
    delete_object: DeleteObjectInput => DeleteObjectOutput,
    delete_objects: DeleteObjectsInput => DeleteObjectsOutput,
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
    get_object: GetObjectInput => GetObjectOutput,
    head_bucket: HeadBucketInput => HeadBucketOutput,
    head_object: HeadObjectInput => HeadObjectOutput,
    list_buckets: ListBucketsInput => ListBucketsOutput,
    list_objects: ListObjectsInput => ListObjectsOutput,
    list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,
    put_object: PutObjectInput => PutObjectOutput,
    create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
    upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
}
