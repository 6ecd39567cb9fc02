//! The uploader: plan, then execute.

use crate::error::PreflightError;
use std::path::Path;
use std::time::{Duration, Instant};

use signpost_wire::RunnerJobCustomUpload;
use time::OffsetDateTime;

use crate::client::http_client;
use crate::error::{AbortOutcome, ClientError, TargetKind, UploadError};
use crate::funnel::Funnel;
use crate::multipart::abort_upload;
use crate::multipart::file::FileMultipart;
use crate::outcome::UploadOutcome;
use crate::plan::Target;
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
    clock: crate::Clock,
    ca_bundle: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
}

impl Default for UploaderBuilder {
    fn default() -> Self {
        UploaderBuilder {
            retry: RetryPolicy::default(),
            concurrency: 4,
            stall_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            expect_continue_timeout: Duration::from_secs(1),
            clock: crate::Clock::system(),
            ca_bundle: None,
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

    /// The clock expiries are judged by (default: the system's). When it calls a URL expired,
    /// the server's time is asked before refusing (see [`Clock`](crate::Clock)).
    pub fn clock(mut self, clock: crate::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Trusts only these CA certificates (a [`read_ca_bundle`](crate::read_ca_bundle)'s)
    /// instead of the platform's, as `AWS_CA_BUNDLE` does in the AWS tools: for MinIO or Ceph
    /// behind TLS with a private CA.
    pub fn ca_bundle(mut self, certs: Vec<rustls::pki_types::CertificateDer<'static>>) -> Self {
        self.ca_bundle = Some(certs);
        self
    }

    /// Builds the uploader and its HTTP client (rustls, the platform's certificate verifier or
    /// the CA bundle, redirects not followed, proxies from the environment).
    pub fn build(self) -> Result<Uploader, UploadError> {
        let client = http_client(self.connect_timeout, self.ca_bundle.as_deref())
            .map_err(UploadError::Client)?;
        Ok(Uploader {
            funnel: Funnel {
                client,
                retry: self.retry,
                stall_timeout: self.stall_timeout,
                expect_continue_timeout: self.expect_continue_timeout,
                clock: self.clock,
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
        let path = path.as_ref();
        let plan = match self.plan(job, path, opts) {
            Err(UploadError::Preflight(PreflightError::Expired { what, expires_at }))
                if !opts.skip_preflight =>
            {
                let offset = self.server_offset(job, what, expires_at).await?;
                let now = self.funnel.clock.now() + offset;
                let mut plan = UploadPlan::new(job, path, opts, now)?;
                plan.clock_offset = offset;
                plan
            }
            r => r?,
        };
        self.execute(&plan).await
    }

    /// The pre-flight found `what` expired at `expires_at` by this machine's clock: asks the
    /// server its time. Within S3's 15-minute tolerance of clocks, and when the server's time
    /// says the URL is still valid, the offset to the server's clock; otherwise the refusal,
    /// with both times when the server's is known.
    pub(crate) async fn server_offset(
        &self,
        job: &RunnerJobCustomUpload,
        what: TargetKind,
        expires_at: OffsetDateTime,
    ) -> Result<time::Duration, UploadError> {
        let local = self.funnel.clock.now();
        let expired = UploadError::Preflight(PreflightError::Expired { what, expires_at });
        if local - expires_at > crate::clock::TOLERANCE {
            return Err(expired);
        }
        let Some(server) = crate::clock::server_time(&self.funnel.client, job.url.as_str()).await
        else {
            return Err(expired);
        };
        // The Date header has whole seconds: the local clock is called off only beyond 2 s.
        let offset = server - local;
        if server >= expires_at || offset.abs() <= time::Duration::seconds(2) {
            return Err(UploadError::Preflight(
                PreflightError::ExpiredByServerClock {
                    what,
                    expires_at,
                    server_time: server,
                    local_ahead_secs: -offset.whole_seconds(),
                },
            ));
        }
        tracing::warn!(
            local_ahead_secs = -offset.whole_seconds(),
            "this machine's clock is off from the server's: URL expiries are judged by the server's time"
        );
        Ok(offset)
    }

    /// The pre-flight alone: what would be sent, or why S3 would refuse it, judged now.
    pub fn plan(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
        opts: &UploadOptions,
    ) -> Result<UploadPlan, UploadError> {
        UploadPlan::new(job, path.as_ref(), opts, self.funnel.clock.now())
    }

    /// Sends a plan, retrying as the policy allows; the file is checked unchanged at the end.
    pub async fn execute(&self, plan: &UploadPlan) -> Result<UploadOutcome, UploadError> {
        let meter = Meter::new(plan.wire_bytes(), plan.progress.clone());
        let start = Instant::now();
        let f = &self.funnel.shifted(plan.clock_offset);
        let mut outcome = match &plan.shape {
            Shape::Put {
                target,
                headers,
                digest_given,
                etag_is_md5,
            } => {
                let check = crate::put::Check {
                    digest_given: *digest_given,
                    etag_is_md5: *etag_is_md5,
                };
                crate::put::put(f, plan, target, headers, check, &meter).await?
            }
            Shape::Post {
                target,
                headers,
                framing,
                etag_is_md5,
            } => crate::post::post(f, plan, target, headers, framing, *etag_is_md5, &meter).await?,
            Shape::Multipart {
                parts,
                complete,
                abort,
                list,
                part_size,
            } => {
                let targets = FileMultipart {
                    parts,
                    complete,
                    abort,
                    list: list.as_ref(),
                    part_size: *part_size,
                };
                crate::multipart::file::run(f, self.concurrency, plan, targets, &meter).await?
            }
        };
        plan.source.check_unchanged()?;
        outcome.elapsed = start.elapsed();
        Ok(outcome)
    }
}

impl Uploader {
    /// Aborts `job`'s multipart upload (AbortMultipartUpload) and forgets its journal in
    /// `store`: what `signpost upload --abort` does with an upload that was kept after a failure.
    /// An upload the server no longer has (completed, or aborted already) is not an error.
    pub async fn abort(
        &self,
        job: &RunnerJobCustomUpload,
        store: Option<&dyn crate::ResumeStore>,
    ) -> Result<(), UploadError> {
        job.validate()?;
        let Some(mp) = &job.multipart else {
            return Err(UploadError::Preflight(PreflightError::NotMultipart));
        };
        let target = Target::read(
            &mp.abort_url,
            TargetKind::Abort,
            true,
            self.funnel.clock.now(),
        )?;
        let result = match abort_upload(&self.funnel, &target).await {
            AbortOutcome::Aborted => Ok(()),
            AbortOutcome::Failed(e) if crate::multipart::is_no_such_upload(&e) => Ok(()),
            AbortOutcome::Failed(e) => Err(*e),
        };
        if result.is_ok()
            && let (Some(store), Some(key)) = (store, crate::UploadKey::of(job))
            && let Err(e) = store.remove(&key)
        {
            tracing::warn!(error = %e, "the upload was aborted but its resume journal could not be removed");
        }
        result
    }
}

impl From<ClientError> for UploadError {
    fn from(e: ClientError) -> Self {
        UploadError::Client(e)
    }
}
