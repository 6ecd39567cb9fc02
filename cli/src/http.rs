//! The CLI's own HTTP client, for the S3 calls it makes itself (bucket checks, starting a
//! multipart upload, reading an object back) and for the fault proxy: rustls with the platform's
//! certificate verifier, redirects not followed (an S3 answer is read as it is).

use anyhow::{Context, Result};

/// A client for plain S3 calls, trusting the platform's certificate authorities.
pub fn client() -> Result<reqwest::Client> {
    client_with(None)
}

/// A client for plain S3 calls, trusting only `ca_bundle`'s certificates when given.
pub fn client_with(
    ca_bundle: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<reqwest::Client> {
    let tls = signpost_upload::tls_config(ca_bundle).context("TLS set-up")?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("signpost/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}

/// A received request's target: its path and query (`/` when it has none), as the gateway
/// verifies it and the proxies match and forward it.
pub fn path_and_query<B>(req: &hyper::Request<B>) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| "/".into(), |p| p.as_str().to_owned())
}
