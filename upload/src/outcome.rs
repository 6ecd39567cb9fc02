//! What a successful upload reports.

use std::time::Duration;

use signpost_wire::s3_xml::PostResponse;

/// A successful upload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutcome {
    /// The final HTTP status (one of the expected ones).
    pub status: u16,
    /// File bytes uploaded.
    pub bytes: u64,
    /// Attempts of the final request (for multipart: the most any request needed).
    pub attempts: u32,
    /// The object's ETag, when the server sent one.
    pub etag: Option<String>,
    /// The POST response document (POST with `success_action_status=201`).
    pub post_response: Option<PostResponse>,
    /// Parts uploaded (multipart only).
    pub parts: Option<u32>,
    /// Wall time from the first byte to the last answer.
    pub elapsed: Duration,
    /// Parts a server already held from an earlier, interrupted run, not sent again.
    pub parts_reused: u32,
    /// File bytes sent over the wire in this run, failed attempts included.
    pub bytes_sent: u64,
}

impl UploadOutcome {
    pub(crate) fn new(status: u16, bytes: u64, attempts: u32, etag: Option<String>) -> Self {
        UploadOutcome {
            status,
            bytes,
            attempts,
            etag,
            post_response: None,
            parts: None,
            elapsed: Duration::ZERO,
            parts_reused: 0,
            bytes_sent: 0,
        }
    }
}
