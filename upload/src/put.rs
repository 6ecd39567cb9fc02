//! A presigned PUT: the URL exactly as given, the file as the body, the signed headers.

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::body::{FileSlice, Payload};
use crate::error::UploadError;
use crate::funnel::{Funnel, Request};
use crate::integrity::md5_of_range;
use crate::outcome::UploadOutcome;
use crate::plan::{Target, UploadPlan};
use crate::progress::Meter;

/// How the PUT's bytes are checked.
pub(crate) struct Check {
    /// The descriptor signs its own digest header: sent as given, none added.
    pub(crate) digest_given: bool,
    /// The server's ETag is an MD5 of the object.
    pub(crate) etag_is_md5: bool,
}

pub(crate) async fn put(
    funnel: &Funnel,
    plan: &UploadPlan,
    target: &Target,
    headers: &HeaderMap,
    check: Check,
    meter: &Meter,
) -> Result<UploadOutcome, UploadError> {
    let source = &plan.source;
    // Content-MD5 worked out first (the server refuses damaged bytes before storing them), or
    // the bytes hashed as they are sent and the ETag compared (one read of the file).
    let first = !check.digest_given && !plan.no_content_md5 && plan.put_digest.first(source.len());
    let content_md5 = if first {
        let path = source.path().to_owned();
        let len = source.len();
        let unreadable = |source| UploadError::FileUnreadable {
            path: path.clone(),
            source,
        };
        let p = path.clone();
        Some(
            tokio::task::spawn_blocking(move || md5_of_range(&p, 0, len))
                .await
                .map_err(|e| unreadable(std::io::Error::other(e)))?
                .map_err(unreadable)?,
        )
    } else {
        None
    };
    let request = Request::new(Method::PUT, target)
        .headers(headers.clone())
        .with_payload(Payload::File(FileSlice::whole(source.path(), source.len())))
        .expect(&plan.expected)
        .content_md5(content_md5)
        .check_etag(check.etag_is_md5, true);
    let answer = funnel.send(&request, meter).await?;
    let mut outcome =
        UploadOutcome::new(answer.status, source.len(), answer.attempts, answer.etag());
    outcome.bytes_sent = meter.file_bytes_sent();
    Ok(outcome)
}
