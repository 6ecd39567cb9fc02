//! Plan, then execute. [`UploadPlan::new`] turns a descriptor and a file into everything the
//! executor needs, worked out once and checked before a byte is sent (the pre-flight): each
//! URL's expiry, the POST form's fields as they will be sent and their framing, the policy's
//! verdict on them, the parts and their byte ranges, S3's size limits. The executor then only
//! sends.
//!
//! A runner learns in milliseconds what S3 would say after gigabytes.

use crate::error::PreflightError;
use std::path::Path;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use signpost_wire::limits::MAX_PUT_SIZE;
use signpost_wire::{
    OrderedPairs, PolicyDocument, PolicyViolation, RunnerJobCustomUpload, SignedUrl, UploadMethod,
};
use time::OffsetDateTime;

use crate::error::{TargetKind, UploadError};
use crate::form::{Framing, framing};
use crate::options::refuse_unused;
pub(crate) use crate::options::{PutDigest, UploadOptions};
use crate::source::FileSource;
pub(crate) use crate::target::Target;
use crate::traps;

/// One part of a multipart plan: its number, its bytes of the file, its URL.
#[derive(Clone, Debug)]
pub(crate) struct PartPlan {
    pub(crate) number: u32,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) target: Target,
}

/// What the executor sends.
// One per upload: the size of its largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Shape {
    Put {
        target: Target,
        headers: HeaderMap,
        /// The descriptor signs `Content-MD5` or an `x-amz-checksum-*` header itself: sent as
        /// given, none added.
        digest_given: bool,
        /// ETags of this object are MD5s (no SSE-KMS or SSE-C).
        etag_is_md5: bool,
    },
    Post {
        target: Target,
        headers: HeaderMap,
        framing: Framing,
        /// ETags of this object are MD5s (no SSE-KMS or SSE-C field).
        etag_is_md5: bool,
    },
    Multipart {
        parts: Vec<PartPlan>,
        complete: Target,
        abort: Target,
        /// The presigned ListParts URL, when the descriptor has one.
        list: Option<Target>,
        part_size: u64,
    },
}

/// A descriptor and a file, validated and worked out: what will be sent where, before anything
/// is. Made by [`Uploader::plan`](crate::Uploader::plan), run by
/// [`Uploader::execute`](crate::Uploader::execute).
#[derive(Clone)]
pub struct UploadPlan {
    pub(crate) source: FileSource,
    pub(crate) shape: Shape,
    pub(crate) expected: Vec<u16>,
    pub(crate) progress: Option<crate::progress::ProgressFn>,
    pub(crate) resume: Option<std::sync::Arc<dyn crate::ResumeStore>>,
    pub(crate) on_failure: crate::OnFailure,
    pub(crate) no_content_md5: bool,
    pub(crate) put_digest: PutDigest,
    /// The server's clock minus this machine's, when they were found to differ.
    pub(crate) clock_offset: time::Duration,
}

impl std::fmt::Debug for UploadPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadPlan")
            .field("source", &self.source)
            .field("shape", &self.shape)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Put { target, .. } => write!(f, "PUT {}", target.url),
            Shape::Post { target, .. } => write!(f, "POST {}", target.url),
            Shape::Multipart { parts, .. } => write!(f, "multipart, {} parts", parts.len()),
        }
    }
}

impl UploadPlan {
    /// Validates `job`, checks the file at `path`, and (unless `opts.skip_preflight`) refuses
    /// what S3 would refuse, judged at `now`.
    pub fn new(
        job: &RunnerJobCustomUpload,
        path: &Path,
        opts: &UploadOptions,
        now: OffsetDateTime,
    ) -> Result<Self, UploadError> {
        job.validate()?;
        let source = FileSource::open(path)?;
        let check = !opts.skip_preflight;
        let target = |url: &SignedUrl, kind| Target::read(url, kind, check, now);
        let len = source.len();
        let shape = match (&job.multipart, job.method) {
            (Some(mp), _) => {
                // Not a question for the server: without enough part URLs there is nothing to
                // send, whatever the options.
                if len > mp.capacity() {
                    return Err(UploadError::Preflight(PreflightError::TooLargeForPlan {
                        size: len,
                        parts: mp.parts.len(),
                        part_size: mp.part_size,
                        capacity: mp.capacity(),
                    }));
                }
                let needed = mp.parts_needed(len) as u32;
                let mut parts = Vec::with_capacity(needed as usize);
                for number in 1..=needed {
                    let offset = u64::from(number - 1) * mp.part_size;
                    let part_len = mp.part_size.min(len - offset.min(len));
                    let url = &mp.parts[number as usize - 1];
                    if check {
                        traps::check(
                            url,
                            TargetKind::Part(number),
                            &OrderedPairs::default(),
                            part_len,
                        )?;
                    }
                    parts.push(PartPlan {
                        number,
                        offset,
                        len: part_len,
                        target: target(url, TargetKind::Part(number))?,
                    });
                }
                // Needed to resume; an expired one only means the journal alone is trusted.
                let list = mp.list_parts_url.as_ref().map(|u| {
                    target(u, TargetKind::ListParts)
                        .unwrap_or_else(|_| Target::unchecked(u, TargetKind::ListParts))
                });
                Shape::Multipart {
                    parts,
                    list,
                    part_size: mp.part_size,
                    complete: target(&job.url, TargetKind::Complete)?,
                    // Needed after a failure, when an error here would hide the first one.
                    abort: target(&mp.abort_url, TargetKind::Abort)
                        .unwrap_or_else(|_| Target::unchecked(&mp.abort_url, TargetKind::Abort)),
                }
            }
            (None, UploadMethod::Put) => {
                if check && len > MAX_PUT_SIZE {
                    return Err(UploadError::Preflight(PreflightError::TooLargeForPut {
                        size: len,
                    }));
                }
                if check {
                    crate::traps::unsigned_content_length(
                        &job.url,
                        TargetKind::PresignedUrl,
                        &job.headers,
                    )?;
                }
                let mut headers = header_map(&job.headers)?;
                // Sent as the body's own length, once.
                if let Some(signed) = headers.remove(http::header::CONTENT_LENGTH) {
                    let signed: u64 = signed
                        .to_str()
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(u64::MAX);
                    if signed != len {
                        return Err(UploadError::Preflight(PreflightError::SizeNotSigned {
                            size: len,
                            signed,
                        }));
                    }
                }
                if let Some(ct) = &opts.content_type {
                    if check
                        && let Some(signed) = job.headers.get("content-type")
                        && signed != ct
                    {
                        return Err(UploadError::Preflight(
                            PreflightError::ContentTypeConflict {
                                given: ct.clone(),
                                signed: signed.to_owned(),
                            },
                        ));
                    }
                    headers.insert(CONTENT_TYPE, header_value("Content-Type", ct)?);
                }
                if check {
                    let mut sent = job.headers.clone();
                    if let Some(ct) = &opts.content_type
                        && !sent.set("content-type", ct)
                    {
                        sent.push("Content-Type", ct.clone());
                    }
                    traps::check(&job.url, TargetKind::PresignedUrl, &sent, len)?;
                }
                let digest_given = job.headers.iter().any(|(k, _)| {
                    k.eq_ignore_ascii_case("content-md5")
                        || k.to_ascii_lowercase().starts_with("x-amz-checksum-")
                });
                Shape::Put {
                    target: target(&job.url, TargetKind::PresignedUrl)?,
                    headers,
                    digest_given,
                    etag_is_md5: crate::integrity::etags_are_md5(job.headers.iter()),
                }
            }
            (None, UploadMethod::Post) => {
                let file_name = opts.file_name.clone().unwrap_or_else(|| source.file_name());
                if check && opts.content_type.is_some() && job.fields.get("content-type").is_none()
                {
                    return Err(UploadError::Preflight(PreflightError::ContentTypeNotInForm));
                }
                let ct = match &opts.content_type {
                    Some(ct) => Some(ct.clone()),
                    None => type_for_prefix(&job.fields, &file_name)?,
                };
                let fields = effective_fields(&job.fields, &file_name, ct.as_deref());
                let mut target = target(&job.url, TargetKind::FormUrl)?;
                target.form_credential = job.fields.get("x-amz-credential").map(str::to_owned);
                target.form_lacks_key = job.fields.get("key").is_none();
                if check && let Some(policy_b64) = job.fields.get("policy") {
                    let policy = PolicyDocument::from_base64(policy_b64)?;
                    match policy.check_form(fields.iter(), None, Some(len), Some(now)) {
                        Ok(()) => {}
                        Err(PolicyViolation::Expired { expiration }) => {
                            return Err(UploadError::Preflight(PreflightError::Expired {
                                what: TargetKind::PostPolicy,
                                expires_at: expiration,
                            }));
                        }
                        Err(violation) => {
                            return Err(UploadError::Preflight(PreflightError::Policy {
                                violation,
                            }));
                        }
                    }
                    target.expires_at = Some(match target.expires_at {
                        Some(t) => t.min(policy.expiration),
                        None => policy.expiration,
                    });
                }
                let file_type = fields
                    .get("content-type")
                    .unwrap_or("application/octet-stream");
                let framing = framing(&fields, &file_name, file_type);
                let mut headers = header_map(&job.headers)?;
                headers.insert(
                    CONTENT_TYPE,
                    header_value("Content-Type", &framing.content_type)?,
                );
                Shape::Post {
                    target,
                    headers,
                    framing,
                    etag_is_md5: crate::integrity::etags_are_md5(fields.iter()),
                }
            }
        };
        let kind = match &shape {
            Shape::Put { .. } => crate::options::Shape::Put,
            Shape::Post { .. } => crate::options::Shape::Post,
            Shape::Multipart { .. } => crate::options::Shape::Multipart,
        };
        refuse_unused(opts, kind)?;
        Ok(UploadPlan {
            source,
            shape,
            expected: job.expected_status_codes.clone(),
            progress: opts.progress.clone(),
            resume: opts.resume.clone(),
            on_failure: opts.on_failure,
            no_content_md5: opts.no_content_md5,
            put_digest: opts.put_digest,
            clock_offset: time::Duration::ZERO,
        })
    }

    /// The file.
    pub fn source(&self) -> &FileSource {
        &self.source
    }

    /// `PUT`, `POST` or `multipart`.
    pub fn kind(&self) -> &'static str {
        match self.shape {
            Shape::Put { .. } => "PUT",
            Shape::Post { .. } => "POST",
            Shape::Multipart { .. } => "multipart",
        }
    }

    /// Parts to send (1 for PUT and POST).
    pub fn part_count(&self) -> usize {
        match &self.shape {
            Shape::Multipart { parts, .. } => parts.len(),
            _ => 1,
        }
    }

    /// The earliest expiry among the URLs (and policy) the upload needs, when known.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        let all: Vec<Option<OffsetDateTime>> = match &self.shape {
            Shape::Put { target, .. } | Shape::Post { target, .. } => vec![target.expires_at],
            Shape::Multipart {
                parts, complete, ..
            } => parts
                .iter()
                .map(|p| p.target.expires_at)
                .chain([complete.expires_at])
                .collect(),
        };
        all.into_iter().flatten().min()
    }

    /// Bytes sent over the wire by one successful attempt of everything (file bytes, and a POST
    /// form's framing).
    pub fn wire_bytes(&self) -> u64 {
        match &self.shape {
            Shape::Post { framing, .. } => {
                self.source.len() + (framing.prefix.len() + framing.suffix.len()) as u64
            }
            _ => self.source.len(),
        }
    }
}

/// The file's type, when the policy asks for a `Content-Type` prefix and the form carries that
/// prefix itself as a placeholder (what `signpost presign post --content-type-prefix` makes):
/// told from the file's name, and checked against the prefix.
fn type_for_prefix(fields: &OrderedPairs, file_name: &str) -> Result<Option<String>, UploadError> {
    let (Some(sent), Some(policy)) = (fields.get("content-type"), fields.get("policy")) else {
        return Ok(None);
    };
    let Ok(policy) = PolicyDocument::from_base64(policy) else {
        return Ok(None);
    };
    let prefix = policy.conditions.iter().find_map(|c| match c {
        signpost_wire::Condition::StartsWith { field, prefix } if field == "content-type" => {
            Some(prefix.clone())
        }
        _ => None,
    });
    let Some(prefix) = prefix.filter(|p| p == sent && !p.is_empty()) else {
        return Ok(None);
    };
    match mime_guess::from_path(file_name).first() {
        Some(m) if m.essence_str().starts_with(&prefix) => Ok(Some(m.essence_str().to_owned())),
        Some(m) => Err(UploadError::Preflight(
            PreflightError::ContentTypeOutsidePrefix {
                prefix,
                found: format!("is {}", m.essence_str()),
            },
        )),
        None => Err(UploadError::Preflight(
            PreflightError::ContentTypeOutsidePrefix {
                prefix,
                found: "cannot be told from its name".into(),
            },
        )),
    }
}

/// The form fields as they will be sent: `${filename}` in `key` replaced by the file name (as
/// S3 does), `Content-Type` replaced by the caller's, if given.
fn effective_fields(
    fields: &OrderedPairs,
    file_name: &str,
    content_type: Option<&str>,
) -> OrderedPairs {
    fields
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

fn header_value(name: &str, v: &str) -> Result<HeaderValue, UploadError> {
    HeaderValue::from_str(v).map_err(|e| {
        UploadError::Preflight(PreflightError::InvalidHeader {
            name: name.to_owned(),
            source: e.into(),
        })
    })
}

pub(crate) fn header_map(pairs: &OrderedPairs) -> Result<HeaderMap, UploadError> {
    let mut h = HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs.iter() {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| {
            UploadError::Preflight(PreflightError::InvalidHeader {
                name: k.to_owned(),
                source: e.into(),
            })
        })?;
        h.insert(name, header_value(k, v)?);
    }
    Ok(h)
}
