//! What the pre-flight finds in a descriptor alone, before any file is chosen: for
//! `signpost inspect`, which answers an operator's "why did my runner get 403?" without
//! credentials.

use crate::error::PreflightError;
use signpost_wire::{OrderedPairs, PolicyDocument, PolicyViolation, RunnerJobCustomUpload};
use time::OffsetDateTime;

use crate::error::{TargetKind, UploadError};
use crate::plan::Target;
use crate::traps;

/// Every problem the pre-flight would refuse the descriptor for, judged at `now`, for a file of
/// `file_len` bytes when it is known (otherwise a non-empty file is assumed).
pub fn findings(
    job: &RunnerJobCustomUpload,
    file_len: Option<u64>,
    now: OffsetDateTime,
) -> Vec<UploadError> {
    if let Err(e) = job.validate() {
        return vec![e.into()];
    }
    let len = file_len.unwrap_or(1);
    let mut out = Vec::new();
    let mut url = |url: &signpost_wire::SignedUrl, kind, headers: &OrderedPairs, len| {
        if let Err(e) = Target::read(url, kind, true, now) {
            out.push(e);
        }
        if let Err(e) = traps::check(url, kind, headers, len) {
            out.push(e);
        }
    };
    match &job.multipart {
        Some(mp) => {
            let none = OrderedPairs::default();
            for (i, p) in mp.parts.iter().enumerate() {
                url(p, TargetKind::Part(i as u32 + 1), &none, mp.part_size);
            }
            url(&job.url, TargetKind::Complete, &none, 0);
            if let Some(size) = file_len
                && size > mp.capacity()
            {
                out.push(UploadError::Preflight(PreflightError::TooLargeForPlan {
                    size,
                    parts: mp.parts.len(),
                    part_size: mp.part_size,
                    capacity: mp.capacity(),
                }));
            }
        }
        None if job.fields.is_empty() => url(&job.url, TargetKind::PresignedUrl, &job.headers, len),
        None => {
            if let Some(policy) = job.fields.get("policy") {
                match PolicyDocument::from_base64(policy) {
                    Err(e) => out.push(e.into()),
                    Ok(p) => match p.check_form(job.fields.iter(), None, file_len, Some(now)) {
                        Ok(()) => {}
                        Err(PolicyViolation::Expired { expiration }) => {
                            out.push(UploadError::Preflight(PreflightError::Expired {
                                what: TargetKind::PostPolicy,
                                expires_at: expiration,
                            }))
                        }
                        Err(violation) => {
                            out.push(UploadError::Preflight(PreflightError::Policy { violation }))
                        }
                    },
                }
            }
        }
    }
    out
}
