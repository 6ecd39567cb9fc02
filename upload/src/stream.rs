//! Uploads that are not a file on disk: a stream (standard input, a request body) cut into the
//! parts of a multipart descriptor as it arrives, and bytes held in memory sent with one PUT.
//!
//! A stream cannot be read twice, so each part is held once in memory while it is sent (its MD5
//! goes out as `Content-MD5`, and a retry sends the same bytes again). At most `concurrency`
//! parts exist at once, in flight or being filled: memory is bounded by concurrency × part size,
//! whatever the stream's length. A stream that fails (a read error, more data than the plan has
//! parts for) aborts the multipart upload, so nothing is left behind.

use bytes::{Bytes, BytesMut};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use signpost_wire::s3_xml::{
    CompleteMultipartUpload, CompleteMultipartUploadResult, CompletedPart, ErrorResponse, parse,
};
use signpost_wire::{RunnerJobCustomUpload, UploadMethod};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use crate::body::Payload;
use crate::error::{AbortOutcome, TargetKind, UploadError};
use crate::funnel::{Funnel, Request};
use crate::integrity::{Md5Digest, etags_are_md5, md5_of, multipart_etag, multipart_etag_differs};
use crate::outcome::UploadOutcome;
use crate::plan::{Target, header_map};
use crate::progress::{Meter, ProgressFn};
use crate::uploader::Uploader;

/// Reads up to `size` bytes into `buf` (emptied first): a full part, or what is left before the
/// end of the stream.
async fn read_part<R: AsyncRead + Unpin>(
    r: &mut R,
    mut buf: BytesMut,
    size: usize,
) -> std::io::Result<Bytes> {
    buf.clear();
    buf.reserve(size);
    while buf.len() < size {
        let want = size - buf.len();
        let n = (&mut *r).take(want as u64).read_buf(&mut buf).await?;
        if n == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}

struct Stored {
    number: u32,
    etag: String,
    attempts: u32,
    /// The part's bytes, given back so their buffer is filled again rather than a new one
    /// allocated: a stream's memory stays at `concurrency` buffers.
    bytes: Bytes,
    md5: Md5Digest,
}

impl Uploader {
    /// Uploads what `reader` yields through `job`, a multipart descriptor: parts are cut as data
    /// arrives and sent in parallel, each with its `Content-MD5` and its ETag checked, then
    /// CompleteMultipartUpload, whose ETag is checked against the parts'. `progress` reports
    /// bytes sent (`total_bytes` is 0: a stream's length is not known).
    pub async fn upload_stream<R>(
        &self,
        job: &RunnerJobCustomUpload,
        reader: R,
        progress: Option<ProgressFn>,
    ) -> Result<UploadOutcome, UploadError>
    where
        R: AsyncRead + Unpin,
    {
        self.upload_stream_after(job, Bytes::new(), reader, progress)
            .await
    }

    /// [`upload_stream`](Self::upload_stream) of `first` followed by what `reader` yields, where
    /// `first` (already read, to decide between one PUT and a multipart upload) is either empty
    /// or exactly one part: it becomes part 1 without being copied.
    pub async fn upload_stream_after<R>(
        &self,
        job: &RunnerJobCustomUpload,
        first: Bytes,
        mut reader: R,
        progress: Option<ProgressFn>,
    ) -> Result<UploadOutcome, UploadError>
    where
        R: AsyncRead + Unpin,
    {
        job.validate()?;
        let Some(mp) = &job.multipart else {
            return Err(UploadError::StreamNeedsMultipart);
        };
        let mut now = self.funnel.clock.now();
        let mut funnel = self.funnel.clone();
        let complete = match Target::read(&job.url, TargetKind::Complete, true, now) {
            // This machine's clock may be the one that is off: ask the server's.
            Err(UploadError::Expired { what, expires_at }) => {
                let offset = self.server_offset(job, what, expires_at).await?;
                now += offset;
                funnel = self.funnel.shifted(offset);
                Target::read(&job.url, TargetKind::Complete, true, now)?
            }
            r => r?,
        };
        let abort = Target::read(&mp.abort_url, TargetKind::Abort, true, now)?;
        let part_size = mp.part_size as usize;
        let meter = Meter::new(0, progress);
        let mut running: JoinSet<Result<Stored, (u32, UploadError)>> = JoinSet::new();
        // Each part's MD5, filled in as parts finish (computed in the part's task, off the path
        // that reads the stream).
        let mut digests: Vec<Md5Digest> = Vec::new();
        let mut etags: Vec<Option<String>> = Vec::new();
        let (mut total, mut max_attempts, mut ended) = (0u64, 0u32, false);
        let mut first = (first.len() == part_size).then_some(first);
        let mut spare: Vec<BytesMut> = Vec::new();
        let abort = &abort;
        let funnel_ref = &funnel;
        let fail = |part: u32, parts: u32, e: UploadError| async move {
            UploadError::Part {
                part,
                parts,
                source: Box::new(e),
                abort: abort_upload(funnel_ref, abort).await,
            }
        };
        while !ended || !running.is_empty() {
            while !ended && running.len() < self.concurrency {
                let read = match first.take() {
                    Some(b) => Ok(b),
                    None => {
                        read_part(&mut reader, spare.pop().unwrap_or_default(), part_size).await
                    }
                };
                let bytes = match read {
                    Ok(b) => b,
                    Err(source) => {
                        settle(&mut running).await;
                        let n = digests.len() as u32 + 1;
                        return Err(fail(n, n, UploadError::SourceUnreadable { source }).await);
                    }
                };
                ended = bytes.len() < part_size;
                if bytes.is_empty() && !digests.is_empty() {
                    break;
                }
                let number = digests.len() as u32 + 1;
                let Some(url) = mp.parts.get(number as usize - 1) else {
                    settle(&mut running).await;
                    let e = UploadError::TooLargeForPlan {
                        size: total + bytes.len() as u64,
                        parts: mp.parts.len(),
                        part_size: mp.part_size,
                        capacity: mp.capacity(),
                    };
                    return Err(fail(number, number, e).await);
                };
                let target =
                    Target::read(url, TargetKind::Part(number), true, now).map_err(|e| (number, e));
                total += bytes.len() as u64;
                digests.push([0; 16]);
                etags.push(None);
                let (funnel, meter) = (funnel.clone(), meter.clone());
                running.spawn(async move {
                    let target = target?;
                    let hashed = bytes.clone();
                    let md5 = tokio::task::spawn_blocking(move || md5_of(&hashed))
                        .await
                        .map_err(|e| {
                            let source = std::io::Error::other(e);
                            (number, UploadError::SourceUnreadable { source })
                        })?;
                    // Unique again once the request is dropped, at the end of this task.
                    let given_back = bytes.clone();
                    let request = Request {
                        method: Method::PUT,
                        target: &target,
                        headers: HeaderMap::new(),
                        payload: Payload::Bytes(bytes),
                        expected: &[200],
                        content_md5: Some(md5),
                        check_etag: true,
                        hash_body: false,
                    };
                    let answer = funnel
                        .send(&request, &meter)
                        .await
                        .map_err(|e| (number, e))?;
                    let etag = answer
                        .etag()
                        .ok_or((number, UploadError::MissingETag { part: number }))?;
                    Ok(Stored {
                        number,
                        etag,
                        attempts: answer.attempts,
                        bytes: given_back,
                        md5,
                    })
                });
            }
            let Some(joined) = running.join_next().await else {
                continue;
            };
            let result = joined.unwrap_or_else(|e| {
                Err((
                    0,
                    UploadError::SourceUnreadable {
                        source: std::io::Error::other(e),
                    },
                ))
            });
            match result {
                Ok(s) => {
                    max_attempts = max_attempts.max(s.attempts);
                    etags[s.number as usize - 1] = Some(s.etag);
                    digests[s.number as usize - 1] = s.md5;
                    if let Ok(buf) = s.bytes.try_into_mut() {
                        spare.push(buf);
                    }
                }
                Err((part, e)) => {
                    settle(&mut running).await;
                    return Err(fail(part, digests.len() as u32, e).await);
                }
            }
        }
        let parts: Vec<CompletedPart> = etags
            .into_iter()
            .enumerate()
            .map(|(i, etag)| CompletedPart {
                part_number: i as u32 + 1,
                etag: etag.unwrap_or_default(),
            })
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        let request = Request {
            method: Method::POST,
            target: &complete,
            headers,
            payload: Payload::Bytes(Bytes::from(CompleteMultipartUpload::new(parts).to_xml())),
            expected: &job.expected_status_codes,
            content_md5: None,
            check_etag: false,
            hash_body: false,
        };
        let answer = match funnel.send(&request, &meter).await {
            Ok(a) => a,
            Err(e) => {
                return Err(UploadError::Complete {
                    source: Box::new(e),
                    abort: abort_upload(&funnel, abort).await,
                });
            }
        };
        if let Some(err) = ErrorResponse::parse(&answer.body) {
            return Err(UploadError::Complete {
                source: Box::new(UploadError::CompletedWithError(Box::new(err))),
                abort: abort_upload(&funnel, abort).await,
            });
        }
        let etag = parse::<CompleteMultipartUploadResult>(&answer.body)
            .ok()
            .and_then(|r| r.etag)
            .or_else(|| answer.etag());
        let expected = multipart_etag(&digests);
        if let Some(got) = &etag
            && multipart_etag_differs(got, &expected, digests.len())
        {
            return Err(UploadError::MultipartETagMismatch {
                etag: got.clone(),
                expected,
                parts: digests.len(),
            });
        }
        let mut outcome = UploadOutcome::new(
            answer.status,
            total,
            max_attempts.max(answer.attempts),
            etag,
        );
        outcome.parts = Some(digests.len() as u32);
        outcome.bytes_sent = meter.file_bytes_sent();
        Ok(outcome)
    }

    /// Uploads `bytes`, held in memory, to `job`, a PUT descriptor: one request with its
    /// `Content-MD5`, the ETag checked, retried as the policy allows.
    pub async fn upload_bytes(
        &self,
        job: &RunnerJobCustomUpload,
        bytes: Bytes,
    ) -> Result<UploadOutcome, UploadError> {
        job.validate()?;
        if job.method != UploadMethod::Put || job.multipart.is_some() {
            return Err(UploadError::BytesNeedPut);
        }
        let target = Target::read(
            &job.url,
            TargetKind::PresignedUrl,
            true,
            self.funnel.clock.now(),
        )?;
        let len = bytes.len() as u64;
        let request = Request {
            method: Method::PUT,
            target: &target,
            headers: header_map(&job.headers)?,
            content_md5: Some(md5_of(&bytes)),
            check_etag: etags_are_md5(job.headers.iter()),
            hash_body: false,
            payload: Payload::Bytes(bytes),
            expected: &job.expected_status_codes,
        };
        let meter = Meter::new(len, None);
        let answer = self.funnel.send(&request, &meter).await?;
        let etag = answer.etag();
        let mut outcome = UploadOutcome::new(answer.status, len, answer.attempts, etag);
        outcome.bytes_sent = meter.file_bytes_sent();
        Ok(outcome)
    }
}

/// How long the parts in flight may take to finish before an abort: S3's AbortMultipartUpload
/// page warns that a part still being uploaded when the abort arrives may or may not succeed, so
/// an abort sent beside it can leave storage behind.
pub(crate) const SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Lets the parts in flight finish (at most [`SETTLE`]), then cancels what is left.
async fn settle<T: 'static>(running: &mut JoinSet<T>) {
    let drain = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(SETTLE, drain).await.is_err() {
        running.abort_all();
        while running.join_next().await.is_some() {}
    }
}

/// Calls AbortMultipartUpload and says what became of the upload.
pub(crate) async fn abort_upload(funnel: &Funnel, target: &Target) -> AbortOutcome {
    let request = Request {
        method: Method::DELETE,
        target,
        headers: HeaderMap::new(),
        payload: Payload::Empty,
        expected: &[204, 200],
        content_md5: None,
        check_etag: false,
        hash_body: false,
    };
    match funnel.send(&request, &Meter::new(0, None)).await {
        Ok(_) => AbortOutcome::Aborted,
        Err(e) => AbortOutcome::Failed(Box::new(e)),
    }
}
