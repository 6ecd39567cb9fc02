//! A stream's parts (standard input, a request body), cut as data arrives.
//!
//! A stream cannot be read twice, so each part is held once in memory while it is sent (its MD5
//! goes out as `Content-MD5`, and a retry sends the same bytes again). At most `concurrency`
//! parts exist at once, in flight or being filled: memory is bounded by concurrency × part size,
//! whatever the stream's length. A stream that fails (a read error, more data than the plan has
//! parts for) aborts the multipart upload, so nothing is left behind.

use bytes::{Bytes, BytesMut};
use signpost_wire::{MultipartTarget, SignedUrl};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{PartJob, PartSource};
use crate::body::Payload;
use crate::error::{TargetKind, UploadError};
use crate::plan::Target;

/// Parts read from `reader`, each `part_size` bytes but the last.
pub(crate) struct StreamParts<'a, R> {
    pub(crate) reader: R,
    pub(crate) multipart: &'a MultipartTarget,
    /// Already read (to choose between one PUT and a multipart upload): empty, or exactly part 1.
    pub(crate) first: Option<Bytes>,
    /// Judge each part URL's expiry (the pre-flight), at this time.
    pub(crate) check: bool,
    pub(crate) now: OffsetDateTime,
    pub(crate) send_md5: bool,
    pub(crate) total: u64,
    pub(crate) parts: u32,
    pub(crate) ended: bool,
    /// Buffers given back by sent parts, filled again.
    pub(crate) spare: Vec<BytesMut>,
}

impl<'a, R> StreamParts<'a, R> {
    pub(crate) fn new(
        reader: R,
        multipart: &'a MultipartTarget,
        first: Bytes,
        check: bool,
        now: OffsetDateTime,
        send_md5: bool,
    ) -> Self {
        let whole = first.len() as u64 == multipart.part_size;
        StreamParts {
            reader,
            multipart,
            first: whole.then_some(first),
            check,
            now,
            send_md5,
            total: 0,
            parts: 0,
            ended: false,
            spare: Vec::new(),
        }
    }

    fn url(&self, number: u32) -> Option<&'a SignedUrl> {
        self.multipart.parts.get(number as usize - 1)
    }
}

impl<R: AsyncRead + Unpin> PartSource for StreamParts<'_, R> {
    async fn next(&mut self) -> Result<Option<PartJob>, UploadError> {
        if self.ended {
            return Ok(None);
        }
        let part_size = self.multipart.part_size as usize;
        let bytes = match self.first.take() {
            Some(b) => b,
            None => {
                let buf = self.spare.pop().unwrap_or_default();
                read_part(&mut self.reader, buf, part_size)
                    .await
                    .map_err(|source| UploadError::SourceUnreadable { source })?
            }
        };
        self.ended = bytes.len() < part_size;
        // An empty stream is one empty part; otherwise an empty read is the end.
        if bytes.is_empty() && self.parts > 0 {
            return Ok(None);
        }
        let number = self.parts + 1;
        let Some(url) = self.url(number) else {
            return Err(UploadError::TooLargeForPlan {
                size: self.total + bytes.len() as u64,
                parts: self.multipart.parts.len(),
                part_size: self.multipart.part_size,
                capacity: self.multipart.capacity(),
            });
        };
        let target = Target::read(url, TargetKind::Part(number), self.check, self.now)?;
        self.parts = number;
        let offset = self.total;
        self.total += bytes.len() as u64;
        Ok(Some(PartJob {
            number,
            offset,
            target,
            payload: Payload::Bytes(bytes),
            send_md5: self.send_md5,
        }))
    }

    fn recycle(&mut self, bytes: Bytes) {
        // Unique again once the part's request is dropped.
        if let Ok(buf) = bytes.try_into_mut() {
            self.spare.push(buf);
        }
    }

    fn bytes(&self) -> u64 {
        self.total
    }
}

/// Reads up to `size` bytes into `buf` (emptied first): a full part, or what is left before the
/// end of the stream.
async fn read_part<R: AsyncRead + Unpin>(
    r: &mut R,
    mut buf: BytesMut,
    size: usize,
) -> std::io::Result<Bytes> {
    buf.clear();
    buf.reserve(size);
    while buf.len() < size {
        let want = size - buf.len();
        let n = (&mut *r).take(want as u64).read_buf(&mut buf).await?;
        if n == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}
