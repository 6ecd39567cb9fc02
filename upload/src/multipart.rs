//! A presigned multipart upload of a file: parts in parallel, each with its `Content-MD5` and
//! its ETag checked, each retried alone through the funnel, then CompleteMultipartUpload with
//! every part's ETag, whose answer is checked against `md5(concat(part MD5s))-N`.
//!
//! With a resume store (or a ListParts URL) an interrupted upload continues where it stopped:
//! see [`crate::resume`] for what is trusted. When retries run out, a resumable upload is kept
//! for the next run and the error says so; otherwise AbortMultipartUpload is called, so nothing
//! is left behind, and the error says what became of the upload.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use signpost_wire::s3_xml::{
    CompleteMultipartUpload, CompleteMultipartUploadResult, CompletedPart, ErrorResponse,
    ListPartsResult, ListedPart, parse,
};

use crate::body::{FileSlice, Payload};
use crate::error::UploadError;
use crate::funnel::{Funnel, Request};
use crate::integrity::{
    Md5Digest, etag_md5, from_hex, hex, md5_of_range, multipart_etag, multipart_etag_differs,
    same_etag,
};
use crate::outcome::UploadOutcome;
use crate::plan::{PartPlan, Target, UploadPlan};
use crate::progress::Meter;
use crate::resume::{FileIdentity, JournalHeader, JournalPart, OnFailure, ResumeStore, UploadKey};
use crate::stream::abort_upload;

/// A part the server holds: its MD5 and the ETag it answered.
#[derive(Clone, Debug)]
struct Held {
    md5: Md5Digest,
    etag: String,
}

/// What one stored part reports.
struct Stored {
    number: u32,
    held: Held,
    attempts: u32,
}

/// Everything a multipart upload of a file needs.
pub(crate) struct Multipart<'a> {
    pub(crate) funnel: &'a Funnel,
    pub(crate) concurrency: usize,
    pub(crate) plan: &'a UploadPlan,
    pub(crate) parts: &'a [PartPlan],
    pub(crate) complete: &'a Target,
    pub(crate) abort: &'a Target,
    pub(crate) list: Option<&'a Target>,
    pub(crate) part_size: u64,
    pub(crate) meter: &'a Meter,
    /// Parts being hashed at once (one: the next part is hashed while others are sent, and
    /// hashing never holds back the first bytes of all of them).
    pub(crate) hashing: tokio::sync::Semaphore,
    /// Parts being sent at once (the concurrency).
    pub(crate) sending: tokio::sync::Semaphore,
}

/// The journal, when there is a store and the descriptor names an upload id.
struct Journaling {
    store: Arc<dyn ResumeStore>,
    key: UploadKey,
}

impl Journaling {
    /// Runs a store call on the blocking pool; a failing store only costs resumability, so it is
    /// logged, not fatal.
    async fn call<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&dyn ResumeStore, &UploadKey) -> std::io::Result<T> + Send + 'static,
    ) -> Option<T> {
        let (store, key) = (Arc::clone(&self.store), self.key.clone());
        match tokio::task::spawn_blocking(move || f(&*store, &key)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "resume journal: {what} failed; this upload may not be resumable");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "resume journal: {what} failed");
                None
            }
        }
    }
}

impl Multipart<'_> {
    pub(crate) async fn run(self) -> Result<UploadOutcome, UploadError> {
        let m = &self;
        let n = m.parts.len() as u32;
        let key = UploadKey::of_url(&m.complete.url);
        let journaling = match (&m.plan.resume, &key) {
            (Some(store), Some(key)) => Some(Journaling {
                store: Arc::clone(store),
                key: key.clone(),
            }),
            _ => None,
        };
        let upload_id = key
            .as_ref()
            .map(|k| k.upload_id.clone())
            .unwrap_or_default();
        let keep = key.is_some()
            && match m.plan.on_failure {
                OnFailure::Keep => true,
                OnFailure::Abort => false,
                _ => journaling.is_some(),
            };

        // Held for the whole upload: a second process resuming the same upload is refused.
        let _claim = match &journaling {
            Some(j) => {
                let (store, k) = (Arc::clone(&j.store), j.key.clone());
                match tokio::task::spawn_blocking(move || store.claim(&k)).await {
                    Ok(Ok(c)) => Some(c),
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        return Err(UploadError::ResumeBusy { upload_id });
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "resume journal: cannot lock it");
                        None
                    }
                    Err(_) => None,
                }
            }
            None => None,
        };

        let mut held: Vec<Option<Held>> = vec![None; m.parts.len()];
        let identity = FileIdentity::of(&m.plan.source);
        let journal = match &journaling {
            Some(j) => j.call("reading", |s, k| s.load(k)).await.flatten(),
            None => None,
        };
        if let Some(j) = &journal
            && let Some(change) = identity.difference(&j.header.file)
        {
            return Err(UploadError::ResumeFileChanged {
                path: m.plan.source.path().to_owned(),
                upload_id,
                change,
            });
        }
        // One request, on every run: a journal may be missing (another machine, another state
        // directory) while the server holds parts.
        let listed = match m.list {
            Some(t) => self.list_parts(t, &upload_id, journaling.as_ref()).await?,
            None => None,
        };
        let mut verify = Vec::new();
        for (i, p) in m.parts.iter().enumerate() {
            let recorded = journal
                .as_ref()
                .and_then(|j| j.parts.get(&p.number))
                .filter(|e| e.offset == p.offset && e.len == p.len)
                .and_then(|e| {
                    Some(Held {
                        md5: from_hex(&e.md5)?,
                        etag: e.etag.clone(),
                    })
                });
            let on_server = listed.as_ref().and_then(|l| l.get(p.number));
            match (
                listed.as_ref().map(|l| l.covers(p.number)),
                recorded,
                on_server,
            ) {
                // The server's list is the truth: a recorded part it does not hold (or holds
                // with another ETag or size) is sent again.
                // (s3s-fs 0.14 lists parts without their ETags: then the size must do.)
                (Some(true), Some(r), Some(lp))
                    if lp.size == p.len && (lp.etag.is_empty() || same_etag(&lp.etag, &r.etag)) =>
                {
                    held[i] = Some(r)
                }
                (Some(true), _, Some(lp)) if lp.size == p.len => {
                    if let Some(d) = etag_md5(&lp.etag) {
                        verify.push((i, d, lp.etag.clone()));
                    }
                }
                (Some(true), _, _) => {}
                // No list, or past its first page: the journal alone.
                (_, Some(r), _) => held[i] = Some(r),
                _ => {}
            }
        }
        // Parts the server holds that were never recorded (stored just before a crash): used
        // only if their ETag is the MD5 of that range of the file as it is now.
        let path = m.plan.source.path().to_owned();
        let checked: Vec<(usize, Option<Held>)> = futures_util::stream::iter(verify)
            .map(|(i, d, etag)| {
                let (path, p) = (path.clone(), &m.parts[i]);
                let (offset, len) = (p.offset, p.len);
                async move {
                    let md5 = tokio::task::spawn_blocking(move || md5_of_range(&path, offset, len))
                        .await
                        .ok()
                        .and_then(Result::ok);
                    (i, md5.filter(|x| *x == d).map(|md5| Held { md5, etag }))
                }
            })
            .buffer_unordered(m.concurrency.max(1))
            .collect()
            .await;
        let mut adopted = Vec::new();
        for (i, h) in checked {
            if let Some(h) = h {
                adopted.push(record(&m.parts[i], &h));
                held[i] = Some(h);
            }
        }
        if let Some(j) = &journaling {
            if journal.is_none() {
                let header = JournalHeader::new(&j.key, identity.clone(), m.part_size);
                j.call("starting", move |s, k| s.begin(k, &header)).await;
            }
            for r in adopted {
                j.call("recording", move |s, k| s.record(k, &r)).await;
            }
        }
        let reused = held.iter().filter(|h| h.is_some()).count() as u32;
        if reused > 0 {
            tracing::info!(reused, parts = n, upload_id = %upload_id, "resuming: parts already stored are not sent again");
        }

        // The parts still to send.
        let todo: Vec<&PartPlan> = m
            .parts
            .iter()
            .zip(&held)
            .filter(|(_, h)| h.is_none())
            .map(|(p, _)| p)
            .collect();
        // After a failure that keeps the upload, no new part starts, but the parts in flight
        // finish: each one stored is one the next run does not send.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        let mut stream = futures_util::stream::iter(todo)
            .map(|part| async move {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err((part.number, None));
                }
                m.upload_part(part)
                    .await
                    .map_err(|e| (part.number, Some(e)))
            })
            // One more than are sent at once: that one hashes the next part meanwhile.
            .buffer_unordered(m.concurrency.max(1) + 1);
        let mut max_attempts = 0;
        let mut kept: Option<(u32, UploadError)> = None;
        while let Some(r) = stream.next().await {
            match r {
                Ok(s) => {
                    max_attempts = max_attempts.max(s.attempts);
                    let i = (s.number - 1) as usize;
                    if let Some(j) = &journaling {
                        let r = record(&m.parts[i], &s.held);
                        j.call("recording", move |st, k| st.record(k, &r)).await;
                    }
                    held[i] = Some(s.held);
                }
                // Not started: an earlier part failed.
                Err((_, None)) => {}
                Err((part, Some(e))) => {
                    let resumable = keep
                        && !matches!(e, UploadError::FileChanged { .. })
                        && !is_no_such_upload(&e);
                    if resumable {
                        stop.store(true, std::sync::atomic::Ordering::SeqCst);
                        kept.get_or_insert((part, e));
                        continue;
                    }
                    // The parts in flight finish (for a while) before the abort: S3's
                    // AbortMultipartUpload page warns that a part still being uploaded when the
                    // abort arrives may or may not succeed, leaving storage behind.
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                    let drain = async { while stream.next().await.is_some() {} };
                    let _ = tokio::time::timeout(crate::stream::SETTLE, drain).await;
                    drop(stream);
                    self.forget(journaling.as_ref()).await;
                    return Err(UploadError::Part {
                        part,
                        parts: n,
                        source: Box::new(e),
                        abort: abort_upload(m.funnel, m.abort).await,
                    });
                }
            }
        }
        drop(stream);
        if let Some((part, e)) = kept {
            return Err(UploadError::Kept {
                source: Box::new(UploadError::PartFailed {
                    part,
                    parts: n,
                    source: Box::new(e),
                }),
                upload_id,
                stored: held.iter().filter(|h| h.is_some()).count() as u32,
                parts: n,
            });
        }
        // Never complete an object from a file that changed while its parts were read.
        if let Err(e) = m.plan.source.check_unchanged() {
            self.forget(journaling.as_ref()).await;
            return Err(UploadError::Complete {
                source: Box::new(e),
                abort: abort_upload(m.funnel, m.abort).await,
            });
        }
        let held: Vec<Held> = held.into_iter().flatten().collect();
        let answer = match self.complete(&held).await {
            Ok(a) => a,
            Err(e) => {
                if keep && !is_no_such_upload(&e) {
                    return Err(UploadError::Kept {
                        source: Box::new(UploadError::CompleteFailed {
                            source: Box::new(e),
                        }),
                        upload_id,
                        stored: n,
                        parts: n,
                    });
                }
                self.forget(journaling.as_ref()).await;
                return Err(UploadError::Complete {
                    source: Box::new(e),
                    abort: abort_upload(m.funnel, m.abort).await,
                });
            }
        };
        // Completed: the upload id is gone from the server, and so is its journal.
        self.forget(journaling.as_ref()).await;
        let etag = parse::<CompleteMultipartUploadResult>(&answer.body)
            .ok()
            .and_then(|r| r.etag)
            .or_else(|| answer.etag());
        let digests: Vec<Md5Digest> = held.iter().map(|h| h.md5).collect();
        let expected = multipart_etag(&digests);
        if let Some(got) = &etag
            && answer.etag_is_md5()
            && multipart_etag_differs(got, &expected, n as usize)
        {
            return Err(UploadError::MultipartETagMismatch {
                etag: got.clone(),
                expected,
                parts: n as usize,
            });
        }
        let mut outcome = UploadOutcome::new(
            answer.status,
            m.plan.source.len(),
            max_attempts.max(answer.attempts),
            etag,
        );
        outcome.parts = Some(n);
        outcome.parts_reused = reused;
        outcome.bytes_sent = m.meter.file_bytes_sent();
        Ok(outcome)
    }

    /// The server's list of the upload's parts (its first page); `None` when it cannot be had
    /// (then the journal alone is trusted). An upload the server no longer has is an error.
    async fn list_parts(
        &self,
        target: &Target,
        upload_id: &str,
        journaling: Option<&Journaling>,
    ) -> Result<Option<Listed>, UploadError> {
        let request = Request {
            method: Method::GET,
            target,
            headers: HeaderMap::new(),
            payload: Payload::Empty,
            expected: &[200],
            content_md5: None,
            check_etag: false,
            hash_body: false,
        };
        match self.funnel.send(&request, &Meter::new(0, None)).await {
            Ok(answer) => match parse::<ListPartsResult>(&answer.body) {
                Ok(l) => Ok(Some(Listed::new(l))),
                Err(e) => {
                    tracing::warn!(error = %e, "ListParts answered a document that does not parse; trusting the journal alone");
                    Ok(None)
                }
            },
            Err(e) if is_no_such_upload(&e) => {
                self.forget(journaling).await;
                Err(UploadError::UploadGone {
                    upload_id: upload_id.to_owned(),
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "ListParts failed; trusting the journal alone");
                Ok(None)
            }
        }
    }

    async fn forget(&self, journaling: Option<&Journaling>) {
        if let Some(j) = journaling {
            j.call("removing", |s, k| s.remove(k)).await;
        }
    }

    async fn complete(&self, held: &[Held]) -> Result<crate::funnel::Answer, UploadError> {
        let body = CompleteMultipartUpload::new(
            held.iter()
                .enumerate()
                .map(|(i, h)| CompletedPart {
                    part_number: i as u32 + 1,
                    etag: h.etag.clone(),
                })
                .collect(),
        );
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        let request = Request {
            method: Method::POST,
            target: self.complete,
            headers,
            payload: Payload::Bytes(Bytes::from(body.to_xml())),
            expected: &self.plan.expected,
            content_md5: None,
            check_etag: false,
            hash_body: false,
        };
        let answer = self.funnel.send(&request, self.meter).await?;
        // S3 may answer 200 and put the error in the body.
        if let Some(err) = ErrorResponse::parse(&answer.body) {
            return Err(UploadError::CompletedWithError(Box::new(err)));
        }
        Ok(answer)
    }

    async fn upload_part(&self, part: &PartPlan) -> Result<Stored, UploadError> {
        let path = self.plan.source.path().to_owned();
        // Content-MD5 is worked out first (the server then refuses damaged bytes); without it,
        // the part is hashed as it is sent and only its ETag is compared.
        let content_md5 = if self.plan.no_content_md5 {
            None
        } else {
            let (p, offset, len) = (path.clone(), part.offset, part.len);
            let unreadable = |source| UploadError::FileUnreadable {
                path: path.clone(),
                source,
            };
            let _hashing = self.hashing.acquire().await;
            Some(
                tokio::task::spawn_blocking(move || md5_of_range(&p, offset, len))
                    .await
                    .map_err(|e| unreadable(std::io::Error::other(e)))?
                    .map_err(unreadable)?,
            )
        };
        let _sending = self.sending.acquire().await;
        let request = Request {
            method: Method::PUT,
            target: &part.target,
            headers: HeaderMap::new(),
            payload: Payload::File(FileSlice {
                path: path.clone(),
                offset: part.offset,
                len: part.len,
                to_end: false,
                before: Bytes::new(),
                after: Bytes::new(),
            }),
            expected: &[200],
            content_md5,
            check_etag: true,
            hash_body: true,
        };
        let answer = self.funnel.send(&request, self.meter).await?;
        let etag = answer
            .etag()
            .ok_or(UploadError::MissingETag { part: part.number })?;
        let md5 = answer
            .md5
            .ok_or(UploadError::MissingETag { part: part.number })?;
        Ok(Stored {
            number: part.number,
            held: Held { md5, etag },
            attempts: answer.attempts,
        })
    }
}

/// The journal line of a part the server holds.
fn record(p: &PartPlan, h: &Held) -> JournalPart {
    JournalPart {
        part: p.number,
        offset: p.offset,
        len: p.len,
        md5: hex(&h.md5),
        etag: h.etag.clone(),
    }
}

/// Whether the server said the upload does not exist (completed or aborted).
fn is_no_such_upload(e: &UploadError) -> bool {
    e.s3_code() == Some("NoSuchUpload")
}

/// The server's first page of ListParts.
struct Listed {
    parts: BTreeMap<u32, ListedPart>,
    /// Part numbers up to this are covered by the page.
    upto: u32,
}

impl Listed {
    fn new(l: ListPartsResult) -> Self {
        let upto = if l.is_truncated {
            l.next_part_number_marker
                .or_else(|| l.parts.iter().map(|p| p.part_number).max())
                .unwrap_or(0)
        } else {
            u32::MAX
        };
        Listed {
            parts: l.parts.into_iter().map(|p| (p.part_number, p)).collect(),
            upto,
        }
    }

    fn covers(&self, number: u32) -> bool {
        number <= self.upto
    }

    fn get(&self, number: u32) -> Option<&ListedPart> {
        self.parts.get(&number)
    }
}
