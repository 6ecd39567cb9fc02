//! The native part of the `signpost` Node package: the Rust presigner, Verifier, descriptor
//! reader and uploader, for a Node job server or runner. `index.js` loads it and turns its
//! errors into `SignpostError` subclasses.
//!
//! Descriptors cross as plain objects in the wire format (camelCase keys, exactly the JSON a
//! runner receives). A failure is thrown as an `Error` whose message is a JSON object (`name`,
//! `code`, `message`, and `status`, `s3Code`, `requestId`, `needsNewTarget`, `uploadId` when
//! known), which `index.js` unpacks; nothing else throws.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::{Value, json};
use signpost_presign::{
    Addressing, Credentials as RustCredentials, Endpoint, MultipartPlan, PresignError,
    PresignRequest, Presigner as RustPresigner, Validity, Verifier as RustVerifier,
};
use signpost_upload::{
    FileResumeStore, OnFailure, Progress, ResumeStore, RetryPolicy, RunnerJobCustomUpload,
    UploadError, UploadKey, UploadOptions as RustUploadOptions, Uploader,
};
use time::OffsetDateTime;

/// The error `index.js` unpacks: `name` picks the subclass.
fn failure(name: &str, code: &str, message: String, extra: Value) -> Error {
    let mut v = json!({ "name": name, "code": code, "message": message });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    Error::new(Status::GenericFailure, v.to_string())
}

fn presign_failure(e: PresignError) -> Error {
    failure("PresignError", "invalid-argument", e.to_string(), json!({}))
}

fn descriptor_failure(message: String) -> Error {
    failure("DescriptorError", "invalid-descriptor", message, json!({}))
}

fn upload_failure(e: &UploadError) -> Error {
    let upload_id = match e {
        UploadError::Multipart(signpost_upload::MultipartError::Kept { upload_id, .. }) => {
            Some(upload_id.clone())
        }
        _ => None,
    };
    failure(
        "UploadError",
        e.kind().as_str(),
        e.to_string(),
        json!({
            "status": e.status(),
            "s3Code": e.s3_code().map(|c| c.as_str().to_owned()),
            "needsNewTarget": e.needs_new_target(),
            "beforeSending": e.before_sending(),
            "uploadId": upload_id,
        }),
    )
}

fn validity(expires_in: Option<u32>, signed_at: Option<&str>) -> Result<Validity> {
    let v = Validity::expires_in(Duration::from_secs(u64::from(expires_in.unwrap_or(3600))))
        .map_err(presign_failure)?;
    match signed_at {
        None => Ok(v),
        Some(t) => {
            let at = signpost_wire::amz_date::parse_rfc3339(t).ok_or_else(|| {
                failure(
                    "PresignError",
                    "invalid-argument",
                    format!("signedAt {t:?} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"),
                    json!({}),
                )
            })?;
            v.signed_at(at).map_err(presign_failure)
        }
    }
}

/// A size given as a JS number: a whole number of bytes, at most 2^53.
fn bytes(what: &str, n: f64) -> Result<u64> {
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0 {
        Ok(n as u64)
    } else {
        Err(failure(
            "PresignError",
            "invalid-argument",
            format!("{what} {n} is not a whole number of bytes"),
            json!({}),
        ))
    }
}

/// AWS credentials.
#[napi(object)]
#[derive(Debug)]
pub struct CredentialsInput {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

/// Where S3 is and who signs.
#[napi(object)]
#[derive(Debug)]
pub struct PresignerOptions {
    /// A custom endpoint (MinIO, Garage, `signpost serve`); absent: AWS S3 for the region.
    pub endpoint: Option<String>,
    /// The region signed for (default us-east-1).
    pub region: Option<String>,
    /// The credentials.
    pub credentials: CredentialsInput,
    /// Virtual-hosted addressing for a custom endpoint (default: path style).
    pub virtual_hosted: Option<bool>,
}

/// A POST policy form.
#[napi(object)]
#[derive(Debug)]
pub struct PostOptions {
    /// The bucket.
    pub bucket: String,
    /// An exact key (or `keyPrefix`).
    pub key: Option<String>,
    /// Any key under this prefix (the runner's file name is appended).
    pub key_prefix: Option<String>,
    /// Smallest accepted size.
    pub min_size: Option<f64>,
    /// Largest accepted size (S3: at most 5 GiB for a POST).
    pub max_size: Option<f64>,
    /// Exact Content-Type.
    pub content_type: Option<String>,
    /// Content-Type prefix.
    pub content_type_prefix: Option<String>,
    /// 200, 201 or 204.
    pub success_status: Option<u16>,
    /// User metadata fields.
    pub metadata: Option<HashMap<String, String>>,
    /// Seconds the policy is valid (default 3600).
    pub expires_in: Option<u32>,
    /// Sign as of this RFC 3339 time instead of now.
    pub signed_at: Option<String>,
}

/// A multipart plan for an upload already started.
#[napi(object)]
#[derive(Debug)]
pub struct MultipartOptions {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The upload id (`createMultipartUpload`).
    pub upload_id: String,
    /// The largest file the plan must carry (at most 10,000 parts).
    pub max_size: f64,
    /// Bytes per part (default 64 MiB).
    pub part_size: Option<f64>,
    /// Seconds the URLs are valid (default 3600).
    pub expires_in: Option<u32>,
    /// Sign as of this RFC 3339 time instead of now.
    pub signed_at: Option<String>,
}

/// Starting a multipart upload.
#[napi(object)]
#[derive(Debug)]
pub struct CreateOptions {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The object's Content-Type.
    pub content_type: Option<String>,
}

/// A presigner, held by `index.js`'s `Presigner` (an External: calling a class method through
/// napi costs several times what a function taking an External does, more than the signing).
#[napi]
pub fn presigner_new(options: PresignerOptions) -> Result<External<RustPresigner>> {
    let region = options.region.as_deref().unwrap_or("us-east-1");
    let endpoint = match &options.endpoint {
        Some(url) => {
            let e = Endpoint::custom(url, region).map_err(presign_failure)?;
            if options.virtual_hosted.unwrap_or(false) {
                e.with_addressing(Addressing::VirtualHosted)
            } else {
                e
            }
        }
        None => Endpoint::aws(region).map_err(presign_failure)?,
    };
    let c = options.credentials;
    let mut credentials = RustCredentials::new(c.access_key_id, c.secret_access_key);
    if let Some(t) = c.session_token {
        credentials = credentials.with_session_token(t);
    }
    Ok(External::new(RustPresigner::new(credentials, endpoint)))
}

/// The descriptor as JSON text: `index.js` parses it (`JSON.parse` builds the object faster
/// than napi can, property by property).
fn descriptor_json(job: &RunnerJobCustomUpload) -> String {
    job.to_json()
}

/// A presigned PUT descriptor (JSON text).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn presign_put(
    p: &External<RustPresigner>,
    bucket: String,
    key: String,
    expires_in: Option<u32>,
    content_type: Option<String>,
    content_length: Option<f64>,
    metadata: Option<HashMap<String, String>>,
    signed_at: Option<String>,
) -> Result<String> {
    let mut req = PresignRequest::put_object(bucket, key)
        .validity(validity(expires_in, signed_at.as_deref())?);
    if let Some(ct) = content_type {
        req = req.content_type(ct);
    }
    if let Some(n) = content_length {
        req = req.content_length(bytes("contentLength", n)?);
    }
    for (k, v) in metadata.unwrap_or_default() {
        req = req.meta(&k, v);
    }
    let job = p
        .presign(&req)
        .and_then(|r| r.to_descriptor())
        .map_err(presign_failure)?;
    Ok(descriptor_json(&job))
}

/// A presigned GET URL.
#[napi]
pub fn presign_get(
    p: &External<RustPresigner>,
    bucket: String,
    key: String,
    expires_in: Option<u32>,
    signed_at: Option<String>,
) -> Result<String> {
    let r = p
        .presign(
            &PresignRequest::get_object(bucket, key)
                .validity(validity(expires_in, signed_at.as_deref())?),
        )
        .map_err(presign_failure)?;
    Ok(r.url().as_str().to_owned())
}

/// A POST policy descriptor (JSON text; `fields` in the order they must be sent).
#[napi]
pub fn presign_post(p: &External<RustPresigner>, options: PostOptions) -> Result<String> {
    let mut b = p
        .post_policy(options.bucket)
        .validity(validity(options.expires_in, options.signed_at.as_deref())?);
    b = match (options.key, options.key_prefix) {
        (Some(k), None) => b.key(k),
        (None, Some(pfx)) => b.key_starts_with(pfx),
        _ => {
            return Err(failure(
                "PresignError",
                "invalid-argument",
                "give exactly one of key and keyPrefix".into(),
                json!({}),
            ));
        }
    };
    if options.min_size.is_some() || options.max_size.is_some() {
        let min = options.min_size.map_or(Ok(0), |n| bytes("minSize", n))?;
        let max = options
            .max_size
            .map_or(Ok(signpost_wire::limits::MAX_PUT_SIZE), |n| {
                bytes("maxSize", n)
            })?;
        b = b.content_length_range(min, max);
    }
    if let Some(ct) = options.content_type {
        b = b.content_type(ct);
    }
    if let Some(pfx) = options.content_type_prefix {
        b = b.content_type_starts_with(pfx);
    }
    if let Some(st) = options.success_status {
        b = b.success_action_status(st);
    }
    for (k, v) in options.metadata.unwrap_or_default() {
        b = b.meta(&k, v);
    }
    let form = b.build().map_err(presign_failure)?;
    Ok(descriptor_json(&form.to_descriptor()))
}

/// The multipart descriptor for upload `uploadId` (JSON text): part URLs for up to `maxSize`
/// bytes, Complete, Abort and ListParts. Signing again gives a fresh descriptor to resume with.
#[napi]
pub fn presign_multipart(p: &External<RustPresigner>, options: MultipartOptions) -> Result<String> {
    let v = validity(options.expires_in, options.signed_at.as_deref())?;
    let part_size = options
        .part_size
        .map_or(Ok(64 << 20), |n| bytes("partSize", n))?;
    let job = MultipartPlan::builder(options.bucket, options.key, options.upload_id)
        .part_size(part_size)
        .max_object_size(bytes("maxSize", options.max_size)?)
        .build()
        .and_then(|plan| plan.presign(p, v))
        .map_err(presign_failure)?
        .into_descriptor();
    Ok(descriptor_json(&job))
}

/// A CreateMultipartUpload request, signed: `[url, name, value, …]` for `sendCreateMultipart`.
#[napi]
pub fn presign_create_multipart(
    p: &External<RustPresigner>,
    options: CreateOptions,
) -> Result<Vec<String>> {
    let mut req = PresignRequest::create_multipart_upload(options.bucket, options.key);
    if let Some(ct) = options.content_type {
        req = req.content_type(ct);
    }
    let signed = p.presign(&req).map_err(presign_failure)?;
    let mut out = vec![signed.url().as_str().to_owned()];
    for (k, v) in signed.headers().iter() {
        out.push(k.to_owned());
        out.push(v.to_owned());
    }
    Ok(out)
}

/// Sends a signed CreateMultipartUpload (`presignCreateMultipart`'s answer), retried; resolves to
/// the upload id.
#[napi]
pub async fn send_create_multipart(signed: Vec<String>) -> Result<String> {
    let Some((url, headers)) = signed.split_first() else {
        return Err(failure(
            "UploadError",
            "invalid-option",
            "no request to send".into(),
            json!({}),
        ));
    };
    let pairs: signpost_wire::OrderedPairs = headers
        .chunks(2)
        .filter_map(|kv| match kv {
            [k, v] => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect();
    let up = Uploader::builder()
        .build()
        .map_err(|e| upload_failure(&e))?;
    up.create_multipart_upload(signpost_wire::SignedUrl::from(url.as_str()), &pairs)
        .await
        .map_err(|e| upload_failure(&e))
}

/// The Verifier's key and region.
#[napi(object)]
#[derive(Debug)]
pub struct VerifierOptions {
    /// The region requests must be signed for (default us-east-1).
    pub region: Option<String>,
    /// The credentials URLs are signed with.
    pub credentials: CredentialsInput,
}

fn verify_failure(e: &signpost_presign::VerifyError) -> Error {
    failure(
        "VerifyError",
        "refused",
        e.to_string(),
        json!({ "status": e.status(), "s3Code": e.s3_code() }),
    )
}

/// A Verifier, held by `index.js`'s `Verifier`.
#[napi]
pub fn verifier_new(options: VerifierOptions) -> External<RustVerifier> {
    let c = options.credentials;
    External::new(RustVerifier::new(
        RustCredentials::new(c.access_key_id, c.secret_access_key),
        options.region.unwrap_or_else(|| "us-east-1".into()),
    ))
}

/// Verifies a presigned request as received (`headers`: name to value, `host` included); throws
/// a `VerifyError` with the rule that fails.
#[napi]
pub fn verify_presigned(
    v: &External<RustVerifier>,
    method: String,
    url: String,
    headers: HashMap<String, String>,
) -> Result<()> {
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.verify_presigned(&method, &url, &refs, OffsetDateTime::now_utc())
        .map(|_| ())
        .map_err(|e| verify_failure(&e))
}

/// Verifies a POST form's fields, in order, as `[name, value]` pairs.
#[napi]
pub fn verify_post(
    v: &External<RustVerifier>,
    url: String,
    fields: Vec<Vec<String>>,
) -> Result<()> {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .filter_map(|p| Some((p.first()?.as_str(), p.get(1)?.as_str())))
        .collect();
    v.verify_post(&url, pairs, OffsetDateTime::now_utc())
        .map(|_| ())
        .map_err(|e| verify_failure(&e))
}

/// Reads and validates a descriptor (an object or a JSON string); returns it in the wire
/// format, defaults filled in.
#[napi]
pub fn parse_descriptor(descriptor: String) -> Result<String> {
    let job = RunnerJobCustomUpload::from_json(&descriptor)
        .map_err(|e| descriptor_failure(e.to_string()))?;
    Ok(descriptor_json(&job))
}

/// `onProgress`: called from any thread, not waited for, not keeping the process alive.
type ProgressCallback = ThreadsafeFunction<(f64, f64), (), (f64, f64), Status, false, true>;

/// What `upload` takes besides the descriptor and the path.
#[napi(object, object_to_js = false)]
pub struct NativeUploadOptions {
    /// The journal directory for multipart uploads (resume after a crash or an abort).
    pub state_dir: Option<String>,
    /// `keep` or `abort` a multipart upload whose retries ran out.
    pub on_failure: Option<String>,
    /// The Content-Type to send.
    pub content_type: Option<String>,
    /// A POST's file name.
    pub file_name: Option<String>,
    /// Retries after the first attempt (default 3).
    pub retries: Option<u32>,
    /// Parts at once (default 4).
    pub concurrency: Option<u32>,
    /// Called with `(bytesSent, totalBytes)` as bytes go out.
    /// (The JS function receives them as one array, `[bytesSent, totalBytes]`.)
    pub on_progress: Option<ProgressCallback>,
}

impl std::fmt::Debug for NativeUploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeUploadOptions")
            .field("state_dir", &self.state_dir)
            .field("on_failure", &self.on_failure)
            .finish_non_exhaustive()
    }
}

/// Stops an upload in flight (`index.js` ties it to an `AbortSignal`).
#[napi]
#[derive(Debug, Default)]
pub struct Cancel {
    cancelled: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

#[napi]
impl Cancel {
    /// A token no upload has seen yet.
    #[napi(constructor)]
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Stops the upload holding this token: parts in flight are cut, parts the server confirmed
    /// stay in the journal.
    #[napi]
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// Uploads `path` to `descriptor` (PUT, POST or multipart; retried, every ETag checked,
/// resumable with `stateDir`); resolves to the outcome. `cancel` stops it (rejecting with code
/// `interrupted`, saying what is stored).
#[napi]
pub async fn upload(
    descriptor: String,
    path: String,
    options: Option<NativeUploadOptions>,
    cancel: Option<&Cancel>,
) -> Result<Value> {
    let job = RunnerJobCustomUpload::from_json(&descriptor)
        .map_err(|e| descriptor_failure(e.to_string()))?;
    let o = options.unwrap_or(NativeUploadOptions {
        state_dir: None,
        on_failure: None,
        content_type: None,
        file_name: None,
        retries: None,
        concurrency: None,
        on_progress: None,
    });
    let on_failure = match o.on_failure.as_deref() {
        None => OnFailure::KeepIfResumable,
        Some("keep") => OnFailure::Keep,
        Some("abort") => OnFailure::Abort,
        Some(other) => {
            return Err(failure(
                "UploadError",
                "invalid-option",
                format!("onFailure {other:?} is not \"keep\" or \"abort\""),
                json!({}),
            ));
        }
    };
    let progress = o.on_progress.map(|f| {
        let f = Arc::new(f);
        Arc::new(move |p: Progress| {
            f.call(
                (p.bytes_sent as f64, p.total_bytes as f64),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }) as signpost_upload::ProgressFn
    });
    let store = o
        .state_dir
        .map(|d| Arc::new(FileResumeStore::new(d)) as Arc<dyn ResumeStore>);
    let opts = RustUploadOptions {
        progress,
        file_name: o.file_name,
        content_type: o.content_type,
        resume: store.clone(),
        on_failure,
        ..RustUploadOptions::default()
    };
    let up = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: o.retries.unwrap_or(3) + 1,
            ..RetryPolicy::default()
        })
        .concurrency(o.concurrency.unwrap_or(4) as usize)
        .build()
        .map_err(|e| upload_failure(&e))?;
    let (cancelled, notify) = match cancel {
        Some(c) => (Arc::clone(&c.cancelled), Arc::clone(&c.notify)),
        None => Default::default(),
    };
    let work = up.upload_with(&job, &path, &opts);
    let stopped = async {
        loop {
            let woken = notify.notified();
            if cancelled.load(Ordering::SeqCst) {
                return;
            }
            woken.await;
        }
    };
    let out = tokio::select! {
        r = work => r.map_err(|e| upload_failure(&e))?,
        () = stopped => return Err(interrupted(&job, store.as_deref())),
    };
    serde_json::to_value(&out).map_err(|e| {
        failure(
            "UploadError",
            "error",
            format!("the outcome cannot be written: {e}"),
            json!({}),
        )
    })
}

/// What an upload stopped by its signal left behind.
fn interrupted(job: &RunnerJobCustomUpload, store: Option<&dyn ResumeStore>) -> Error {
    match (job.multipart.is_some(), UploadKey::of(job)) {
        (true, Some(key)) => {
            let parts = store
                .and_then(|s| s.load(&key).ok().flatten())
                .map_or(0, |j| j.parts.len());
            failure(
                "UploadError",
                "interrupted",
                format!(
                    "aborted: the multipart upload {} is kept with {parts} part(s) stored and journaled; upload again with this descriptor and stateDir to resume it",
                    key.upload_id
                ),
                json!({ "uploadId": key.upload_id, "partsStored": parts }),
            )
        }
        _ => failure(
            "UploadError",
            "interrupted",
            "aborted before the server answered: nothing was stored (a PUT or POST stores the object only once the whole body has arrived)".into(),
            json!({}),
        ),
    }
}
