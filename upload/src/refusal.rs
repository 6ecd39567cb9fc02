//! What a server said when it refused a request, and what that suggests.

use signpost_wire::s3_xml::S3ErrorCode;
use std::fmt;

use signpost_wire::s3_xml::ErrorResponse;

/// What the server answered when it refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The S3 error document, when the body was one.
    pub s3: Option<ErrorResponse>,
    /// The start of the body when it was not an S3 error document.
    pub body_excerpt: String,
    /// The cause, as far as the request sent and the answer tell (see the `explain` module).
    pub explanation: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match &self.s3 {
            Some(e) => write!(f, " {e}"),
            None if !self.body_excerpt.is_empty() => write!(f, ": {}", self.body_excerpt),
            None => Ok(()),
        }
    }
}

impl Refusal {
    /// The cause, as far as the request and the answer tell.
    pub fn hint(&self) -> &str {
        if let Some(n) = &self.explanation {
            return n;
        }
        use S3ErrorCode::*;
        match self.s3.as_ref().map(|e| &e.code) {
            Some(SignatureDoesNotMatch) => {
                "the URL, a signed header or the form was changed after signing, or the signer used other credentials or region"
            }
            Some(AccessDenied)
                if self
                    .s3
                    .as_ref()
                    .is_some_and(|e| e.message.contains("expired")) =>
            {
                "ask the server for a new upload target"
            }
            Some(EntityTooLarge) => "the file is over the size the target allows",
            Some(AuthorizationQueryParametersError) => {
                "the presigned URL is malformed (was its query string cut?) or signed for another region"
            }
            // Garage 2.5 answers an unknown key with AccessDenied "Forbidden: No such key: …".
            Some(AccessDenied)
                if self
                    .s3
                    .as_ref()
                    .is_some_and(|e| e.message.to_ascii_lowercase().contains("no such key")) =>
            {
                "the access key the target was signed with is unknown to this server: check that the job server signs with a key of this server (and for this endpoint)"
            }
            Some(InvalidAccessKeyId | NotSignedUp) => {
                "the access key the target was signed with is unknown to this server: check that the job server signs with a key of this server (and for this endpoint)"
            }
            _ => "",
        }
    }
}
