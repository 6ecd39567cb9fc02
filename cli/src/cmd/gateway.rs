//! `signpost gateway`: the stock PeerTube runner uploads into S3 through it, unmodified.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use signpost::config::S3Args;
use signpost::gateway::{Gateway, GatewayOptions};
use signpost_presign::Credentials;
use signpost_wire::Secret;

#[derive(Args)]
pub struct GatewayArgs {
    /// Address to listen on (put a reverse proxy in front for TLS).
    #[arg(long, default_value = "127.0.0.1:9100")]
    addr: SocketAddr,
    /// Access key the job server signs gateway URLs with (default: the upstream credentials').
    #[arg(long, env = "SIGNPOST_GATEWAY_ACCESS_KEY")]
    verify_access_key: Option<String>,
    /// Its secret (prefer the environment variable).
    #[arg(long, env = "SIGNPOST_GATEWAY_SECRET_KEY", hide_env_values = true)]
    verify_secret_key: Option<Secret>,
    /// The largest object accepted.
    #[arg(long, value_parser = super::size, default_value = "50GiB")]
    max_object_size: u64,
    /// Uploads at once; more are answered 503 SlowDown.
    #[arg(long, default_value_t = 16)]
    max_uploads: usize,
    /// Bytes per upstream part, and the largest body stored with one PUT. About two parts are
    /// held in memory per upload.
    #[arg(long, value_parser = super::size, default_value = "16MiB")]
    part_size: u64,
    /// The longest a whole upload may take, in seconds.
    #[arg(long, default_value_t = 6 * 3600)]
    read_timeout: u64,
    /// The longest a client may send nothing, in seconds.
    #[arg(long, default_value_t = 120)]
    idle_timeout: u64,
}

pub async fn run(s3: &S3Args, a: GatewayArgs) -> Result<ExitCode> {
    let endpoint = s3
        .endpoint_url()
        .context("the gateway needs the upstream S3: give --endpoint URL (or AWS_ENDPOINT_URL)")?;
    let region = s3.region().await;
    // Refreshed before they expire when they come from a role: the gateway runs for days.
    let upstream = s3.presigner().await?;
    let verify_credentials = match (&a.verify_access_key, &a.verify_secret_key) {
        (Some(ak), Some(sk)) => Credentials::new(ak.clone(), sk.clone()),
        (None, None) => {
            let c = upstream
                .credentials()
                .context("no upstream credentials were loaded")?;
            if let Some(end) = c.expires_at() {
                anyhow::bail!(
                    "the upstream credentials are temporary (they expire at {}), so URLs signed with them cannot be checked after that: give the key the job server signs gateway URLs with (--verify-access-key and --verify-secret-key)",
                    signpost_wire::amz_date::format_rfc3339(end)
                );
            }
            c
        }
        _ => anyhow::bail!(
            "give both --verify-access-key and --verify-secret-key, or neither (then URLs are checked with the upstream credentials)"
        ),
    };
    let gateway = Gateway::start(GatewayOptions {
        addr: a.addr,
        upstream,
        verify_credentials: verify_credentials.clone(),
        max_object_size: a.max_object_size,
        max_uploads: a.max_uploads,
        part_size: a.part_size,
        read_timeout: Duration::from_secs(a.read_timeout),
        idle_timeout: Duration::from_secs(a.idle_timeout),
    })
    .await?;
    println!("signpost gateway listening");
    println!("  address:    {}", gateway.endpoint);
    println!("  upstream:   {endpoint} (region {region})");
    println!(
        "  verifies:   URLs signed by {} for region {}",
        verify_credentials.access_key_id(),
        region
    );
    println!(
        "  limits:     {} bytes per object, {} uploads at once, {} byte parts",
        a.max_object_size, a.max_uploads, a.part_size
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await?;
    gateway.stop().await;
    Ok(ExitCode::SUCCESS)
}
