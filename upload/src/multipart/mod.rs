//! One executor for every multipart upload. Its parts come from a [`PartSource`]: byte ranges of
//! a file ([`file`]), or chunks of a stream cut as they arrive ([`stream`]). Each part is sent
//! through the funnel with its `Content-MD5` (or hashed as it is sent), its ETag checked and
//! retried alone; then CompleteMultipartUpload with every part's ETag, whose answer is checked
//! against `md5(concat(part MD5s))-N` unless the server says the object is encrypted with SSE-KMS
//! or SSE-C (whose ETags are not MD5s).
//!
//! When retries run out, an upload that can be resumed is kept for the next run and the error
//! says so; otherwise the parts in flight settle and AbortMultipartUpload is called, so nothing
//! is left behind, and the error says what became of the upload.

pub(crate) mod file;
pub(crate) mod stream;

use crate::error::MultipartError;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;
use signpost_wire::s3_xml::{
    CompleteMultipartUpload, CompleteMultipartUploadResult, CompletedPart, ErrorResponse,
    S3ErrorCode, parse,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::body::Payload;
use crate::error::{AbortOutcome, UploadError};
use crate::funnel::{Answer, Funnel, Request};
use crate::integrity::{md5_of, md5_of_range, multipart_etag, multipart_etag_differs};
use crate::outcome::UploadOutcome;
use crate::plan::Target;
use crate::progress::Meter;
use crate::resume::{Held, Journaling};

/// How long the parts in flight may take to finish before an abort: S3's AbortMultipartUpload
/// page warns that a part still being uploaded when the abort arrives may or may not succeed, so
/// an abort sent beside it can leave storage behind.
pub(crate) const SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

/// One part to send.
pub(crate) struct PartJob {
    pub(crate) number: u32,
    /// Its byte range in the object (journaled for a file).
    pub(crate) offset: u64,
    pub(crate) target: Target,
    pub(crate) payload: Payload,
    /// Send `Content-MD5` (worked out before sending); otherwise a file's bytes are hashed as
    /// they are sent and only the ETag is compared.
    pub(crate) send_md5: bool,
}

/// Where the parts come from, in order.
pub(crate) trait PartSource {
    /// The next part to send, or `None` at the end; an error ends the upload (and aborts it).
    fn next(&mut self) -> impl Future<Output = Result<Option<PartJob>, UploadError>>;
    /// A sent part's bytes, given back so their buffer can be filled again.
    fn recycle(&mut self, _bytes: Bytes) {}
    /// Checked before CompleteMultipartUpload: never complete from a file that changed.
    fn check_unchanged(&self) -> Result<(), UploadError> {
        Ok(())
    }
    /// The object's size (known once the source has ended).
    fn bytes(&self) -> u64;
}

/// What one stored part reports.
struct Stored {
    number: u32,
    offset: u64,
    len: u64,
    held: Held,
    attempts: u32,
    bytes: Option<Bytes>,
}

/// Everything the executor shares across parts.
pub(crate) struct Executor<'a> {
    pub(crate) funnel: &'a Funnel,
    pub(crate) complete: &'a Target,
    pub(crate) abort: &'a Target,
    pub(crate) expected: &'a [u16],
    pub(crate) meter: &'a Meter,
    /// Parts sent at once.
    pub(crate) concurrency: usize,
    /// Parts started at once: sending, or being hashed before they are sent.
    pub(crate) window: usize,
    /// Keep the upload for a later run when retries run out (else abort it).
    pub(crate) keep: bool,
    pub(crate) journaling: Option<&'a Journaling>,
    pub(crate) upload_id: &'a str,
}

impl Executor<'_> {
    /// Sends what `source` yields into `held` (the parts already stored, by index; grown as
    /// parts arrive), then completes the upload and checks its ETag.
    pub(crate) async fn run<S: PartSource>(
        &self,
        mut source: S,
        mut held: Vec<Option<Held>>,
        reused: u32,
    ) -> Result<UploadOutcome, UploadError> {
        let hashing = Arc::new(Semaphore::new(1));
        let sending = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let mut running: JoinSet<Result<Stored, (u32, UploadError)>> = JoinSet::new();
        let (mut max_attempts, mut ended) = (0u32, false);
        let mut kept: Option<(u32, UploadError)> = None;
        while !ended || !running.is_empty() {
            while !ended && kept.is_none() && running.len() < self.window.max(1) {
                let job = match source.next().await {
                    Ok(Some(job)) => job,
                    Ok(None) => {
                        ended = true;
                        break;
                    }
                    Err(e) => {
                        // The stream failed (a read error, more data than parts): nothing
                        // more can be sent, so the upload cannot be kept either.
                        let number = held.len() as u32 + 1;
                        settle(&mut running).await;
                        return Err(self.failed(number, number, e).await);
                    }
                };
                let i = job.number as usize - 1;
                if held.len() <= i {
                    held.resize(i + 1, None);
                }
                let (funnel, meter) = (self.funnel.clone(), self.meter.clone());
                let (hashing, sending) = (Arc::clone(&hashing), Arc::clone(&sending));
                running.spawn(async move {
                    let number = job.number;
                    send_part(&funnel, &meter, job, &hashing, &sending)
                        .await
                        .map_err(|e| (number, e))
                });
            }
            let Some(joined) = running.join_next().await else {
                continue;
            };
            let result = joined.unwrap_or_else(|e| {
                let source = std::io::Error::other(e);
                Err((0, UploadError::SourceUnreadable { source }))
            });
            match result {
                Ok(s) => {
                    max_attempts = max_attempts.max(s.attempts);
                    if let Some(j) = self.journaling {
                        j.record(s.number, s.offset, s.len, &s.held).await;
                    }
                    held[s.number as usize - 1] = Some(s.held);
                    if let Some(b) = s.bytes {
                        source.recycle(b);
                    }
                }
                Err((part, e)) => {
                    let parts = held.len() as u32;
                    let resumable = self.keep
                        && !matches!(e, UploadError::FileChanged { .. })
                        && !is_no_such_upload(&e);
                    if resumable {
                        // No new part starts, but the parts in flight finish: each one stored
                        // is one the next run does not send.
                        kept.get_or_insert((part, e));
                        ended = true;
                        continue;
                    }
                    settle(&mut running).await;
                    return Err(self.failed(part, parts, e).await);
                }
            }
        }
        let n = held.len() as u32;
        if let Some((part, e)) = kept {
            return Err(UploadError::Multipart(MultipartError::Kept {
                source: Box::new(UploadError::Multipart(MultipartError::PartFailed {
                    part,
                    parts: n,
                    source: Box::new(e),
                })),
                upload_id: self.upload_id.to_owned(),
                stored: held.iter().filter(|h| h.is_some()).count() as u32,
                parts: n,
            }));
        }
        if let Err(e) = source.check_unchanged() {
            self.forget().await;
            return Err(UploadError::Multipart(MultipartError::Complete {
                source: Box::new(e),
                abort: abort_upload(self.funnel, self.abort).await,
            }));
        }
        let held: Vec<Held> = held.into_iter().flatten().collect();
        let answer = self.complete(&held).await?;
        let etag = parse::<CompleteMultipartUploadResult>(&answer.body)
            .ok()
            .and_then(|r| r.etag)
            .or_else(|| answer.etag());
        let digests: Vec<_> = held.iter().map(|h| h.md5).collect();
        let expected = multipart_etag(&digests);
        if let Some(got) = &etag
            && answer.etag_is_md5()
            && multipart_etag_differs(got, &expected, digests.len())
        {
            return Err(UploadError::Multipart(
                MultipartError::MultipartETagMismatch {
                    etag: got.clone(),
                    expected,
                    parts: digests.len(),
                },
            ));
        }
        let attempts = max_attempts.max(answer.attempts);
        let mut outcome = UploadOutcome::new(answer.status, source.bytes(), attempts, etag);
        outcome.parts = Some(n);
        outcome.parts_reused = reused;
        outcome.bytes_sent = self.meter.file_bytes_sent();
        Ok(outcome)
    }

    /// A part failed for good: the journal is forgotten and the upload aborted.
    async fn failed(&self, part: u32, parts: u32, e: UploadError) -> UploadError {
        self.forget().await;
        UploadError::Multipart(MultipartError::Part {
            part,
            parts,
            source: Box::new(e),
            abort: abort_upload(self.funnel, self.abort).await,
        })
    }

    async fn forget(&self) {
        if let Some(j) = self.journaling {
            j.forget().await;
        }
    }

    /// CompleteMultipartUpload; a failure keeps the upload when it can be resumed, else aborts.
    async fn complete(&self, held: &[Held]) -> Result<Answer, UploadError> {
        let n = held.len() as u32;
        let e = match self.send_complete(held).await {
            Ok(answer) => {
                // Completed: the upload id is gone from the server, and so is its journal.
                self.forget().await;
                return Ok(answer);
            }
            Err(e) => e,
        };
        if self.keep && !is_no_such_upload(&e) {
            return Err(UploadError::Multipart(MultipartError::Kept {
                source: Box::new(UploadError::Multipart(MultipartError::CompleteFailed {
                    source: Box::new(e),
                })),
                upload_id: self.upload_id.to_owned(),
                stored: n,
                parts: n,
            }));
        }
        self.forget().await;
        Err(UploadError::Multipart(MultipartError::Complete {
            source: Box::new(e),
            abort: abort_upload(self.funnel, self.abort).await,
        }))
    }

    async fn send_complete(&self, held: &[Held]) -> Result<Answer, UploadError> {
        let body = CompleteMultipartUpload::new(
            held.iter()
                .enumerate()
                .map(|(i, h)| CompletedPart {
                    part_number: i as u32 + 1,
                    etag: h.etag.clone(),
                })
                .collect(),
        );
        let request = Request::new(Method::POST, self.complete)
            .xml()
            .with_payload(Payload::Bytes(Bytes::from(body.to_xml())))
            .expect(self.expected);
        let answer = self.funnel.send(&request, self.meter).await?;
        // S3 may answer 200 and put the error in the body.
        if let Some(err) = ErrorResponse::parse(&answer.body) {
            return Err(UploadError::Multipart(MultipartError::CompletedWithError(
                Box::new(err),
            )));
        }
        Ok(answer)
    }
}

/// Sends one part: its MD5 worked out first (one at a time, so hashing never holds back the
/// first bytes of every part), then the part, at most `concurrency` at once.
async fn send_part(
    funnel: &Funnel,
    meter: &Meter,
    job: PartJob,
    hashing: &Semaphore,
    sending: &Semaphore,
) -> Result<Stored, UploadError> {
    let number = job.number;
    let len = job.payload.len();
    let md5 = match &job.payload {
        // Held in memory: hashed whatever the options, for the ETag checks.
        Payload::Bytes(b) => {
            let b = b.clone();
            Some(run_blocking(move || Ok(md5_of(&b)), None).await?)
        }
        Payload::File(f) if job.send_md5 => {
            let _hashing = hashing.acquire().await;
            let (p, offset, len) = (f.path.clone(), f.offset, f.len);
            Some(run_blocking(move || md5_of_range(&p, offset, len), Some(&f.path)).await?)
        }
        _ => None,
    };
    let _sending = sending.acquire().await;
    let given_back = match &job.payload {
        Payload::Bytes(b) => Some(b.clone()),
        _ => None,
    };
    let hash_body = md5.is_none();
    let (sent, known) = if job.send_md5 {
        (md5, None)
    } else {
        (None, md5)
    };
    let request = Request::new(Method::PUT, &job.target)
        .with_payload(job.payload)
        .content_md5(sent)
        .known_md5(known)
        .check_etag(true, hash_body);
    let answer = funnel.send(&request, meter).await?;
    drop(request);
    let etag = answer
        .etag()
        .ok_or(UploadError::Multipart(MultipartError::MissingETag {
            part: number,
        }))?;
    let md5 = md5
        .or(answer.md5)
        .ok_or(UploadError::Multipart(MultipartError::MissingETag {
            part: number,
        }))?;
    Ok(Stored {
        number,
        offset: job.offset,
        len,
        held: Held { md5, etag },
        attempts: answer.attempts,
        bytes: given_back,
    })
}

/// Runs a hash on the blocking pool; a failure reads as the file (or the stream) unreadable.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    path: Option<&std::path::Path>,
) -> Result<T, UploadError> {
    let unreadable = |source| match path {
        Some(p) => UploadError::FileUnreadable {
            path: p.to_owned(),
            source,
        },
        None => UploadError::SourceUnreadable { source },
    };
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| unreadable(std::io::Error::other(e)))?
        .map_err(unreadable)
}

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
    let request = Request::new(Method::DELETE, target).expect(&[204, 200]);
    match funnel.send(&request, &Meter::new(0, None)).await {
        Ok(_) => AbortOutcome::Aborted,
        Err(e) => AbortOutcome::Failed(Box::new(e)),
    }
}

/// Whether the server said the upload does not exist (completed or aborted).
pub(crate) fn is_no_such_upload(e: &UploadError) -> bool {
    e.s3_code() == Some(&S3ErrorCode::NoSuchUpload)
}
