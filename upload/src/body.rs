//! Request bodies. A [`Payload`] says what a request carries: nothing, bytes in memory (an XML
//! document), or a [`FileSlice`]: a range of the file with optional bytes before and after it
//! (a POST form's framing). Every payload has an exact length, so requests carry
//! `Content-Length`, never chunked encoding (S3 refuses chunked PUTs).
//!
//! A file slice is read in chunks as the connection takes them, by a [`FileRangeBody`] opened
//! afresh for each attempt; memory stays at a chunk or two whatever the file's size.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

use crate::error::{FileChange, UploadError};
use crate::progress::AttemptMeter;

/// How much of the file one read takes.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Where a body failure is left for the sender to find (reqwest wraps body errors opaquely).
pub(crate) type FailSlot = Arc<Mutex<Option<UploadError>>>;

/// One attempt's context: its share of the progress, its failure slot, and whether to hold the
/// body back (after `Expect: 100-continue`) so an early refusal is read before anything is sent.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    pub(crate) meter: Arc<AttemptMeter>,
    pub(crate) fail: FailSlot,
    pub(crate) hold: Option<std::time::Duration>,
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

pub(crate) struct FileRangeBody {
    prefix: Option<Bytes>,
    suffix: Option<Bytes>,
    file: tokio::fs::File,
    path: PathBuf,
    /// File bytes still to send.
    remaining: u64,
    /// Check, once the range is read, that the file has nothing more (a whole-file body).
    check_eof: bool,
    len: u64,
    buf: Option<BytesMut>,
    /// Nothing is sent until this fires (see [`Attempt::hold`]).
    hold: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The last chunk, held back until the end-of-file probe answers.
    stash: Option<Bytes>,
    meter: Arc<AttemptMeter>,
    fail: FailSlot,
}

impl FileRangeBody {
    /// Opens the slice's file read-only and positions it at the slice's start.
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
        let nonempty = |b: &Bytes| (!b.is_empty()).then(|| b.clone());
        Ok(FileRangeBody {
            len: slice.before.len() as u64 + slice.len + slice.after.len() as u64,
            prefix: nonempty(&slice.before),
            suffix: nonempty(&slice.after),
            file,
            path: slice.path.clone(),
            remaining: slice.len,
            check_eof: slice.to_end,
            buf: None,
            hold: attempt.hold.map(|d| Box::pin(tokio::time::sleep(d))),
            stash: None,
            meter: Arc::clone(&attempt.meter),
            fail: Arc::clone(&attempt.fail),
        })
    }

    fn failed(&self, change: FileChange) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let detail = change.to_string();
        if let Ok(mut slot) = self.fail.lock() {
            *slot = Some(UploadError::FileChanged {
                path: self.path.clone(),
                change,
            });
        }
        Poll::Ready(Some(Err(BodyError(detail))))
    }

    fn poll_probe(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let mut probe = [0u8; 1];
        let mut rb = ReadBuf::new(&mut probe);
        match ready!(Pin::new(&mut self.file).poll_read(cx, &mut rb)) {
            Ok(()) if !rb.filled().is_empty() => {
                self.stash = None;
                self.failed(FileChange::Grew)
            }
            Ok(()) => {
                let last = self.stash.take().unwrap_or_default();
                self.meter.add(last.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(last))))
            }
            Err(e) => {
                self.stash = None;
                self.read_error(e)
            }
        }
    }

    fn read_error(&self, e: std::io::Error) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let msg = e.to_string();
        if let Ok(mut slot) = self.fail.lock() {
            *slot = Some(UploadError::FileUnreadable {
                path: self.path.clone(),
                source: e,
            });
        }
        Poll::Ready(Some(Err(BodyError(msg))))
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
        if this.stash.is_some() {
            return this.poll_probe(cx);
        }
        if this.remaining > 0 {
            let want = (this.remaining.min(CHUNK as u64)) as usize;
            let buf = this.buf.get_or_insert_with(|| BytesMut::zeroed(want));
            let filled = {
                let mut rb = ReadBuf::new(&mut buf[..]);
                match ready!(Pin::new(&mut this.file).poll_read(cx, &mut rb)) {
                    Ok(()) => rb.filled().len(),
                    Err(e) => {
                        this.buf = None;
                        return this.read_error(e);
                    }
                }
            };
            let mut chunk = this.buf.take().unwrap_or_default();
            if filled == 0 {
                return this.failed(FileChange::Shrank {
                    missing: this.remaining,
                });
            }
            chunk.truncate(filled);
            this.remaining -= filled as u64;
            if this.remaining == 0 && this.check_eof {
                // Hold the last chunk back until a probe shows the file has nothing more, so the
                // server never completes an object from a file that was still being written.
                this.stash = Some(chunk.freeze());
                return this.poll_probe(cx);
            }
            this.meter.add(filled as u64);
            return Poll::Ready(Some(Ok(Frame::data(chunk.freeze()))));
        }
        if let Some(s) = this.suffix.take() {
            this.meter.add(s.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(s))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none()
            && self.remaining == 0
            && self.stash.is_none()
            && self.suffix.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}
