//! POST Object (browser-based uploads) for the embedded server, as S3 does it, with memory
//! bounded by a chunk whatever the file's size.
//!
//! s3s 0.14 holds a form's whole file in memory before storing it, and does not substitute
//! `${filename}`. Here the form is read as it streams (multer): the fields, then the file part's
//! name is substituted into `key` (before the policy is checked, as S3 does), signpost's
//! [`Verifier`] checks signature, policy and fields, the file is spooled to disk while its size is
//! held to `content-length-range`, and the object is stored through s3s-fs with a PUT the server
//! signs for itself. The answer is S3's: `success_action_redirect`, or `success_action_status`
//! (204 by default; 201 with a `PostResponse` document), with `ETag` and `Location` headers.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html>.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use futures_util::TryStreamExt;
use hyper::{Request, Response, StatusCode};
use s3s::service::S3Service;
use signpost_presign::{PresignRequest, Presigner, Verifier};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

use super::own;
use crate::Limits;
use crate::core::form::{self, FormError};
use crate::core::{Body, RequestBody};

/// Form fields S3 turns into the object's headers.
const OBJECT_HEADERS: [&str; 6] = [
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
];

/// What the POST handler needs from the server.
pub struct PostContext {
    pub service: S3Service,
    /// Checks the form: the server's credentials and region.
    pub verifier: Verifier,
    /// The listener's `127.0.0.1:PORT` and a presigner for it, which signs the server's own PUT
    /// of the stored file (set once the listener is bound).
    pub bound: Arc<OnceLock<(String, Presigner)>>,
    /// Where files are spooled (the data directory).
    pub spool: PathBuf,
    pub limits: Limits,
}

impl std::fmt::Debug for PostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostContext")
            .field("spool", &self.spool)
            .finish_non_exhaustive()
    }
}

use crate::core::answer::refused;

fn form_refused(e: &FormError) -> Response<Body> {
    let (status, code) = e.s3_code();
    own(status, code, &e.to_string())
}

fn spool_failed(e: std::io::Error) -> Response<Body> {
    tracing::warn!(error = %e, "spooling a POST upload failed");
    own(
        500,
        "InternalError",
        "the server could not spool the upload",
    )
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Handles one POST form (any query: S3 reads a form to a bucket as POST Object whatever else
/// the URL says).
pub async fn handle(ctx: Arc<PostContext>, req: Request<RequestBody>) -> Response<Body> {
    match receive(&ctx, req).await {
        Ok(r) | Err(r) => r,
    }
}

async fn receive(
    ctx: &PostContext,
    req: Request<RequestBody>,
) -> Result<Response<Body>, Response<Body>> {
    let bucket = req.uri().path().trim_matches('/').to_owned();
    if bucket.is_empty() || bucket.contains('/') {
        return Err(own(
            400,
            "InvalidArgument",
            "POST a form to a bucket: /BUCKET",
        ));
    }
    let Some((local, presigner)) = ctx.bound.get() else {
        return Err(own(503, "ServiceUnavailable", "the server is starting"));
    };
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(local)
        .to_owned();
    let boundary = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(form::boundary)
        .ok_or_else(|| {
            own(
                400,
                "MalformedPOSTRequest",
                "the multipart boundary is missing",
            )
        })?;
    // The fields, up to the file, within the form limits: nothing is looked at before.
    let form = form::read_until_file(
        req.into_body(),
        boundary,
        ctx.limits.form_bytes,
        ctx.limits.form_fields,
    )
    .await
    .map_err(|e| form_refused(&e))?;
    let mut fields = form.fields;
    let mut file = form.file;
    // As S3 does, before the policy is checked: the key may name the uploaded file.
    for (k, v) in &mut fields {
        if k.eq_ignore_ascii_case("key") {
            *v = v.replace("${filename}", &file.file_name);
        }
    }

    // Authenticated and authorised by the form itself, for the server's region.
    let url = format!("http://{host}/{bucket}");
    let verified = ctx
        .verifier
        .verify_post(
            &url,
            fields.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| refused(&e))?;
    crate::keys::check_file_key(&verified.key).map_err(|e| {
        let (status, code) = e.s3_code();
        own(status, code, &e.to_string())
    })?;

    // The file, spooled to disk as it arrives, held to content-length-range.
    let spooled = tempfile::Builder::new()
        .prefix(".signpost-post-")
        .suffix(".tmp")
        .tempfile_in(&ctx.spool)
        .map_err(spool_failed)?;
    let mut out = tokio::fs::File::from_std(spooled.reopen().map_err(spool_failed)?);
    let mut received = 0u64;
    while let Some(chunk) = file.chunk().await.map_err(|e| form_refused(&e))? {
        received += chunk.len() as u64;
        verified
            .body
            .check_progress(received)
            .map_err(|e| refused(&e))?;
        out.write_all(&chunk).await.map_err(spool_failed)?;
    }
    out.flush().await.map_err(spool_failed)?;
    verified
        .body
        .check_complete(received, None)
        .map_err(|e| refused(&e))?;

    let etag = store(
        ctx,
        local,
        presigner,
        &bucket,
        &verified,
        spooled.path().to_owned(),
        received,
    )
    .await?;
    drop(spooled);
    Ok(answer(&verified, &host, &bucket, &etag))
}

/// Stores the spooled file as `bucket/key` through s3s-fs, with a PUT the server signs itself.
async fn store(
    ctx: &PostContext,
    local: &str,
    presigner: &Presigner,
    bucket: &str,
    form: &signpost_presign::VerifiedForm,
    path: PathBuf,
    len: u64,
) -> Result<String, Response<Body>> {
    let mut put = PresignRequest::put_object(bucket, &*form.key);
    for (k, v) in &form.fields {
        let lower = k.to_ascii_lowercase();
        if OBJECT_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-amz-meta-") {
            put = put.header(k, v);
        }
    }
    let signed = presigner
        .presign(&put)
        .map_err(|e| own(400, "InvalidArgument", &e.to_string()))?;
    let target = signed
        .url()
        .as_str()
        .split_once(local)
        .map_or("/", |(_, t)| t)
        .to_owned();
    let file = tokio::fs::File::open(&path).await.map_err(spool_failed)?;
    let frames = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
        .map_ok(hyper::body::Frame::data);
    let body = http_body_util::StreamBody::new(frames);
    let mut request = Request::builder()
        .method(hyper::Method::PUT)
        .uri(target)
        .header(hyper::header::HOST, local)
        .header(hyper::header::CONTENT_LENGTH, len);
    for (k, v) in signed.headers().iter() {
        request = request.header(k, v);
    }
    let request = request.body(body).map_err(|_| {
        own(
            500,
            "InternalError",
            "the server could not store the upload",
        )
    })?;
    let mut service = ctx.service.clone();
    let response = tower::Service::call(&mut service, request)
        .await
        .map_err(|_| own(500, "InternalError", "storing the upload failed"))?;
    if response.status() != StatusCode::OK {
        return Err(response);
    }
    Ok(response
        .headers()
        .get(hyper::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned())
}

/// S3's answer to a stored form.
fn answer(
    form: &signpost_presign::VerifiedForm,
    host: &str,
    bucket: &str,
    etag: &str,
) -> Response<Body> {
    let mut key_path = String::new();
    for seg in form.key.split('/') {
        if !key_path.is_empty() || form.key.starts_with('/') {
            key_path.push('/');
        }
        key_path.extend(url::form_urlencoded::byte_serialize(seg.as_bytes()));
    }
    let key_path = key_path.replace('+', "%20");
    let location = format!(
        "http://{host}/{bucket}/{}",
        key_path.trim_start_matches('/')
    );
    let (status, body) = if let Some(mut to) = form
        .field("success_action_redirect")
        .and_then(|r| url::Url::parse(r).ok())
    {
        to.query_pairs_mut()
            .append_pair("bucket", bucket)
            .append_pair("key", &form.key)
            .append_pair("etag", etag);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = to.as_str().parse() {
            r.headers_mut().insert(hyper::header::LOCATION, v);
        }
        return r;
    } else {
        match form.field("success_action_status") {
            Some("200") => (StatusCode::OK, Body::empty()),
            Some("201") => (
                StatusCode::CREATED,
                Body::from(format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                    xml_escape(&location),
                    xml_escape(bucket),
                    xml_escape(&form.key),
                    xml_escape(etag)
                )),
            ),
            _ => (StatusCode::NO_CONTENT, Body::empty()),
        }
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = etag.parse() {
        h.insert(hyper::header::ETAG, v);
    }
    if let Ok(v) = location.parse() {
        h.insert(hyper::header::LOCATION, v);
    }
    if status == StatusCode::CREATED {
        h.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/xml"),
        );
    }
    r
}
