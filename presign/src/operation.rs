//! The S3 operations signpost presigns: each one's method and sub-resource query.

use http::Method;
use signpost_wire::limits::MAX_PARTS;

use crate::error::PresignError;

/// The S3 operation a URL is signed for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum S3Operation {
    /// `PUT /key`.
    PutObject,
    /// `GET /key`.
    GetObject,
    /// `HEAD /key`.
    HeadObject,
    /// `DELETE /key`.
    DeleteObject,
    /// `POST /key?uploads`.
    CreateMultipartUpload,
    /// `PUT /key?partNumber=N&uploadId=ID`.
    UploadPart {
        /// 1 to 10000.
        part_number: u32,
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `POST /key?uploadId=ID`.
    CompleteMultipartUpload {
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `DELETE /key?uploadId=ID`.
    AbortMultipartUpload {
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `GET /key?uploadId=ID` (ListParts).
    ListParts {
        /// From CreateMultipartUpload.
        upload_id: String,
    },
    /// `PUT /` of the bucket (CreateBucket); no key.
    CreateBucket,
    /// `HEAD /` of the bucket (HeadBucket); no key.
    HeadBucket,
    /// `GET /?uploads` of the bucket (ListMultipartUploads); no key.
    ListMultipartUploads,
    /// `GET /?list-type=2` of the bucket (ListObjectsV2; `prefix` and `continuation-token` go in
    /// with [`PresignRequest::query`](crate::PresignRequest::query)); no key.
    ListObjectsV2,
}

/// A sub-resource parameter value: borrowed from the operation, or a part number.
pub(crate) enum OpValue<'a> {
    Str(&'a str),
    Number(u32),
}

impl S3Operation {
    /// The operation's name in S3's API reference (`CreateMultipartUpload`), as messages name it.
    pub fn name(&self) -> &'static str {
        match self {
            S3Operation::PutObject => "PutObject",
            S3Operation::GetObject => "GetObject",
            S3Operation::HeadObject => "HeadObject",
            S3Operation::DeleteObject => "DeleteObject",
            S3Operation::CreateMultipartUpload => "CreateMultipartUpload",
            S3Operation::UploadPart { .. } => "UploadPart",
            S3Operation::CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            S3Operation::AbortMultipartUpload { .. } => "AbortMultipartUpload",
            S3Operation::ListParts { .. } => "ListParts",
            S3Operation::CreateBucket => "CreateBucket",
            S3Operation::HeadBucket => "HeadBucket",
            S3Operation::ListMultipartUploads => "ListMultipartUploads",
            S3Operation::ListObjectsV2 => "ListObjectsV2",
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        match self {
            S3Operation::PutObject | S3Operation::UploadPart { .. } | S3Operation::CreateBucket => {
                Method::PUT
            }
            S3Operation::GetObject
            | S3Operation::ListParts { .. }
            | S3Operation::ListMultipartUploads
            | S3Operation::ListObjectsV2 => Method::GET,
            S3Operation::HeadObject | S3Operation::HeadBucket => Method::HEAD,
            S3Operation::DeleteObject | S3Operation::AbortMultipartUpload { .. } => Method::DELETE,
            S3Operation::CreateMultipartUpload | S3Operation::CompleteMultipartUpload { .. } => {
                Method::POST
            }
        }
    }

    /// The sub-resource query parameters (names need no encoding), in the order the URL carries
    /// them: at most two.
    pub(crate) fn query(&self) -> [Option<(&'static str, OpValue<'_>)>; 2] {
        match self {
            S3Operation::CreateMultipartUpload | S3Operation::ListMultipartUploads => {
                [Some(("uploads", OpValue::Str(""))), None]
            }
            S3Operation::ListObjectsV2 => [Some(("list-type", OpValue::Str("2"))), None],
            S3Operation::UploadPart {
                part_number,
                upload_id,
            } => [
                Some(("partNumber", OpValue::Number(*part_number))),
                Some(("uploadId", OpValue::Str(upload_id))),
            ],
            S3Operation::CompleteMultipartUpload { upload_id }
            | S3Operation::AbortMultipartUpload { upload_id }
            | S3Operation::ListParts { upload_id } => {
                [Some(("uploadId", OpValue::Str(upload_id))), None]
            }
            _ => [None, None],
        }
    }

    /// Whether the operation is on the bucket itself (no key).
    pub fn is_bucket_operation(&self) -> bool {
        matches!(
            self,
            S3Operation::CreateBucket
                | S3Operation::HeadBucket
                | S3Operation::ListMultipartUploads
                | S3Operation::ListObjectsV2
        )
    }

    pub(crate) fn validate(&self) -> Result<(), PresignError> {
        match self {
            S3Operation::UploadPart {
                part_number,
                upload_id,
            } => {
                if !(1..=MAX_PARTS).contains(part_number) {
                    return Err(PresignError::InvalidPartNumber(*part_number));
                }
                if upload_id.is_empty() {
                    return Err(PresignError::EmptyUploadId);
                }
            }
            S3Operation::CompleteMultipartUpload { upload_id }
            | S3Operation::AbortMultipartUpload { upload_id }
            | S3Operation::ListParts { upload_id }
                if upload_id.is_empty() =>
            {
                return Err(PresignError::EmptyUploadId);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_sub_resources() {
        let part = S3Operation::UploadPart {
            part_number: 7,
            upload_id: "u".into(),
        };
        assert_eq!(part.method(), Method::PUT);
        let q = part.query();
        assert!(matches!(q[0], Some(("partNumber", OpValue::Number(7)))));
        assert!(matches!(q[1], Some(("uploadId", OpValue::Str("u")))));
        assert_eq!(S3Operation::CreateMultipartUpload.method(), Method::POST);
        assert_eq!(S3Operation::HeadBucket.method(), Method::HEAD);
        assert!(S3Operation::ListMultipartUploads.is_bucket_operation());
        assert!(S3Operation::ListObjectsV2.is_bucket_operation());
        assert_eq!(S3Operation::ListObjectsV2.method(), Method::GET);
        let zero = S3Operation::UploadPart {
            part_number: 0,
            upload_id: "u".into(),
        };
        assert!(matches!(
            zero.validate(),
            Err(PresignError::InvalidPartNumber(0))
        ));
        let empty = S3Operation::ListParts {
            upload_id: String::new(),
        };
        assert!(matches!(empty.validate(), Err(PresignError::EmptyUploadId)));
    }
}
