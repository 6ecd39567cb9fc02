//! The credential chain the command signs with, and how its failures are explained.

use anyhow::Result;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;

/// The default chain, logging which source answered (never what it answered).
#[derive(Debug)]
pub(super) struct ChainProvider {
    pub(super) inner: aws_credential_types::provider::SharedCredentialsProvider,
    pub(super) profile: Option<String>,
    pub(super) http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    pub(super) region: String,
}

impl ChainProvider {
    /// The chain's credentials, or its error in one line naming the source and the fix.
    pub(super) async fn load(
        &self,
    ) -> std::result::Result<aws_credential_types::Credentials, String> {
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
pub(super) enum Source {
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
pub(super) fn explain(reason: &str, source: Source, profile: &Option<String>) -> String {
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
pub(super) struct CachedFirst {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    chain: ChainProvider,
}

impl CachedFirst {
    pub(super) fn new(first: aws_credential_types::Credentials, chain: ChainProvider) -> Self {
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
