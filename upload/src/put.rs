//! A presigned PUT: the URL exactly as given, the file as the body, the signed headers.

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::body::{FileSlice, Payload};
use crate::error::UploadError;
use crate::funnel::{Funnel, Request};
use crate::outcome::UploadOutcome;
use crate::plan::{Target, UploadPlan};
use crate::progress::Meter;

pub(crate) async fn put(
    funnel: &Funnel,
    plan: &UploadPlan,
    target: &Target,
    headers: &HeaderMap,
    meter: &Meter,
) -> Result<UploadOutcome, UploadError> {
    let source = &plan.source;
    let request = Request {
        method: Method::PUT,
        target,
        headers: headers.clone(),
        payload: Payload::File(FileSlice {
            path: source.path().to_owned(),
            offset: 0,
            len: source.len(),
            to_end: true,
            before: Bytes::new(),
            after: Bytes::new(),
        }),
        expected: &plan.expected,
        content_md5: None,
        check_etag: false,
    };
    let answer = funnel.send(&request, meter).await?;
    Ok(UploadOutcome::new(
        answer.status,
        source.len(),
        answer.attempts,
        answer.etag(),
    ))
}
