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
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use signpost_wire::{RunnerJobCustomUpload, SignedUrl};

use crate::integrity::{hex, md5_of};
use crate::source::FileSource;

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
                "the journal is for {}, not {}",
                then.path.display(),
                self.path.display()
            ))
        } else if self.size != then.size {
            Some(format!(
                "its size went from {} to {} bytes",
                then.size, self.size
            ))
        } else if self.mtime_ns != then.mtime_ns {
            Some("it was modified".into())
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

/// Journals as files in a directory: `<id>.journal` (JSON lines) and `<id>.lock`.
#[derive(Clone, Debug)]
pub struct FileResumeStore {
    dir: PathBuf,
}

impl FileResumeStore {
    /// A store in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileResumeStore { dir: dir.into() }
    }

    /// A store in the user's state directory: `$XDG_STATE_HOME/signpost/uploads`, else
    /// `$HOME/.local/state/signpost/uploads`; `None` when neither variable is set.
    pub fn in_state_dir() -> Option<Self> {
        let base = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".local/state"))
            })?;
        Some(Self::new(base.join("signpost/uploads")))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file of `key`.
    pub fn journal_path(&self, key: &UploadKey) -> PathBuf {
        self.dir.join(format!("{}.journal", key.id))
    }

    fn lock_path(&self, key: &UploadKey) -> PathBuf {
        self.dir.join(format!("{}.lock", key.id))
    }

    fn ensure_dir(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }
}

fn sync_dir(dir: &Path) {
    // Makes a rename durable; not every platform can open a directory, and losing it only
    // loses the journal (the server's list still says what it holds).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl ResumeStore for FileResumeStore {
    fn load(&self, key: &UploadKey) -> io::Result<Option<Journal>> {
        let text = match std::fs::read(self.journal_path(key)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(parse_journal(&text))
    }

    fn begin(&self, key: &UploadKey, header: &JournalHeader) -> io::Result<()> {
        self.ensure_dir()?;
        let path = self.journal_path(key);
        let tmp = path.with_extension(format!("journal.tmp{}", std::process::id()));
        {
            let mut f = File::create(&tmp)?;
            let mut line = serde_json::to_vec(header).map_err(io::Error::other)?;
            line.push(b'\n');
            f.write_all(&line)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(&self.dir);
        Ok(())
    }

    fn record(&self, key: &UploadKey, part: &JournalPart) -> io::Result<()> {
        let mut line = serde_json::to_vec(part).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut f = OpenOptions::new()
            .append(true)
            .open(self.journal_path(key))?;
        // One write: O_APPEND puts it whole at the end; a crash may cut it short, and a cut line
        // is ignored when read back.
        f.write_all(&line)?;
        f.sync_data()
    }

    fn remove(&self, key: &UploadKey) -> io::Result<()> {
        remove_if_there(&self.journal_path(key))?;
        // The lock file goes too, or a runner's state directory would keep one per upload it
        // ever made. It is removed while this process still holds it: see `claim` for why a
        // process that opened it before then cannot go on holding a lock nobody else sees.
        #[cfg(unix)]
        remove_if_there(&self.lock_path(key))?;
        Ok(())
    }

    fn claim(&self, key: &UploadKey) -> io::Result<ResumeClaim> {
        self.ensure_dir()?;
        let path = self.lock_path(key);
        // A lock taken on a file that `remove` has unlinked meanwhile guards nothing: another
        // process may already hold a new file of that name. So the lock counts only when the
        // name still leads to the locked file; otherwise open the name again (a few times, as
        // every round means another process removed or replaced it in between).
        for _ in 0..8 {
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            match f.try_lock() {
                Ok(()) if still_named(&f, &path)? => return Ok(Box::new(f)),
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => return Err(busy()),
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        Err(busy())
    }
}

fn busy() -> io::Error {
    io::Error::new(
        io::ErrorKind::WouldBlock,
        "another process is uploading this multipart upload",
    )
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether `path` still names the open file `f` (not unlinked or replaced since it was opened).
#[cfg(unix)]
fn still_named(f: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = f.metadata()?;
    Ok(match std::fs::metadata(path) {
        Ok(named) => named.dev() == open.dev() && named.ino() == open.ino(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    })
}

/// Elsewhere lock files are not removed (an open file cannot be, on Windows), so the name
/// always leads to the locked file.
#[cfg(not(unix))]
fn still_named(_: &File, _: &Path) -> io::Result<bool> {
    Ok(true)
}

/// Reads a journal: the header line, then part lines; a line without its newline (cut short by
/// a crash) or that does not parse ends the journal there.
fn parse_journal(text: &[u8]) -> Option<Journal> {
    let mut lines = text.split_inclusive(|b| *b == b'\n');
    let first = lines.next()?;
    let header: JournalHeader = serde_json::from_slice(first.strip_suffix(b"\n")?).ok()?;
    if header.signpost != "signpost-upload-journal" || header.version != 1 {
        return None;
    }
    let mut parts = BTreeMap::new();
    for line in lines {
        let Some(body) = line.strip_suffix(b"\n") else {
            break;
        };
        let Ok(p) = serde_json::from_slice::<JournalPart>(body) else {
            break;
        };
        parts.insert(p.part, p);
    }
    Some(Journal { header, parts })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> UploadKey {
        let job = RunnerJobCustomUpload::from_json(
            r#"{"url":"http://127.0.0.1:9000/b/k.mp4?uploadId=UP1&X-Amz-Signature=ab","method":"POST",
            "multipart":{"uploadId":"UP1","partSize":5242880,"parts":["http://127.0.0.1:9000/b/k.mp4?partNumber=1&uploadId=UP1"],
            "abortUrl":"http://127.0.0.1:9000/b/k.mp4?uploadId=UP1"}}"#,
        )
        .unwrap();
        UploadKey::of(&job).unwrap()
    }

    fn header(k: &UploadKey) -> JournalHeader {
        JournalHeader::new(
            k,
            FileIdentity {
                path: "/data/out.mp4".into(),
                size: 10,
                mtime_ns: Some(7),
            },
            5,
        )
    }

    fn part(n: u32) -> JournalPart {
        JournalPart {
            part: n,
            offset: u64::from(n - 1) * 5,
            len: 5,
            md5: "00".repeat(16),
            etag: format!("\"{n}\""),
        }
    }

    #[test]
    fn the_key_ignores_the_signature() {
        let k = key();
        assert_eq!(k.upload_id, "UP1");
        assert_eq!(k.object, "127.0.0.1/b/k.mp4");
        let fresh =
            SignedUrl::from("http://127.0.0.1:9000/b/k.mp4?uploadId=UP1&X-Amz-Signature=cd");
        assert_eq!(UploadKey::of_url(&fresh).unwrap(), k);
        let other =
            SignedUrl::from("http://127.0.0.1:9000/b/k.mp4?uploadId=UP2&X-Amz-Signature=ab");
        assert_ne!(UploadKey::of_url(&other).unwrap().id, k.id);
    }

    #[test]
    fn journal_round_trip_and_a_cut_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileResumeStore::new(dir.path().join("s"));
        let k = key();
        assert_eq!(store.load(&k).unwrap(), None);
        store.begin(&k, &header(&k)).unwrap();
        store.record(&k, &part(1)).unwrap();
        store.record(&k, &part(2)).unwrap();
        let j = store.load(&k).unwrap().unwrap();
        assert_eq!(j.header, header(&k));
        assert_eq!(j.parts.len(), 2);
        assert_eq!(j.parts[&2], part(2));
        // A crash in the middle of appending part 3.
        let path = store.journal_path(&k);
        let mut text = std::fs::read(&path).unwrap();
        let mut line = serde_json::to_vec(&part(3)).unwrap();
        line.truncate(line.len() / 2);
        text.extend_from_slice(&line);
        std::fs::write(&path, &text).unwrap();
        let j = store.load(&k).unwrap().unwrap();
        assert_eq!(j.parts.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        // A fresh journal replaces the old one.
        store.begin(&k, &header(&k)).unwrap();
        assert!(store.load(&k).unwrap().unwrap().parts.is_empty());
        store.remove(&k).unwrap();
        assert_eq!(store.load(&k).unwrap(), None);
        store.remove(&k).unwrap();
    }

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileResumeStore::new(dir.path());
        let k = key();
        let first = store.claim(&k).unwrap();
        let err = store.claim(&k).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(first);
        store.claim(&k).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_forgotten_upload_leaves_no_file_and_a_lock_on_a_removed_file_is_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileResumeStore::new(dir.path());
        let k = key();
        let files = || std::fs::read_dir(dir.path()).unwrap().count();
        let first = store.claim(&k).unwrap();
        store.begin(&k, &header(&k)).unwrap();
        assert_eq!(files(), 2, "the journal and the lock");
        // Completed or aborted: forgotten while still claimed, nothing left behind.
        store.remove(&k).unwrap();
        assert_eq!(files(), 0);
        // A second process claims the same upload (a new lock file) while the first has not
        // yet let go of the removed one: only one holder, the new one.
        let second = store.claim(&k).unwrap();
        assert_eq!(
            store.claim(&k).err().unwrap().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(first);
        assert_eq!(
            store.claim(&k).err().unwrap().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(second);
        store.claim(&k).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_counts_only_while_its_name_leads_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.lock");
        let opened = File::create(&path).unwrap();
        assert!(still_named(&opened, &path).unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(!still_named(&opened, &path).unwrap(), "unlinked");
        let _new = File::create(&path).unwrap();
        assert!(!still_named(&opened, &path).unwrap(), "replaced");
    }

    #[test]
    fn identity_differences_are_named() {
        let a = FileIdentity {
            path: "/a".into(),
            size: 1,
            mtime_ns: Some(1),
        };
        assert_eq!(a.difference(&a), None);
        let mut b = a.clone();
        b.size = 2;
        assert!(b.difference(&a).unwrap().contains("from 1 to 2 bytes"));
        let mut c = a.clone();
        c.mtime_ns = Some(2);
        assert_eq!(c.difference(&a).unwrap(), "it was modified");
        let mut d = a.clone();
        d.path = "/b".into();
        assert!(d.difference(&a).unwrap().contains("/a"));
    }
}
