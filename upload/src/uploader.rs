//! The uploader: plan, then execute.

use std::path::Path;
use std::time::{Duration, Instant};

use signpost_wire::RunnerJobCustomUpload;
use time::OffsetDateTime;

use crate::client::http_client;
use crate::error::{ClientError, UploadError};
use crate::funnel::Funnel;
use crate::outcome::UploadOutcome;
use crate::plan::{Shape, UploadOptions, UploadPlan};
use crate::progress::Meter;
use crate::retry::RetryPolicy;

/// Builds an [`Uploader`].
#[derive(Clone, Debug)]
pub struct UploaderBuilder {
    retry: RetryPolicy,
    concurrency: usize,
    stall_timeout: Duration,
    connect_timeout: Duration,
    expect_continue_timeout: Duration,
}

impl Default for UploaderBuilder {
    fn default() -> Self {
        UploaderBuilder {
            retry: RetryPolicy::default(),
            concurrency: 4,
            stall_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            expect_continue_timeout: Duration::from_secs(1),
        }
    }
}

impl UploaderBuilder {
    /// The retry policy (default: 4 attempts, 250 ms doubling to 20 s, full jitter).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Parts uploaded at once in a multipart upload (default 4, at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// An attempt that sends nothing and receives nothing for this long is abandoned (and
    /// retried). Default 120 s.
    pub fn stall_timeout(mut self, d: Duration) -> Self {
        self.stall_timeout = d;
        self
    }

    /// After a connection failure, retries send `Expect: 100-continue` and hold the body back this
    /// long (default 1 s, as curl), so a server that refuses before reading is heard.
    pub fn expect_continue_timeout(mut self, d: Duration) -> Self {
        self.expect_continue_timeout = d;
        self
    }

    /// Connection set-up limit (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Builds the uploader and its HTTP client (rustls, the platform's certificate verifier,
    /// redirects not followed).
    pub fn build(self) -> Result<Uploader, UploadError> {
        let client = http_client(self.connect_timeout).map_err(UploadError::Client)?;
        Ok(Uploader {
            funnel: Funnel {
                client,
                retry: self.retry,
                stall_timeout: self.stall_timeout,
                expect_continue_timeout: self.expect_continue_timeout,
            },
            concurrency: self.concurrency,
        })
    }
}

/// Uploads files to [`RunnerJobCustomUpload`] targets. Cheap to clone; share one per process.
#[derive(Clone, Debug)]
pub struct Uploader {
    pub(crate) funnel: Funnel,
    pub(crate) concurrency: usize,
}

impl Uploader {
    /// An uploader with the default settings.
    pub fn new() -> Result<Self, UploadError> {
        UploaderBuilder::default().build()
    }

    /// Starts a builder.
    pub fn builder() -> UploaderBuilder {
        UploaderBuilder::default()
    }

    /// Uploads `path` to `job` with default options.
    pub async fn upload(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
    ) -> Result<UploadOutcome, UploadError> {
        self.upload_with(job, path, &UploadOptions::default()).await
    }

    /// Plans (validates the descriptor, checks the file and the target), then executes.
    pub async fn upload_with(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError> {
        let plan = self.plan(job, path, opts)?;
        self.execute(&plan).await
    }

    /// The pre-flight alone: what would be sent, or why S3 would refuse it, judged now.
    pub fn plan(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
        opts: &UploadOptions,
    ) -> Result<UploadPlan, UploadError> {
        UploadPlan::new(job, path.as_ref(), opts, OffsetDateTime::now_utc())
    }

    /// Sends a plan, retrying as the policy allows; the file is checked unchanged at the end.
    pub async fn execute(&self, plan: &UploadPlan) -> Result<UploadOutcome, UploadError> {
        let meter = Meter::new(plan.wire_bytes(), plan.progress.clone());
        let start = Instant::now();
        let f = &self.funnel;
        let mut outcome = match &plan.shape {
            Shape::Put { target, headers } => {
                crate::put::put(f, plan, target, headers, &meter).await?
            }
            Shape::Post {
                target,
                headers,
                framing,
            } => crate::post::post(f, plan, target, headers, framing, &meter).await?,
            Shape::Multipart {
                parts,
                complete,
                abort,
            } => {
                crate::multipart::multipart(
                    f,
                    self.concurrency,
                    plan,
                    parts,
                    complete,
                    abort,
                    &meter,
                )
                .await?
            }
        };
        plan.source.check_unchanged()?;
        outcome.elapsed = start.elapsed();
        Ok(outcome)
    }
}

impl From<ClientError> for UploadError {
    fn from(e: ClientError) -> Self {
        UploadError::Client(e)
    }
}
