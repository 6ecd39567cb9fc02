//! Request bodies. A [`Payload`] says what a request carries: nothing, bytes in memory (an XML
//! document), or a [`FileSlice`]: a range of the file with optional bytes before and after it
//! (a POST form's framing). Every payload has an exact length, so requests carry
//! `Content-Length`, never chunked encoding (S3 refuses chunked PUTs).
//!
//! A file slice is read by a [`FileRangeBody`] opened afresh for each attempt: a reader on the
//! blocking pool reads ahead at most [`READ_AHEAD`] chunks of [`CHUNK`] bytes, so reading the disk
//! overlaps writing the socket, and memory stays at a few chunks whatever the file's size.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use md5::{Digest, Md5};

use crate::error::{FileChange, UploadError};
use crate::integrity::Md5Digest;
use crate::progress::AttemptMeter;

/// How much of the file one read takes.
pub(crate) const CHUNK: usize = 512 * 1024;
/// Chunks read but not yet sent, at most.
pub(crate) const READ_AHEAD: usize = 2;

/// Where a body failure is left for the sender to find (reqwest wraps body errors opaquely).
pub(crate) type FailSlot = Arc<Mutex<Option<UploadError>>>;

/// Where the MD5 of a file range read while sending is left, once the last byte is read.
pub(crate) type DigestSlot = Arc<Mutex<Option<Md5Digest>>>;

/// One attempt's context: its share of the progress, its failure slot, whether to hold the
/// body back (after `Expect: 100-continue`) so an early refusal is read before anything is sent,
/// and where to leave the MD5 of the file bytes when they are hashed as they are read.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    pub(crate) meter: Arc<AttemptMeter>,
    pub(crate) fail: FailSlot,
    pub(crate) hold: Option<std::time::Duration>,
    pub(crate) digest: Option<DigestSlot>,
}

/// What a request carries.
#[derive(Clone, Debug)]
pub(crate) enum Payload {
    /// No body.
    Empty,
    /// A small document held in memory.
    Bytes(Bytes),
    /// A range of the file, with framing around it.
    File(FileSlice),
}

impl Payload {
    /// The body's exact length.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Payload::Empty => 0,
            Payload::Bytes(b) => b.len() as u64,
            Payload::File(f) => f.before.len() as u64 + f.len + f.after.len() as u64,
        }
    }
}

/// A range of the file, read from disk on each attempt, with bytes to send before and after it.
#[derive(Clone, Debug)]
pub(crate) struct FileSlice {
    pub(crate) path: PathBuf,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    /// The range runs to the end of the file: check, once it is read, that nothing follows (a
    /// file still being written must not become a complete object).
    pub(crate) to_end: bool,
    pub(crate) before: Bytes,
    pub(crate) after: Bytes,
}

/// What the reader hands the body.
impl FileSlice {
    /// The whole file at `path`, `len` bytes as planned (read to its end, so growth is seen).
    pub(crate) fn whole(path: &std::path::Path, len: u64) -> Self {
        FileSlice {
            path: path.to_owned(),
            offset: 0,
            len,
            to_end: true,
            before: Bytes::new(),
            after: Bytes::new(),
        }
    }

    /// `len` bytes of the file at `path` from `offset` (a part).
    pub(crate) fn range(path: &std::path::Path, offset: u64, len: u64) -> Self {
        FileSlice {
            path: path.to_owned(),
            offset,
            len,
            to_end: false,
            before: Bytes::new(),
            after: Bytes::new(),
        }
    }
}

enum Chunk {
    Data(Bytes),
    Changed(FileChange),
    Failed(std::io::Error),
}

/// Reads `len` bytes from `offset` and sends them in chunks; with `to_end`, checks that the file
/// ends there before the last chunk goes out, so a server never receives a complete body from a
/// file that is still being written. With `digest`, hashes the bytes as they are read (on this
/// thread, off the one writing the socket) and leaves the MD5 there before the last chunk goes
/// out. Stops when the body is dropped (the channel closes).
fn read_ahead(
    mut file: std::fs::File,
    len: u64,
    to_end: bool,
    digest: Option<DigestSlot>,
    tx: mpsc::Sender<Chunk>,
) {
    use std::io::Read;
    let mut hasher = digest.as_ref().map(|_| Md5::new());
    if len == 0
        && let (Some(slot), Some(h)) = (&digest, hasher.take())
        && let Ok(mut s) = slot.lock()
    {
        *s = Some(h.finalize().into());
    }
    let mut remaining = len;
    while remaining > 0 {
        let want = remaining.min(CHUNK as u64);
        let mut buf = Vec::with_capacity(want as usize);
        // `read_to_end` on a `take` fills the spare capacity without zeroing it first.
        let got = match (&mut file).take(want).read_to_end(&mut buf) {
            Ok(n) => n as u64,
            Err(e) => {
                let _ = tx.blocking_send(Chunk::Failed(e));
                return;
            }
        };
        if got < want {
            let missing = remaining - got;
            let _ = tx.blocking_send(Chunk::Changed(FileChange::Shrank { missing }));
            return;
        }
        remaining -= got;
        if remaining == 0 && to_end {
            let mut probe = [0u8; 1];
            match file.read(&mut probe) {
                Ok(0) => {}
                Ok(_) => {
                    let _ = tx.blocking_send(Chunk::Changed(FileChange::Grew));
                    return;
                }
                Err(e) => {
                    let _ = tx.blocking_send(Chunk::Failed(e));
                    return;
                }
            }
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&buf);
            if remaining == 0
                && let (Some(slot), Some(h)) = (&digest, hasher.take())
                && let Ok(mut s) = slot.lock()
            {
                *s = Some(h.finalize().into());
            }
        }
        if tx.blocking_send(Chunk::Data(Bytes::from(buf))).is_err() {
            return;
        }
    }
}

pub(crate) struct FileRangeBody {
    prefix: Option<Bytes>,
    suffix: Option<Bytes>,
    chunks: mpsc::Receiver<Chunk>,
    path: PathBuf,
    /// File bytes still to send.
    remaining: u64,
    len: u64,
    /// Nothing is sent until this fires (see [`Attempt::hold`]).
    hold: Option<Pin<Box<tokio::time::Sleep>>>,
    meter: Arc<AttemptMeter>,
    fail: FailSlot,
}

impl FileRangeBody {
    /// Opens the slice's file read-only, positions it at the slice's start, and starts reading
    /// ahead.
    pub(crate) async fn open(slice: &FileSlice, attempt: &Attempt) -> Result<Self, UploadError> {
        use tokio::io::AsyncSeekExt;
        let unreadable = |source| UploadError::FileUnreadable {
            path: slice.path.clone(),
            source,
        };
        let mut file = tokio::fs::File::open(&slice.path)
            .await
            .map_err(unreadable)?;
        if slice.offset > 0 {
            file.seek(std::io::SeekFrom::Start(slice.offset))
                .await
                .map_err(unreadable)?;
        }
        let file = file.into_std().await;
        let (tx, chunks) = mpsc::channel(READ_AHEAD);
        let (len, to_end, digest) = (slice.len, slice.to_end, attempt.digest.clone());
        tokio::task::spawn_blocking(move || read_ahead(file, len, to_end, digest, tx));
        let nonempty = |b: &Bytes| (!b.is_empty()).then(|| b.clone());
        Ok(FileRangeBody {
            len: slice.before.len() as u64 + slice.len + slice.after.len() as u64,
            prefix: nonempty(&slice.before),
            suffix: nonempty(&slice.after),
            chunks,
            path: slice.path.clone(),
            remaining: slice.len,
            hold: attempt.hold.map(|d| Box::pin(tokio::time::sleep(d))),
            meter: Arc::clone(&attempt.meter),
            fail: Arc::clone(&attempt.fail),
        })
    }

    /// Leaves the failure for the sender (reqwest wraps body errors opaquely) and ends the body.
    fn failed(&mut self, error: UploadError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let detail = error.to_string();
        if let Ok(mut slot) = self.fail.lock() {
            *slot = Some(error);
        }
        self.remaining = 0;
        self.suffix = None;
        Poll::Ready(Some(Err(BodyError(detail))))
    }
}

/// A body failure; the detail is in the fail slot.
#[derive(Debug)]
pub(crate) struct BodyError(String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BodyError {}

impl Body for FileRangeBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Some(p) = this.prefix.take() {
            this.meter.add(p.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(p))));
        }
        if let Some(h) = this.hold.as_mut() {
            // Pending here, before the file, lets the connection read an early answer: a PUT
            // refused on its signature, or a POST refused on its fields (which went first).
            ready!(h.as_mut().poll(cx));
            this.hold = None;
            this.meter.touch();
        }
        if this.remaining > 0 {
            let path = this.path.clone();
            return match ready!(this.chunks.poll_recv(cx)) {
                Some(Chunk::Data(b)) => {
                    this.remaining -= b.len() as u64;
                    this.meter.add(b.len() as u64);
                    this.meter.add_file(b.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Some(Chunk::Changed(change)) => {
                    this.failed(UploadError::FileChanged { path, change })
                }
                Some(Chunk::Failed(source)) => {
                    this.failed(UploadError::FileUnreadable { path, source })
                }
                None => {
                    let missing = this.remaining;
                    let change = FileChange::Shrank { missing };
                    this.failed(UploadError::FileChanged { path, change })
                }
            };
        }
        if let Some(s) = this.suffix.take() {
            this.meter.add(s.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(s))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.remaining == 0 && self.suffix.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}
