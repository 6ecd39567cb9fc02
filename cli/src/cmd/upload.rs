//! `signpost upload`: the runner side from a shell.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use signpost::config::S3Args;
use signpost_upload::{
    FileResumeStore, OnFailure, Progress, PutDigest, ResumeStore, RetryPolicy,
    RunnerJobCustomUpload, UploadError, UploadOptions, Uploader,
};

#[derive(Args)]
pub struct UploadArgs {
    /// The descriptor: a JSON file, or - for standard input.
    #[arg(long)]
    job: String,
    /// The file to upload, or - for standard input (a multipart descriptor: parts are sent as
    /// the data arrives).
    #[arg(required_unless_present = "abort")]
    path: Option<PathBuf>,
    /// Abort the descriptor's multipart upload (kept after a failure) and forget its journal.
    #[arg(long, conflicts_with = "path")]
    abort: bool,
    /// Where journals of multipart uploads are kept, so an interrupted upload resumes where it
    /// stopped [default: $XDG_STATE_HOME/signpost/uploads, else ~/.local/state/signpost/uploads].
    #[arg(long, env = "SIGNPOST_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// After retries run out: keep a multipart upload to resume it later, or abort it
    /// [default: keep a file's upload; a stream's (standard input) is always aborted, as it
    /// cannot be read again].
    #[arg(long, value_enum)]
    on_failure: Option<OnFailureArg>,
    /// Do not send Content-MD5 (for a server that refuses it); ETags are still checked.
    #[arg(long)]
    no_content_md5: bool,
    /// A single PUT's MD5: hashed before sending (the server refuses damaged bytes), while
    /// sending (one read; the ETag is compared and the file sent again on a mismatch), or auto
    /// (before up to 64 MiB, while above).
    #[arg(long, value_enum, default_value_t = PutDigestArg::Auto)]
    put_digest: PutDigestArg,
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

#[derive(Clone, Copy, ValueEnum)]
enum OnFailureArg {
    Keep,
    Abort,
}

#[derive(Clone, Copy, ValueEnum)]
enum PutDigestArg {
    Auto,
    First,
    WhileSending,
}

pub async fn run(s3: &S3Args, a: UploadArgs) -> Result<ExitCode> {
    let stdin_data = a.path.as_deref() == Some(std::path::Path::new("-"));
    if stdin_data && a.job == "-" {
        anyhow::bail!(
            "the descriptor and the data cannot both come from standard input: give the descriptor as a file (--job job.json)"
        );
    }
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
    let store = match &a.state_dir {
        Some(d) => Some(FileResumeStore::new(d)),
        None => FileResumeStore::in_state_dir(),
    };
    let mut builder = Uploader::builder();
    // The only S3 argument an upload uses: the URLs carry the rest.
    if let Some(bundle) = s3.read_ca_bundle()? {
        builder = builder.ca_bundle(bundle.certificates);
    }
    let uploader = builder
        .retry(RetryPolicy {
            max_attempts: a.retries + 1,
            ..RetryPolicy::default()
        })
        .concurrency(a.concurrency)
        .build()?;
    if a.abort {
        uploader
            .abort(&job, store.as_ref().map(|s| s as &dyn ResumeStore))
            .await?;
        if a.json {
            println!("{}", serde_json::json!({ "aborted": true }));
        } else {
            println!("the multipart upload was aborted: the server holds none of its parts");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = a.path.clone().unwrap_or_default();
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
        progress: progress.clone(),
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        skip_preflight: a.no_preflight,
        resume: store.map(|s| Arc::new(s) as Arc<dyn ResumeStore>),
        // Without the flag the upload is kept when it can be resumed: a file's, with its
        // journal in the state directory.
        on_failure: match a.on_failure {
            Some(OnFailureArg::Keep) => OnFailure::Keep,
            Some(OnFailureArg::Abort) => OnFailure::Abort,
            None => OnFailure::KeepIfResumable,
        },
        no_content_md5: a.no_content_md5,
        put_digest: match a.put_digest {
            PutDigestArg::Auto => PutDigest::Auto,
            PutDigestArg::First => PutDigest::First,
            PutDigestArg::WhileSending => PutDigest::WhileSending,
        },
    };
    let result = if stdin_data {
        uploader
            .upload_stream(&job, tokio::io::stdin(), &opts)
            .await
    } else {
        uploader.upload_with(&job, &path, &opts).await
    };
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
                    "partsReused": out.parts_reused,
                    "bytesSent": out.bytes_sent,
                    "location": out.post_response.as_ref().and_then(|p| p.location.clone()),
                    "key": out.post_response.as_ref().and_then(|p| p.key.clone()),
                });
                println!("{v}");
            } else {
                println!(
                    "uploaded {} bytes in {:.2} s ({:.1} MB/s): HTTP {}, {} attempt(s){}{}{}",
                    out.bytes,
                    secs,
                    out.bytes_sent as f64 / secs.max(1e-9) / 1e6,
                    out.status,
                    out.attempts,
                    out.parts
                        .map(|n| format!(", {n} parts"))
                        .unwrap_or_default(),
                    if out.parts_reused > 0 {
                        format!(
                            " ({} already stored by an earlier run, not sent again)",
                            out.parts_reused
                        )
                    } else {
                        String::new()
                    },
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
            // The library names the remedy; the command names its flags.
            let e_text = format!("{e}{}", signpost::remedy::suffix(&e, Some(&a.job)));
            // An error about the file itself names it already.
            let about_the_file = matches!(
                e,
                UploadError::Preflight(signpost_upload::PreflightError::FileNotFound { .. })
                    | UploadError::Preflight(signpost_upload::PreflightError::NotAFile { .. })
            );
            Err(if about_the_file || stdin_data {
                anyhow::anyhow!("{}", e_text)
            } else {
                anyhow::anyhow!(
                    "{e_text} (the source file {} was not modified)",
                    path.display()
                )
            })
        }
    }
}
