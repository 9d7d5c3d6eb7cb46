//! Which lock shard an id falls in, for `MemoryStore`.
//!
//! Only spreads ids: `MemoryStore`'s maps inside each shard keep std's
//! DoS-resistant SipHash, so a cheap hash here costs an attacker who picks
//! ids nothing but some lock sharing. FNV-1a with a per-process random seed
//! is a third of SipHash's cost on short ids, and it runs on every load and
//! save.

use std::hash::{BuildHasher, RandomState};

/// A per-instance random seed for [`index`].
pub(crate) fn seed() -> u64 {
    RandomState::new().hash_one(0u8)
}

/// The shard of `id` among `shards`.
pub(crate) fn index(seed: u64, id: &str, shards: usize) -> usize {
    let mut hash = seed ^ 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's low bits mix poorly; fold the high half in.
    ((hash ^ (hash >> 32)) % shards.max(1) as u64) as usize
}
