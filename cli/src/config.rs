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
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use clap::Args;
use signpost_presign::{Addressing, Credentials, Endpoint, Presigner};
use signpost_wire::Secret;

/// Where S3 is and who signs. `Debug` shows the secret and the token as `******`.
#[derive(Args, Clone, Debug)]
pub struct S3Args {
    /// S3 endpoint (MinIO: http://127.0.0.1:9000). Default: AWS_ENDPOINT_URL_S3, then
    /// AWS_ENDPOINT_URL, then AWS S3 for the region.
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// Region the requests are signed for. Default: AWS_REGION, AWS_DEFAULT_REGION, the
    /// profile's region, us-east-1.
    #[arg(long, env = "AWS_REGION", global = true)]
    pub region: Option<String>,
    /// Named profile of the shared config and credentials files.
    #[arg(long, env = "AWS_PROFILE", global = true)]
    pub profile: Option<String>,
    /// Access key id (else the AWS SDKs' credential chain).
    #[arg(long, env = "AWS_ACCESS_KEY_ID", global = true)]
    pub access_key: Option<String>,
    /// Secret access key (prefer the environment variable: flags show in process lists).
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<Secret>,
    /// Session token of temporary credentials.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true, global = true)]
    pub session_token: Option<Secret>,
    /// Virtual-hosted addressing (BUCKET.host) instead of path style (default for custom endpoints).
    #[arg(long, global = true)]
    pub virtual_hosted: bool,
    /// PEM file of the CA certificates to trust instead of the system's (a private CA in front
    /// of MinIO or Ceph), for every HTTPS connection: S3, STS, the uploader.
    #[arg(long, env = "AWS_CA_BUNDLE", global = true, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
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

    /// The region: flag or `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, us-east-1.
    pub async fn region(&self) -> String {
        if let Some(r) = self.region.clone().filter(|r| !r.is_empty()) {
            return r;
        }
        self.region_chain()
            .region()
            .await
            .map_or_else(|| "us-east-1".to_owned(), |r| r.as_ref().to_owned())
    }

    fn region_chain(&self) -> RegionProviderChain {
        let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = &self.profile {
            profile = profile.profile_name(p);
        }
        RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(profile.build())
        .or_else("us-east-1")
    }

    /// Credentials given as flags or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, if any.
    fn static_credentials(&self) -> Result<Option<Credentials>> {
        let ak = self.access_key.clone().filter(|s| !s.is_empty());
        let sk = self.secret_key.clone().filter(|s| !s.is_empty());
        let c = match (ak, sk) {
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
        Ok(Some(
            match self.session_token.clone().filter(|s| !s.is_empty()) {
                Some(t) => c.with_session_token(t),
                None => c,
            },
        ))
    }

    /// The CA bundle's certificates, when one is given.
    pub fn ca_certificates(
        &self,
    ) -> Result<Option<Vec<rustls::pki_types::CertificateDer<'static>>>> {
        Ok(self.read_ca_bundle()?.map(|b| b.certificates))
    }

    /// The CA bundle, read and checked, when one is given.
    fn read_ca_bundle(&self) -> Result<Option<signpost_upload::CaBundle>> {
        match self
            .ca_bundle
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            Some(p) => Ok(Some(signpost_upload::read_ca_bundle(p)?)),
            None => Ok(None),
        }
    }

    /// The AWS SDKs' default credential chain, for this profile and region, its HTTPS calls
    /// (STS, SSO) trusting the CA bundle when one is given.
    async fn chain(&self, region: &str) -> Result<ChainProvider> {
        let mut tls = aws_smithy_http_client::tls::TrustStore::default();
        // Read and checked here, so that a bad bundle is named, not a TLS failure later.
        if let Some(bundle) = self.read_ca_bundle()? {
            tls = aws_smithy_http_client::tls::TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(bundle.pem);
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
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        let provider = conf.credentials_provider().context(
            "no credential chain was configured (this is a bug: the default chain is always set)",
        )?;
        Ok(ChainProvider {
            inner: provider,
            profile: self.profile.clone(),
            http: http_for_diagnosis,
            region: region.to_owned(),
        })
    }

    /// The credentials now (flags, environment, or the chain): for what takes fixed credentials
    /// (the Verifier, the round trip). Temporary ones carry their expiry.
    pub async fn credentials(&self) -> Result<Credentials> {
        if let Some(c) = self.static_credentials()? {
            return Ok(c);
        }
        let region = self.region().await;
        let chain = self.chain(&region).await?;
        let c = chain.load().await.map_err(|line| anyhow::anyhow!(line))?;
        Ok(Credentials::from(&c))
    }

    /// The endpoint: the given URL (path style unless --virtual-hosted), else AWS.
    pub async fn endpoint(&self) -> Result<Endpoint> {
        let region = self.region().await;
        self.endpoint_for(&region)
    }

    fn endpoint_for(&self, region: &str) -> Result<Endpoint> {
        Ok(match self.endpoint_url() {
            Some(url) => {
                let e = Endpoint::custom(&url, region)?;
                if self.virtual_hosted {
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
        let region = self.region().await;
        let endpoint = self.endpoint_for(&region)?;
        if let Some(c) = self.static_credentials()? {
            return Ok(Arc::new(Presigner::new(c, endpoint)));
        }
        let chain = self.chain(&region).await?;
        // Loaded once here so that a missing or broken source is reported before anything is
        // signed, in the chain's one line.
        let first = chain.load().await.map_err(|line| anyhow::anyhow!(line))?;
        let p = Presigner::with_provider(CachedFirst::new(first, chain), endpoint);
        p.refresh_credentials().await?;
        Ok(Arc::new(p))
    }

    /// An HTTP client for the CLI's own S3 calls, trusting the CA bundle when one is given.
    pub fn client(&self) -> Result<reqwest::Client> {
        crate::http::client_with(self.ca_certificates()?.as_deref())
    }
}

/// The default chain, logging which source answered (never what it answered).
#[derive(Debug)]
struct ChainProvider {
    inner: aws_credential_types::provider::SharedCredentialsProvider,
    profile: Option<String>,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    region: String,
}

impl ChainProvider {
    /// The chain's credentials, or its error in one line naming the source and the fix.
    async fn load(&self) -> std::result::Result<aws_credential_types::Credentials, String> {
        match self.inner.provide_credentials().await {
            Ok(c) => {
                tracing::debug!(
                    source = source_name(&c),
                    access_key_id = c.access_key_id(),
                    expires = ?c.expiry().map(time::OffsetDateTime::from),
                    "credentials"
                );
                Ok(c)
            }
            Err(e) => {
                let source = failed_source(self.http.clone(), &self.region, &self.profile).await;
                let line = explain(&signpost_wire::error_line(&e), source, &self.profile);
                tracing::debug!(error = %line, "no credentials");
                Err(line)
            }
        }
    }
}

impl ProvideCredentials for ChainProvider {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            self.load().await.map_err(CredentialsError::provider_error)
        })
    }
}

/// Which source of the chain answered, in the words of the AWS documentation.
fn source_name(c: &aws_credential_types::Credentials) -> String {
    let features =
        c.get_property::<Vec<aws_credential_types::credential_feature::AwsCredentialFeature>>();
    match features {
        Some(f) if !f.is_empty() => format!("{f:?}"),
        _ => "default chain".to_owned(),
    }
}

/// A source of the chain, named as the AWS documentation names it, with what configures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Profile,
    WebIdentity,
    Container,
    InstanceMetadata,
}

/// Which source of the chain failed (rather than having nothing to offer): each is asked again
/// alone, in the chain's order, and the first that fails otherwise than "not configured" is it.
/// Only after a failure, so the cost is only paid then; the instance metadata service is not
/// asked again (it is the chain's last source: it is the one when none of the others is).
async fn failed_source(
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    region: &str,
    profile: &Option<String>,
) -> Source {
    use aws_config::provider_config::ProviderConfig;
    let pc = ProviderConfig::without_region()
        .with_http_client(http)
        .with_region(Some(aws_config::Region::new(region.to_owned())));
    let failed = |r: Result<aws_credential_types::Credentials, CredentialsError>| matches!(r, Err(ref e) if !matches!(e, CredentialsError::CredentialsNotLoaded(_)));
    let mut prof = aws_config::profile::ProfileFileCredentialsProvider::builder().configure(&pc);
    if let Some(p) = profile {
        prof = prof.profile_name(p);
    }
    if failed(prof.build().provide_credentials().await) {
        return Source::Profile;
    }
    let web = aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
        .configure(&pc)
        .build();
    if failed(web.provide_credentials().await) {
        return Source::WebIdentity;
    }
    let ecs = aws_config::ecs::EcsCredentialsProvider::builder()
        .configure(&pc)
        .build();
    if failed(ecs.provide_credentials().await) {
        return Source::Container;
    }
    Source::InstanceMetadata
}

/// The chain's error, one line: the source that failed, why, and the fix.
fn explain(reason: &str, source: Source, profile: &Option<String>) -> String {
    // The chain lists the sources it tried on lines of their own.
    let reason = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
        .replace("Attempted:;", "attempted:");
    let r = reason.to_ascii_lowercase();
    let var = |n: &str| std::env::var(n).unwrap_or_default();
    let profile_name = profile.clone().unwrap_or_else(|| "default".to_owned());
    if r.contains("no credentials found in chain") {
        if profile.as_deref().is_some_and(|p| {
            r.contains(&format!(
                "profile `{}` was not defined",
                p.to_ascii_lowercase()
            ))
        }) {
            return format!(
                "no credentials: the profile {profile_name} is not in the config or credentials file ({}): check its name, or give --profile with one that exists ({reason})",
                files()
            );
        }
        return format!(
            "no credentials: no source had any ({reason}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in {}, or run where a role is attached (an instance profile, a container or service account role)",
            files()
        );
    }
    let (what, fix) = match source {
        Source::Profile if r.contains("external process") || r.contains("credential_process") => (
            format!("the credential_process of profile {profile_name}"),
            "run the command by hand: it must exit 0 and print JSON with Version 1, AccessKeyId, SecretAccessKey (and SessionToken, Expiration)".to_owned(),
        ),
        Source::Profile => (
            format!("profile {profile_name} ({})", files()),
            "check the profile: for role_arn, its source_profile's keys, its permission to assume the role, and AWS_ENDPOINT_URL_STS".to_owned(),
        ),
        Source::WebIdentity => (
            format!(
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE={}, AWS_ROLE_ARN={})",
                var("AWS_WEB_IDENTITY_TOKEN_FILE"),
                var("AWS_ROLE_ARN")
            ),
            "check that the token file is readable and current and that the role trusts its issuer".to_owned(),
        ),
        Source::Container => (
            format!(
                "the container credentials endpoint ({})",
                if var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_empty() {
                    format!(
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={}",
                        var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                    )
                } else {
                    format!(
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI={}",
                        var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                    )
                }
            ),
            "check the endpoint and AWS_CONTAINER_AUTHORIZATION_TOKEN (or _FILE), which must be the one the container was given".to_owned(),
        ),
        Source::InstanceMetadata => (
            format!(
                "the EC2 instance metadata service ({})",
                match var("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
                    e if e.is_empty() => "http://169.254.169.254".to_owned(),
                    e => e,
                }
            ),
            "on EC2, check that an instance profile is attached and IMDSv2 is reachable; elsewhere set AWS_EC2_METADATA_DISABLED=true and give credentials another way".to_owned(),
        ),
    };
    format!("no credentials from {what}: {reason}; {fix}")
}

/// Where the shared files are read from.
fn files() -> String {
    let f = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
    format!(
        "{} and {}",
        f("AWS_CONFIG_FILE", "~/.aws/config"),
        f("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    )
}

/// The chain, with credentials already loaded handed out first (so that the presigner's first
/// load does not ask the sources twice).
#[derive(Debug)]
struct CachedFirst {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    chain: ChainProvider,
}

impl CachedFirst {
    fn new(first: aws_credential_types::Credentials, chain: ChainProvider) -> Self {
        CachedFirst {
            first: std::sync::Mutex::new(Some(first)),
            chain,
        }
    }
}

impl ProvideCredentials for CachedFirst {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().ok().and_then(|mut f| f.take());
        match first {
            Some(c) => aws_credential_types::provider::future::ProvideCredentials::ready(Ok(c)),
            None => self.chain.provide_credentials(),
        }
    }
}
