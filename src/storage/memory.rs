//! The in-process store: sharded maps behind short locks.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard};

use super::{AsyncStore, RecordKey, SaveOutcome, Store, Version, Versioned};

const SHARDS: usize = 64;

type Records = HashMap<Box<str>, (Version, Box<[u8]>)>;

/// One map per record kind, keyed by id, so kinds never mix.
#[derive(Debug, Default)]
struct Shard {
    users: Records,
    companies: Records,
}

impl Shard {
    fn records(&mut self, key: RecordKey<'_>) -> &mut Records {
        match key {
            RecordKey::User(_) => &mut self.users,
            RecordKey::Company(_) => &mut self.companies,
        }
    }
}

/// Keeps records in memory: for examples, tests and single-process hosts.
/// Nothing survives a restart.
///
/// Records are spread over 64 independently locked shards, so checks for
/// different users rarely wait for each other; a lock is held only to copy a
/// record in or out, never while a code is computed.
#[derive(Debug)]
pub struct MemoryStore {
    seed: u64,
    shards: Box<[CachePadded; SHARDS]>,
}

/// One shard on its own cache lines, so that two cores writing neighbouring
/// locks do not slow each other down.
#[derive(Debug, Default)]
#[repr(align(128))]
struct CachePadded(Mutex<Shard>);

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            seed: crate::storage::lock_shards::seed(),
            shards: Box::new(std::array::from_fn(|_| CachePadded::default())),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, key: RecordKey<'_>) -> MutexGuard<'_, Shard> {
        let index = crate::storage::lock_shards::index(self.seed, key.id(), SHARDS);
        let [first, ..] = &*self.shards;
        let shard = self.shards.get(index).unwrap_or(first);
        // A poisoned lock only means another thread panicked while holding
        // it; the maps are always consistent (each write is one insert).
        shard
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    type Error = Infallible;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Infallible> {
        let mut shard = self.shard(key);
        Ok(shard
            .records(key)
            .get(key.id())
            .map(|(version, bytes)| Versioned::new(*version, bytes.to_vec())))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Infallible> {
        let mut shard = self.shard(key);
        let map = shard.records(key);
        // Look up by the borrowed id; an owned key is made only on creation.
        Ok(match (map.get_mut(key.id()), expected) {
            (None, None) => {
                map.insert(key.id().into(), (Version(1), bytes.into()));
                SaveOutcome::Saved(Version(1))
            }
            (Some(slot), Some(expected)) if slot.0 == expected => {
                let next = Version(expected.0.wrapping_add(1));
                slot.0 = next;
                // A record keeps its size from save to save: write over the
                // old bytes instead of allocating (and freeing) under the lock.
                if slot.1.len() == bytes.len() {
                    slot.1.copy_from_slice(bytes);
                } else {
                    slot.1 = bytes.into();
                }
                SaveOutcome::Saved(next)
            }
            _ => SaveOutcome::Conflict,
        })
    }
}

/// The same map, for an [`AsyncMfa`](crate::AsyncMfa): every answer is ready
/// at once (a lock held for a map lookup, never across an await).
impl AsyncStore for MemoryStore {
    type Error = Infallible;

    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl std::future::Future<Output = Result<Option<Versioned>, Infallible>> + Send {
        std::future::ready(Store::load(self, key))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = Result<SaveOutcome, Infallible>> + Send {
        std::future::ready(Store::save(self, key, expected, bytes))
    }
}
