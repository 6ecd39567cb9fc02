//! `signpost upload`: the runner side from a shell.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use signpost::config::S3Args;
use signpost_upload::{
    Progress, RetryPolicy, RunnerJobCustomUpload, UploadError, UploadOptions, Uploader,
};

#[derive(Args)]
pub struct UploadArgs {
    /// The descriptor: a JSON file, or - for standard input.
    #[arg(long)]
    job: String,
    /// The file to upload.
    path: PathBuf,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Parts uploaded at once (multipart).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Print the result as JSON (status, bytes, seconds, etag, attempts, parts).
    #[arg(long)]
    json: bool,
    /// File name for a POST's file part and ${filename} (default: the path's).
    #[arg(long)]
    file_name: Option<String>,
    /// Content-Type to send (must agree with what was signed).
    #[arg(long)]
    content_type: Option<String>,
    /// Send without pre-flight checks, to hear the server's own verdict.
    #[arg(long)]
    no_preflight: bool,
}

pub async fn run(_s3: &S3Args, a: UploadArgs) -> Result<ExitCode> {
    let text = if a.job == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the descriptor from standard input")?;
        s
    } else {
        std::fs::read_to_string(&a.job)
            .with_context(|| format!("cannot read the descriptor {}", a.job))?
    };
    let job = RunnerJobCustomUpload::from_json(&text)?;
    let uploader = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: a.retries + 1,
            ..RetryPolicy::default()
        })
        .concurrency(a.concurrency)
        .build()?;
    let bar = (!a.no_progress && !a.json && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let progress = bar.clone().map(|b| {
        Arc::new(move |p: Progress| {
            b.set_length(p.total_bytes);
            b.set_position(p.bytes_sent);
        }) as signpost_upload::ProgressFn
    });
    let opts = UploadOptions {
        progress,
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        skip_preflight: a.no_preflight,
    };
    let result = uploader.upload_with(&job, &a.path, &opts).await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(out) => {
            let secs = out.elapsed.as_secs_f64();
            if a.json {
                let v = serde_json::json!({
                    "status": out.status,
                    "bytes": out.bytes,
                    "seconds": secs,
                    "etag": out.etag,
                    "attempts": out.attempts,
                    "parts": out.parts,
                    "location": out.post_response.as_ref().and_then(|p| p.location.clone()),
                    "key": out.post_response.as_ref().and_then(|p| p.key.clone()),
                });
                println!("{v}");
            } else {
                println!(
                    "uploaded {} bytes in {:.2} s ({:.1} MB/s): HTTP {}, {} attempt(s){}{}",
                    out.bytes,
                    secs,
                    out.bytes as f64 / secs.max(1e-9) / 1e6,
                    out.status,
                    out.attempts,
                    out.parts
                        .map(|n| format!(", {n} parts"))
                        .unwrap_or_default(),
                    out.etag.map(|e| format!(", ETag {e}")).unwrap_or_default(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if a.json {
                let v = serde_json::json!({
                    "error": e.to_string(),
                    "status": e.status(),
                    "code": e.s3_code(),
                });
                println!("{v}");
            }
            // An error about the file itself names it already.
            let about_the_file = matches!(
                e,
                UploadError::FileNotFound { .. } | UploadError::NotAFile { .. }
            );
            Err(if about_the_file {
                anyhow::Error::new(e)
            } else {
                anyhow::anyhow!(
                    "{e} (the source file {} was not modified)",
                    a.path.display()
                )
            })
        }
    }
}
