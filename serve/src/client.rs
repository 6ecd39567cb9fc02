//! The few plain S3 calls a receiver (and the `signpost` command) makes itself, each through a
//! presigned request and the uploader's request funnel, so they are retried, trust the same CA
//! bundle and are redacted exactly as uploads are: sending one request, CreateMultipartUpload.
//! [`client_with`] is the plain HTTP client for what is not an S3 call (probes, the proxies).

use signpost_presign::{PresignRequest, PresignedRequest, Presigner};
pub use signpost_upload::Reply;
use signpost_upload::{Call, UploadError, Uploader};

/// Why a plain S3 call failed. URLs are never in the message (they hold the signature): the
/// host is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The call did not get an answer, or got a refusal it does not take, after the funnel's
    /// retries.
    #[error("{what}: {source}")]
    Failed {
        /// The call, with bucket and key.
        what: String,
        /// What failed.
        #[source]
        source: Box<UploadError>,
    },
    /// The server answered, but not with success.
    #[error("{what} failed: {reply}")]
    Refused {
        /// The call, with bucket and key.
        what: String,
        /// Its answer.
        reply: Box<Reply>,
    },
    /// Signing the request failed.
    #[error(transparent)]
    Presign(#[from] signpost_presign::PresignError),
    /// Setting up the client failed.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// The uploader plain S3 calls go through: the funnel's retries, and only `ca_bundle`'s
/// certificates trusted when given.
pub fn caller_with(
    ca_bundle: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<Uploader, CallError> {
    let mut b = Uploader::builder();
    if let Some(certs) = ca_bundle {
        b = b.ca_bundle(certs.to_vec());
    }
    b.build().map_err(|e| CallError::Client(e.to_string()))
}

/// A client for plain S3 calls, trusting the platform's certificate authorities, or only
/// `ca_bundle`'s certificates when given; redirects are not followed (an S3 answer is read as it
/// is).
pub fn client_with(
    ca_bundle: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<reqwest::Client, CallError> {
    let tls = signpost_upload::tls_config(ca_bundle)
        .map_err(|e| CallError::Client(format!("TLS set-up: {e}")))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("signpost/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CallError::Client(e.to_string()))
}

/// Sends a presigned request with its signed headers and an optional body; any answer is
/// returned once S3 no longer asks for a retry.
pub async fn send(
    caller: &Uploader,
    what: &str,
    req: &PresignedRequest,
    body: Option<Vec<u8>>,
) -> Result<Reply, CallError> {
    let mut call = Call::new(req.method().clone(), req.url().clone())
        .named(req.operation_name())
        .headers(req.headers());
    if let Some(b) = body {
        call = call.with_payload(b);
    }
    caller.call(&call).await.map_err(|e| CallError::Failed {
        what: what.to_owned(),
        source: Box::new(e),
    })
}

/// CreateMultipartUpload, sent; returns the upload id.
pub async fn create_multipart(
    caller: &Uploader,
    p: &Presigner,
    bucket: &str,
    key: &str,
    content_type: Option<&str>,
) -> Result<String, CallError> {
    let mut req = PresignRequest::create_multipart_upload(bucket, key);
    if let Some(ct) = content_type {
        req = req.content_type(ct);
    }
    let signed = p.presign(&req)?;
    caller
        .create_multipart_upload(signed.url().clone(), signed.headers())
        .await
        .map_err(|e| CallError::Failed {
            what: format!("CreateMultipartUpload for {bucket}/{key}"),
            source: Box::new(e),
        })
}

/// A received request's target: its path and query (`/` when it has none), as a receiver
/// verifies it and the proxies match and forward it.
pub fn path_and_query<B>(req: &hyper::Request<B>) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| "/".into(), |p| p.as_str().to_owned())
}
