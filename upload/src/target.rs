//! One URL of a plan, its query read once.

use crate::error::PreflightError;
use signpost_wire::{QueryAuth, SignedUrl};
use time::OffsetDateTime;

use crate::error::{TargetKind, UploadError};

/// One URL of the plan: which one it is and when it expires, read from its query once.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) url: SignedUrl,
    pub(crate) kind: TargetKind,
    /// After this the server refuses it; retries never start past it.
    pub(crate) expires_at: Option<OffsetDateTime>,
    /// Authorized by a query-string signature (everything but a POST form).
    pub(crate) signed_by_query: bool,
    /// A POST form's `x-amz-credential`, to explain a refusal.
    pub(crate) form_credential: Option<String>,
    /// A POST form without the `key` field S3's POST Object requires (a descriptor that carries
    /// no presigned POST fields), to explain a refusal. Not refused before sending: a target
    /// other than S3 (`signpost gateway`, a custom endpoint) may take such a form.
    pub(crate) form_lacks_key: bool,
    /// The URL's SigV4 query, parsed once: `None` when it carries none, `Err` when malformed.
    pub(crate) auth: Result<Option<QueryAuth>, signpost_wire::QueryAuthError>,
}

impl Target {
    /// `url` with its query parsed, its expiry not judged (a URL needed after a failure, or to
    /// resume, or sent without the pre-flight).
    pub(crate) fn unchecked(url: &SignedUrl, kind: TargetKind) -> Self {
        Target {
            url: url.clone(),
            kind,
            expires_at: None,
            signed_by_query: kind != TargetKind::FormUrl,
            form_credential: None,
            form_lacks_key: false,
            auth: QueryAuth::from_url(url.as_str()),
        }
    }

    /// Reads `url`'s expiry from its query (when `check`, refusing one already past at `now`,
    /// or a malformed query).
    pub(crate) fn read(
        url: &SignedUrl,
        kind: TargetKind,
        check: bool,
        now: OffsetDateTime,
    ) -> Result<Self, UploadError> {
        let mut t = Self::unchecked(url, kind);
        if !check {
            return Ok(t);
        }
        t.expires_at = match &t.auth {
            Ok(q) => q.as_ref().map(QueryAuth::expires_at),
            Err(source) => {
                return Err(UploadError::Preflight(PreflightError::MalformedUrl {
                    what: kind,
                    source: source.clone(),
                }));
            }
        };
        if let Some(expires_at) = t.expires_at
            && now > expires_at
        {
            return Err(UploadError::Preflight(PreflightError::Expired {
                what: kind,
                expires_at,
            }));
        }
        Ok(t)
    }
}

/// `host[:port]` of `url`, as errors name the server.
pub(crate) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| "the server".into())
}
