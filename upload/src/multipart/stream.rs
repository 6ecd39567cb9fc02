//! A stream's parts (standard input, a request body), cut as data arrives.
//!
//! A stream cannot be read twice, so each part is held once in memory while it is sent (its MD5
//! goes out as `Content-MD5`, and a retry sends the same bytes again). At most `concurrency`
//! parts exist at once, in flight or being filled: memory is bounded by concurrency × part size,
//! whatever the stream's length. A stream that fails (a read error, more data than the plan has
//! parts for) aborts the multipart upload, so nothing is left behind.

use crate::error::MultipartError;
use crate::error::PreflightError;
use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use signpost_wire::{MultipartTarget, SignedUrl};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{PartJob, PartSource};
use crate::body::Payload;
use crate::error::{TargetKind, UploadError};
use crate::part_signer::PartSigner;
use crate::plan::Target;

/// Where a stream's part URLs come from: the descriptor's list, then (when given) a signer for
/// the parts past it, up to `max_parts`.
#[derive(Clone, Copy)]
pub(crate) struct PartUrls<'a> {
    pub(crate) listed: &'a [SignedUrl],
    pub(crate) signer: Option<&'a dyn PartSigner>,
    pub(crate) max_parts: u32,
}

impl<'a> PartUrls<'a> {
    /// Only the descriptor's URLs.
    pub(crate) fn listed(multipart: &'a MultipartTarget) -> Self {
        PartUrls {
            listed: &multipart.parts,
            signer: None,
            max_parts: multipart.parts.len() as u32,
        }
    }

    /// Part `number`'s URL; `None` past the last part there is.
    async fn get(&self, number: u32) -> Option<Result<Cow<'a, SignedUrl>, UploadError>> {
        if let Some(url) = self.listed.get(number as usize - 1) {
            return Some(Ok(Cow::Borrowed(url)));
        }
        let signer = self.signer.filter(|_| number <= self.max_parts)?;
        Some(match signer.sign_part(number).await {
            Ok(url) => match usable(&url) {
                Ok(()) => Ok(Cow::Owned(url)),
                Err(reason) => Err(UploadError::Multipart(MultipartError::PartNotSigned {
                    number,
                    source: reason.into(),
                })),
            },
            Err(source) => Err(UploadError::Multipart(MultipartError::PartNotSigned {
                number,
                source,
            })),
        })
    }
}

/// A signed URL the funnel can send: absolute, http or https.
fn usable(url: &SignedUrl) -> Result<(), String> {
    match url::Url::parse(url.as_str()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        Ok(u) => Err(format!(
            "the signer answered a {} URL, not an http or https one: {url}",
            u.scheme()
        )),
        Err(e) => Err(format!("the signer answered no URL ({e}): {url}")),
    }
}

/// Parts read from `reader`, each `part_size` bytes but the last.
pub(crate) struct StreamParts<'a, R> {
    pub(crate) reader: R,
    pub(crate) part_size: u64,
    pub(crate) urls: PartUrls<'a>,
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
        part_size: u64,
        urls: PartUrls<'a>,
        first: Bytes,
        check: bool,
        now: OffsetDateTime,
        send_md5: bool,
    ) -> Self {
        let whole = first.len() as u64 == part_size;
        StreamParts {
            reader,
            part_size,
            urls,
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
}

impl<R: AsyncRead + Unpin> PartSource for StreamParts<'_, R> {
    async fn next(&mut self) -> Result<Option<PartJob>, UploadError> {
        if self.ended {
            return Ok(None);
        }
        let part_size = self.part_size as usize;
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
        let Some(url) = self.urls.get(number).await else {
            let parts = self.urls.max_parts.max(self.urls.listed.len() as u32);
            return Err(UploadError::Preflight(PreflightError::TooLargeForPlan {
                size: self.total + bytes.len() as u64,
                parts: parts as usize,
                part_size: self.part_size,
                capacity: self.part_size.saturating_mul(u64::from(parts)),
            }));
        };
        let url = url?;
        let target = Target::read(&url, TargetKind::Part(number), self.check, self.now)?;
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
