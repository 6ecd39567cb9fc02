//! The multipart uploads the embedded server has started, kept as S3 keeps them where s3s-fs
//! 0.14 does not: which bucket and key each belongs to (s3s-fs records only the access key, so
//! a part sent with another bucket's path was stored into it, and nothing could list them), the
//! ETag each part was answered with, and the checks CompleteMultipartUpload owes: every part
//! listed exists with the ETag the client names (`InvalidPart`), in ascending order
//! (`InvalidPartOrder`), each but the last at least 5 MiB (`EntityTooSmall`), all before
//! anything is written, so a refused Complete leaves the upload as it was.
//!
//! Records are one small file per upload beside s3s-fs's own (`.signpost-upload-ID.json`), so
//! they survive a restart with the data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use s3s::dto::{CompletedPart, ETag};
use s3s::{S3Error, s3_error};
use serde::{Deserialize, Serialize};
use signpost_wire::limits::MIN_PART_SIZE;

/// How many completed uploads are remembered, so that a client retrying a Complete whose answer
/// it lost gets the same answer (AWS answers a repeated Complete with 200).
const COMPLETED_KEPT: usize = 10_000;

/// Where an upload belongs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    pub bucket: String,
    pub key: String,
    /// Unix seconds.
    pub initiated: i64,
}

/// A completed upload's answer.
#[derive(Clone, Debug)]
pub(super) struct Completed {
    pub bucket: String,
    pub key: String,
    pub e_tag: String,
}

#[derive(Debug)]
pub(super) struct Uploads {
    dir: PathBuf,
    completed: Mutex<(
        HashMap<String, Completed>,
        std::collections::VecDeque<String>,
    )>,
}

pub(super) fn no_such_upload() -> S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

/// Whether `id` has the shape of s3s-fs's ids (a UUID): anything else never names a file.
fn id_shaped(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl Uploads {
    pub(super) fn new(dir: &Path) -> Self {
        Uploads {
            dir: dir.to_owned(),
            completed: Mutex::new(Default::default()),
        }
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!(".signpost-upload-{id}.json"))
    }

    pub(super) fn etag_path(&self, id: &str, part: i32) -> PathBuf {
        self.dir.join(format!(".signpost-etag-{id}.part-{part}"))
    }

    fn part_path(&self, id: &str, part: i32) -> PathBuf {
        self.dir.join(format!(".upload_id-{id}.part-{part}"))
    }

    /// Records a started upload.
    pub(super) async fn record(&self, id: &str, bucket: &str, key: &str) -> Result<(), S3Error> {
        let r = Record {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            initiated: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        let text = serde_json::to_vec(&r).map_err(|e| s3_error!(e, InternalError))?;
        tokio::fs::write(self.record_path(id), text)
            .await
            .map_err(|e| s3_error!(e, InternalError))
    }

    /// The upload `id`, if it was started for `bucket`/`key` and is still open.
    pub(super) async fn open(&self, id: &str, bucket: &str, key: &str) -> Result<Record, S3Error> {
        if !id_shaped(id) || !self.dir.join(format!(".upload-{id}.json")).is_file() {
            return Err(no_such_upload());
        }
        let text = tokio::fs::read(self.record_path(id))
            .await
            .map_err(|_| no_such_upload())?;
        let r: Record = serde_json::from_slice(&text).map_err(|_| no_such_upload())?;
        if r.bucket != bucket || r.key != key {
            return Err(no_such_upload());
        }
        Ok(r)
    }

    /// The answer of a Complete already done for this upload, bucket and key.
    pub(super) fn completed(&self, id: &str, bucket: &str, key: &str) -> Option<Completed> {
        let done = self.completed.lock().ok()?;
        done.0
            .get(id)
            .filter(|c| c.bucket == bucket && c.key == key)
            .cloned()
    }

    /// Forgets an upload that was completed (`done`) or aborted: its record and kept ETags.
    pub(super) async fn forget(&self, id: &str, done: Option<Completed>) {
        let _ = tokio::fs::remove_file(self.record_path(id)).await;
        let prefix = format!(".signpost-etag-{id}.");
        if let Ok(mut dir) = tokio::fs::read_dir(&self.dir).await {
            while let Ok(Some(e)) = dir.next_entry().await {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = tokio::fs::remove_file(e.path()).await;
                }
            }
        }
        if let Some(c) = done
            && let Ok(mut kept) = self.completed.lock()
        {
            let (map, order) = &mut *kept;
            if map.insert(id.to_owned(), c).is_none() {
                order.push_back(id.to_owned());
            }
            while order.len() > COMPLETED_KEPT {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
    }

    /// The open uploads of `bucket` whose keys start with `prefix`, by key then initiation.
    pub(super) async fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, Record)> {
        let mut found = Vec::new();
        let Ok(mut dir) = tokio::fs::read_dir(&self.dir).await else {
            return found;
        };
        while let Ok(Some(e)) = dir.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix(".signpost-upload-")
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if let Ok(text) = tokio::fs::read(e.path()).await
                && let Ok(r) = serde_json::from_slice::<Record>(&text)
                && r.bucket == bucket
                && r.key.starts_with(prefix)
            {
                found.push((id.to_owned(), r));
            }
        }
        found.sort_by(|a, b| (&a.1.key, a.1.initiated, &a.0).cmp(&(&b.1.key, b.1.initiated, &b.0)));
        found
    }

    /// The checks S3 makes of a Complete's part list, before anything is written.
    pub(super) async fn check_parts(
        &self,
        id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), S3Error> {
        if parts.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "You must specify at least one part"
            ));
        }
        // The order, then every part (S3 names a missing or mismatched part before a small
        // one), then the sizes.
        let mut numbers: Vec<i32> = Vec::with_capacity(parts.len());
        for p in parts {
            let n = p
                .part_number
                .ok_or_else(|| s3_error!(MalformedXML, "a part has no PartNumber"))?;
            if numbers.last().is_some_and(|last| n <= *last) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. The parts list must be specified in order by part number."
                ));
            }
            numbers.push(n);
        }
        let mut last = 0;
        let mut sizes = Vec::with_capacity(parts.len());
        for (p, n) in parts.iter().zip(numbers) {
            let invalid = || {
                s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {n})"
                )
            };
            let kept = tokio::fs::read_to_string(self.etag_path(id, n))
                .await
                .map_err(|_| invalid())?;
            let named = p.e_tag.as_ref().map(ETag::value).unwrap_or_default();
            if named.trim_matches('"') != kept {
                return Err(invalid());
            }
            let size = tokio::fs::metadata(self.part_path(id, n))
                .await
                .map_err(|_| invalid())?
                .len();
            if n != last + 1 {
                return Err(s3_error!(
                    InvalidPart,
                    "part {} is missing: this server completes uploads whose parts are numbered 1 to N without gaps",
                    last + 1
                ));
            }
            last = n;
            sizes.push((n, size));
        }
        if let Some((n, size)) = sizes[..sizes.len() - 1]
            .iter()
            .find(|(_, size)| *size < MIN_PART_SIZE)
        {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size: part {n} is {size} bytes; every part but the last is at least 5 MiB"
            ));
        }
        Ok(())
    }
}
