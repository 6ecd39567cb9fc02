//! The request body as the gateway reads it: counted, and held to the object size limit and to
//! what the verified request promised (its Content-Length, its Content-MD5). (A client that
//! goes quiet is the core's body timeout.) A failure is an I/O error carrying the S3 refusal, so
//! that the upstream upload stops (and is aborted) and the client hears S3's code.

use std::pin::Pin;
use std::task::{Context, Poll};

use md5::{Digest, Md5};
use signpost_presign::{BodyRules, VerifyError};
use tokio::io::{AsyncRead, ReadBuf};

/// Why the gateway stopped reading a body: S3's code and status for the client.
#[derive(Debug, thiserror::Error)]
pub enum BodyRefusal {
    /// A rule of the verified request or form.
    #[error(transparent)]
    Rule(VerifyError),
    /// Over the gateway's `--max-size`.
    #[error("the object is over this gateway's limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
}

impl BodyRefusal {
    /// S3's code.
    pub fn s3_code(&self) -> &'static str {
        match self {
            BodyRefusal::Rule(e) => e.s3_code(),
            BodyRefusal::TooLarge { .. } => "EntityTooLarge",
        }
    }

    /// The status S3 answers.
    pub fn status(&self) -> u16 {
        match self {
            BodyRefusal::Rule(e) => e.status(),
            BodyRefusal::TooLarge { .. } => 400,
        }
    }
}

/// The refusal an I/O error carries, if it carries one.
pub fn refusal_of<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyRefusal> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<BodyRefusal>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<BodyRefusal>()
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// Counts, limits and hashes what passes through.
pub struct Guard<R> {
    inner: R,
    received: u64,
    limit: u64,
    rules: BodyRules,
    md5: Option<Md5>,
}

impl<R> Guard<R> {
    /// Wraps `inner`: at most `limit` bytes, `rules` of the verified request (checked as bytes
    /// arrive, and at the end with the body's MD5).
    pub fn new(inner: R, limit: u64, rules: BodyRules) -> Self {
        let md5 = rules.content_md5.map(|_| Md5::new());
        Guard {
            inner,
            received: 0,
            limit,
            rules,
            md5,
        }
    }
}

fn refuse(r: BodyRefusal) -> Poll<std::io::Result<()>> {
    Poll::Ready(Err(std::io::Error::other(r)))
}

impl<R: AsyncRead + Unpin> AsyncRead for Guard<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        let new = &buf.filled()[before..];
        this.received += new.len() as u64;
        if let Some(h) = &mut this.md5 {
            h.update(new);
        }
        // A refusal hands the reader no bytes (AsyncRead's contract for an error).
        if this.received > this.limit {
            buf.set_filled(before);
            return refuse(BodyRefusal::TooLarge { limit: this.limit });
        }
        if let Err(e) = this.rules.check_progress(this.received) {
            buf.set_filled(before);
            return refuse(BodyRefusal::Rule(e));
        }
        if new.is_empty() {
            // The end: the body must be whole, and be what its Content-MD5 says.
            let md5 = this.md5.take().map(|h| h.finalize().into());
            if let Err(e) = this.rules.check_complete(this.received, md5) {
                return refuse(BodyRefusal::Rule(e));
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn limits_and_digest_are_checked_as_bytes_pass() {
        let read = |data: &'static [u8], limit, rules| async move {
            let mut g = Guard::new(data, limit, rules);
            let mut out = Vec::new();
            g.read_to_end(&mut out).await.map(|_| out)
        };
        assert_eq!(
            read(b"abc", 10, BodyRules::default()).await.unwrap(),
            b"abc"
        );
        let e = read(b"abcdef", 3, BodyRules::default()).await.unwrap_err();
        assert_eq!(refusal_of(&e).unwrap().s3_code(), "EntityTooLarge");
        let md5 = BodyRules {
            content_md5: Some([0; 16]),
            ..BodyRules::default()
        };
        let e = read(b"abc", 10, md5).await.unwrap_err();
        assert_eq!(refusal_of(&e).unwrap().s3_code(), "BadDigest");
        let short = BodyRules {
            length: Some(10),
            ..BodyRules::default()
        };
        let e = read(b"abc", 100, short).await.unwrap_err();
        assert_eq!(refusal_of(&e).unwrap().s3_code(), "IncompleteBody");
    }
}
