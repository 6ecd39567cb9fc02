//! Every size, count and wait a client controls, bounded in one place.
//!
//! The defaults are what an operator can expose without thinking about them, and are never
//! looser than nginx's (`client_header_timeout` 60 s, `client_body_timeout` 60 s, `send_timeout`
//! 60 s, `keepalive_timeout` 75 s) or S3's own (20 KB of form fields before the file, 8 KB of
//! request headers are AWS's documented figures; signpost allows a little more of both so that
//! what S3 accepts is never refused here).

use std::time::Duration;

/// The limits of one receiver. Build with [`Limits::default`] and change what needs changing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest a connection may take to deliver a request's headers, counted from the moment
    /// the server starts waiting for them: the connection's start (so a connection that never
    /// sends a byte is closed too) or the end of the previous response (so this is also the idle
    /// keep-alive timeout). hyper arms one timer for both; nginx has 60 s and 75 s.
    pub header_timeout: Duration,
    /// The longest a request body may go without a byte while the server reads it (nginx's
    /// `client_body_timeout`). A body that stops is answered `400 RequestTimeout`.
    pub body_timeout: Duration,
    /// The longest a response may wait for the client to take a byte (nginx's `send_timeout`).
    pub send_timeout: Duration,
    /// Connections at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Request header lines at once (hyper answers `431` past it).
    pub max_headers: usize,
    /// The bytes of a request's head: request line and headers (hyper answers `431` past it).
    pub max_header_bytes: usize,
    /// A POST form's bytes before its file's data: every field, name and value, and the part
    /// headers (S3: 20 KB). Past it: `400 MaxPostPreDataLengthExceeded`, before any policy or
    /// signature is looked at.
    pub form_bytes: usize,
    /// A POST form's fields before the file.
    pub form_fields: usize,
    /// An XML request body (CompleteMultipartUpload of 10,000 parts is about 1 MB).
    pub xml_bytes: usize,
    /// How long a drain (SIGTERM, [`stop`](crate::Running::stop)) lets uploads in flight finish
    /// before their bodies are cut and what they started upstream is aborted.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            form_bytes: 64 * 1024,
            form_fields: 100,
            xml_bytes: 4 * 1024 * 1024,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// Refuses limits that cannot work (zero where a positive value is needed).
    pub fn check(&self) -> Result<(), crate::ServeError> {
        let bad = |what: &str| Err(crate::ServeError::Limit(what.to_owned()));
        for (d, what) in [
            (self.header_timeout, "the header timeout"),
            (self.body_timeout, "the body timeout"),
            (self.send_timeout, "the send timeout"),
        ] {
            if d.is_zero() {
                return bad(&format!("{what} must be above zero"));
            }
        }
        if self.max_connections == 0 {
            return bad("at least one connection must be allowed");
        }
        if self.max_header_bytes < 8 * 1024 {
            return bad(
                "the request head limit must be at least 8 KiB (S3 accepts 8 KB of headers)",
            );
        }
        if self.form_bytes < 20 * 1024 {
            return bad("the form limit must be at least 20 KiB (S3 accepts 20 KB of fields)");
        }
        if self.form_fields == 0 || self.max_headers == 0 || self.xml_bytes == 0 {
            return bad("form fields, headers and XML bytes must be above zero");
        }
        Ok(())
    }
}
