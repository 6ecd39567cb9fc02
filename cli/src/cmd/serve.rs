//! `signpost serve`: the embedded S3 server, for local development without MinIO.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use signpost::config::S3Args;
use signpost::server::{CorsOrigins, EmbeddedServer, ServeOptions};

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
        cors: CorsOrigins::from_args(&a.cors_origins),
        s3s_post_forms: false,
    })
    .await?;
    println!("signpost S3 server listening");
    println!("  endpoint:   {}", server.endpoint);
    println!("  region:     any (sign for {})", s3.region().await);
    println!("  access key: {access_key}");
    println!("  secret key: from {from}");
    println!("  data:       {}", server.data_dir.display());
    println!(
        "  CORS:       {}",
        match CorsOrigins::from_args(&a.cors_origins) {
            CorsOrigins::Loopback => "loopback origins (--cors-origin to change)".to_owned(),
            CorsOrigins::Any => "any origin".to_owned(),
            CorsOrigins::List(l) => l.join(", "),
        }
    );
    if !a.buckets.is_empty() {
        println!("  buckets:    {}", a.buckets.join(", "));
    }
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}
