//! Which uploads the gateway takes at once: by the memory each can hold, by count, and by key.
//!
//! An upload holds at most its own length, or two parts (one being received while the other is
//! sent upstream), whichever is smaller; a body of unknown length counts as two parts. So 200
//! live-transcoding segments of 64 KiB are admitted together where a count sized for 50 GiB
//! uploads would refuse most of them, and memory stays within `max_memory` whatever is sent. The
//! count (`max_uploads`) and the per-key limit (`max_uploads_per_key`) keep one valid URL, or
//! one client, from holding every slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Memory is counted in KiB: a semaphore holds at most `u32::MAX` permits per acquire.
const UNIT: u64 = 1024;

/// Why an upload was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    Count,
    Key,
    Memory,
}

#[derive(Debug)]
pub(super) struct Admission {
    count: Arc<Semaphore>,
    max_count: usize,
    per_key: usize,
    keys: Arc<Mutex<HashMap<String, usize>>>,
    memory: Arc<Semaphore>,
    /// The most one upload holds: two parts.
    most: u64,
}

/// An admitted upload; dropping it frees what it held.
#[derive(Debug)]
pub(super) struct Slot {
    _count: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
    keys: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.keys.lock()
            && let Some(n) = keys.get_mut(&self.key)
        {
            *n -= 1;
            if *n == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

impl Admission {
    pub(super) fn new(max_uploads: usize, per_key: usize, max_memory: u64, most: u64) -> Self {
        let units = usize::try_from(max_memory / UNIT).unwrap_or(usize::MAX >> 4);
        Admission {
            count: Arc::new(Semaphore::new(max_uploads)),
            max_count: max_uploads,
            per_key,
            keys: Arc::new(Mutex::new(HashMap::new())),
            memory: Arc::new(Semaphore::new(units.min(Semaphore::MAX_PERMITS))),
            most,
        }
    }

    /// Admits an upload to `bucket`/`key` whose body announces `length` bytes, or says why not.
    pub(super) fn admit(
        &self,
        bucket: &str,
        key: &str,
        length: Option<u64>,
    ) -> Result<Slot, Refused> {
        let holds = length.map_or(self.most, |n| n.min(self.most)).max(1);
        let units = u32::try_from(holds.div_ceil(UNIT)).unwrap_or(u32::MAX);
        let count = Arc::clone(&self.count)
            .try_acquire_owned()
            .map_err(|_| Refused::Count)?;
        let memory = Arc::clone(&self.memory)
            .try_acquire_many_owned(units)
            .map_err(|_| Refused::Memory)?;
        let name = format!("{bucket}/{key}");
        let mut keys = self.keys.lock().map_err(|_| Refused::Key)?;
        let n = keys.entry(name.clone()).or_default();
        if *n >= self.per_key {
            return Err(Refused::Key);
        }
        *n += 1;
        drop(keys);
        Ok(Slot {
            _count: count,
            _memory: memory,
            keys: Arc::clone(&self.keys),
            key: name,
        })
    }

    /// Uploads admitted now.
    pub(super) fn in_flight(&self) -> usize {
        self.max_count - self.count.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_uploads_are_admitted_by_their_size_and_large_ones_by_two_parts() {
        let mib = 1 << 20;
        // 64 MiB of memory, parts of 16 MiB: two large uploads, or hundreds of small ones.
        let a = Admission::new(1000, 4, 64 * mib, 32 * mib);
        let small: Vec<Slot> = (0..500)
            .map(|i| a.admit("b", &format!("seg-{i}"), Some(64 * 1024)).unwrap())
            .collect();
        assert_eq!(a.in_flight(), 500);
        // 500 × 64 KiB = 31.25 MiB held: one large upload still fits, a second does not.
        let large = a.admit("b", "big", None).unwrap();
        assert_eq!(
            a.admit("b", "big2", Some(10 << 30)).unwrap_err(),
            Refused::Memory
        );
        drop(small);
        let large2 = a.admit("b", "big2", Some(10 << 30)).unwrap();
        assert_eq!(a.in_flight(), 2);
        drop((large, large2));
        assert_eq!(a.in_flight(), 0);
    }

    #[test]
    fn one_key_holds_at_most_its_share_and_the_count_is_a_ceiling() {
        let a = Admission::new(3, 2, 1 << 30, 1 << 20);
        let k1 = a.admit("b", "k", Some(1)).unwrap();
        let k2 = a.admit("b", "k", Some(1)).unwrap();
        assert_eq!(a.admit("b", "k", Some(1)).unwrap_err(), Refused::Key);
        let other = a.admit("b", "other", Some(1)).unwrap();
        assert_eq!(a.admit("b", "third", Some(1)).unwrap_err(), Refused::Count);
        drop(k1);
        let k3 = a.admit("b", "k", Some(1)).unwrap();
        drop((k2, k3, other));
        assert_eq!(a.in_flight(), 0);
        assert!(
            a.keys.lock().unwrap().is_empty(),
            "freed keys are forgotten"
        );
    }
}
