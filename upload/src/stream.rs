//! Uploads that are not a file on disk: a stream (standard input, a request body) cut into the
//! parts of a multipart descriptor as it arrives ([`crate::multipart::stream`]), and bytes held
//! in memory sent with one PUT. Both take the same [`UploadOptions`] as a file's upload; what
//! cannot apply to them (a file name, a Content-Type for a multipart upload, keeping a failed
//! upload for a resume that has no bytes to resume from) is refused, never ignored.

use crate::error::PreflightError;
use bytes::Bytes;
use reqwest::Method;
use signpost_wire::{RunnerJobCustomUpload, UploadMethod};
use tokio::io::AsyncRead;

use crate::body::Payload;
use crate::error::{TargetKind, UploadError};
use crate::funnel::Request;
use crate::integrity::{etags_are_md5, md5_of};
use crate::multipart::Executor;
use crate::multipart::stream::{PartUrls, StreamParts};
use crate::options::{Shape, refuse_unused};
use crate::outcome::UploadOutcome;
use crate::part_signer::PartSigner;
use crate::plan::{Target, UploadOptions, header_map};
use crate::progress::Meter;
use crate::uploader::Uploader;

impl Uploader {
    /// Uploads what `reader` yields through `job`, a multipart descriptor: parts are cut as data
    /// arrives and sent in parallel, each with its `Content-MD5` and its ETag checked, then
    /// CompleteMultipartUpload, whose ETag is checked against the parts'. Progress reports bytes
    /// sent (`total_bytes` is 0: a stream's length is not known). A failure aborts the upload: a
    /// stream cannot be read again, so there is nothing to resume from.
    pub async fn upload_stream<R>(
        &self,
        job: &RunnerJobCustomUpload,
        reader: R,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError>
    where
        R: AsyncRead + Unpin,
    {
        self.upload_stream_after(job, Bytes::new(), reader, opts)
            .await
    }

    /// [`upload_stream`](Self::upload_stream) of `first` followed by what `reader` yields, where
    /// `first` (already read, to decide between one PUT and a multipart upload) is either empty
    /// or exactly one part: it becomes part 1 without being copied.
    pub async fn upload_stream_after<R>(
        &self,
        job: &RunnerJobCustomUpload,
        first: Bytes,
        reader: R,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError>
    where
        R: AsyncRead + Unpin,
    {
        self.stream_into(job, None, first, reader, opts).await
    }

    /// [`upload_stream_after`](Self::upload_stream_after) where the parts past those `job`
    /// lists, up to `max_parts` in all, have their URLs signed by `signer` just before each is
    /// sent: a stream of unknown length needs a URL only for the parts it reaches (one is enough
    /// in `job`), and each URL is fresh however long the upload runs. `job`'s Complete and Abort
    /// URLs must last the whole upload. A stream longer than `max_parts` parts fails as
    /// [`PreflightError::TooLargeForPlan`](crate::PreflightError::TooLargeForPlan) and is aborted.
    pub async fn upload_stream_signed<R>(
        &self,
        job: &RunnerJobCustomUpload,
        signer: &dyn PartSigner,
        max_parts: u32,
        first: Bytes,
        reader: R,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError>
    where
        R: AsyncRead + Unpin,
    {
        self.stream_into(job, Some((signer, max_parts)), first, reader, opts)
            .await
    }

    async fn stream_into<R>(
        &self,
        job: &RunnerJobCustomUpload,
        signer: Option<(&dyn PartSigner, u32)>,
        first: Bytes,
        reader: R,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError>
    where
        R: AsyncRead + Unpin,
    {
        job.validate()?;
        let Some(mp) = &job.multipart else {
            return Err(UploadError::Preflight(PreflightError::StreamNeedsMultipart));
        };
        refuse_unused(opts, Shape::Stream)?;
        let check = !opts.skip_preflight;
        let mut now = self.funnel.clock.now();
        let mut funnel = self.funnel.clone();
        let complete = match Target::read(&job.url, TargetKind::Complete, check, now) {
            // This machine's clock may be the one that is off: ask the server's.
            Err(UploadError::Preflight(PreflightError::Expired { what, expires_at })) => {
                let offset = self.server_offset(job, what, expires_at).await?;
                now += offset;
                funnel = self.funnel.shifted(offset);
                Target::read(&job.url, TargetKind::Complete, check, now)?
            }
            r => r?,
        };
        let abort = Target::read(&mp.abort_url, TargetKind::Abort, check, now)?;
        let meter = Meter::new(0, opts.progress.clone());
        let executor = Executor {
            funnel: &funnel,
            complete: &complete,
            abort: &abort,
            expected: &job.expected_status_codes,
            meter: &meter,
            concurrency: self.concurrency,
            window: self.concurrency,
            keep: false,
            journaling: None,
            upload_id: mp.upload_id.as_deref().unwrap_or(""),
        };
        let mut urls = PartUrls::listed(mp);
        if let Some((signer, max_parts)) = signer {
            urls.signer = Some(signer);
            urls.max_parts = max_parts.min(signpost_wire::limits::MAX_PARTS);
        }
        let parts = StreamParts::new(
            reader,
            mp.part_size,
            urls,
            first,
            check,
            now,
            !opts.no_content_md5,
        );
        executor.run(parts, Vec::new(), 0).await
    }

    /// Uploads `bytes`, held in memory, to `job`, a PUT descriptor: one request with its
    /// `Content-MD5` (unless turned off), the ETag checked, retried as the policy allows.
    pub async fn upload_bytes(
        &self,
        job: &RunnerJobCustomUpload,
        bytes: Bytes,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError> {
        job.validate()?;
        if job.method != UploadMethod::Put || job.multipart.is_some() {
            return Err(UploadError::Preflight(PreflightError::BytesNeedPut));
        }
        refuse_unused(opts, Shape::Bytes)?;
        let now = self.funnel.clock.now();
        let target = Target::read(
            &job.url,
            TargetKind::PresignedUrl,
            !opts.skip_preflight,
            now,
        )?;
        let len = bytes.len() as u64;
        let md5 = md5_of(&bytes);
        let (sent, known) = if opts.no_content_md5 {
            (None, Some(md5))
        } else {
            (Some(md5), None)
        };
        let request = Request::new(Method::PUT, &target)
            .headers(header_map(&job.headers)?)
            .with_payload(Payload::Bytes(bytes))
            .expect(&job.expected_status_codes)
            .content_md5(sent)
            .known_md5(known)
            .check_etag(etags_are_md5(job.headers.iter()), false);
        let meter = Meter::new(len, opts.progress.clone());
        let answer = self.funnel.send(&request, &meter).await?;
        let etag = answer.etag();
        let mut outcome = UploadOutcome::new(answer.status, len, answer.attempts, etag);
        outcome.bytes_sent = meter.file_bytes_sent();
        Ok(outcome)
    }
}
