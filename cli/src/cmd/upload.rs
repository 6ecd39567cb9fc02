//! `signpost upload`: the runner side from a shell.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use signpost::config::TlsArgs;
use signpost::report;
use signpost_upload::{
    ErrorKind, FileResumeStore, OnFailure, Progress, PutDigest, ResumeStore, RetryPolicy,
    RunnerJobCustomUpload, UploadKey, UploadOptions, Uploader,
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
    /// Print the result as JSON, a failure too (README: "--json").
    #[arg(long)]
    pub json: bool,
    /// File name for a POST's file part and ${filename} (default: the path's).
    #[arg(long)]
    file_name: Option<String>,
    /// Content-Type to send (must agree with what was signed).
    #[arg(long)]
    content_type: Option<String>,
    /// Send without pre-flight checks, to hear the server's own verdict.
    #[arg(long)]
    no_preflight: bool,
    #[command(flatten)]
    tls: TlsArgs,
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

pub async fn run(a: UploadArgs) -> Result<ExitCode> {
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
    // The only connection option an upload takes: the URLs carry the endpoint, the region and
    // the signature.
    if let Some(bundle) = a.tls.read()? {
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
        if let Err(e) = uploader
            .abort(&job, store.as_ref().map(|s| s as &dyn ResumeStore))
            .await
        {
            let mut line = format!("{e}{}", signpost::remedy::suffix(&e, Some(&a.job)));
            if matches!(e.kind(), ErrorKind::Expired | ErrorKind::NeedsNewTarget) {
                line.push_str(&fresh_abort_hint(&job));
            }
            let json = report::failure("upload", &e, &line);
            return Err(report::Failed {
                line,
                json,
                exit: 1,
            }
            .into());
        }
        if a.json {
            report::emit(&report::success(
                "upload",
                serde_json::json!({ "aborted": true }),
            ));
        } else {
            report::print_text(
                "the multipart upload was aborted: the server holds none of its parts\n",
            );
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
    // What was sent so far, for the bar and for what an interruption reports.
    let sent = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let progress = {
        let (bar, sent) = (bar.clone(), Arc::clone(&sent));
        Some(Arc::new(move |p: Progress| {
            sent.0.store(p.bytes_sent, Ordering::Relaxed);
            sent.1.store(p.total_bytes, Ordering::Relaxed);
            if let Some(b) = &bar {
                b.set_length(p.total_bytes);
                b.set_position(p.bytes_sent);
            }
        }) as signpost_upload::ProgressFn)
    };
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
    let work = async {
        if stdin_data {
            uploader
                .upload_stream(&job, tokio::io::stdin(), &opts)
                .await
        } else {
            uploader.upload_with(&job, &path, &opts).await
        }
    };
    // Ctrl-C or SIGTERM: stop sending (the parts in flight are cut; those the server confirmed
    // are in the journal), then say what is stored and how to go on.
    let signals = super::receiver::shutdown_signal();
    let result = tokio::select! {
        r = work => r,
        s = signals => {
            if let Some(b) = &bar {
                b.abandon();
            }
            let signal = s?;
            let gone_with = Interrupted {
                signal,
                job: &job,
                args: &a,
                path: &path,
                stdin_data,
                store: opts.resume.clone(),
                abort: stdin_data || matches!(a.on_failure, Some(OnFailureArg::Abort)),
                whole_body_sent: {
                    let (done, total) = (sent.0.load(Ordering::Relaxed), sent.1.load(Ordering::Relaxed));
                    total > 0 && done >= total
                },
            };
            return Err(gone_with.report(&uploader).await.into());
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(out) => {
            let secs = out.elapsed.as_secs_f64();
            if a.json {
                report::emit(&report::success(
                    "upload",
                    serde_json::to_value(&out).unwrap_or_default(),
                ));
            } else {
                let rate = out.bytes_sent as f64 / secs.max(1e-9) / 1e6;
                let sent = if out.bytes_sent == out.bytes {
                    format!(
                        "uploaded {} bytes in {secs:.2} s ({rate:.1} MB/s)",
                        out.bytes
                    )
                } else {
                    format!(
                        "uploaded {} bytes, {} of them sent in this run in {secs:.2} s ({rate:.1} MB/s)",
                        out.bytes, out.bytes_sent
                    )
                };
                report::print_text(&format!(
                    "{sent}: HTTP {}, {} attempt(s){}{}{}\n",
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
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // The library names the remedy; the command names its flags.
            let e_text = format!("{e}{}", signpost::remedy::suffix(&e, Some(&a.job)));
            // An error about the file itself (missing, unreadable, changed) names it already,
            // and saying it was not modified would contradict a change.
            let about_the_file =
                matches!(e.kind(), ErrorKind::FileUnreadable | ErrorKind::FileChanged);
            let line = if about_the_file || stdin_data {
                e_text
            } else {
                format!(
                    "{e_text} (the source file {} was not modified)",
                    path.display()
                )
            };
            let json = report::failure("upload", &e, &line);
            Err(report::Failed {
                line,
                json,
                exit: 1,
            }
            .into())
        }
    }
}

/// A shell word, quoted when it needs to be.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What to do when the descriptor's AbortMultipartUpload URL no longer works.
fn fresh_abort_hint(job: &RunnerJobCustomUpload) -> String {
    let Some(k) = UploadKey::of(job) else {
        return String::new();
    };
    format!(
        ". Its URLs no longer work: abort upload {id} (of {object}) with fresh ones. With the credentials at hand: signpost presign multipart --bucket BUCKET --key KEY --upload-id {id} --max-size 5MiB | signpost upload --abort --job -; else ask the job server for a fresh descriptor of upload {id} (signpost presign multipart --upload-id {id} on its side) and run signpost upload --abort --job NEW.json",
        id = shell_word(&k.upload_id),
        object = k.object,
    )
}

/// An upload stopped by a signal, and what it left.
struct Interrupted<'a> {
    signal: &'static str,
    job: &'a RunnerJobCustomUpload,
    args: &'a UploadArgs,
    path: &'a std::path::Path,
    stdin_data: bool,
    store: Option<Arc<dyn ResumeStore>>,
    /// Abort the multipart upload instead of keeping it (standard input, `--on-failure abort`).
    abort: bool,
    /// Every byte of a PUT or POST was handed to the connection before the signal.
    whole_body_sent: bool,
}

impl Interrupted<'_> {
    /// The one line (and JSON) saying what is stored and how to resume or abort; exit 130
    /// after SIGINT, 143 after SIGTERM (128 + the signal's number, as shells report them).
    async fn report(self, uploader: &Uploader) -> report::Failed {
        let exit = if self.signal == "SIGTERM" { 143 } else { 130 };
        let mut fields = serde_json::Map::new();
        let line = match (&self.job.multipart, UploadKey::of(self.job)) {
            (Some(_), Some(key)) if self.abort => {
                let why = if self.stdin_data {
                    "standard input cannot be read again"
                } else {
                    "--on-failure abort"
                };
                match uploader.abort(self.job, self.store.as_deref()).await {
                    Ok(()) => {
                        fields.insert("aborted".into(), true.into());
                        format!(
                            "interrupted by {}: the multipart upload {} was aborted ({why}): the server holds none of its parts",
                            self.signal, key.upload_id
                        )
                    }
                    Err(e) => format!(
                        "interrupted by {}: the multipart upload {} could not be aborted ({e}): abort it with signpost upload --abort --job {}",
                        self.signal,
                        key.upload_id,
                        shell_word(&self.args.job)
                    ),
                }
            }
            (Some(_), Some(key)) => {
                fields.insert("uploadId".into(), key.upload_id.clone().into());
                let journal = self
                    .store
                    .as_ref()
                    .and_then(|s| s.load(&key).ok().flatten());
                let (parts, bytes) = journal.as_ref().map_or((0, 0), |j| {
                    (j.parts.len(), j.parts.values().map(|p| p.len).sum::<u64>())
                });
                fields.insert("partsStored".into(), parts.into());
                fields.insert("bytesStored".into(), bytes.into());
                let total = std::fs::metadata(self.path).map(|m| m.len()).ok();
                let of = match (total, journal.as_ref().map(|j| j.header.part_size)) {
                    (Some(t), Some(ps)) if ps > 0 => format!(" of {}", t.div_ceil(ps).max(1)),
                    _ => String::new(),
                };
                let recorded = match (&self.store, journal.is_some()) {
                    (Some(_), true) => "recorded in its journal".to_owned(),
                    (Some(_), false) => "no part was confirmed yet".to_owned(),
                    (None, _) => "no journal is kept (no state directory): a resume asks the server which parts it holds".to_owned(),
                };
                let state = self
                    .args
                    .state_dir
                    .as_ref()
                    .map(|d| format!(" --state-dir {}", shell_word(&d.to_string_lossy())))
                    .unwrap_or_default();
                format!(
                    "interrupted by {}: the multipart upload {} is kept with {parts}{of} parts stored ({bytes} bytes), {recorded}. Resume it (only the missing parts are sent): signpost upload{state} --job {} {}; or abort it: signpost upload{state} --abort --job {}",
                    self.signal,
                    key.upload_id,
                    shell_word(&self.args.job),
                    shell_word(&self.path.to_string_lossy()),
                    shell_word(&self.args.job),
                )
            }
            _ if self.whole_body_sent => format!(
                "interrupted by {}: the whole body was sent but no answer came, so the server may or may not have stored it; run the same command again to be sure (a {} replaces the object)",
                self.signal,
                self.job.method.as_str()
            ),
            _ => format!(
                "interrupted by {}: nothing was stored (a {} stores the object only once the whole body has arrived, and it was cut before); run the same command again to upload it",
                self.signal,
                self.job.method.as_str()
            ),
        };
        let message = line.clone();
        let mut err = serde_json::Map::new();
        err.insert("kind".into(), "interrupted".into());
        err.insert("message".into(), message.into());
        err.insert("signal".into(), self.signal.into());
        err.extend(fields);
        let json = report::envelope(
            "upload",
            false,
            serde_json::json!({ "error": serde_json::Value::Object(err) }),
        );
        report::Failed { line, json, exit }
    }
}
