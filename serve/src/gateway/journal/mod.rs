//! The gateway's journal, kept upstream: which multipart uploads it started, so that one it could
//! neither complete nor abort (the upstream failed at that moment, or the gateway was killed) is
//! found and aborted later, by this gateway or by any other in front of the same upstream. No
//! state lives in the process: a runner is never pinned to one gateway.
//!
//! In each bucket the gateway writes multipart uploads to, under its prefix (`.signpost-gateway/`):
//! - `PREFIX/uploads/INSTANCE/HEX(UPLOAD-ID)`, holding the object's key: written after
//!   CreateMultipartUpload and before the first part (an upload whose marker cannot be written is
//!   aborted at once and refused), deleted once the upload is completed or aborted;
//! - `PREFIX/alive/INSTANCE`, empty: the instance's heartbeat, written before its first marker and
//!   again every `orphan_after / 6` while it has uploads in flight in the bucket.
//!
//! Every `orphan_after / 3` a gateway lists the prefix of each bucket it knows (those it wrote to
//! since it started, and those it was told to sweep) and aborts two kinds of upload, then deletes
//! their markers: its own instance's that are no longer in flight, and another instance's whose
//! heartbeat and marker are both older than `orphan_after`. Ages are the upstream's own clock: the
//! objects' LastModified against the listing's `Date`, so the gateways' clocks never matter. A
//! gateway killed with uploads in flight thus has them aborted at most `orphan_after` plus one
//! sweep after its last heartbeat, by a survivor or by itself restarted.
//!
//! What it cannot see: a gateway killed in the milliseconds between CreateMultipartUpload and its
//! marker leaves that one upload unjournaled (a lifecycle rule's AbortIncompleteMultipartUpload
//! catches it). A gateway cut off from the upstream for longer than `orphan_after` while its
//! uploads wait has them aborted by the others; its next part is then refused (NoSuchUpload) and
//! the runner told: nothing wrong is stored.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signpost_presign::Presigner;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::client::CallError;
use crate::core::Metrics;

mod calls;

/// At most this many listing pages per bucket and sweep (1,000 entries each).
const MAX_PAGES: usize = 100;

/// The journal of one gateway process.
#[derive(Debug)]
pub(super) struct Journal {
    /// This process: 128 random bits, new at every start.
    instance: String,
    /// `.signpost-gateway/`: the keys the journal owns in every bucket.
    prefix: String,
    orphan_after: Duration,
    presigner: Arc<Presigner>,
    caller: signpost_upload::Uploader,
    metrics: Arc<Metrics>,
    state: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Upload ids in flight, by bucket.
    live: HashMap<String, HashSet<String>>,
    /// When this instance's heartbeat was last written, by bucket.
    beaten: HashMap<String, Instant>,
    /// The buckets swept.
    buckets: BTreeSet<String>,
}

/// A journaled upload in flight. [`Journal::finish`] settles it; dropped unsettled (its request
/// was dropped), it leaves the in-flight set and the next sweep aborts it.
pub(super) struct Entry<'a> {
    journal: &'a Journal,
    bucket: String,
    key: String,
    upload_id: String,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        let mut st = self.journal.lock();
        if let Some(ids) = st.live.get_mut(&self.bucket) {
            ids.remove(&self.upload_id);
        }
    }
}

/// What one sweep of one bucket did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Swept {
    /// Uploads aborted (or found already gone) and their markers deleted.
    pub aborted: usize,
    /// Markers of uploads alive (this instance's in flight, or another's with a fresh heartbeat).
    pub alive: usize,
}

fn random_instance() -> String {
    // std's RandomState is seeded from the OS's randomness, afresh for every state.
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{a:016x}{:016x}", h.finish())
}

fn hex(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes()
        .fold(String::with_capacity(2 * s.len()), |mut o, b| {
            let _ = write!(o, "{b:02x}");
            o
        })
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

impl Journal {
    pub(super) fn new(
        prefix: String,
        orphan_after: Duration,
        sweep_buckets: &[String],
        presigner: Arc<Presigner>,
        caller: signpost_upload::Uploader,
        metrics: Arc<Metrics>,
    ) -> Self {
        Journal {
            instance: random_instance(),
            prefix,
            orphan_after,
            presigner,
            caller,
            metrics,
            state: Mutex::new(Inner {
                buckets: sweep_buckets.iter().cloned().collect(),
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `key` is in the journal's part of a bucket (no client may write there).
    pub(super) fn owns(&self, key: &str) -> bool {
        key.starts_with(&self.prefix)
    }

    fn beat_every(&self) -> Duration {
        (self.orphan_after / 6).max(Duration::from_millis(200))
    }

    fn marker(&self, instance: &str, upload_id: &str) -> String {
        format!("{}uploads/{instance}/{}", self.prefix, hex(upload_id))
    }

    fn heartbeat(&self, instance: &str) -> String {
        format!("{}alive/{instance}", self.prefix)
    }

    /// Writes this instance's heartbeat in `bucket` unless it was written within a beat.
    async fn beat(&self, bucket: &str) -> Result<(), CallError> {
        let due = self
            .lock()
            .beaten
            .get(bucket)
            .is_none_or(|t| t.elapsed() >= self.beat_every());
        if due {
            let at = Instant::now();
            self.put(bucket, &self.heartbeat(&self.instance), b"")
                .await?;
            self.lock().beaten.insert(bucket.to_owned(), at);
        }
        Ok(())
    }

    /// Journals an upload just created: in flight from now, its heartbeat fresh, its marker
    /// written. On an error the caller aborts the upload itself (nothing of it is journaled).
    pub(super) async fn started(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Entry<'_>, CallError> {
        {
            let mut st = self.lock();
            st.live
                .entry(bucket.to_owned())
                .or_default()
                .insert(upload_id.to_owned());
            st.buckets.insert(bucket.to_owned());
        }
        let entry = Entry {
            journal: self,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
        };
        self.beat(bucket).await?;
        self.put(
            bucket,
            &self.marker(&self.instance, upload_id),
            key.as_bytes(),
        )
        .await?;
        Ok(entry)
    }

    /// Settles an upload: aborts it unless it was completed, then deletes its marker. What fails
    /// here stays journaled for the next sweep.
    pub(super) async fn finish(&self, entry: Entry<'_>, completed: bool) {
        let (bucket, key, id) = (&entry.bucket, &entry.key, &entry.upload_id);
        let settled = if completed {
            Ok(())
        } else {
            self.abort(bucket, key, id).await
        };
        let result = match settled {
            Ok(()) => self.delete(bucket, &self.marker(&self.instance, id)).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(bucket = %bucket, key = %key, error = %e,
                "the upload's clean-up upstream failed; it stays journaled for the next sweep");
        }
    }

    /// Beats and sweeps until `stop`: heartbeats every `orphan_after / 6`, sweeps every other
    /// beat (the first at once).
    pub(super) async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = 0u64;
        loop {
            let live: Vec<String> = {
                let st = self.lock();
                st.live
                    .iter()
                    .filter(|(_, ids)| !ids.is_empty())
                    .map(|(b, _)| b.clone())
                    .collect()
            };
            for bucket in &live {
                if let Err(e) = self.beat(bucket).await {
                    tracing::warn!(bucket = %bucket, error = %e, "the gateway's heartbeat could not be written");
                }
            }
            if tick.is_multiple_of(2) {
                let buckets: Vec<String> = self.lock().buckets.iter().cloned().collect();
                for bucket in &buckets {
                    if let Err(e) = self.sweep(bucket).await {
                        tracing::warn!(bucket = %bucket, error = %e, "sweeping for orphaned uploads failed; the next sweep tries again");
                    }
                }
            }
            tick += 1;
            tokio::select! {
                () = tokio::time::sleep(self.beat_every()) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// Aborts the orphaned uploads journaled in `bucket` and deletes their markers, and the
    /// heartbeats of instances that have none left.
    pub(super) async fn sweep(&self, bucket: &str) -> Result<Swept, CallError> {
        self.presigner.refresh_credentials().await?;
        let age = |at: &str, now: OffsetDateTime| {
            signpost_wire::amz_date::parse_rfc3339(at)
                .map(|t| now - t)
                .unwrap_or(time::Duration::ZERO)
        };
        let orphan_after =
            time::Duration::try_from(self.orphan_after).unwrap_or(time::Duration::MAX);
        let (mut markers, mut beats) = (Vec::new(), HashMap::new());
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (page, now) = self.list_page(bucket, token.as_deref()).await?;
            for o in page.contents {
                let Some(rest) = o.key.strip_prefix(&self.prefix) else {
                    continue;
                };
                if let Some(inst) = rest.strip_prefix("alive/") {
                    beats.insert(inst.to_owned(), age(&o.last_modified, now));
                } else if let Some((inst, id)) = rest
                    .strip_prefix("uploads/")
                    .and_then(|r| r.split_once('/'))
                {
                    markers.push((inst.to_owned(), id.to_owned(), age(&o.last_modified, now)));
                }
            }
            token = page.next_continuation_token.filter(|_| page.is_truncated);
            if token.is_none() {
                break;
            }
        }
        let live = self.lock().live.get(bucket).cloned().unwrap_or_default();
        let mut swept = Swept::default();
        let mut kept: HashSet<String> = HashSet::new();
        for (inst, hex_id, marker_age) in markers {
            let marker = format!("{}uploads/{inst}/{hex_id}", self.prefix);
            let Some(upload_id) = unhex(&hex_id) else {
                self.delete(bucket, &marker).await?;
                continue;
            };
            let orphaned = if inst == self.instance {
                !live.contains(&upload_id)
            } else {
                let beat_stale = beats.get(&inst).is_none_or(|a| *a > orphan_after);
                beat_stale && marker_age > orphan_after
            };
            if !orphaned {
                swept.alive += 1;
                kept.insert(inst);
                continue;
            }
            if let Some(key) = self.get(bucket, &marker).await? {
                self.abort(bucket, &key, &upload_id).await?;
                tracing::warn!(bucket = %bucket, key = %key, gateway = %inst,
                    "aborted a multipart upload its gateway left unfinished");
                self.metrics.orphan_aborted();
            }
            self.delete(bucket, &marker).await?;
            swept.aborted += 1;
        }
        for (inst, beat_age) in beats {
            if inst != self.instance && beat_age > orphan_after && !kept.contains(&inst) {
                self.delete(bucket, &self.heartbeat(&inst)).await?;
            }
        }
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_round_trip_through_marker_names() {
        for id in ["VXBsb2FkSWQ", "a.b_c-d~e", "2~abc/def+=", "é"] {
            assert_eq!(unhex(&hex(id)).as_deref(), Some(id));
            assert!(hex(id).bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("ff"), None);
    }

    #[test]
    fn instances_differ() {
        let (a, b) = (random_instance(), random_instance());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
