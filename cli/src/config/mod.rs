//! Credentials, region, endpoint and TLS: flags first, then what the AWS SDKs read, in their
//! order.
//!
//! Credentials: `--access-key`/`--secret-key` (or `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), else the AWS SDKs' default chain through `aws-config`: the shared
//! config and credentials files (`--profile`/`AWS_PROFILE`, `role_arn` + `source_profile`,
//! `credential_process`, SSO), web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`),
//! container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`/`_FULL_URI`) and EC2 IMDSv2.
//!
//! Region: `--region`/`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else
//! us-east-1. The instance metadata service is not asked for a region: on a machine that is not
//! an EC2 instance, that costs seconds of timeouts on every command.
//!
//! Endpoint: `--endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS S3. STS and the
//! other services the chain calls follow `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use aws_config::meta::region::RegionProviderChain;
use clap::Args;
use signpost_presign::{Addressing, Credentials, Endpoint, Presigner};
use signpost_wire::Secret;

/// The help heading every command's connection options share.
pub const HEADING: &str = "S3 endpoint and credentials (flags, else the AWS environment)";

/// Where S3 is and who signs, for the commands that sign or connect (`presign`, `roundtrip`,
/// `gateway`). `Debug` shows the secret and the token as `******`.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = HEADING)]
pub struct S3Args {
    /// S3 endpoint (MinIO: http://127.0.0.1:9000) [env: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL;
    /// else AWS S3 for the region].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Virtual-hosted addressing (BUCKET.host) instead of path style (default for custom endpoints).
    #[arg(long)]
    pub virtual_hosted: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub tls: TlsArgs,
}

/// Who signs, and for which region. Each flag falls back to the AWS variable named in its help
/// (read when used, so a variable never makes a flag look required in a usage line).
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = HEADING)]
pub struct CredentialArgs {
    /// Region requests are signed for [env: AWS_REGION, AWS_DEFAULT_REGION; else the profile's
    /// region, else us-east-1].
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile of the shared config and credentials files [env: AWS_PROFILE].
    #[arg(long)]
    pub profile: Option<String>,
    /// Access key id [env: AWS_ACCESS_KEY_ID; else the AWS SDKs' credential chain].
    #[arg(long, value_name = "ID")]
    pub access_key: Option<String>,
    /// Secret access key [env: AWS_SECRET_ACCESS_KEY; prefer it: flags show in process lists].
    #[arg(long, value_name = "SECRET")]
    pub secret_key: Option<Secret>,
    /// Session token of temporary credentials [env: AWS_SESSION_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub session_token: Option<Secret>,
}

/// The CA bundle, for every command that makes HTTPS connections.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = HEADING)]
pub struct TlsArgs {
    /// PEM file of the CA certificates to trust instead of the system's (a private CA in front
    /// of MinIO or Ceph), for every HTTPS connection [env: AWS_CA_BUNDLE].
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
}

impl TlsArgs {
    /// The bundle's path: the flag, else `AWS_CA_BUNDLE`.
    pub fn path(&self) -> Option<PathBuf> {
        self.ca_bundle
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| var("AWS_CA_BUNDLE").map(PathBuf::from))
    }

    /// The CA bundle, read and checked, when one is given.
    pub fn read(&self) -> Result<Option<signpost_upload::CaBundle>> {
        match self.path() {
            Some(p) => Ok(Some(signpost_upload::read_ca_bundle(&p)?)),
            None => Ok(None),
        }
    }
}

impl CredentialArgs {
    /// The profile: the flag, else `AWS_PROFILE`.
    pub fn profile(&self) -> Option<String> {
        self.profile
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| var("AWS_PROFILE"))
    }

    /// The region: the flag, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, us-east-1.
    pub async fn region(&self) -> String {
        if let Some(r) = self.region.clone().filter(|r| !r.is_empty()) {
            return r;
        }
        let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = self.profile() {
            profile = profile.profile_name(p);
        }
        RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(profile.build())
        .or_else("us-east-1")
        .region()
        .await
        .map_or_else(|| "us-east-1".to_owned(), |r| r.as_ref().to_owned())
    }

    /// The access key id and the secret, each from its flag or else its variable.
    pub fn key_pair(&self) -> (Option<String>, Option<Secret>) {
        (
            self.access_key
                .clone()
                .filter(|s| !s.is_empty())
                .or_else(|| var("AWS_ACCESS_KEY_ID")),
            self.secret_key
                .clone()
                .filter(|s| !s.is_empty())
                .or_else(|| var("AWS_SECRET_ACCESS_KEY").map(Secret::from)),
        )
    }

    /// Credentials given as flags or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, if any.
    fn static_credentials(&self) -> Result<Option<Credentials>> {
        let c = match self.key_pair() {
            (Some(ak), Some(sk)) => Credentials::new(ak, sk),
            (None, None) => return Ok(None),
            (Some(_), None) => anyhow::bail!(
                "an access key id is given but no secret key: set AWS_SECRET_ACCESS_KEY (or --secret-key), or unset AWS_ACCESS_KEY_ID to use the profile or role credentials"
            ),
            (None, Some(_)) => anyhow::bail!(
                "a secret key is given but no access key id: set AWS_ACCESS_KEY_ID (or --access-key)"
            ),
        };
        tracing::debug!(source = "environment or flags", "credentials");
        let token = self
            .session_token
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| var("AWS_SESSION_TOKEN").map(Secret::from));
        Ok(Some(match token {
            Some(t) => c.with_session_token(t),
            None => c,
        }))
    }
}

/// A variable, unless unset or empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl S3Args {
    /// The endpoint URL given: `--endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> Option<String> {
        self.endpoint
            .clone()
            .filter(|e| !e.is_empty())
            .or_else(|| var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| var("AWS_ENDPOINT_URL"))
    }

    /// The arguments resolved once for a command that connects or signs: the region found
    /// (flags, environment, profile), the CA bundle read and checked. Every presigner, client and
    /// credential chain the command makes then uses these same values.
    pub async fn resolve(&self) -> Result<S3Config> {
        Ok(S3Config {
            region: self.credentials.region().await,
            ca: self.tls.read()?,
            args: self.clone(),
        })
    }
}

/// [`S3Args`] resolved once: the region and the CA bundle as the command uses them everywhere.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// The arguments as given.
    pub args: S3Args,
    /// The region requests are signed for.
    pub region: String,
    /// The CA bundle, when one is given (read and checked once).
    pub ca: Option<signpost_upload::CaBundle>,
}

impl S3Config {
    /// The CA bundle's certificates, when one is given.
    pub fn ca_certificates(&self) -> Option<Vec<rustls::pki_types::CertificateDer<'static>>> {
        self.ca.as_ref().map(|b| b.certificates.clone())
    }

    /// The AWS SDKs' default credential chain, for this profile and region, its HTTPS calls
    /// (STS, SSO) trusting the CA bundle when one is given.
    async fn chain(&self) -> Result<ChainProvider> {
        let region = self.region.as_str();
        let mut tls = aws_smithy_http_client::tls::TrustStore::default();
        if let Some(bundle) = &self.ca {
            tls = aws_smithy_http_client::tls::TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(bundle.pem.clone());
        }
        let ctx = aws_smithy_http_client::tls::TlsContext::builder()
            .with_trust_store(tls)
            .build()
            .context("TLS set-up for the credential providers")?;
        // Proxies from HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as for every other connection.
        let http = aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, _components| {
                let mut c = aws_smithy_http_client::Connector::builder()
                    .proxy_config(aws_smithy_http_client::proxy::ProxyConfig::from_env());
                if let Some(s) = settings {
                    c = c.connector_settings(s.clone());
                }
                c.tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .tls_context(ctx.clone())
                .build()
            },
        );
        let http_for_diagnosis = http.clone();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(region.to_owned()));
        if let Some(p) = self.args.credentials.profile() {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        let provider = conf.credentials_provider().context(
            "no credential chain was configured (this is a bug: the default chain is always set)",
        )?;
        Ok(ChainProvider {
            inner: provider,
            profile: self.args.credentials.profile(),
            http: http_for_diagnosis,
            region: region.to_owned(),
        })
    }

    /// The credentials now (flags, environment, or the chain): for what takes fixed credentials
    /// (the Verifier, the round trip). Temporary ones carry their expiry.
    pub async fn credentials(&self) -> Result<Credentials> {
        if let Some(c) = self.args.credentials.static_credentials()? {
            return Ok(c);
        }
        let chain = self.chain().await?;
        let c = chain.load().await.map_err(|line| anyhow::anyhow!(line))?;
        Ok(Credentials::from(&c))
    }

    /// The endpoint: the given URL (path style unless --virtual-hosted), else AWS.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let region = self.region.as_str();
        Ok(match self.args.endpoint_url() {
            Some(url) => {
                let e = Endpoint::custom(&url, region)?;
                if self.args.virtual_hosted {
                    e.with_addressing(Addressing::VirtualHosted)
                } else {
                    e
                }
            }
            None => Endpoint::aws(region)?,
        })
    }

    /// A presigner: fixed credentials from flags or the environment, else the chain's, loaded
    /// now (so that a missing or broken source is reported before anything is signed) and
    /// refreshed before they expire.
    pub async fn presigner(&self) -> Result<Arc<Presigner>> {
        let endpoint = self.endpoint()?;
        if let Some(c) = self.args.credentials.static_credentials()? {
            return Ok(Arc::new(Presigner::new(c, endpoint)));
        }
        let chain = self.chain().await?;
        // Loaded once here so that a missing or broken source is reported before anything is
        // signed, in the chain's one line.
        let first = chain.load().await.map_err(|line| anyhow::anyhow!(line))?;
        let p = Presigner::with_provider(CachedFirst::new(first, chain), endpoint);
        p.refresh_credentials().await?;
        Ok(Arc::new(p))
    }

    /// The uploader the CLI's own S3 calls go through, trusting the CA bundle when one is given.
    pub fn caller(&self) -> Result<signpost_upload::Uploader> {
        crate::http::caller_with(self.ca_certificates().as_deref())
    }
}

mod chain;

use chain::{CachedFirst, ChainProvider};
