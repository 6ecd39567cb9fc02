//! `signpost roundtrip`: the main job.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use signpost::config::S3Args;
use signpost::roundtrip::{Mode, RoundtripOptions, run as run_roundtrip};

#[derive(Args)]
pub struct RoundtripArgs {
    /// Bucket (created when missing).
    #[arg(long, default_value = "signpost-roundtrip")]
    bucket: String,
    /// Bytes per test file.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size, default_value = "8MiB")]
    size: u64,
    /// Which uploads to run; `all` adds the negative cases.
    #[arg(long, value_enum, default_value = "all")]
    mode: Mode,
    /// Multipart part size (default: size/16, at least 5 MiB).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size)]
    part_size: Option<u64>,
    /// Run the negative cases with a single mode too.
    #[arg(long)]
    negative: bool,
    /// Print the report as JSON (README: "--json").
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    s3: S3Args,
}

pub async fn run(a: RoundtripArgs) -> Result<ExitCode> {
    // No endpoint: the embedded server with its own generated credentials.
    let endpoint = a.s3.endpoint_url();
    let s3 = a.s3.resolve().await?;
    let credentials = match &endpoint {
        Some(_) => Some(s3.credentials().await?),
        None => None,
    };
    let report = run_roundtrip(&RoundtripOptions {
        endpoint,
        region: s3.region.clone(),
        credentials,
        bucket: a.bucket,
        size: a.size,
        mode: a.mode,
        part_size: a.part_size,
        negative: a.negative,
        ca_bundle: s3.ca_certificates(),
    })
    .await?;
    if a.json {
        let cases: Vec<_> = report
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "case": r.case,
                    "status": r.status,
                    "bytes": r.bytes,
                    "mbPerSecond": r.mbps,
                    "passed": r.passed,
                    "detail": r.detail,
                })
            })
            .collect();
        signpost::report::emit(&signpost::report::envelope(
            "roundtrip",
            report.passed(),
            serde_json::json!({ "endpoint": report.endpoint, "cases": cases }),
        ));
    } else {
        signpost::report::print_text(&report.table());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
