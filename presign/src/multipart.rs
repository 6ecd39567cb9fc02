//! Presigned multipart upload: the server starts the upload, presigns one URL per part plus the
//! Complete and Abort URLs, and hands them to the runner as one descriptor.
//!
//! S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 parts, objects
//! up to 5 TiB. See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, Presigner, MultipartPlan};
//! use std::time::Duration;
//! let p = Presigner::new(Credentials::new("AKID", "SECRET"), Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?);
//! // 1. Send this request (any HTTP client), then read the upload id from its response.
//! let create = p.presign(&signpost_presign::PresignRequest::create_multipart_upload("videos", "big.mp4"))?;
//! assert_eq!(create.method, "POST");
//! let upload_id = signpost_presign::parse_initiate_response(
//!     "<InitiateMultipartUploadResult><Bucket>videos</Bucket><Key>big.mp4</Key>\
//!      <UploadId>abc123</UploadId></InitiateMultipartUploadResult>")?;
//! // 2. Plan the parts and presign them: 64 MiB parts for objects up to 20 GiB.
//! let plan = MultipartPlan::new("videos", "big.mp4", upload_id, 64 << 20, 20 << 30)?;
//! assert_eq!(plan.part_count(), 320);
//! let job = plan.presign(&p, Duration::from_secs(6 * 3600), None)?;
//! assert_eq!(job.multipart.as_ref().unwrap().parts.len(), 320);
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```

use std::time::Duration;

use signpost_wire::descriptor::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};
use signpost_wire::s3_xml::S3Xml;
use signpost_wire::{MultipartTarget, RunnerJobCustomUpload, UploadMethod};
use time::OffsetDateTime;

use crate::error::PresignError;
use crate::presign::{PresignRequest, Presigner};

/// S3's largest object: 5 TiB.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// The parts of one multipart upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartPlan {
    bucket: String,
    key: String,
    upload_id: String,
    part_size: u64,
    part_count: u32,
}

impl MultipartPlan {
    /// Plans `upload_id` with parts of `part_size` bytes, enough of them for an object of
    /// `max_object_size` bytes.
    pub fn new(
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
        part_size: u64,
        max_object_size: u64,
    ) -> Result<Self, PresignError> {
        let upload_id = upload_id.into();
        if upload_id.is_empty() {
            return Err(PresignError::EmptyUploadId);
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            return Err(PresignError::Multipart(format!(
                "part size {part_size} is outside S3's range of 5 MiB to 5 GiB"
            )));
        }
        if max_object_size > MAX_OBJECT_SIZE {
            return Err(PresignError::Multipart(format!(
                "maximum object size {max_object_size} exceeds S3's 5 TiB"
            )));
        }
        let parts = max_object_size.div_ceil(part_size).max(1);
        if parts > MAX_PARTS as u64 {
            let min_part = max_object_size.div_ceil(MAX_PARTS as u64);
            return Err(PresignError::Multipart(format!(
                "{parts} parts of {part_size} bytes would be needed; S3 allows {MAX_PARTS}: use parts of at least {min_part} bytes"
            )));
        }
        Ok(MultipartPlan {
            bucket: bucket.into(),
            key: key.into(),
            upload_id,
            part_size,
            part_count: parts as u32,
        })
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

    /// Presigns every UploadPart URL, CompleteMultipartUpload and AbortMultipartUpload, and returns
    /// the descriptor a runner consumes.
    pub fn presign(
        &self,
        presigner: &Presigner,
        expires_in: Duration,
        at: Option<OffsetDateTime>,
    ) -> Result<RunnerJobCustomUpload, PresignError> {
        let with_time = |r: PresignRequest| {
            let r = r.expires_in(expires_in);
            match at {
                Some(t) => r.at(t),
                None => r,
            }
        };
        let mut parts = Vec::with_capacity(self.part_count as usize);
        for n in 1..=self.part_count {
            let r = with_time(PresignRequest::upload_part(
                &*self.bucket,
                &*self.key,
                &*self.upload_id,
                n,
            ));
            parts.push(presigner.presign(&r)?.url);
        }
        let complete = presigner.presign(&with_time(PresignRequest::complete_multipart_upload(
            &*self.bucket,
            &*self.key,
            &*self.upload_id,
        )))?;
        let abort = presigner.presign(&with_time(PresignRequest::abort_multipart_upload(
            &*self.bucket,
            &*self.key,
            &*self.upload_id,
        )))?;
        let mut d = RunnerJobCustomUpload::new(complete.url, UploadMethod::Post);
        d.expected_status_codes = vec![200];
        d.multipart = Some(MultipartTarget {
            upload_id: Some(self.upload_id.clone()),
            part_size: self.part_size,
            parts,
            abort_url: abort.url,
        });
        Ok(d)
    }
}

/// Reads the `UploadId` from a CreateMultipartUpload response body
/// (`<InitiateMultipartUploadResult>`). An S3 `<Error>` body becomes an error with its code and
/// message.
pub fn parse_initiate_response(xml: &str) -> Result<String, PresignError> {
    let doc = S3Xml::parse(xml)
        .ok_or_else(|| PresignError::InitiateResponse("the body is not XML".into()))?;
    if doc.root == "Error" {
        return Err(PresignError::InitiateResponse(format!(
            "S3 answered {}: {}",
            doc.get("Code").unwrap_or("an error"),
            doc.get("Message").unwrap_or_default()
        )));
    }
    if doc.root != "InitiateMultipartUploadResult" {
        return Err(PresignError::InitiateResponse(format!(
            "the root element is <{}>, not <InitiateMultipartUploadResult>",
            doc.root
        )));
    }
    doc.get("UploadId")
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| PresignError::InitiateResponse("no <UploadId> in the response".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_limits() {
        assert!(MultipartPlan::new("b", "k", "u", (5 << 20) - 1, 1 << 30).is_err());
        assert!(MultipartPlan::new("b", "k", "u", (5 << 30) + 1, 1 << 30).is_err());
        let e = MultipartPlan::new("b", "k", "u", 5 << 20, 100 << 30).unwrap_err();
        assert!(e.to_string().contains("20480 parts"), "{e}");
        assert_eq!(
            MultipartPlan::new("b", "k", "u", 5 << 20, 0)
                .unwrap()
                .part_count(),
            1
        );
        assert!(matches!(
            MultipartPlan::new("b", "k", "", 5 << 20, 1),
            Err(PresignError::EmptyUploadId)
        ));
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
