//! `signpost inspect` (no credentials) and `signpost verify` (with them).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use signpost::config::{CredentialArgs, S3Args, TlsArgs};
use signpost::inspect::{inspect, load, render};
use signpost_presign::{Verifier, VerifyError};
use signpost_wire::{RunnerJobCustomUpload, UploadMethod};
use time::OffsetDateTime;

#[derive(Args)]
pub struct InspectArgs {
    /// A descriptor (JSON file, or - for standard input), or a presigned URL.
    target: String,
    /// Print the inspection as JSON (README: "--json").
    #[arg(long)]
    pub json: bool,
}

pub fn inspect_cmd(a: InspectArgs) -> Result<ExitCode> {
    let job = load(&a.target)?;
    let i = inspect(&job, OffsetDateTime::now_utc());
    if a.json {
        signpost::report::emit(&signpost::report::envelope(
            "inspect",
            i.findings.is_empty(),
            serde_json::to_value(&i)?,
        ));
    } else {
        signpost::report::print_text(&render(&i));
    }
    // Exit 0 when nothing stands in the way of an upload.
    Ok(if i.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn header(s: &str) -> Result<(String, String), String> {
    s.split_once(':')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .ok_or_else(|| format!("{s:?} is not 'Name: value'"))
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A descriptor (JSON file, or - for standard input), or a presigned URL.
    target: String,
    /// The method the request is sent with (default: the descriptor's).
    #[arg(long)]
    method: Option<String>,
    /// A header the request is sent with, besides the descriptor's and Host (repeatable).
    #[arg(long = "header", value_parser = header)]
    headers: Vec<(String, String)>,
    /// For a POST form: the uploaded file's name, substituted for ${filename} in its key.
    #[arg(long, default_value = "file")]
    file_name: String,
    /// Print the verdicts as JSON (README: "--json").
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    credentials: CredentialArgs,
    #[command(flatten)]
    tls: TlsArgs,
}

/// The verdicts, printed as they come (text) or gathered for one JSON object.
struct Verdicts {
    json: bool,
    checks: Vec<serde_json::Value>,
}

impl Verdicts {
    fn report(&mut self, what: &str, r: &Result<(), VerifyError>) {
        if self.json {
            self.checks.push(match r {
                Ok(()) => serde_json::json!({ "what": what, "accepted": true }),
                Err(e) => serde_json::json!({
                    "what": what,
                    "accepted": false,
                    "status": e.status(),
                    "s3Code": e.s3_code(),
                    "reason": e.to_string(),
                }),
            });
            return;
        }
        signpost::report::print_text(&match r {
            Ok(()) => format!(
                "{what}: accepted (signature, expiry, scope and headers as S3 checks them)\n"
            ),
            Err(e) => format!("{what}: refused, {} {}: {e}\n", e.status(), e.s3_code()),
        });
    }
}

fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[..rest.find(['/', '?']).unwrap_or(rest.len())].to_owned()
}

pub async fn verify_cmd(a: VerifyArgs) -> Result<ExitCode> {
    // No endpoint: the URL names its host; the credentials and the region are what is checked.
    let s3 = S3Args {
        credentials: a.credentials.clone(),
        tls: a.tls.clone(),
        ..S3Args::default()
    }
    .resolve()
    .await?;
    let verifier = Verifier::new(s3.credentials().await?, s3.region.clone());
    let job: RunnerJobCustomUpload = load(&a.target)?;
    let now = OffsetDateTime::now_utc();
    let presigned = |method: &str, url: &str, extra: &[(String, String)]| {
        let mut h: Vec<(String, String)> = extra.to_vec();
        if !h.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            h.push(("Host".into(), authority(url)));
        }
        let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        verifier
            .verify_presigned(method, url, &refs, now)
            .map(|_| ())
    };
    let mut ok = true;
    let mut v = Verdicts {
        json: a.json,
        checks: Vec::new(),
    };
    if let Some(mp) = &job.multipart {
        let mut first_refusal = None;
        for (i, part) in mp.parts.iter().enumerate() {
            if let Err(e) = presigned("PUT", part, &a.headers) {
                first_refusal.get_or_insert((i + 1, e));
            }
        }
        match first_refusal {
            None => v.report(&format!("{} part URLs", mp.parts.len()), &Ok(())),
            Some((n, e)) => {
                ok = false;
                v.report(&format!("part {n} (the first refused)"), &Err(e));
            }
        }
        for (what, method, url) in [
            ("CompleteMultipartUpload URL", "POST", job.url.as_str()),
            ("AbortMultipartUpload URL", "DELETE", mp.abort_url.as_str()),
        ] {
            let r = presigned(method, url, &a.headers);
            ok &= r.is_ok();
            v.report(what, &r);
        }
    } else if job.method == UploadMethod::Post && a.method.is_none() {
        let fields: Vec<(String, String)> = job
            .fields
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("key") {
                    v.replace("${filename}", &a.file_name)
                } else {
                    v.to_owned()
                };
                (k.to_owned(), v)
            })
            .collect();
        let r = verifier
            .verify_post(
                job.url.as_str(),
                fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                now,
            )
            .map(|_| ());
        ok = r.is_ok();
        v.report("POST form", &r);
    } else {
        let method = a
            .method
            .clone()
            .unwrap_or_else(|| job.method.as_str().to_owned());
        let mut headers: Vec<(String, String)> = job
            .headers
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        headers.extend(a.headers.iter().cloned());
        let r = presigned(&method, job.url.as_str(), &headers);
        ok = r.is_ok();
        v.report(&format!("{method} request"), &r);
    }
    if a.json {
        signpost::report::emit(&signpost::report::envelope(
            "verify",
            ok,
            serde_json::json!({ "checks": v.checks }),
        ));
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
