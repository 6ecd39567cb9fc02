//! `signpost presign put|post|get|multipart`: print upload targets as descriptors.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};
use signpost::config::S3Args;
use signpost_presign::{MultipartPlan, PresignRequest, Presigner, S3Operation, Validity};

#[derive(Subcommand)]
pub enum PresignCommand {
    /// A presigned PUT URL (PutObject), as a descriptor with the headers to send.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Put(PutArgs),
    /// A POST policy form (browser-based upload), as a descriptor with its fields.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Post(PostArgs),
    /// A presigned GET URL, printed alone.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Get(GetArgs),
    /// Starts a multipart upload on the endpoint and prints the descriptor with its part URLs.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Multipart(MultipartArgs),
    /// A presigned ListMultipartUploads URL (the uploads begun and neither completed nor
    /// aborted), printed alone.
    #[command(after_help = signpost::size::UNITS_HELP)]
    ListUploads(ListUploadsArgs),
}

#[derive(Args)]
pub struct ListUploadsArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct Common {
    /// Bucket.
    #[arg(long)]
    bucket: String,
    /// How long the URLs are valid: 1 s to 7d (S3's limit).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::duration, default_value = "1h")]
    expires: Duration,
    /// Sign as of this time (RFC 3339) instead of now.
    #[arg(long, value_parser = super::rfc3339)]
    at: Option<time::OffsetDateTime>,
    /// Refuse, instead of shortening the validity with a warning, when the credentials expire
    /// before the URL would (temporary credentials: a role, a session token).
    #[arg(long)]
    strict_expiry: bool,
    /// A failure as JSON on standard output too (the result is JSON either way: the descriptor,
    /// or {"url": …} for get and list-uploads).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    s3: S3Args,
}

#[derive(Args)]
pub struct PutArgs {
    /// Object key.
    #[arg(long)]
    key: String,
    /// Content-Type the upload must carry (signed).
    #[arg(long)]
    content_type: Option<String>,
    /// User metadata, signed (repeatable).
    #[arg(long = "meta", value_parser = super::key_value)]
    meta: Vec<(String, String)>,
    /// Sign x-amz-checksum-sha256 of this file: S3 then verifies the upload's content.
    #[arg(long, value_name = "FILE")]
    checksum_sha256: Option<std::path::PathBuf>,
    /// Sign Content-Length: the server refuses a body of any other size (and the uploader
    /// refuses another file before sending it).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size)]
    content_length: Option<u64>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct PostArgs {
    /// Exact object key.
    #[arg(
        long,
        conflicts_with = "key_prefix",
        required_unless_present = "key_prefix"
    )]
    key: Option<String>,
    /// Any key under this prefix (the runner's file name is appended).
    #[arg(long)]
    key_prefix: Option<String>,
    /// Smallest accepted file size.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size)]
    min_size: Option<u64>,
    /// Largest accepted file size.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size)]
    max_size: Option<u64>,
    /// Exact Content-Type.
    #[arg(long, conflicts_with = "content_type_prefix")]
    content_type: Option<String>,
    /// Content-Type prefix (e.g. video/).
    #[arg(long)]
    content_type_prefix: Option<String>,
    /// Status S3 answers on success: 200, 201 (with an XML PostResponse) or 204.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["200", "201", "204"]))]
    success_status: Option<String>,
    /// User metadata (repeatable).
    #[arg(long = "meta", value_parser = super::key_value)]
    meta: Vec<(String, String)>,
    /// What to print: the descriptor (json), a page with the form (html), or a curl command.
    #[arg(long, value_enum, default_value = "json")]
    format: FormFormat,
    #[command(flatten)]
    common: Common,
}

/// How `presign post` prints the form.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FormFormat {
    /// The RunnerJobCustomUpload descriptor.
    Json,
    /// An HTML page with the form, the file input last.
    Html,
    /// A curl command, the file last (`-F file=@FILE`).
    Curl,
}

#[derive(Args)]
pub struct GetArgs {
    /// Object key.
    #[arg(long)]
    key: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct MultipartArgs {
    /// Object key.
    #[arg(long)]
    key: String,
    /// Bytes per part (5MiB to 5GiB).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size, default_value = "64MiB")]
    part_size: u64,
    /// Largest file the plan must carry (at most 10,000 parts).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size)]
    max_size: u64,
    /// Content-Type of the object (set when the upload is started).
    #[arg(long, conflicts_with = "upload_id")]
    content_type: Option<String>,
    /// Sign fresh URLs for this existing upload instead of starting one (its earlier URLs
    /// expired; a runner resumes it, sending only the parts the server does not hold).
    #[arg(long)]
    upload_id: Option<String>,
    #[command(flatten)]
    common: Common,
}

impl Common {
    /// `--expires` and `--at`, checked once for whatever is signed.
    fn validity(&self) -> Result<Validity> {
        let v = Validity::expires_in(self.expires)?;
        let v = if self.strict_expiry {
            v.strict_expiry()
        } else {
            v
        };
        Ok(match self.at {
            Some(t) => v.signed_at(t)?,
            None => v,
        })
    }
}

/// A warning when the credentials cut the validity short, before anything is signed or started
/// (strict expiry refuses instead, with the signer's error).
fn warn_if_capped(p: &Presigner, common: &Common) -> Result<()> {
    // A cut means the credentials have an expiry: the one named.
    if p.expiry_cut(&common.validity()?)?.is_some()
        && let Some(end) = p.credentials().and_then(|c| c.expires_at())
    {
        eprintln!(
            "warning: the credentials expire at {}, before the {} asked for: the URLs are valid only until then (S3 refuses them afterwards). Give a shorter --expires, or --strict-expiry to refuse instead",
            signpost_wire::amz_date::format_rfc3339(end),
            signpost::size::describe(common.expires)
        );
    }
    Ok(())
}

/// Which endpoint the URLs are signed for, on standard error: without one, AWS S3, which is
/// easy to miss while a local server runs.
fn say_endpoint(args: &signpost::config::S3Args, s3: &signpost::config::S3Config) -> Result<()> {
    let e = s3.endpoint()?;
    let addressing = match e.addressing() {
        signpost_presign::Addressing::Path => "path style",
        signpost_presign::Addressing::VirtualHosted => "virtual-hosted",
    };
    match args.endpoint_url() {
        Some(_) => eprintln!(
            "signed for {} (region {}, {addressing})",
            e.url(),
            e.region()
        ),
        None => eprintln!(
            "signed for AWS S3 at {} (region {}, {addressing}): no --endpoint, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL is set; for a local server give --endpoint http://127.0.0.1:9000 or the `export AWS_ENDPOINT_URL=` line its banner prints",
            e.url(),
            e.region()
        ),
    }
    Ok(())
}

fn print(job: &signpost_wire::RunnerJobCustomUpload) {
    signpost::report::print_text(&format!("{}\n", job.to_json_pretty()));
}

/// A URL alone, or with `--json` in the command's JSON object.
fn print_url(url: &str, json: bool) {
    if json {
        signpost::report::emit(&signpost::report::success(
            "presign",
            serde_json::json!({ "url": url }),
        ));
    } else {
        signpost::report::print_text(&format!("{url}\n"));
    }
}

impl PresignCommand {
    fn common(&self) -> &Common {
        match self {
            PresignCommand::Put(a) => &a.common,
            PresignCommand::Post(a) => &a.common,
            PresignCommand::Get(a) => &a.common,
            PresignCommand::Multipart(a) => &a.common,
            PresignCommand::ListUploads(a) => &a.common,
        }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.common().json
    }
}

pub async fn run(cmd: PresignCommand) -> Result<ExitCode> {
    let common = cmd.common();
    let json = common.json;
    let s3 = common.s3.resolve().await?;
    let p = s3.presigner().await?;
    warn_if_capped(&p, common)?;
    let endpoint_note = (common.s3.clone(), s3.clone());
    match cmd {
        PresignCommand::Put(a) => {
            let mut req = PresignRequest::put_object(&*a.common.bucket, &*a.key)
                .validity(a.common.validity()?);
            if let Some(n) = a.content_length {
                req = req.content_length(n);
            }
            if let Some(ct) = &a.content_type {
                req = req.content_type(ct);
            }
            for (k, v) in &a.meta {
                req = req.meta(k, v);
            }
            if let Some(f) = &a.checksum_sha256 {
                let mut h = Sha256::new();
                let mut file = std::fs::File::open(f)
                    .with_context(|| format!("cannot read {}", f.display()))?;
                std::io::copy(&mut file, &mut h)?;
                req = req.checksum_sha256(
                    base64::engine::general_purpose::STANDARD.encode(h.finalize()),
                );
            }
            print(&p.presign(&req)?.to_descriptor()?);
        }
        PresignCommand::Post(a) => {
            let mut b = p
                .post_policy(&*a.common.bucket)
                .validity(a.common.validity()?);
            b = match (&a.key, &a.key_prefix) {
                (Some(k), _) => b.key(k),
                (None, Some(pfx)) => b.key_starts_with(pfx),
                (None, None) => anyhow::bail!("give --key or --key-prefix"),
            };
            let post_limit = signpost_wire::limits::MAX_PUT_SIZE;
            if let Some(max) = a.max_size.filter(|m| *m > post_limit) {
                eprintln!(
                    "warning: --max-size {max} is above S3's limit for a POST upload (5 GiB): AWS S3 refuses a larger file whatever the policy allows (EntityTooLarge); for larger files presign a multipart upload (presign multipart)"
                );
            }
            if a.min_size.is_some() || a.max_size.is_some() {
                b = b.content_length_range(a.min_size.unwrap_or(0), a.max_size.unwrap_or(5 << 30));
            }
            if let Some(ct) = &a.content_type {
                b = b.content_type(ct);
            }
            if let Some(ct) = &a.content_type_prefix {
                b = b.content_type_starts_with(ct);
            }
            if let Some(s) = &a.success_status {
                b = b.success_action_status(s.parse()?);
            }
            for (k, v) in &a.meta {
                b = b.meta(k, v);
            }
            let form = b.build()?;
            match a.format {
                FormFormat::Json => print(&form.to_descriptor()),
                FormFormat::Html => {
                    signpost::report::print_text(&signpost::share::html_form(&form))
                }
                FormFormat::Curl => {
                    signpost::report::print_text(&signpost::share::curl_command(&form))
                }
            }
        }
        PresignCommand::Get(a) => {
            let r = p.presign(
                &PresignRequest::get_object(&*a.common.bucket, &*a.key)
                    .validity(a.common.validity()?),
            )?;
            print_url(r.url().as_str(), json);
        }
        PresignCommand::ListUploads(a) => {
            let r = p.presign(
                &PresignRequest::bucket(S3Operation::ListMultipartUploads, &*a.common.bucket)
                    .validity(a.common.validity()?),
            )?;
            print_url(r.url().as_str(), json);
        }
        PresignCommand::Multipart(a) => {
            let validity = a.common.validity()?;
            let plan = |upload_id: &str| {
                MultipartPlan::builder(&*a.common.bucket, &*a.key, upload_id)
                    .part_size(a.part_size)
                    .max_object_size(a.max_size)
            };
            // Everything is checked before an upload is started: a refusal leaves nothing open.
            plan("").check()?;
            p.presign(&PresignRequest::create_multipart_upload(
                &*a.common.bucket,
                &*a.key,
            ))?;
            let (upload_id, started) = match &a.upload_id {
                Some(id) => (id.clone(), false),
                None => {
                    let id = signpost::s3::create_multipart(
                        &s3.caller()?,
                        &p,
                        &a.common.bucket,
                        &a.key,
                        a.content_type.as_deref(),
                    )
                    .await?;
                    (id, true)
                }
            };
            match plan(&upload_id)
                .build()
                .and_then(|plan| plan.presign(&p, validity))
                .map(signpost_presign::PresignedMultipart::into_descriptor)
            {
                Ok(job) => print(&job),
                Err(e) if started => {
                    let abort = p
                        .presign(&PresignRequest::abort_multipart_upload(
                            &*a.common.bucket,
                            &*a.key,
                            &*upload_id,
                        ))
                        .map_err(anyhow::Error::from);
                    let aborted = match abort {
                        Ok(req) => signpost::s3::send(&s3.caller()?, &req, None)
                            .await
                            .is_ok_and(|r| matches!(r.status, 200 | 204)),
                        Err(_) => false,
                    };
                    if aborted {
                        anyhow::bail!("{e}; the multipart upload started for it was aborted");
                    }
                    anyhow::bail!(
                        "{e}; the multipart upload {upload_id} started for it could not be aborted: abort it with a presigned AbortMultipartUpload (or let a lifecycle rule do it)"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    say_endpoint(&endpoint_note.0, &endpoint_note.1)?;
    Ok(ExitCode::SUCCESS)
}
