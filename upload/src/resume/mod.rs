//! Resuming an interrupted multipart upload.
//!
//! A [`ResumeStore`] keeps, per multipart upload, a journal: the upload's id, the file it is
//! made from (path, size, modification time) and, for each part the server accepted, its number,
//! byte range, MD5 and ETag. A part is recorded only after the server answered it, and each
//! record is durable before the next part is started from it, so after a crash (the process
//! killed, the machine rebooted) the journal holds every part but those that were in flight.
//!
//! On the next run with a descriptor for the same upload (the same bucket, key and `uploadId`,
//! with the same or freshly signed URLs) the uploader reads the journal and, when the descriptor
//! carries a presigned ListParts URL, the server's own list, which wins: a part the journal
//! names but the server does not hold is sent again; a part the server holds that the journal
//! does not name (stored just before the crash, never recorded) is used only when its ETag is
//! the MD5 of that range of the file, read again from disk. A file whose size, modification
//! time or path differ from the journal's is never resumed into the old upload.
//!
//! [`FileResumeStore`] is the default store: one journal file per upload under the user's state
//! directory (`$XDG_STATE_HOME/signpost/uploads`, else `~/.local/state/signpost/uploads`). Its
//! first line (the header) is written to a temporary file and renamed into place; each part is
//! one JSON line appended and synced to disk, and a line cut short by a crash is ignored when it
//! is read back. A lock file keeps two processes from resuming the same upload at once.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use signpost_wire::{RunnerJobCustomUpload, SignedUrl};

use crate::integrity::{hex, md5_of};

mod reconcile;
mod store;

use crate::source::FileSource;
pub(crate) use reconcile::{Held, Journaling, Planned, Reconciled, reconcile};
pub use store::FileResumeStore;

/// Which multipart upload a journal belongs to: the object's URL (host and path) and the
/// `uploadId`, which stay the same when the server signs fresh URLs for the upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadKey {
    /// The `uploadId`.
    pub upload_id: String,
    /// `host/path` of the object (not the port).
    pub object: String,
    /// A name for the journal, made from both (hex).
    pub id: String,
}

impl UploadKey {
    /// The key of a multipart descriptor's upload, read from its CompleteMultipartUpload URL;
    /// `None` for a PUT or POST descriptor, or a URL without an `uploadId`.
    pub fn of(job: &RunnerJobCustomUpload) -> Option<UploadKey> {
        job.multipart.as_ref()?;
        Self::of_url(&job.url)
    }

    pub(crate) fn of_url(url: &SignedUrl) -> Option<UploadKey> {
        let u = url::Url::parse(url.as_str()).ok()?;
        let upload_id = u
            .query_pairs()
            .find(|(k, _)| k == "uploadId")
            .map(|(_, v)| v.into_owned())?;
        // Not the port: a proxy or a load balancer in front may change it between runs.
        let object = format!("{}{}", u.host_str()?, u.path());
        let id = hex(&md5_of(format!("{object}\n{upload_id}").as_bytes()));
        Some(UploadKey {
            upload_id,
            object,
            id,
        })
    }
}

/// The file a journal's parts were read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileIdentity {
    /// Its absolute path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, nanoseconds since the Unix epoch, when the platform has one.
    pub mtime_ns: Option<u128>,
}

impl FileIdentity {
    /// The identity of `source`, as it was when the upload began.
    pub fn of(source: &FileSource) -> FileIdentity {
        FileIdentity {
            path: std::fs::canonicalize(source.path()).unwrap_or_else(|_| source.path().into()),
            size: source.len(),
            mtime_ns: source
                .modified()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos()),
        }
    }

    /// How `self` (now) differs from `then` (the journal's), in words; `None` when they match.
    pub fn difference(&self, then: &FileIdentity) -> Option<String> {
        if self.path != then.path {
            Some(format!(
                "its parts were sent from {}, not from this file",
                then.path.display()
            ))
        } else if self.size != then.size {
            Some(format!(
                "the file's size went from {} to {} bytes since its parts were sent",
                then.size, self.size
            ))
        } else if self.mtime_ns != then.mtime_ns {
            Some("the file was modified since its parts were sent".into())
        } else {
            None
        }
    }
}

/// A journal's first line: which upload, from which file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalHeader {
    /// Always `"signpost-upload-journal"`.
    pub signpost: String,
    /// Format version (1).
    pub version: u32,
    /// The `uploadId`.
    pub upload_id: String,
    /// `host/path` of the object (not the port).
    pub object: String,
    /// The file.
    pub file: FileIdentity,
    /// The plan's part size.
    pub part_size: u64,
}

impl JournalHeader {
    /// A header for `key`'s upload of `file` in parts of `part_size`.
    pub fn new(key: &UploadKey, file: FileIdentity, part_size: u64) -> Self {
        JournalHeader {
            signpost: "signpost-upload-journal".into(),
            version: 1,
            upload_id: key.upload_id.clone(),
            object: key.object.clone(),
            file,
            part_size,
        }
    }
}

/// One part the server accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalPart {
    /// Its number (1-based).
    pub part: u32,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// The MD5 of its bytes, hex.
    pub md5: String,
    /// The ETag the server answered.
    pub etag: String,
}

/// What a store holds for one upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    /// Which upload, from which file.
    pub header: JournalHeader,
    /// The parts recorded, by number (a part recorded twice: the later record).
    pub parts: BTreeMap<u32, JournalPart>,
}

/// Held while an upload runs; releases the upload when dropped.
pub type ResumeClaim = Box<dyn Send + Sync>;

/// Where journals of interrupted uploads are kept. [`FileResumeStore`] is the file-backed
/// default; a runner that keeps its state elsewhere (a database, its job record) implements
/// this. Methods are called from the blocking thread pool.
pub trait ResumeStore: Send + Sync + fmt::Debug {
    /// The journal of `key`'s upload, if one is kept.
    fn load(&self, key: &UploadKey) -> io::Result<Option<Journal>>;
    /// Starts `key`'s journal afresh with `header` and no parts.
    fn begin(&self, key: &UploadKey, header: &JournalHeader) -> io::Result<()>;
    /// Records a part the server accepted; durable when this returns.
    fn record(&self, key: &UploadKey, part: &JournalPart) -> io::Result<()>;
    /// Forgets `key`'s upload (it was completed or aborted).
    fn remove(&self, key: &UploadKey) -> io::Result<()>;
    /// Claims `key`'s upload for this process until the claim is dropped; an error of kind
    /// `WouldBlock` when another process holds it. The default claims nothing.
    fn claim(&self, key: &UploadKey) -> io::Result<ResumeClaim> {
        let _ = key;
        Ok(Box::new(()))
    }
}

/// What to do with a multipart upload whose retries ran out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFailure {
    /// Keep it when a resume store is set (the caller opted into resuming), abort it otherwise:
    /// a caller that does not know about resuming leaves no parts stored (and billed).
    #[default]
    KeepIfResumable,
    /// Keep its parts on the server for a later run, whatever the options.
    Keep,
    /// Abort it (AbortMultipartUpload): nothing is left behind, nothing can be resumed.
    Abort,
}
