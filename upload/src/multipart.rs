//! A presigned multipart upload: parts in parallel, each retried alone through the funnel, then
//! CompleteMultipartUpload with every part's ETag. Any failure calls AbortMultipartUpload, so
//! nothing is left behind, and the error says what became of the upload.

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use signpost_wire::s3_xml::{
    CompleteMultipartUpload, CompleteMultipartUploadResult, CompletedPart, ErrorResponse, parse,
};

use crate::body::{FileSlice, Payload};
use crate::error::UploadError;
use crate::funnel::{Funnel, Request};
use crate::outcome::UploadOutcome;
use crate::plan::{PartPlan, Target, UploadPlan};
use crate::progress::Meter;
use crate::stream::abort_upload;

/// What one stored part reports.
struct Stored {
    number: u32,
    etag: String,
    attempts: u32,
}

pub(crate) async fn multipart(
    funnel: &Funnel,
    concurrency: usize,
    plan: &UploadPlan,
    parts: &[PartPlan],
    complete: &Target,
    abort_target: &Target,
    meter: &Meter,
) -> Result<UploadOutcome, UploadError> {
    let n = parts.len() as u32;
    let mut stream = futures_util::stream::iter(parts)
        .map(|part| async move {
            upload_part(funnel, plan, part, meter)
                .await
                .map_err(|e| (part.number, e))
        })
        .buffer_unordered(concurrency.max(1));
    let mut etags: Vec<Option<String>> = vec![None; parts.len()];
    let mut max_attempts = 0;
    while let Some(r) = stream.next().await {
        match r {
            Ok(s) => {
                max_attempts = max_attempts.max(s.attempts);
                etags[(s.number - 1) as usize] = Some(s.etag);
            }
            Err((part, e)) => {
                // Stop at the first failure: dropping the stream drops the parts in flight
                // (closing their connections) before the abort.
                drop(stream);
                return Err(UploadError::Part {
                    part,
                    parts: n,
                    source: Box::new(e),
                    abort: abort_upload(funnel, abort_target).await,
                });
            }
        }
    }
    let body = CompleteMultipartUpload::new(
        etags
            .into_iter()
            .enumerate()
            .map(|(i, etag)| CompletedPart {
                part_number: i as u32 + 1,
                etag: etag.unwrap_or_default(),
            })
            .collect(),
    );
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    let request = Request {
        method: Method::POST,
        target: complete,
        headers,
        payload: Payload::Bytes(Bytes::from(body.to_xml())),
        expected: &plan.expected,
        content_md5: None,
        check_etag: false,
    };
    let answer = match funnel.send(&request, meter).await {
        Ok(a) => a,
        Err(e) => {
            return Err(UploadError::Complete {
                source: Box::new(e),
                abort: abort_upload(funnel, abort_target).await,
            });
        }
    };
    // S3 may answer 200 and put the error in the body.
    if let Some(err) = ErrorResponse::parse(&answer.body) {
        return Err(UploadError::Complete {
            source: Box::new(UploadError::CompletedWithError(Box::new(err))),
            abort: abort_upload(funnel, abort_target).await,
        });
    }
    let etag = parse::<CompleteMultipartUploadResult>(&answer.body)
        .ok()
        .and_then(|r| r.etag)
        .or_else(|| answer.etag());
    let mut outcome = UploadOutcome::new(
        answer.status,
        plan.source.len(),
        max_attempts.max(answer.attempts),
        etag,
    );
    outcome.parts = Some(n);
    Ok(outcome)
}

async fn upload_part(
    funnel: &Funnel,
    plan: &UploadPlan,
    part: &PartPlan,
    meter: &Meter,
) -> Result<Stored, UploadError> {
    let request = Request {
        method: Method::PUT,
        target: &part.target,
        headers: HeaderMap::new(),
        payload: Payload::File(FileSlice {
            path: plan.source.path().to_owned(),
            offset: part.offset,
            len: part.len,
            to_end: false,
            before: Bytes::new(),
            after: Bytes::new(),
        }),
        expected: &[200],
        content_md5: None,
        check_etag: false,
    };
    let answer = funnel.send(&request, meter).await?;
    let etag = answer
        .etag()
        .ok_or(UploadError::MissingETag { part: part.number })?;
    Ok(Stored {
        number: part.number,
        etag,
        attempts: answer.attempts,
    })
}
