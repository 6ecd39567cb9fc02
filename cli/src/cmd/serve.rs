//! `signpost serve`: the embedded S3 server, for local development without MinIO.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use signpost::config::S3Args;
use signpost::server::{EmbeddedServer, ServeOptions};

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
}

pub async fn run(s3: &S3Args, a: ServeArgs) -> Result<ExitCode> {
    // Like `minio server`: the credentials come from the environment, minioadmin by default.
    let (access_key, secret_key, from) = match (&s3.access_key, &s3.secret_key) {
        (Some(ak), Some(sk)) => (ak.clone(), sk.clone(), "AWS_SECRET_ACCESS_KEY"),
        (None, None) => (
            "minioadmin".into(),
            "minioadmin".into(),
            "the default, minioadmin",
        ),
        _ => anyhow::bail!("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither"),
    };
    let server = EmbeddedServer::start(ServeOptions {
        addr: a.addr,
        data: a.data.clone(),
        buckets: a.buckets.clone(),
        access_key: access_key.clone(),
        secret_key,
    })
    .await?;
    println!("signpost S3 server listening");
    println!("  endpoint:   {}", server.endpoint);
    println!("  region:     any (sign for {})", s3.region);
    println!("  access key: {access_key}");
    println!("  secret key: from {from}");
    println!("  data:       {}", server.data_dir.display());
    if !a.buckets.is_empty() {
        println!("  buckets:    {}", a.buckets.join(", "));
    }
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}
