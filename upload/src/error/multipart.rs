//! A multipart upload's failures: a part, CompleteMultipartUpload, the upload kept or gone,
//! each saying what became of the upload on the server.

use signpost_wire::s3_xml::ErrorResponse;

use super::{AbortOutcome, UploadError};

/// Why a multipart upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// A multipart upload failed and was kept on the server, to be resumed.
    #[error(
        "{source}; the multipart upload {upload_id} is kept with {stored} of {parts} parts stored: upload again with this descriptor (or a fresh one for the same upload) to resume it, or abort it (Uploader::abort)"
    )]
    Kept {
        /// What failed.
        source: Box<UploadError>,
        /// The upload.
        upload_id: String,
        /// Parts the server holds (sent in this run or before).
        stored: u32,
        /// Parts in the plan.
        parts: u32,
    },
    /// The server no longer has the multipart upload (completed or aborted): nothing to resume.
    #[error(
        "the server has no multipart upload {upload_id} (NoSuchUpload): it was completed or aborted, so it cannot be resumed; its journal was removed. Ask for a new descriptor"
    )]
    UploadGone {
        /// The upload.
        upload_id: String,
    },
    /// CompleteMultipartUpload's ETag is not the one the parts sent make.
    #[error(
        "the server's multipart ETag {etag} is not the {expected} the {parts} parts sent make: it assembled other bytes"
    )]
    MultipartETagMismatch {
        /// The ETag answered.
        etag: String,
        /// `md5(concat(part MD5s))-N`.
        expected: String,
        /// Parts.
        parts: usize,
    },
    /// S3 answered a part upload without an ETag, so the upload cannot be completed.
    #[error(
        "part {part}: the server's answer has no ETag header, which CompleteMultipartUpload needs"
    )]
    MissingETag {
        /// The part number.
        part: u32,
    },
    /// CompleteMultipartUpload answered 200 with an error document (S3 does this).
    #[error("{0}")]
    CompletedWithError(Box<ErrorResponse>),
    /// A part failed; the upload was aborted (or the abort failed too).
    #[error("part {part} of {parts} failed: {source}; {abort}")]
    Part {
        /// The part number (1-based).
        part: u32,
        /// Parts in all.
        parts: u32,
        /// Why.
        source: Box<UploadError>,
        /// What became of the upload.
        abort: AbortOutcome,
    },
    /// A part failed (what [`MultipartError::Kept`] says when the upload is kept).
    #[error("part {part} of {parts} failed: {source}")]
    PartFailed {
        /// The part number (1-based).
        part: u32,
        /// Parts in all.
        parts: u32,
        /// Why.
        source: Box<UploadError>,
    },
    /// CompleteMultipartUpload failed (what [`MultipartError::Kept`] says when the upload is kept).
    #[error("CompleteMultipartUpload failed: {source}")]
    CompleteFailed {
        /// Why.
        source: Box<UploadError>,
    },
    /// Every part was stored but CompleteMultipartUpload failed; the upload was aborted.
    #[error("CompleteMultipartUpload failed: {source}; {abort}")]
    Complete {
        /// Why.
        source: Box<UploadError>,
        /// What became of the upload.
        abort: AbortOutcome,
    },
    /// The [`PartSigner`](crate::PartSigner) could not sign a part's URL (or answered one that
    /// cannot be sent); the upload is aborted, as for any failure of a stream.
    #[error("part {number}'s URL could not be signed: {source}")]
    PartNotSigned {
        /// The part.
        number: u32,
        /// What the signer said.
        #[source]
        source: crate::part_signer::PartSignError,
    },
}
