//! What a caller chooses per upload: [`UploadOptions`].

use crate::error::PreflightError;
use crate::error::{UploadError, UploadOption};

/// Which kind of upload options are checked for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Put,
    Post,
    Multipart,
    /// A stream cut into a multipart upload's parts: nothing to resume from.
    Stream,
    /// Bytes in memory sent with one PUT.
    Bytes,
}

/// Per-upload choices.
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// Called as bytes go out.
    pub progress: Option<crate::progress::ProgressFn>,
    /// The file name sent in a POST's file part and substituted for `${filename}` in its key;
    /// default: the path's file name.
    pub file_name: Option<String>,
    /// The Content-Type of a POST's `Content-Type` field (checked against the policy) or of a PUT
    /// (which must agree with a signed one).
    pub content_type: Option<String>,
    /// Send without the pre-flight checks (expiry, policy, size limits) and without giving up
    /// at the URL's expiry, to hear the server's own verdict. For diagnostics and negative
    /// tests; a runner leaves this off.
    pub skip_preflight: bool,
    /// Where a multipart upload's journal is kept, so an interrupted upload resumes where it
    /// stopped ([`FileResumeStore`](crate::FileResumeStore) is the file-backed default). `None`:
    /// no journal, and by default a failed upload is aborted (with a ListParts URL, a later run
    /// still reuses the parts a kept upload holds whose ETags match the file).
    pub resume: Option<std::sync::Arc<dyn crate::ResumeStore>>,
    /// What becomes of a multipart upload whose retries ran out.
    pub on_failure: crate::OnFailure,
    /// Do not send `Content-MD5` (for a server that refuses the header). The ETags are still
    /// compared with the MD5 of what was sent.
    pub no_content_md5: bool,
    /// How a single PUT's MD5 is worked out (see [`PutDigest`]).
    pub put_digest: PutDigest,
}

/// How a single PUT's MD5 is worked out. Both refuse to report success with other bytes stored:
/// the difference is whether the server can refuse them before storing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutDigest {
    /// [`First`](Self::First) up to 64 MiB, [`WhileSending`](Self::WhileSending) above.
    #[default]
    Auto,
    /// Read the file once to hash it, then send it with `Content-MD5`: the server refuses
    /// damaged bytes before storing them (400 BadDigest, retried). Costs a second read of the
    /// file and the hashing time before the first byte goes out.
    First,
    /// Hash the bytes as they are sent (one read), then compare the ETag the server answers;
    /// on a mismatch the file is sent again. Damaged bytes are stored until they are replaced.
    WhileSending,
}

impl PutDigest {
    /// Whether a file of `len` bytes is hashed before it is sent.
    pub(crate) fn first(self, len: u64) -> bool {
        match self {
            PutDigest::Auto => len <= 64 << 20,
            PutDigest::First => true,
            PutDigest::WhileSending => false,
        }
    }
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("skip_preflight", &self.skip_preflight)
            .field("resume", &self.resume)
            .field("on_failure", &self.on_failure)
            .field("no_content_md5", &self.no_content_md5)
            .field("put_digest", &self.put_digest)
            .finish()
    }
}

/// An option that does nothing for this shape is refused, never silently ignored.
pub(crate) fn refuse_unused(opts: &UploadOptions, shape: Shape) -> Result<(), UploadError> {
    let (post, put, multipart) = (
        shape == Shape::Post,
        shape == Shape::Put,
        shape == Shape::Multipart,
    );
    let upload = match shape {
        Shape::Post => "a POST form",
        Shape::Put => "a PUT",
        Shape::Multipart => "a multipart upload (its Content-Type is set when it is created)",
        Shape::Stream => "a stream uploaded in parts",
        Shape::Bytes => "bytes sent with one PUT",
    };
    let refused = [
        (opts.file_name.is_some() && !post, UploadOption::FileName),
        (
            opts.content_type.is_some() && !post && !put,
            UploadOption::ContentType,
        ),
        (
            opts.put_digest != PutDigest::Auto && !put,
            UploadOption::PutDigest,
        ),
        (
            opts.on_failure == crate::OnFailure::Keep && !multipart,
            UploadOption::KeepOnFailure,
        ),
    ];
    match refused.into_iter().find(|(given, _)| *given) {
        Some((_, option)) => Err(UploadError::Preflight(
            PreflightError::OptionNotApplicable { option, upload },
        )),
        None => Ok(()),
    }
}
