//! A file's parts: the planned byte ranges not yet stored, read from disk as they are sent.

use std::sync::Arc;

use super::{Executor, PartJob, PartSource};
use crate::body::{FileSlice, Payload};
use crate::error::UploadError;
use crate::funnel::Funnel;
use crate::outcome::UploadOutcome;
use crate::plan::{PartPlan, Target, UploadPlan};
use crate::progress::Meter;
use crate::resume::{Journaling, OnFailure, Planned, Reconciled, UploadKey, reconcile};
use crate::source::FileSource;

struct FileParts<'a> {
    source: &'a FileSource,
    todo: std::vec::IntoIter<&'a PartPlan>,
    send_md5: bool,
}

impl PartSource for FileParts<'_> {
    async fn next(&mut self) -> Result<Option<PartJob>, UploadError> {
        Ok(self.todo.next().map(|p| PartJob {
            number: p.number,
            offset: p.offset,
            target: p.target.clone(),
            payload: Payload::File(FileSlice::range(self.source.path(), p.offset, p.len)),
            send_md5: self.send_md5,
        }))
    }

    fn check_unchanged(&self) -> Result<(), UploadError> {
        self.source.check_unchanged()
    }

    fn bytes(&self) -> u64 {
        self.source.len()
    }
}

/// The targets of a planned multipart upload of a file.
pub(crate) struct FileMultipart<'a> {
    pub(crate) parts: &'a [PartPlan],
    pub(crate) complete: &'a Target,
    pub(crate) abort: &'a Target,
    pub(crate) list: Option<&'a Target>,
    pub(crate) part_size: u64,
}

/// Uploads the file of `plan` in parts: what the server holds already (the journal and the
/// server's list, see [`crate::resume`]) is not sent again.
pub(crate) async fn run(
    funnel: &Funnel,
    concurrency: usize,
    plan: &UploadPlan,
    targets: FileMultipart<'_>,
    meter: &Meter,
) -> Result<UploadOutcome, UploadError> {
    let key = UploadKey::of_url(&targets.complete.url);
    let journaling = match (&plan.resume, &key) {
        (Some(store), Some(key)) => Some(Journaling::new(Arc::clone(store), key.clone())),
        _ => None,
    };
    let upload_id = key.as_ref().map(|k| k.upload_id.as_str()).unwrap_or("");
    let keep = key.is_some()
        && match plan.on_failure {
            OnFailure::Keep => true,
            OnFailure::Abort => false,
            _ => journaling.is_some(),
        };
    let planned = Planned {
        source: &plan.source,
        parts: targets.parts,
        part_size: targets.part_size,
        upload_id,
        list: targets.list,
    };
    let found = reconcile(funnel, journaling.as_ref(), planned, concurrency).await?;
    // The claim is held until the upload ends: a second process resuming it is refused.
    let Reconciled {
        held,
        reused,
        _claim,
    } = found;
    let todo: Vec<&PartPlan> = targets
        .parts
        .iter()
        .zip(&held)
        .filter(|(_, h)| h.is_none())
        .map(|(p, _)| p)
        .collect();
    let executor = Executor {
        funnel,
        complete: targets.complete,
        abort: targets.abort,
        expected: &plan.expected,
        meter,
        concurrency,
        // One more than are sent at once: that one hashes the next part meanwhile.
        window: concurrency + 1,
        keep,
        journaling: journaling.as_ref(),
        upload_id,
    };
    let parts = FileParts {
        source: &plan.source,
        todo: todo.into_iter(),
        send_md5: !plan.no_content_md5,
    };
    executor.run(parts, held, reused).await
}
