//! Credentials, region and endpoint: flags first, then the variables every AWS tool reads.

use anyhow::{Context, Result};
use clap::Args;
use signpost_presign::{Addressing, Credentials, Endpoint, Presigner};
use signpost_wire::Secret;

/// Where S3 is and who signs. `Debug` shows the secret and the token as `******`.
#[derive(Args, Clone, Debug)]
pub struct S3Args {
    /// S3 endpoint (MinIO: http://127.0.0.1:9000). Default: AWS S3 for the region.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub endpoint: Option<String>,
    /// Region the requests are signed for.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1", global = true)]
    pub region: String,
    /// Access key id.
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
}

impl S3Args {
    /// The credentials, or an error naming the variable to set.
    pub fn credentials(&self) -> Result<Credentials> {
        let ak = self
            .access_key
            .clone()
            .filter(|s| !s.is_empty())
            .context("no access key: set AWS_ACCESS_KEY_ID (or --access-key)")?;
        let sk = self
            .secret_key
            .clone()
            .filter(|s| !s.is_empty())
            .context("no secret key: set AWS_SECRET_ACCESS_KEY (or --secret-key)")?;
        let c = Credentials::new(ak, sk);
        Ok(match self.session_token.clone().filter(|s| !s.is_empty()) {
            Some(t) => c.with_session_token(t),
            None => c,
        })
    }

    /// The endpoint: the given URL (path style unless --virtual-hosted), else AWS.
    pub fn endpoint(&self) -> Result<Endpoint> {
        Ok(match &self.endpoint {
            Some(url) => {
                let e = Endpoint::custom(url, &self.region)?;
                if self.virtual_hosted {
                    e.with_addressing(Addressing::VirtualHosted)
                } else {
                    e
                }
            }
            None => Endpoint::aws(&self.region)?,
        })
    }

    /// A presigner for these settings.
    pub fn presigner(&self) -> Result<Presigner> {
        Ok(Presigner::new(self.credentials()?, self.endpoint()?))
    }
}
