//! `signpost serve`: the embedded S3 server, for local development without MinIO, and safe to
//! expose: the receivers' limits, metrics, health and drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use signpost::config::CredentialArgs;
use signpost_serve::server::{CorsOrigins, EmbeddedServer, ServeOptions};

use super::receiver::{LimitArgs, banner, shutdown_signal};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    addr: SocketAddr,
    /// Directory for the objects (DATA/BUCKET/KEY); default: a temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Bucket to create at start (repeatable).
    #[arg(long = "bucket")]
    buckets: Vec<String>,
    /// Browser origin allowed to call the server for buckets without a CORS configuration
    /// (repeatable; `*` for any). Default: any loopback origin (localhost, 127.0.0.1, [::1]).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Region requests must be signed for [env: AWS_REGION, AWS_DEFAULT_REGION; default
    /// us-east-1]. The credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    /// (minioadmin when neither is set), like `minio server`.
    #[arg(long)]
    region: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

pub async fn run(a: ServeArgs) -> Result<ExitCode> {
    // Like `minio server`: the credentials come from the environment, minioadmin by default.
    let own = CredentialArgs {
        region: a.region.clone(),
        ..CredentialArgs::default()
    };
    let (access_key, secret_key, from) = match own.key_pair() {
        (Some(ak), Some(sk)) => (ak.clone(), sk.clone(), "AWS_SECRET_ACCESS_KEY"),
        (None, None) => (
            "minioadmin".into(),
            "minioadmin".into(),
            "the default, minioadmin",
        ),
        _ => anyhow::bail!("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither"),
    };
    let region = own.region().await;
    let server = EmbeddedServer::start(ServeOptions {
        data: a.data.clone(),
        buckets: a.buckets.clone(),
        region: region.clone(),
        cors: CorsOrigins::from_args(&a.cors_origins),
        limits: a.limits.limits(),
        tls: a.limits.tls(),
        ..ServeOptions::new(a.addr, access_key.clone(), secret_key)
    })
    .await?;
    let mut lines = vec![
        "signpost S3 server listening".to_owned(),
        format!("  endpoint:   {}", server.endpoint),
        format!("  region:     {region} (requests signed for another are refused)"),
        format!("  access key: {access_key}"),
        format!("  secret key: from {from}"),
        format!(
            "  data:       {}{}",
            server.data_dir.display(),
            if a.data.is_none() {
                " (a temporary directory, deleted with everything in it when the server stops; --data DIR keeps the objects)"
            } else {
                ""
            }
        ),
        format!(
            "  CORS:       {}",
            match CorsOrigins::from_args(&a.cors_origins) {
                CorsOrigins::Loopback => "loopback origins (--cors-origin to change)".to_owned(),
                CorsOrigins::Any => "any origin".to_owned(),
                CorsOrigins::List(l) => l.join(", "),
            }
        ),
        format!("  limits:     {}", a.limits.describe()),
        format!(
            "  health:     {0}/healthz, {0}/readyz, metrics at {0}/metrics",
            server.endpoint
        ),
    ];
    if !a.buckets.is_empty() {
        lines.push(format!("  buckets:    {}", a.buckets.join(", ")));
    }
    lines.push("To sign for it from another shell:".to_owned());
    lines.push(format!("  export AWS_ENDPOINT_URL={}", server.endpoint));
    if from != "AWS_SECRET_ACCESS_KEY" {
        lines.push(
            "  export AWS_ACCESS_KEY_ID=minioadmin AWS_SECRET_ACCESS_KEY=minioadmin".to_owned(),
        );
    }
    lines.push("Ctrl-C or SIGTERM drains and stops it.".to_owned());
    banner(&lines);
    let signal = shutdown_signal().await?;
    tracing::info!(signal, "draining");
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}
