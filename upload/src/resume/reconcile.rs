//! What the server already holds of an upload being resumed: the journal read back, checked
//! against the file as it is now and against the server's own list (ListParts), which wins.

use crate::error::MultipartError;
use crate::error::PreflightError;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use reqwest::Method;
use signpost_wire::s3_xml::{ListPartsResult, ListedPart, S3ErrorCode, parse};

use super::{FileIdentity, JournalHeader, JournalPart, ResumeClaim, ResumeStore, UploadKey};
use crate::error::UploadError;
use crate::funnel::{Funnel, Request};
use crate::integrity::{Md5Digest, etag_md5, from_hex, hex, md5_of_range, same_etag};
use crate::plan::{PartPlan, Target};
use crate::progress::Meter;
use crate::source::FileSource;

/// A part the server holds: its MD5 and the ETag it answered.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub(crate) md5: Md5Digest,
    pub(crate) etag: String,
}

/// The journal, when there is a store and the descriptor names an upload id.
pub(crate) struct Journaling {
    store: Arc<dyn ResumeStore>,
    key: UploadKey,
}

impl Journaling {
    pub(crate) fn new(store: Arc<dyn ResumeStore>, key: UploadKey) -> Self {
        Journaling { store, key }
    }

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

    /// Records a part the server accepted (durable before the next part starts from it).
    pub(crate) async fn record(&self, number: u32, offset: u64, len: u64, held: &Held) {
        let r = JournalPart {
            part: number,
            offset,
            len,
            md5: hex(&held.md5),
            etag: held.etag.clone(),
        };
        self.call("recording", move |s, k| s.record(k, &r)).await;
    }

    /// Forgets the upload (completed or aborted: its id is gone from the server).
    pub(crate) async fn forget(&self) {
        self.call("removing", |s, k| s.remove(k)).await;
    }

    /// Claims the upload for this process: a second process resuming it is refused.
    async fn claim(&self) -> Result<Option<ResumeClaim>, UploadError> {
        let (store, k) = (Arc::clone(&self.store), self.key.clone());
        match tokio::task::spawn_blocking(move || store.claim(&k)).await {
            Ok(Ok(c)) => Ok(Some(c)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Err(UploadError::Preflight(PreflightError::ResumeBusy {
                    upload_id: self.key.upload_id.clone(),
                }))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "resume journal: cannot lock it");
                Ok(None)
            }
            Err(_) => Ok(None),
        }
    }
}

/// What reconciliation found: the parts the server holds (by index), and the journal to keep.
pub(crate) struct Reconciled {
    pub(crate) held: Vec<Option<Held>>,
    pub(crate) reused: u32,
    /// Held for the whole upload.
    pub(crate) _claim: Option<ResumeClaim>,
}

/// The upload being resumed, as planned.
pub(crate) struct Planned<'a> {
    pub(crate) source: &'a FileSource,
    pub(crate) parts: &'a [PartPlan],
    pub(crate) part_size: u64,
    pub(crate) upload_id: &'a str,
    /// Its ListParts URL, when the descriptor has one.
    pub(crate) list: Option<&'a Target>,
}

/// Reads the journal and the server's list and works out which of the planned parts are stored
/// already (files hashed `concurrency` at once).
pub(crate) async fn reconcile(
    funnel: &Funnel,
    journaling: Option<&Journaling>,
    planned: Planned<'_>,
    concurrency: usize,
) -> Result<Reconciled, UploadError> {
    let Planned {
        source,
        parts,
        part_size,
        upload_id,
        list,
    } = planned;
    let claim = match journaling {
        Some(j) => j.claim().await?,
        None => None,
    };
    let mut held: Vec<Option<Held>> = vec![None; parts.len()];
    let identity = FileIdentity::of(source);
    let journal = match journaling {
        Some(j) => j.call("reading", |s, k| s.load(k)).await.flatten(),
        None => None,
    };
    if let Some(j) = &journal
        && let Some(change) = identity.difference(&j.header.file)
    {
        return Err(UploadError::Preflight(PreflightError::ResumeFileChanged {
            path: source.path().to_owned(),
            upload_id: upload_id.to_owned(),
            change,
        }));
    }
    // One request, on every run: a journal may be missing (another machine, another state
    // directory) while the server holds parts.
    let listed = match list {
        Some(t) => list_parts(funnel, t, upload_id, journaling).await?,
        None => None,
    };
    let mut verify = Vec::new();
    for (i, p) in parts.iter().enumerate() {
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
            // The server's list is the truth: a recorded part it does not hold (or holds with
            // another ETag or size) is sent again.
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
    // Parts the server holds that were never recorded (stored just before a crash): used only
    // if their ETag is the MD5 of that range of the file as it is now.
    let path = source.path().to_owned();
    let checked: Vec<(usize, Option<Held>)> = futures_util::stream::iter(verify)
        .map(|(i, d, etag)| {
            let (path, p) = (path.clone(), &parts[i]);
            let (offset, len) = (p.offset, p.len);
            async move {
                let md5 = tokio::task::spawn_blocking(move || md5_of_range(&path, offset, len))
                    .await
                    .ok()
                    .and_then(Result::ok);
                (i, md5.filter(|x| *x == d).map(|md5| Held { md5, etag }))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    if let Some(j) = journaling
        && journal.is_none()
    {
        let header = JournalHeader::new(&j.key, identity.clone(), part_size);
        j.call("starting", move |s, k| s.begin(k, &header)).await;
    }
    for (i, h) in checked {
        if let Some(h) = h {
            if let Some(j) = journaling {
                j.record(parts[i].number, parts[i].offset, parts[i].len, &h)
                    .await;
            }
            held[i] = Some(h);
        }
    }
    let reused = held.iter().filter(|h| h.is_some()).count() as u32;
    if reused > 0 {
        tracing::info!(reused, parts = parts.len(), upload_id = %upload_id, "resuming: parts already stored are not sent again");
    }
    Ok(Reconciled {
        held,
        reused,
        _claim: claim,
    })
}

/// The server's list of the upload's parts (its first page); `None` when it cannot be had (then
/// the journal alone is trusted). An upload the server no longer has is an error.
async fn list_parts(
    funnel: &Funnel,
    target: &Target,
    upload_id: &str,
    journaling: Option<&Journaling>,
) -> Result<Option<Listed>, UploadError> {
    let request = Request::new(Method::GET, target);
    match funnel.send(&request, &Meter::new(0, None)).await {
        Ok(answer) => match parse::<ListPartsResult>(&answer.body) {
            Ok(l) => Ok(Some(Listed::new(l))),
            Err(e) => {
                tracing::warn!(error = %e, "ListParts answered a document that does not parse; trusting the journal alone");
                Ok(None)
            }
        },
        Err(e) if e.s3_code() == Some(&S3ErrorCode::NoSuchUpload) => {
            if let Some(j) = journaling {
                j.forget().await;
            }
            Err(UploadError::Multipart(MultipartError::UploadGone {
                upload_id: upload_id.to_owned(),
            }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "ListParts failed; trusting the journal alone");
            Ok(None)
        }
    }
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
