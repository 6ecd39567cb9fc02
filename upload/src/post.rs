//! A POST form (S3's browser-based upload): `multipart/form-data`, the fields in order, the file
//! part last (S3 ignores fields after the file), with an exact `Content-Length`.

use reqwest::Method;
use reqwest::header::HeaderMap;
use signpost_wire::s3_xml::{PostResponse, parse};

use crate::body::{FileSlice, Payload};
use crate::error::UploadError;
use crate::form::Framing;
use crate::funnel::{Funnel, Request};
use crate::outcome::UploadOutcome;
use crate::plan::{Target, UploadPlan};
use crate::progress::Meter;

pub(crate) async fn post(
    funnel: &Funnel,
    plan: &UploadPlan,
    target: &Target,
    headers: &HeaderMap,
    framing: &Framing,
    etag_is_md5: bool,
    meter: &Meter,
) -> Result<UploadOutcome, UploadError> {
    let source = &plan.source;
    let mut file = FileSlice::whole(source.path(), source.len());
    file.before = framing.prefix.clone();
    file.after = framing.suffix.clone();
    // A form has no Content-MD5 for its file part: the file is hashed as it is sent and the ETag
    // compared.
    let request = Request::new(Method::POST, target)
        .headers(headers.clone())
        .with_payload(Payload::File(file))
        .expect(&plan.expected)
        .check_etag(etag_is_md5, true);
    let answer = funnel.send(&request, meter).await?;
    // With success_action_status=201 S3 describes the object (Garage calls the root PostObject).
    let post_response = parse::<PostResponse>(&answer.body).ok();
    let etag = answer
        .etag()
        .or_else(|| post_response.as_ref().and_then(|p| p.etag.clone()));
    let mut outcome = UploadOutcome::new(answer.status, source.len(), answer.attempts, etag);
    outcome.post_response = post_response;
    outcome.bytes_sent = meter.file_bytes_sent();
    Ok(outcome)
}
