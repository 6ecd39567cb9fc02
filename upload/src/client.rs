//! The HTTP client: rustls with the ring provider and the platform's certificate verifier (or
//! only the certificates of a CA bundle, as `AWS_CA_BUNDLE` works in the AWS tools), redirects
//! not followed (a 303 from `success_action_redirect` is an answer, not a hop). Proxies come
//! from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, as curl and the AWS tools read
//! them.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::ClientError;

/// Builds the client every request of an [`Uploader`](crate::Uploader) goes through.
pub(crate) fn http_client(
    connect_timeout: Duration,
    ca_bundle: Option<&[CertificateDer<'static>]>,
) -> Result<reqwest::Client, ClientError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(ca_bundle)?)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .user_agent(concat!("signpost/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The TLS set-up: the platform's verifier, or only the bundle's certificates.
pub fn tls_config(
    ca_bundle: Option<&[CertificateDer<'static>]>,
) -> Result<rustls::ClientConfig, ClientError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    Ok(match ca_bundle {
        None => builder.with_platform_verifier()?.with_no_client_auth(),
        Some(certs) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs {
                roots.add(c.clone())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    })
}

/// A CA bundle as read: its PEM text (for clients that take PEM) and its certificates.
#[derive(Clone, Debug)]
pub struct CaBundle {
    /// The file's contents.
    pub pem: Vec<u8>,
    /// Its certificates (at least one).
    pub certificates: Vec<CertificateDer<'static>>,
}

/// Reads a PEM bundle (`AWS_CA_BUNDLE`, `--ca-bundle`), or an error naming the file and what is
/// wrong with it.
pub fn read_ca_bundle(path: &std::path::Path) -> Result<CaBundle, ClientError> {
    let bad = |reason: String| ClientError::CaBundle {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("it is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "it holds no certificate (-----BEGIN CERTIFICATE----- blocks)".into(),
        ));
    }
    Ok(CaBundle {
        pem,
        certificates: certs,
    })
}

/// The proxy a request to `url` goes through, as the client picks it from the environment, with
/// any user and password left out.
pub(crate) fn proxy_for(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let matcher = hyper_util::client::proxy::matcher::Matcher::from_system();
    let intercept = matcher.intercept(&uri)?;
    let p = intercept.uri();
    let scheme = p.scheme_str().unwrap_or("http");
    let host = p.host()?;
    Some(match p.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_bundle_is_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = read_ca_bundle(&missing).unwrap_err().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = read_ca_bundle(&empty).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no certificate"),
            "{e}"
        );
    }
}
