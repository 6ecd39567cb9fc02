//! The HTTP client: rustls with the ring provider and the platform's certificate verifier,
//! redirects not followed (a 303 from `success_action_redirect` is an answer, not a hop).

use std::sync::Arc;
use std::time::Duration;

use crate::error::ClientError;

/// Builds the client every request of an [`Uploader`](crate::Uploader) goes through.
pub(crate) fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, ClientError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .user_agent(concat!("signpost/", env!("CARGO_PKG_VERSION")))
        .build()?)
}
