//! [`FileResumeStore`]: journals as files in a directory, each part a synced JSON line.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Journal, JournalHeader, JournalPart, ResumeClaim, ResumeStore, UploadKey};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resume::FileIdentity;
    use signpost_wire::RunnerJobCustomUpload;
    use signpost_wire::SignedUrl;

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
        assert_eq!(
            c.difference(&a).unwrap(),
            "the file was modified since its parts were sent"
        );
        let mut d = a.clone();
        d.path = "/b".into();
        assert_eq!(
            d.difference(&a).unwrap(),
            "its parts were sent from /a, not from this file"
        );
    }
}
