//! The CLI's own HTTP client, for the S3 calls it makes itself (bucket checks, starting a
//! multipart upload, reading an object back) and for the fault proxy: rustls with the platform's
//! certificate verifier, redirects not followed (an S3 answer is read as it is).

use std::sync::Arc;

use anyhow::{Context, Result};

/// A client for plain S3 calls.
pub fn client() -> Result<reqwest::Client> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_platform_verifier()
        .context("loading the platform's certificate verifier")?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("signpost/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}
