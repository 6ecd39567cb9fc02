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
use std::sync::Arc;

use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use s3s::service::S3Service;
use signpost_presign::{Credentials, PresignRequest, Presigner, Verifier};
use signpost_wire::CredentialScope;
use signpost_wire::s3_xml::ErrorResponse;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

/// Limits on what precedes the file: S3 refuses form fields over 20 KB in all; this is looser,
/// and bounded.
const MAX_FIELD: usize = 64 * 1024;
const MAX_FIELDS_TOTAL: usize = 1024 * 1024;

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
    pub credentials: Credentials,
    /// Signs the server's own PUT of the stored file.
    pub presigner: Presigner,
    /// `127.0.0.1:PORT`, the Host the own PUT is signed for.
    pub host: String,
    /// Where files are spooled (the data directory).
    pub spool: PathBuf,
}

impl std::fmt::Debug for PostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostContext")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// An S3 error answer.
pub fn error(status: u16, code: &str, message: &str) -> Response<s3s::Body> {
    let mut r = Response::new(s3s::Body::from(ErrorResponse::new(code, message).to_xml()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    r
}

fn refused(e: &signpost_presign::VerifyError) -> Response<s3s::Body> {
    error(e.status(), e.s3_code(), &e.to_string())
}

/// Is this request a POST form to a bucket?
pub fn is_form(req: &Request<Incoming>) -> bool {
    req.method() == hyper::Method::POST
        && req.uri().query().is_none()
        && req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Handles one POST form.
pub async fn handle(ctx: Arc<PostContext>, req: Request<Incoming>) -> Response<s3s::Body> {
    match receive(&ctx, req).await {
        Ok(r) | Err(r) => r,
    }
}

async fn receive(
    ctx: &PostContext,
    req: Request<Incoming>,
) -> Result<Response<s3s::Body>, Response<s3s::Body>> {
    let bucket = req.uri().path().trim_matches('/').to_owned();
    if bucket.is_empty() || bucket.contains('/') {
        return Err(error(
            400,
            "InvalidArgument",
            "POST a form to a bucket: /BUCKET",
        ));
    }
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(&ctx.host)
        .to_owned();
    let boundary = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            error(
                400,
                "MalformedPOSTRequest",
                "the multipart boundary is missing",
            )
        })?;
    let stream = req.into_body().into_data_stream();
    let mut form = multer::Multipart::new(stream, boundary);
    let malformed = |e: multer::Error| {
        error(
            400,
            "MalformedPOSTRequest",
            &format!("the body of your POST request is not well-formed multipart/form-data: {e}"),
        )
    };

    // The fields, up to the file.
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut total = 0usize;
    let (mut file, file_name) = loop {
        let Some(mut field) = form.next_field().await.map_err(malformed)? else {
            return Err(error(
                400,
                "InvalidArgument",
                "POST requires exactly one file upload per request",
            ));
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            break (field, file_name);
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            value.extend_from_slice(&chunk);
            total += chunk.len();
            if value.len() > MAX_FIELD || total > MAX_FIELDS_TOTAL {
                return Err(error(
                    400,
                    "MaxPostPreDataLengthExceeded",
                    "your POST request fields preceding the upload file were too large",
                ));
            }
        }
        fields.push((name, String::from_utf8_lossy(&value).into_owned()));
    };
    // As S3 does, before the policy is checked: the key may name the uploaded file.
    for (k, v) in &mut fields {
        if k.eq_ignore_ascii_case("key") {
            *v = v.replace("${filename}", &file_name);
        }
    }

    // Authenticated and authorised by the form itself. Like the rest of the embedded server
    // (s3s checks no region), any region in the credential scope is accepted.
    let region = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-credential"))
        .and_then(|(_, v)| CredentialScope::parse(v).ok())
        .map_or_else(|| "us-east-1".to_owned(), |s| s.region);
    let verifier = Verifier::new(ctx.credentials.clone(), region);
    let url = format!("http://{host}/{bucket}");
    let verified = verifier
        .verify_post(
            &url,
            fields.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| refused(&e))?;

    // The file, spooled to disk as it arrives, held to content-length-range.
    let spooled = tempfile::Builder::new()
        .prefix(".signpost-post-")
        .suffix(".tmp")
        .tempfile_in(&ctx.spool)
        .map_err(|e| {
            error(
                500,
                "InternalError",
                &format!("cannot spool the upload: {e}"),
            )
        })?;
    let mut out = tokio::fs::File::from_std(spooled.reopen().map_err(|e| {
        error(
            500,
            "InternalError",
            &format!("cannot spool the upload: {e}"),
        )
    })?);
    let mut received = 0u64;
    while let Some(chunk) = file.chunk().await.map_err(malformed)? {
        received += chunk.len() as u64;
        verified
            .body
            .check_progress(received)
            .map_err(|e| refused(&e))?;
        out.write_all(&chunk).await.map_err(|e| {
            error(
                500,
                "InternalError",
                &format!("cannot spool the upload: {e}"),
            )
        })?;
    }
    out.flush()
        .await
        .map_err(|e| error(500, "InternalError", &e.to_string()))?;
    verified
        .body
        .check_complete(received, None)
        .map_err(|e| refused(&e))?;

    let etag = store(ctx, &bucket, &verified, spooled.path().to_owned(), received).await?;
    drop(spooled);
    Ok(answer(&verified, &host, &bucket, &etag))
}

/// Stores the spooled file as `bucket/key` through s3s-fs, with a PUT the server signs itself.
async fn store(
    ctx: &PostContext,
    bucket: &str,
    form: &signpost_presign::VerifiedForm,
    path: PathBuf,
    len: u64,
) -> Result<String, Response<s3s::Body>> {
    let mut put = PresignRequest::put_object(bucket, &*form.key);
    for (k, v) in &form.fields {
        let lower = k.to_ascii_lowercase();
        if OBJECT_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-amz-meta-") {
            put = put.header(k, v);
        }
    }
    let signed = ctx
        .presigner
        .presign(&put)
        .map_err(|e| error(400, "InvalidArgument", &e.to_string()))?;
    let target = signed
        .url()
        .as_str()
        .split_once(&ctx.host)
        .map_or("/", |(_, t)| t)
        .to_owned();
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| error(500, "InternalError", &e.to_string()))?;
    let frames = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
        .map_ok(hyper::body::Frame::data);
    let body = http_body_util::StreamBody::new(frames);
    let mut request = Request::builder()
        .method(hyper::Method::PUT)
        .uri(target)
        .header(hyper::header::HOST, &ctx.host)
        .header(hyper::header::CONTENT_LENGTH, len);
    for (k, v) in signed.headers().iter() {
        request = request.header(k, v);
    }
    let request = request
        .body(body)
        .map_err(|e| error(500, "InternalError", &e.to_string()))?;
    let mut service = ctx.service.clone();
    let response = tower::Service::call(&mut service, request)
        .await
        .map_err(|_| error(500, "InternalError", "storing the upload failed"))?;
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
) -> Response<s3s::Body> {
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
        let mut r = Response::new(s3s::Body::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = to.as_str().parse() {
            r.headers_mut().insert(hyper::header::LOCATION, v);
        }
        return r;
    } else {
        match form.field("success_action_status") {
            Some("200") => (StatusCode::OK, s3s::Body::empty()),
            Some("201") => (
                StatusCode::CREATED,
                s3s::Body::from(format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                    xml_escape(&location),
                    xml_escape(bucket),
                    xml_escape(&form.key),
                    xml_escape(etag)
                )),
            ),
            _ => (StatusCode::NO_CONTENT, s3s::Body::empty()),
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
