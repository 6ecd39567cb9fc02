//! Checks made before a byte is sent, from what the descriptor reveals without secrets: the
//! presigned URL's expiry, the POST policy's expiration, its conditions (key prefix,
//! content-length-range, every field covered), S3's 5 GiB single-PUT limit, a multipart plan's
//! capacity. A runner learns in milliseconds what S3 would say after gigabytes.

use signpost_wire::{
    PolicyDocument, PolicyViolation, QueryAuth, RunnerJobCustomUpload, UploadMethod,
};
use time::OffsetDateTime;

use crate::error::UploadError;

/// S3's largest single PUT: 5 GiB.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// When a presigned URL expires, if it is one; an error if its SigV4 parameters are damaged.
pub(crate) fn url_expiry(url: &str) -> Result<Option<OffsetDateTime>, UploadError> {
    Ok(QueryAuth::from_url(url)?.map(|q| q.expires_at()))
}

fn check_url_expiry(
    url: &str,
    what: &'static str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, UploadError> {
    let exp = url_expiry(url)?;
    if let Some(expires_at) = exp
        && now > expires_at
    {
        return Err(UploadError::Expired { what, expires_at });
    }
    Ok(exp)
}

/// The form fields as they will be sent: `${filename}` in `key` replaced by the file name (as
/// S3 does), `Content-Type` replaced by the caller's, if given.
pub(crate) fn effective_fields(
    job: &RunnerJobCustomUpload,
    file_name: &str,
    content_type: Option<&str>,
) -> Vec<(String, String)> {
    job.fields
        .iter()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("key") {
                v.replace("${filename}", file_name)
            } else if k.eq_ignore_ascii_case("content-type")
                && let Some(ct) = content_type
            {
                ct.to_owned()
            } else {
                v.to_owned()
            };
            (k.to_owned(), v)
        })
        .collect()
}

/// Runs every check that applies to `job` for a file of `file_len` bytes at `now`. Returns the
/// instant after which the target is no longer accepted, when it is known.
pub fn preflight(
    job: &RunnerJobCustomUpload,
    file_len: u64,
    file_name: &str,
    content_type: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, UploadError> {
    job.validate()?;
    if let Some(mp) = &job.multipart {
        if file_len > mp.capacity() {
            return Err(UploadError::TooLargeForPlan {
                size: file_len,
                parts: mp.parts.len(),
                part_size: mp.part_size,
                capacity: mp.capacity(),
            });
        }
        let needed = mp.parts_needed(file_len) as usize;
        let mut earliest = check_url_expiry(&job.url, "CompleteMultipartUpload URL", now)?;
        for p in &mp.parts[..needed] {
            let e = check_url_expiry(p, "part URL", now)?;
            earliest = match (earliest, e) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        return Ok(earliest);
    }
    match job.method {
        UploadMethod::Put => {
            if file_len > MAX_PUT_SIZE {
                return Err(UploadError::TooLargeForPut { size: file_len });
            }
            if let Some(ct) = content_type
                && let Some(signed) = job.headers.get("content-type")
                && signed != ct
            {
                return Err(UploadError::Options(format!(
                    "Content-Type {ct:?} conflicts with the signed Content-Type {signed:?}: the signature covers it; drop the option or presign with that type"
                )));
            }
            check_url_expiry(&job.url, "presigned URL", now)
        }
        UploadMethod::Post => {
            let expiry = check_url_expiry(&job.url, "presigned URL", now)?;
            let Some(policy_b64) = job.fields.get("policy") else {
                return Ok(expiry);
            };
            let policy = PolicyDocument::from_base64(policy_b64)?;
            if content_type.is_some() && job.fields.get("content-type").is_none() {
                return Err(UploadError::Options(
                    "the form has no Content-Type field, so its policy cannot allow one: presign the POST with a Content-Type condition".into(),
                ));
            }
            let fields = effective_fields(job, file_name, content_type);
            let pairs = fields.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            match policy.check_form(pairs, None, Some(file_len), Some(now)) {
                Ok(()) => Ok(Some(policy.expiration)),
                Err(PolicyViolation::Expired { expiration }) => Err(UploadError::Expired {
                    what: "POST policy",
                    expires_at: expiration,
                }),
                Err(violation) => Err(UploadError::Policy { violation }),
            }
        }
    }
}
