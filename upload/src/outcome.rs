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

/// The outcome as the command's `--json` and the bindings report it: `status`, `bytes`,
/// `seconds`, `etag`, `attempts`, `parts`, `partsReused`, `bytesSent`, and a POST response's
/// `location` and `key` (null when absent).
impl serde::Serialize for UploadOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let post = self.post_response.as_ref();
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("bytes", &self.bytes)?;
        m.serialize_entry("seconds", &self.elapsed.as_secs_f64())?;
        m.serialize_entry("etag", &self.etag)?;
        m.serialize_entry("attempts", &self.attempts)?;
        m.serialize_entry("parts", &self.parts)?;
        m.serialize_entry("partsReused", &self.parts_reused)?;
        m.serialize_entry("bytesSent", &self.bytes_sent)?;
        m.serialize_entry("location", &post.and_then(|p| p.location.as_ref()))?;
        m.serialize_entry("key", &post.and_then(|p| p.key.as_ref()))?;
        m.end()
    }
}
