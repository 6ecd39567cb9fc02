//! The CLI's own HTTP client, for the S3 calls it makes itself (bucket checks, starting a
//! multipart upload, reading an object back) and for the fault proxy: the receivers' client
//! (rustls with the platform's certificate verifier, redirects not followed).

pub use signpost_serve::client::path_and_query;

use anyhow::Result;

/// A client for plain S3 calls, trusting the platform's certificate authorities.
pub fn client() -> Result<reqwest::Client> {
    client_with(None)
}

/// A client for plain S3 calls, trusting only `ca_bundle`'s certificates when given.
pub fn client_with(
    ca_bundle: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<reqwest::Client> {
    Ok(signpost_serve::client::client_with(ca_bundle)?)
}

/// The uploader the CLI's own S3 calls go through (the funnel's retries, redaction and S3
/// errors), trusting the platform's certificate authorities.
pub fn caller() -> Result<signpost_upload::Uploader> {
    caller_with(None)
}

/// [`caller`], trusting only `ca_bundle`'s certificates when given.
pub fn caller_with(
    ca_bundle: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<signpost_upload::Uploader> {
    Ok(signpost_serve::client::caller_with(ca_bundle)?)
}
