//! A connection whose writes give up when the client stops taking bytes (nginx's
//! `send_timeout`): a client that never reads its answer cannot hold a connection, and the
//! memory of the answer's buffers, for ever. Reads are bounded elsewhere (hyper's header
//! timeout, [`RequestBody`](super::RequestBody)'s body timeout), where it is known what is
//! being waited for.
//!
//! It also closes as nginx does after answering before the body was read (a refusal such as
//! `EntityTooLarge` sent while the client still uploads): closing a socket with unread bytes
//! makes the kernel send a reset, which can destroy the answer on its way to the client, so the
//! client sees a broken pipe instead of S3's code. Instead the write side is shut (the client
//! reads the answer and the end of the connection), and what the client still sends is read and
//! dropped until it closes too, it sends nothing for [`LINGER_IDLE`], [`LINGER_TIME`] passes, or
//! [`LINGER_BYTES`] were dropped (nginx's `lingering_close`, `lingering_timeout` and
//! `lingering_time`; the byte bound is signpost's).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest a lingering close waits for the client's next bytes (nginx: 5 s).
pub(crate) const LINGER_IDLE: Duration = Duration::from_secs(5);
/// The longest a lingering close lasts (nginx: 30 s).
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(30);
/// The most a lingering close reads and drops.
pub(crate) const LINGER_BYTES: u64 = 64 << 20;

pub(crate) struct TimedIo<T> {
    inner: T,
    send_timeout: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    waiting: bool,
    /// Set while a request's body was left unread: the close then lingers.
    unread: Arc<AtomicBool>,
    /// Once the write side is shut: when the lingering ends, and what it dropped.
    linger: Option<(tokio::time::Instant, u64)>,
}

impl<T> TimedIo<T> {
    pub(crate) fn new(inner: T, send_timeout: Duration, unread: Arc<AtomicBool>) -> Self {
        TimedIo {
            inner,
            send_timeout,
            timer: Box::pin(tokio::time::sleep(send_timeout)),
            waiting: false,
            unread,
            linger: None,
        }
    }

    /// A write's outcome, timed: the time starts at the first write that could not proceed and
    /// ends the connection when it passes; any progress stops it.
    fn timed<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match r {
            Poll::Pending => match self.stalled(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Pending,
            },
            ready => {
                self.waiting = false;
                ready
            }
        }
    }

    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.waiting {
            self.waiting = true;
            let deadline = tokio::time::Instant::now() + self.send_timeout;
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no byte of the answer for the send timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.timed(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.timed(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.timed(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            let r = Pin::new(&mut this.inner).poll_shutdown(cx);
            let r = this.timed(cx, r);
            if !matches!(r, Poll::Ready(Ok(()))) || !this.unread.load(Ordering::Relaxed) {
                return r;
            }
            let now = tokio::time::Instant::now();
            this.linger = Some((now + LINGER_TIME, 0));
            this.timer.as_mut().reset(now + LINGER_IDLE);
        }
        this.poll_linger(cx)
    }
}

impl<T: AsyncRead + Unpin> TimedIo<T> {
    /// Reads and drops what the client still sends; ready when the lingering is over.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((end, mut dropped)) = self.linger else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 16 * 1024];
        // At most 64 KiB per poll, so a fast client cannot keep this task from yielding.
        for _ in 0..4 {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    dropped += buf.filled().len() as u64;
                    self.linger = Some((end, dropped));
                    if dropped >= LINGER_BYTES {
                        return Poll::Ready(Ok(()));
                    }
                    let now = tokio::time::Instant::now();
                    self.timer.as_mut().reset((now + LINGER_IDLE).min(end));
                }
                // The client closed too, or the connection failed: done either way.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    return match self.timer.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
