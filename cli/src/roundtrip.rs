//! The round trip: presign, upload, read back, compare, for PUT, POST and multipart, plus the
//! cases a server must refuse. Against the embedded server by default, or any S3 endpoint.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use signpost_presign::{
    Credentials, Endpoint, MultipartPlan, PresignRequest, Presigner, S3Operation,
};
use signpost_upload::{RetryPolicy, RunnerJobCustomUpload, UploadError, UploadOptions, Uploader};
use time::OffsetDateTime;

use crate::fault_proxy::FaultProxy;
use crate::s3;
use crate::server::{EmbeddedServer, ServeOptions};

/// Which uploads to exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Presigned PUT.
    Put,
    /// POST policy form.
    Post,
    /// Presigned multipart upload.
    Multipart,
    /// All three, and the negative cases.
    All,
}

/// What to run against.
#[derive(Clone, Debug)]
pub struct RoundtripOptions {
    /// An S3 endpoint, or `None` for the embedded server.
    pub endpoint: Option<String>,
    /// Region to sign for.
    pub region: String,
    /// Credentials (required with an endpoint; generated for the embedded server).
    pub credentials: Option<Credentials>,
    /// Bucket (created when missing).
    pub bucket: String,
    /// Bytes per test file.
    pub size: u64,
    /// Modes.
    pub mode: Mode,
    /// Multipart part size; default: the smallest of 5 MiB and size/16 rounded up to MiB.
    pub part_size: Option<u64>,
    /// Run the negative cases (default with `all`).
    pub negative: bool,
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    /// The case.
    pub case: String,
    /// What the server answered.
    pub status: String,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Upload throughput, MB/s (10^6 bytes).
    pub mbps: Option<f64>,
    /// Whether the case came out as it must.
    pub passed: bool,
    /// Why, in a few words.
    pub detail: String,
}

/// The whole run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The endpoint used.
    pub endpoint: String,
    /// The rows, in order.
    pub rows: Vec<Row>,
}

impl Report {
    /// Every case passed.
    pub fn passed(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.passed)
    }

    /// The table a person reads.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "endpoint: {}", self.endpoint);
        let _ = writeln!(
            s,
            "{:<34} {:<40} {:>12} {:>9}  verdict",
            "case", "status", "bytes", "MB/s"
        );
        for r in &self.rows {
            let mbps = r.mbps.map_or_else(|| "-".into(), |m| format!("{m:.1}"));
            let verdict = if r.passed { "PASS" } else { "FAIL" };
            let _ = writeln!(
                s,
                "{:<34} {:<40} {:>12} {:>9}  {verdict} {}",
                r.case,
                truncate(&r.status, 40),
                r.bytes,
                mbps,
                r.detail
            );
        }
        let failed = self.rows.iter().filter(|r| !r.passed).count();
        let _ = writeln!(s, "{} passed, {} failed", self.rows.len() - failed, failed);
        s
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes `size` random bytes to `path`, returning their SHA-256.
pub fn write_random_file(path: &Path, size: u64) -> Result<[u8; 32]> {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    let mut rng = fastrand::Rng::new();
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        f.write_all(&buf[..n])?;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    f.flush()?;
    Ok(h.finalize().into())
}

struct Ctx {
    presigner: Presigner,
    uploader: Uploader,
    bucket: String,
    prefix: String,
    file: std::path::PathBuf,
    sha: [u8; 32],
    size: u64,
    endpoint_url: String,
}

impl Ctx {
    fn client(&self) -> &reqwest::Client {
        self.uploader.http_client()
    }

    /// The descriptor travels as JSON, as it would from a platform to a runner.
    fn over_the_wire(job: &RunnerJobCustomUpload) -> Result<RunnerJobCustomUpload> {
        let json = serde_json::to_string(job)?;
        Ok(RunnerJobCustomUpload::from_json(&json)?)
    }

    /// Sends `job` over the wire, then uploads the test file to it; returns when it started.
    async fn upload_timed(
        &self,
        job: &RunnerJobCustomUpload,
    ) -> Result<(signpost_upload::UploadOutcome, Instant)> {
        let job = Self::over_the_wire(job)?;
        let started = Instant::now();
        let out = self.uploader.upload(&job, &self.file).await?;
        Ok((out, started))
    }

    async fn check_back(&self, case: &str, key: &str, status: String, started: Instant) -> Row {
        let secs = started.elapsed().as_secs_f64();
        let mbps = Some(self.size as f64 / secs.max(1e-9) / 1e6);
        match s3::get_sha256(self.client(), &self.presigner, &self.bucket, key).await {
            Ok((n, sha)) if n == self.size && sha == self.sha => Row {
                case: case.into(),
                status,
                bytes: self.size,
                mbps,
                passed: true,
                detail: format!("sha256 {} matches", &hex(&sha)[..12]),
            },
            Ok((n, sha)) => Row {
                case: case.into(),
                status,
                bytes: self.size,
                mbps,
                passed: false,
                detail: format!("read back {n} bytes, sha256 {} differs", &hex(&sha)[..12]),
            },
            Err(e) => fail(case, status, format!("{e:#}")),
        }
    }
}

fn fail(case: &str, status: String, detail: String) -> Row {
    Row {
        case: case.into(),
        status,
        bytes: 0,
        mbps: None,
        passed: false,
        detail,
    }
}

fn describe_err(e: &UploadError) -> String {
    match (e.status(), e.s3_code()) {
        (Some(s), Some(c)) => format!("HTTP {s} {c}"),
        (Some(s), None) => format!("HTTP {s}"),
        _ => "not sent".into(),
    }
}

/// Runs the round trip.
pub async fn run(opts: &RoundtripOptions) -> Result<Report> {
    let (server, endpoint_url, credentials) = match &opts.endpoint {
        Some(url) => {
            let c = opts.credentials.clone().context(
                "an endpoint needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            )?;
            (None, url.clone(), c)
        }
        None => {
            let ak = format!("signpost{}", fastrand::u32(..));
            let sk: String = (0..40).map(|_| fastrand::alphanumeric()).collect();
            let server = EmbeddedServer::start(ServeOptions {
                addr: "127.0.0.1:0".parse()?,
                data: None,
                buckets: vec![opts.bucket.clone()],
                access_key: ak.clone(),
                secret_key: sk.clone(),
            })
            .await?;
            let url = server.endpoint.clone();
            (Some(server), url, Credentials::new(ak, sk))
        }
    };
    let endpoint = Endpoint::custom(&endpoint_url, &opts.region)?;
    let presigner = Presigner::new(credentials, endpoint);
    let uploader = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        })
        .build()?;
    s3::ensure_bucket(uploader.http_client(), &presigner, &opts.bucket).await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("roundtrip.bin");
    let sha = write_random_file(&file, opts.size)?;
    let ctx = Ctx {
        presigner,
        uploader,
        bucket: opts.bucket.clone(),
        prefix: format!(
            "roundtrip/{}",
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ),
        file,
        sha,
        size: opts.size,
        endpoint_url: endpoint_url.clone(),
    };
    let mut report = Report {
        endpoint: match &server {
            Some(_) => format!("{endpoint_url} (embedded s3s-fs server)"),
            None => endpoint_url.clone(),
        },
        rows: Vec::new(),
    };
    let all = opts.mode == Mode::All;
    if all || opts.mode == Mode::Put {
        report.rows.push(put(&ctx).await);
    }
    if all || opts.mode == Mode::Post {
        report.rows.push(post(&ctx).await);
    }
    if all || opts.mode == Mode::Multipart {
        report.rows.push(multipart(&ctx, opts.part_size).await);
        report.rows.push(multipart_abort(&ctx).await);
    }
    if opts.negative || all {
        report.rows.extend(negatives(&ctx).await);
    }
    for key in ["put.bin", "post/roundtrip.bin", "multipart.bin"] {
        s3::delete(
            ctx.client(),
            &ctx.presigner,
            &ctx.bucket,
            &format!("{}/{key}", ctx.prefix),
        )
        .await;
    }
    if let Some(s) = server {
        s.stop().await;
    }
    Ok(report)
}

async fn put(ctx: &Ctx) -> Row {
    let key = format!("{}/put.bin", ctx.prefix);
    let r = async {
        let signed = ctx.presigner.presign(
            &PresignRequest::put_object(&*ctx.bucket, &*key)
                .content_type("video/mp4")
                .meta("signpost-case", "put")
                .expires_in(Duration::from_secs(3600)),
        )?;
        ctx.upload_timed(&signed.to_descriptor()).await
    }
    .await;
    match r {
        Ok((out, started)) => {
            ctx.check_back("put", &key, format!("HTTP {}", out.status), started)
                .await
        }
        Err(e) => fail("put", "error".into(), format!("{e:#}")),
    }
}

async fn post(ctx: &Ctx) -> Row {
    let prefix = format!("{}/post/", ctx.prefix);
    let r = async {
        let form = ctx
            .presigner
            .post_policy(&*ctx.bucket)
            .key_starts_with(&*prefix)
            .content_length_range(ctx.size, ctx.size)
            .content_type("video/mp4")
            .success_action_status(201)
            .expires_in(Duration::from_secs(3600))
            .build()?;
        ctx.upload_timed(&form.to_descriptor()).await
    }
    .await;
    match r {
        Ok((out, started)) => {
            let key = out
                .post_response
                .as_ref()
                .and_then(|p| p.key.clone())
                .unwrap_or_else(|| format!("{prefix}roundtrip.bin"));
            let mut row = ctx
                .check_back("post", &key, format!("HTTP {}", out.status), started)
                .await;
            if out.post_response.is_none() {
                row.passed = false;
                row.detail = format!(
                    "{}; no PostResponse document for success_action_status=201",
                    row.detail
                );
            }
            row
        }
        Err(e) => fail("post", "error".into(), format!("{e:#}")),
    }
}

fn default_part_size(size: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    (size.div_ceil(16).div_ceil(MIB) * MIB).max(5 * MIB)
}

async fn multipart(ctx: &Ctx, part_size: Option<u64>) -> Row {
    let case = "multipart (a part fails twice)";
    let key = format!("{}/multipart.bin", ctx.prefix);
    let part_size = part_size.unwrap_or_else(|| default_part_size(ctx.size));
    let r = async {
        let upload_id = s3::create_multipart(
            ctx.client(),
            &ctx.presigner,
            &ctx.bucket,
            &key,
            Some("video/mp4"),
        )
        .await?;
        let plan = MultipartPlan::new(&*ctx.bucket, &*key, upload_id, part_size, ctx.size.max(1))?;
        let mut job = plan.presign(&ctx.presigner, Duration::from_secs(3600), None)?;
        // The last part goes through a proxy that answers 503 SlowDown twice.
        let mp = job.multipart.as_mut().context("plan without parts")?;
        let victim = mp.parts_needed(ctx.size) as usize;
        let proxy = FaultProxy::start(
            ctx.client().clone(),
            ctx.endpoint_url.clone(),
            2,
            Arc::new(move |m: &str, pq: &str| {
                m == "PUT" && pq.contains(&format!("partNumber={victim}&"))
            }),
        )
        .await?;
        let url = &mut mp.parts[victim - 1];
        *url = url.replacen(&ctx.endpoint_url, &proxy.base, 1);
        let (out, started) = ctx.upload_timed(&job).await?;
        anyhow::Ok((out, started, proxy.failed(), victim))
    }
    .await;
    match r {
        Ok((out, started, failed, victim)) => {
            let status = format!("HTTP {}, {} parts", out.status, out.parts.unwrap_or(0));
            let mut row = ctx.check_back(case, &key, status, started).await;
            if failed != 2 {
                row.passed = false;
                row.detail = format!("part {victim} was failed {failed} times, not 2");
            } else {
                row.detail = format!("{}; part {victim} retried after 2 failures", row.detail);
            }
            row
        }
        Err(e) => fail(case, "error".into(), format!("{e:#}")),
    }
}

async fn multipart_abort(ctx: &Ctx) -> Row {
    let case = "multipart abort leaves nothing";
    let key = format!("{}/aborted.bin", ctx.prefix);
    let r = async {
        let client = ctx.client();
        let p = &ctx.presigner;
        let upload_id = s3::create_multipart(client, p, &ctx.bucket, &key, None).await?;
        let part = p.presign(&PresignRequest::upload_part(
            &*ctx.bucket,
            &*key,
            &*upload_id,
            1,
        ))?;
        let first = s3::send(client, &part, Some(vec![7u8; 1024])).await?;
        anyhow::ensure!(
            first.status == 200,
            "UploadPart before abort: {}",
            first.describe()
        );
        let abort = p.presign(&PresignRequest::abort_multipart_upload(
            &*ctx.bucket,
            &*key,
            &*upload_id,
        ))?;
        let a = s3::send(client, &abort, None).await?;
        anyhow::ensure!(
            a.status == 204 || a.status == 200,
            "AbortMultipartUpload: {}",
            a.describe()
        );
        let after = s3::send(client, &part, Some(vec![7u8; 1024])).await?;
        anyhow::ensure!(
            after.is_s3_refusal(),
            "UploadPart to the aborted upload was not refused: {}",
            after.describe()
        );
        let list = p.presign(&PresignRequest::bucket(
            S3Operation::ListMultipartUploads,
            &*ctx.bucket,
        ))?;
        let l = s3::send(client, &list, None).await?;
        let listed = match l.status {
            200 if l.body.contains(&upload_id) => {
                anyhow::bail!("ListMultipartUploads still lists {upload_id}")
            }
            200 => "not listed by ListMultipartUploads",
            _ => "ListMultipartUploads not implemented by this server",
        };
        anyhow::Ok(format!("{}; {listed}", after.describe()))
    }
    .await;
    match r {
        Ok(detail) => Row {
            case: case.into(),
            status: "aborted".into(),
            bytes: 0,
            mbps: None,
            passed: true,
            detail: format!("part upload refused after abort ({detail})"),
        },
        Err(e) => fail(case, "error".into(), format!("{e:#}")),
    }
}

/// Cases the server must refuse: any 4xx with an S3 error document counts as refused (servers
/// word it differently: AWS and s3s answer 403 AccessDenied for an expired URL, Garage 400
/// InvalidRequest), any 2xx is a failure.
async fn negatives(ctx: &Ctx) -> Vec<Row> {
    let no_preflight = UploadOptions {
        skip_preflight: true,
        ..Default::default()
    };
    // One retry: after a connection the server cut mid-body (it refused before reading), the
    // uploader's second attempt asks first (Expect: 100-continue) and hears the refusal.
    let uploader = match Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
        })
        .build()
    {
        Ok(u) => u,
        Err(e) => return vec![fail("negative cases", "error".into(), e.to_string())],
    };
    let mut rows = Vec::new();
    let p = &ctx.presigner;
    let bucket = &*ctx.bucket;
    let key = format!("{}/refused.bin", ctx.prefix);

    // Each case: a descriptor, sent without pre-flight; the server's verdict is read.
    let mut cases: Vec<(&str, anyhow::Result<RunnerJobCustomUpload>)> = Vec::new();
    cases.push((
        "tampered signature (PUT)",
        (|| {
            let mut job = p
                .presign(&PresignRequest::put_object(bucket, &*key))?
                .to_descriptor();
            let last = job.url.pop().context("empty URL")?;
            job.url.push(if last == '0' { '1' } else { '0' });
            Ok(job)
        })(),
    ));
    cases.push((
        "expired URL (PUT)",
        (|| {
            let at = OffsetDateTime::now_utc() - time::Duration::hours(1);
            Ok(p.presign(
                &PresignRequest::put_object(bucket, &*key)
                    .at(at)
                    .expires_in(Duration::from_secs(60)),
            )?
            .to_descriptor())
        })(),
    ));
    let size = ctx.size;
    cases.push((
        "POST over its size limit",
        (|| {
            let form = p
                .post_policy(bucket)
                .key(&*key)
                .content_length_range(0, size.saturating_sub(1))
                .build()?;
            Ok(form.to_descriptor())
        })(),
    ));
    let allowed = format!("{}/allowed/", ctx.prefix);
    let elsewhere = format!("{}/elsewhere/x.bin", ctx.prefix);
    cases.push((
        "POST key outside its prefix",
        (|| {
            let form = p.post_policy(bucket).key_starts_with(&*allowed).build()?;
            let mut job = form.to_descriptor();
            if let Some(slot) = job.fields.0.iter_mut().find(|(k, _)| k == "key") {
                slot.1 = elsewhere.clone();
            }
            Ok(job)
        })(),
    ));
    for (case, job) in cases {
        let job = match job {
            Ok(j) => j,
            Err(e) => {
                rows.push(fail(case, "error".into(), format!("{e:#}")));
                continue;
            }
        };
        rows.push(
            match uploader.upload_with(&job, &ctx.file, &no_preflight).await {
                Ok(out) => fail(
                    case,
                    format!("HTTP {}", out.status),
                    "accepted: the server must refuse this".into(),
                ),
                Err(e @ UploadError::Refused { .. })
                    if e.status().is_some_and(|s| (400..500).contains(&s))
                        && e.s3_code().is_some() =>
                {
                    Row {
                        case: case.into(),
                        status: describe_err(&e),
                        bytes: 0,
                        mbps: None,
                        passed: true,
                        detail: "refused, as it must be".into(),
                    }
                }
                Err(e) => fail(case, describe_err(&e), format!("not an S3 refusal: {e}")),
            },
        );
    }

    // And signpost's own pre-flight refuses the expired URL without sending a byte.
    let case = "expired URL (runner pre-flight)";
    let at = OffsetDateTime::now_utc() - time::Duration::hours(1);
    rows.push(
        match p.presign(
            &PresignRequest::put_object(bucket, &*key)
                .at(at)
                .expires_in(Duration::from_secs(60)),
        ) {
            Ok(signed) => match uploader.upload(&signed.to_descriptor(), &ctx.file).await {
                Err(UploadError::Expired { .. }) => Row {
                    case: case.into(),
                    status: "not sent".into(),
                    bytes: 0,
                    mbps: None,
                    passed: true,
                    detail: "refused before sending".into(),
                },
                Err(e) => fail(case, describe_err(&e), e.to_string()),
                Ok(out) => fail(
                    case,
                    format!("HTTP {}", out.status),
                    "uploaded an expired URL".into(),
                ),
            },
            Err(e) => fail(case, "error".into(), e.to_string()),
        },
    );
    rows
}
