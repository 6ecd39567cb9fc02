//! Presigned multipart upload: the server starts the upload, presigns one URL per part plus the
//! Complete and Abort URLs, and hands them to the runner as one descriptor.
//!
//! S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 parts, objects
//! up to 5 TiB. See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, MultipartPlan, PresignRequest, Presigner, Validity};
//! use std::time::Duration;
//! let p = Presigner::new(Credentials::new("AKID", "SECRET"), Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?);
//! // 1. Send this request (any HTTP client), then read the upload id from its response.
//! let create = p.presign(&PresignRequest::create_multipart_upload("videos", "big.mp4"))?;
//! assert_eq!(create.method(), "POST");
//! let upload_id = signpost_presign::parse_initiate_response(
//!     "<InitiateMultipartUploadResult><Bucket>videos</Bucket><Key>big.mp4</Key>\
//!      <UploadId>abc123</UploadId></InitiateMultipartUploadResult>")?;
//! // 2. Plan the parts and presign them: 64 MiB parts for objects up to 20 GiB.
//! let plan = MultipartPlan::builder("videos", "big.mp4", upload_id)
//!     .part_size(64 << 20)
//!     .max_object_size(20 << 30)
//!     .build()?;
//! assert_eq!(plan.part_count(), 320);
//! let signed = plan.presign(&p, Validity::expires_in(Duration::from_secs(6 * 3600))?)?;
//! assert_eq!(signed.parts.len(), 320);
//! assert!(signed.parts.iter().all(|u| u.expires_at() == signed.expires_at()));
//! let job = signed.to_descriptor();
//! assert_eq!(job.multipart.as_ref().unwrap().parts.len(), 320);
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```

use signpost_wire::limits::{MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};
use signpost_wire::s3_xml::{ErrorResponse, InitiateMultipartUploadResult, XmlError, parse};
use signpost_wire::{MultipartTarget, RunnerJobCustomUpload, UploadMethod};

use crate::error::PresignError;
use crate::operation::S3Operation;
use crate::presigner::Presigner;
use crate::request::{PresignRequest, PresignedRequest};
use crate::validity::Validity;

/// The parts of one multipart upload. Built with [`MultipartPlan::builder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartPlan {
    bucket: String,
    key: String,
    upload_id: String,
    part_size: u64,
    part_count: u32,
}

/// Builds a [`MultipartPlan`]: the part size and the largest object the plan must carry are
/// named, so the two numbers cannot be swapped.
#[derive(Clone, Debug)]
pub struct MultipartPlanBuilder {
    bucket: String,
    key: String,
    upload_id: String,
    part_size: Option<u64>,
    max_object_size: Option<u64>,
}

impl MultipartPlanBuilder {
    /// Bytes per part (5 MiB to 5 GiB); every part but the last has exactly this size.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// The largest object the plan must carry (at most 10,000 parts of the part size).
    pub fn max_object_size(mut self, bytes: u64) -> Self {
        self.max_object_size = Some(bytes);
        self
    }

    /// Checks the plan against S3's limits.
    pub fn build(self) -> Result<MultipartPlan, PresignError> {
        if self.upload_id.is_empty() {
            return Err(PresignError::EmptyUploadId);
        }
        let (part_size, parts) = self.check()?;
        Ok(MultipartPlan {
            bucket: self.bucket,
            key: self.key,
            upload_id: self.upload_id,
            part_size,
            part_count: parts,
        })
    }

    /// Checks the part size and the largest object against S3's limits, the upload id aside:
    /// run it before CreateMultipartUpload, so that nothing is started for a plan that cannot be
    /// built. Returns the part size and the number of parts.
    pub fn check(&self) -> Result<(u64, u32), PresignError> {
        let part_size = self
            .part_size
            .ok_or(PresignError::PlanIncomplete("the part size"))?;
        let max = self
            .max_object_size
            .ok_or(PresignError::PlanIncomplete("the maximum object size"))?;
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            return Err(PresignError::PartSizeOutOfRange { part_size });
        }
        if max > MAX_OBJECT_SIZE {
            return Err(PresignError::ObjectTooLarge { size: max });
        }
        let parts = max.div_ceil(part_size).max(1);
        if parts > u64::from(MAX_PARTS) {
            return Err(PresignError::TooManyParts {
                parts,
                part_size,
                min_part_size: max.div_ceil(u64::from(MAX_PARTS)),
            });
        }
        Ok((part_size, parts as u32))
    }
}

impl MultipartPlan {
    /// Starts a plan for `upload_id` (from CreateMultipartUpload) of `bucket`/`key`.
    pub fn builder(
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> MultipartPlanBuilder {
        MultipartPlanBuilder {
            bucket: bucket.into(),
            key: key.into(),
            upload_id: upload_id.into(),
            part_size: None,
            max_object_size: None,
        }
    }

    /// How many part URLs the plan holds.
    pub fn part_count(&self) -> u32 {
        self.part_count
    }

    /// Bytes per part.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// The upload id.
    pub fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// Presigns every UploadPart URL, CompleteMultipartUpload, AbortMultipartUpload and
    /// ListParts, all with one `validity` (pinned to one signing time). Each request keeps its
    /// own expiry (credentials that expire first cut it short); [`PresignedMultipart::to_descriptor`]
    /// gives the runner's descriptor, as [`PresignedRequest::to_descriptor`] and
    /// [`PostForm::to_descriptor`](crate::PostForm::to_descriptor) do.
    pub fn presign(
        &self,
        presigner: &Presigner,
        validity: Validity,
    ) -> Result<PresignedMultipart, PresignError> {
        let validity = validity.pinned()?;
        let (b, k, u) = (&*self.bucket, &*self.key, &*self.upload_id);
        let sign = |r: PresignRequest| presigner.presign(&r.validity(validity));
        let mut parts = Vec::with_capacity(self.part_count as usize);
        // One request, its part number changed for each part: the bucket, key and upload id
        // are not copied 10,000 times.
        let mut part = PresignRequest::upload_part(b, k, u, 1).validity(validity);
        for n in 1..=self.part_count {
            if let S3Operation::UploadPart { part_number, .. } = &mut part.operation {
                *part_number = n;
            }
            parts.push(presigner.presign(&part)?);
        }
        Ok(PresignedMultipart {
            upload_id: self.upload_id.clone(),
            part_size: self.part_size,
            parts,
            complete: sign(PresignRequest::complete_multipart_upload(b, k, u))?,
            abort: sign(PresignRequest::abort_multipart_upload(b, k, u))?,
            list_parts: sign(PresignRequest::list_parts(b, k, u))?,
        })
    }
}

/// A presigned multipart upload: every request of it signed, each with its own expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedMultipart {
    /// The upload id.
    pub upload_id: String,
    /// Bytes per part.
    pub part_size: u64,
    /// UploadPart for parts 1, 2, … in order.
    pub parts: Vec<PresignedRequest>,
    /// CompleteMultipartUpload (POST).
    pub complete: PresignedRequest,
    /// AbortMultipartUpload (DELETE).
    pub abort: PresignedRequest,
    /// ListParts (GET): what the server holds, to resume.
    pub list_parts: PresignedRequest,
}

impl PresignedMultipart {
    /// The upload descriptor: `{ url: <Complete>, method: "POST", expectedStatusCodes: [200],
    /// multipart: { uploadId, partSize, parts, abortUrl, listPartsUrl } }`.
    pub fn to_descriptor(&self) -> RunnerJobCustomUpload {
        let mut d = RunnerJobCustomUpload::new(self.complete.url().clone(), UploadMethod::Post);
        d.expected_status_codes = vec![200];
        d.multipart = Some(MultipartTarget {
            upload_id: Some(self.upload_id.clone()),
            part_size: self.part_size,
            parts: self.parts.iter().map(|p| p.url().clone()).collect(),
            abort_url: self.abort.url().clone(),
            list_parts_url: Some(self.list_parts.url().clone()),
        });
        d
    }

    /// [`to_descriptor`](Self::to_descriptor), moving the URLs instead of copying them.
    pub fn into_descriptor(self) -> RunnerJobCustomUpload {
        let mut d = RunnerJobCustomUpload::new(self.complete.url, UploadMethod::Post);
        d.expected_status_codes = vec![200];
        d.multipart = Some(MultipartTarget {
            upload_id: Some(self.upload_id),
            part_size: self.part_size,
            parts: self.parts.into_iter().map(|p| p.url).collect(),
            abort_url: self.abort.url,
            list_parts_url: Some(self.list_parts.url),
        });
        d
    }

    /// The first instant one of its URLs is refused: the descriptor is good until then.
    pub fn expires_at(&self) -> time::OffsetDateTime {
        self.parts
            .iter()
            .chain([&self.complete, &self.abort, &self.list_parts])
            .map(PresignedRequest::expires_at)
            .min()
            .unwrap_or_else(|| self.complete.expires_at())
    }
}

/// Reads the `UploadId` from a CreateMultipartUpload response body
/// (`<InitiateMultipartUploadResult>`). An S3 `<Error>` body becomes an error with its code and
/// message.
pub fn parse_initiate_response(xml: &str) -> Result<String, PresignError> {
    match parse::<InitiateMultipartUploadResult>(xml) {
        Ok(r) if !r.upload_id.is_empty() => Ok(r.upload_id),
        Ok(_) => Err(PresignError::InitiateResponse(XmlError::Malformed {
            root: "InitiateMultipartUploadResult",
            detail: "<UploadId> is empty".into(),
        })),
        Err(e) => Err(match ErrorResponse::parse(xml) {
            Some(refusal) => PresignError::InitiateRefused(Box::new(refusal)),
            None => PresignError::InitiateResponse(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(part_size: u64, max: u64) -> Result<MultipartPlan, PresignError> {
        MultipartPlan::builder("b", "k", "u")
            .part_size(part_size)
            .max_object_size(max)
            .build()
    }

    #[test]
    fn plan_limits() {
        assert!(plan((5 << 20) - 1, 1 << 30).is_err());
        assert!(plan((5 << 30) + 1, 1 << 30).is_err());
        let e = plan(5 << 20, 100 << 30).unwrap_err();
        assert!(e.to_string().contains("20480 parts"), "{e}");
        assert_eq!(plan(5 << 20, 0).unwrap().part_count(), 1);
        assert!(matches!(
            MultipartPlan::builder("b", "k", "")
                .part_size(5 << 20)
                .max_object_size(1)
                .build(),
            Err(PresignError::EmptyUploadId)
        ));
        assert!(matches!(
            MultipartPlan::builder("b", "k", "u")
                .part_size(5 << 20)
                .build(),
            Err(PresignError::PlanIncomplete(_))
        ));
    }

    /// Every request of a presigned plan keeps its expiry; credentials that expire before the
    /// validity's end cut each one short and the plan's expiry is theirs.
    #[test]
    fn a_presigned_plan_keeps_each_expiry() {
        use crate::{Credentials, Endpoint};
        use std::time::Duration;
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap();
        let creds_end = now + time::Duration::minutes(30);
        let p = Presigner::new(
            Credentials::new("AKID", "SECRET").with_expiry(creds_end),
            Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap(),
        );
        let v = Validity::expires_in(Duration::from_secs(6 * 3600))
            .unwrap()
            .signed_at(now)
            .unwrap();
        let signed = plan(5 << 20, 12 << 20).unwrap().presign(&p, v).unwrap();
        assert_eq!(signed.parts.len(), 3);
        assert_eq!(signed.expires_at(), creds_end);
        for r in signed.parts.iter().chain([&signed.complete, &signed.abort]) {
            assert_eq!(r.expires_at(), creds_end, "{}", r.operation_name());
            assert_eq!(r.expiry_capped_from(), Some(now + time::Duration::hours(6)));
        }
        // Each part URL is exactly what presigning that part alone gives.
        for (i, part) in signed.parts.iter().enumerate() {
            let alone = PresignRequest::upload_part("b", "k", "u", i as u32 + 1).validity(v);
            assert_eq!(part, &p.presign(&alone).unwrap(), "part {}", i + 1);
        }
        let d = signed.to_descriptor();
        assert_eq!(d, signed.clone().into_descriptor());
        let mp = d.multipart.as_ref().unwrap();
        assert_eq!(mp.parts[2], *signed.parts[2].url());
        assert_eq!(d.url, *signed.complete.url());
        assert!(d.validate().is_ok());
    }

    #[test]
    fn initiate_responses() {
        let ok = r#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(parse_initiate_response(ok).unwrap(), "VXBsb2FkIElE&x");
        let err = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert!(
            parse_initiate_response(err)
                .unwrap_err()
                .to_string()
                .contains("AccessDenied: Access Denied")
        );
        assert!(parse_initiate_response("<x/>").is_err());
        assert!(parse_initiate_response("<a><b>").is_err());
    }
}
