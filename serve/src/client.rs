//! The few plain S3 calls a receiver (and the `signpost` command) makes itself, each through a
//! presigned request: the HTTP client, sending one request, CreateMultipartUpload.

use signpost_presign::{PresignRequest, PresignedRequest, Presigner};
use signpost_upload::ErrorResponse;

/// Why a plain S3 call failed. URLs are never in the message (they hold the signature): the
/// host is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The request did not get an answer.
    #[error("{method} request to {host} failed: {source}")]
    Transport {
        /// The method.
        method: String,
        /// The server's host and port.
        host: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered, but not with success.
    #[error("{what} failed: {reply}")]
    Refused {
        /// The call, with bucket and key.
        what: String,
        /// Its answer.
        reply: Reply,
    },
    /// Signing the request failed.
    #[error(transparent)]
    Presign(#[from] signpost_presign::PresignError),
    /// Setting up the client failed.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// A response: status and body text.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body (S3 answers here are small).
    pub body: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match ErrorResponse::parse(&self.body) {
            Some(e) => write!(f, "HTTP {} {e}", self.status),
            None => write!(f, "HTTP {}", self.status),
        }
    }
}

impl Reply {
    /// `HTTP 404 NoSuchBucket: …` for messages.
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// A 4xx with an S3 error document: what a refusal looks like.
    pub fn is_s3_refusal(&self) -> bool {
        (400..500).contains(&self.status) && ErrorResponse::parse(&self.body).is_some()
    }

    /// S3's `Code`, when the body is an error document.
    pub fn s3_code(&self) -> Option<signpost_upload::signpost_wire::s3_xml::S3ErrorCode> {
        ErrorResponse::parse(&self.body).map(|e| e.code)
    }
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

/// The host and port of a URL, for messages.
fn host(url: &str) -> String {
    url.split('/').nth(2).unwrap_or(url).to_owned()
}

/// Sends a presigned request with its signed headers and an optional body.
pub async fn send(
    client: &reqwest::Client,
    req: &PresignedRequest,
    body: Option<Vec<u8>>,
) -> Result<Reply, CallError> {
    let mut rb = client.request(req.method().clone(), req.url().as_str());
    for (k, v) in req.headers().iter() {
        rb = rb.header(k, v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    let resp = rb.send().await.map_err(|source| CallError::Transport {
        method: req.method().to_string(),
        host: host(req.url().as_str()),
        source: source.without_url(),
    })?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Ok(Reply { status, body })
}

/// CreateMultipartUpload, sent; returns the upload id.
pub async fn create_multipart(
    client: &reqwest::Client,
    p: &Presigner,
    bucket: &str,
    key: &str,
    content_type: Option<&str>,
) -> Result<String, CallError> {
    let mut req = PresignRequest::create_multipart_upload(bucket, key);
    if let Some(ct) = content_type {
        req = req.content_type(ct);
    }
    let r = send(client, &p.presign(&req)?, None).await?;
    if r.status != 200 {
        return Err(CallError::Refused {
            what: format!("CreateMultipartUpload for {bucket}/{key}"),
            reply: r,
        });
    }
    signpost_presign::parse_initiate_response(&r.body).map_err(|e| CallError::Refused {
        what: format!("CreateMultipartUpload for {bucket}/{key} ({e})"),
        reply: r,
    })
}

/// A received request's target: its path and query (`/` when it has none), as a receiver
/// verifies it and the proxies match and forward it.
pub fn path_and_query<B>(req: &hyper::Request<B>) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| "/".into(), |p| p.as_str().to_owned())
}
