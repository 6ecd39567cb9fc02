//! `signpost gateway`: the stock PeerTube runner uploads into S3 through it, unmodified.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use signpost::config::S3Args;
use signpost_presign::Credentials;
use signpost_serve::gateway::{Gateway, GatewayOptions};
use signpost_wire::Secret;

use super::receiver::{LimitArgs, banner, shutdown_signal};

#[derive(Args)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9100")]
    addr: SocketAddr,
    /// Access key the job server signs gateway URLs with (default: the upstream credentials').
    #[arg(long, env = "SIGNPOST_GATEWAY_ACCESS_KEY")]
    verify_access_key: Option<String>,
    /// Its secret (prefer the environment variable).
    #[arg(long, env = "SIGNPOST_GATEWAY_SECRET_KEY", hide_env_values = true)]
    verify_secret_key: Option<Secret>,
    /// The largest object accepted (the same flag as `presign`'s; --max-object-size is its
    /// old name).
    #[arg(long, alias = "max-object-size", value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size, default_value = "50GiB")]
    max_size: u64,
    /// Uploads at once, whatever their size; more are answered 503 SlowDown.
    #[arg(long, default_value_t = 1024)]
    max_uploads: usize,
    /// Uploads at once to one bucket and key; more are answered 503 SlowDown.
    #[arg(long, default_value_t = 4)]
    max_uploads_per_key: usize,
    /// Memory all uploads in flight may hold: each counts its length, or two parts when larger
    /// or unknown; past it, 503 SlowDown.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size, default_value = "512MiB")]
    max_memory: u64,
    /// Bytes per upstream part, and the largest body stored with one PUT. About two parts are
    /// held in memory per upload.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size, default_value = "16MiB")]
    part_size: u64,
    /// The longest a whole upload may take.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::duration, default_value = "6h")]
    read_timeout: Duration,
    /// How long after a gateway's last heartbeat when the multipart uploads it journaled (under
    /// `.signpost-gateway/` in each bucket) count as orphaned and are aborted by any gateway of
    /// this upstream.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::positive_duration, default_value = "45s")]
    orphan_after: Duration,
    /// A bucket to sweep for orphaned uploads from the start (repeatable); buckets uploaded to
    /// are swept once used.
    #[arg(long = "sweep-bucket", value_name = "BUCKET")]
    sweep_buckets: Vec<String>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    s3: S3Args,
}

pub async fn run(a: GatewayArgs) -> Result<ExitCode> {
    let endpoint = a
        .s3
        .endpoint_url()
        .context("the gateway needs the upstream S3: give --endpoint URL (or AWS_ENDPOINT_URL)")?;
    let s3 = a.s3.resolve().await?;
    let region = s3.region.clone();
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
        upstream_ca: s3.ca_certificates(),
        max_object_size: a.max_size,
        max_uploads: a.max_uploads,
        max_uploads_per_key: a.max_uploads_per_key,
        max_memory: a.max_memory,
        part_size: a.part_size,
        read_timeout: a.read_timeout,
        limits: a.limits.limits(),
        tls: a.limits.tls(),
        orphan_after: a.orphan_after,
        sweep_buckets: a.sweep_buckets.clone(),
        ..GatewayOptions::new(a.addr, upstream, verify_credentials.clone())
    })
    .await?;
    banner(&[
        "signpost gateway listening".to_owned(),
        format!("  address:    {}", gateway.endpoint),
        format!("  upstream:   {endpoint} (region {region})"),
        format!(
            "  verifies:   URLs signed by {} for region {}",
            verify_credentials.access_key_id(),
            region
        ),
        format!(
            "  uploads:    {} bytes per object, {} at once ({} per key) within {} bytes of memory, {} byte parts",
            a.max_size, a.max_uploads, a.max_uploads_per_key, a.max_memory, a.part_size
        ),
        format!("  limits:     {}", a.limits.describe()),
        format!(
            "  clean-up:   unfinished multipart uploads journaled under .signpost-gateway/, aborted {} after their gateway's last heartbeat{}",
            signpost::size::describe(a.orphan_after),
            if a.sweep_buckets.is_empty() {
                String::new()
            } else {
                format!(" (sweeping {})", a.sweep_buckets.join(", "))
            }
        ),
        format!(
            "  health:     {0}/healthz, {0}/readyz, metrics at {0}/metrics",
            gateway.endpoint
        ),
        "Ctrl-C or SIGTERM drains and stops it.".to_owned(),
    ]);
    let signal = shutdown_signal().await?;
    tracing::info!(signal, "draining");
    gateway.stop().await;
    Ok(ExitCode::SUCCESS)
}
