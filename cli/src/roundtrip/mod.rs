//! The round trip: presign, upload, read back, compare, for PUT, POST and multipart, plus the
//! cases a server must refuse. Against the embedded server by default, or any S3 endpoint.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use signpost_presign::{Credentials, Endpoint, Presigner, Validity};
use signpost_upload::{RetryPolicy, RunnerJobCustomUpload, UploadError, Uploader};
use time::OffsetDateTime;

use crate::s3;
use signpost_serve::server::{EmbeddedServer, ServeOptions};

mod refusals;
mod uploads;

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
    /// Trust only these certificate authorities for an HTTPS endpoint (`None`: the platform's),
    /// in every call the round trip makes: uploads, bucket checks, reads back.
    pub ca_bundle: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
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
    client: reqwest::Client,
    bucket: String,
    prefix: String,
    file: std::path::PathBuf,
    sha: [u8; 32],
    size: u64,
    endpoint_url: String,
    ca_bundle: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
}

/// An uploader retrying as `retry`, trusting `ca_bundle` when given.
fn uploader_with(
    retry: RetryPolicy,
    ca_bundle: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<Uploader, signpost_upload::UploadError> {
    let mut b = Uploader::builder().retry(retry);
    if let Some(ca) = ca_bundle {
        b = b.ca_bundle(ca.to_vec());
    }
    b.build()
}

impl Ctx {
    fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// An hour, from now: every target of the run.
    fn validity() -> Result<Validity> {
        Ok(Validity::expires_in(Duration::from_secs(3600))?)
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
        match s3::get_sha256(&self.uploader, &self.presigner, &self.bucket, key).await {
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
                buckets: vec![opts.bucket.clone()],
                region: opts.region.clone(),
                ..ServeOptions::new("127.0.0.1:0".parse()?, ak.clone(), sk.clone())
            })
            .await?;
            let url = server.endpoint.clone();
            (Some(server), url, Credentials::new(ak, sk))
        }
    };
    let endpoint = Endpoint::custom(&endpoint_url, &opts.region)?;
    let presigner = Presigner::new(credentials, endpoint);
    let uploader = uploader_with(
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        },
        opts.ca_bundle.as_deref(),
    )?;
    let client = crate::http::client_with(opts.ca_bundle.as_deref())?;
    s3::ensure_bucket(&uploader, &presigner, &opts.bucket).await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("roundtrip.bin");
    let sha = write_random_file(&file, opts.size)?;
    let ctx = Ctx {
        presigner,
        uploader,
        client,
        bucket: opts.bucket.clone(),
        prefix: format!(
            "roundtrip/{}",
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ),
        file,
        sha,
        size: opts.size,
        endpoint_url: endpoint_url.clone(),
        ca_bundle: opts.ca_bundle.clone(),
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
        report.rows.push(uploads::put(&ctx).await);
    }
    if all || opts.mode == Mode::Post {
        report.rows.push(uploads::post(&ctx).await);
    }
    if all || opts.mode == Mode::Multipart {
        report
            .rows
            .push(uploads::multipart(&ctx, opts.part_size).await);
        report.rows.push(uploads::multipart_abort(&ctx).await);
    }
    if opts.negative || all {
        report.rows.extend(refusals::negatives(&ctx).await);
    }
    for key in ["put.bin", "post/roundtrip.bin", "multipart.bin"] {
        s3::delete(
            &ctx.uploader,
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
