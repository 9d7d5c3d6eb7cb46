//! A bounded in-process memo, per recently seen user, of what is costly to
//! redo on every check:
//!
//! - the opened, prepared TOTP key, so that a check opens no AEAD and
//!   absorbs no HMAC pads. Found only for the same user and the same
//!   sealing (key id and random nonce), so a record resealed, rebound or
//!   copied from another user misses and is opened — and authenticated —
//!   again. It holds HMAC midstates, as good as the secret: zeroized when
//!   evicted or dropped;
//! - the envelope of the user's record this process last tagged or checked
//!   ([`envelope::Memo`]): the same bytes loaded again need no tag check nor
//!   decoding, and the next version is tagged from where it starts to differ.
//!
//! A set-associative table: a user's id picks one set of [`WAYS`] entries
//! behind one lock, held for the synchronous part of an operation (open the
//! loaded record, run the transition, seal the changed record), so a check
//! takes one lock and no hash map. Sets are picked with the seeded hash of
//! `shard.rs`: ids chosen to collide only evict one another (a set never
//! grows), which anyone can also do by signing in as many users.
//! [`Mfa::with_key_cache`](crate::Mfa::with_key_cache) sizes it, or turns it
//! off.

use std::sync::{Arc, Mutex};

use crate::account::MfaRecord;
use crate::envelope;
use crate::otp::{Totp, TotpParams};
use crate::seal::{SealedSecret, NONCE_LEN};

/// Entries per set.
const WAYS: usize = 4;

pub(crate) struct UserCache {
    seed: u64,
    sets: Box<[PaddedSet]>,
}

/// A set on its own cache lines: two cores locking neighbouring sets must
/// not slow each other down.
#[derive(Default)]
#[repr(align(128))]
struct PaddedSet(Mutex<Set>);

#[derive(Default)]
struct Set {
    ways: [Option<Box<Way>>; WAYS],
    /// Counts uses, to evict the way used least recently.
    ticks: u64,
}

/// On cache lines of its own too: two users' entries, allocated one after
/// the other, are written by two cores at once.
#[repr(align(128))]
struct Way {
    user: Box<str>,
    used: u64,
    entry: Entry,
}

/// What is remembered of one user.
#[derive(Default)]
pub(crate) struct Entry {
    pub(crate) key: Option<KnownKey>,
    /// The user's record as last tagged or checked, and decoded.
    pub(crate) envelope: envelope::Memo<MfaRecord>,
}

/// The prepared key of one sealing of a user's factor.
pub(crate) struct KnownKey {
    key_id: u32,
    nonce: [u8; NONCE_LEN],
    /// Shared with the check that made it: the state is zeroized once, when
    /// the last holder lets go.
    pub(crate) totp: Arc<Totp>,
}

impl KnownKey {
    pub(crate) fn new(sealed: &SealedSecret, totp: Arc<Totp>) -> KnownKey {
        KnownKey {
            key_id: sealed.key_id,
            nonce: sealed.nonce,
            totp,
        }
    }

    /// Whether this is the key of the factor sealed as `sealed` with `params`.
    pub(crate) fn fits(&self, sealed: &SealedSecret, params: &TotpParams) -> bool {
        self.key_id == sealed.key_id && self.nonce == sealed.nonce && self.totp.params() == params
    }
}

impl UserCache {
    /// A cache of about `capacity` users (0: off).
    pub(crate) fn new(capacity: usize) -> UserCache {
        UserCache {
            seed: crate::shard::seed(),
            sets: (0..capacity.div_ceil(WAYS))
                .map(|_| PaddedSet::default())
                .collect(),
        }
    }

    /// Runs `f` with what is remembered of `user` (a fresh entry if nothing,
    /// evicting the set's least recently used one), locked; `None` when the
    /// cache is off, or a panic left the set poisoned.
    pub(crate) fn with<T>(&self, user: &str, f: impl FnOnce(Option<&mut Entry>) -> T) -> T {
        let index = crate::shard::index(self.seed, user, self.sets.len());
        match self.sets.get(index).and_then(|set| set.0.lock().ok()) {
            Some(mut set) => f(set.entry(user)),
            None => f(None),
        }
    }
}

impl Set {
    /// `user`'s entry: found, or made in the way used least recently (an
    /// empty one first), whose entry is dropped (its key state zeroized).
    fn entry(&mut self, user: &str) -> Option<&mut Entry> {
        self.ticks += 1;
        let found = self
            .ways
            .iter()
            .position(|way| way.as_ref().is_some_and(|way| *way.user == *user));
        let chosen = found.or_else(|| {
            let ways = self.ways.iter().enumerate();
            ways.min_by_key(|(_, way)| way.as_ref().map_or(0, |way| way.used))
                .map(|(index, _)| index)
        })?;
        let slot = self.ways.get_mut(chosen)?;
        if found.is_none() {
            *slot = Some(Box::new(Way {
                user: user.into(),
                used: 0,
                entry: Entry::default(),
            }));
        }
        let way = slot.as_mut()?;
        way.used = self.ticks;
        Some(&mut way.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaves a mark in `user`'s entry: a decoded record remembering `mark`.
    fn mark(cache: &UserCache, user: &str, mark: u64) {
        cache.with(user, |entry| {
            let record = MfaRecord {
                used_until: mark,
                ..MfaRecord::default()
            };
            entry.unwrap().envelope.keep_decoded(record);
        });
    }

    /// The mark in `user`'s entry, if it is still remembered.
    fn read(cache: &UserCache, user: &str) -> Option<u64> {
        cache.with(user, |entry| {
            let memo = &mut entry.unwrap().envelope;
            let record = memo.take_decoded()?;
            let found = record.used_until;
            memo.keep_decoded(record);
            Some(found)
        })
    }

    #[test]
    fn each_user_has_their_own_entry_and_the_least_recent_goes_first() {
        // One set: every user shares it.
        let cache = UserCache::new(WAYS);
        for (n, user) in ["a", "b", "c", "d"].into_iter().enumerate() {
            mark(&cache, user, n as u64);
        }
        assert_eq!(read(&cache, "a"), Some(0));
        // "b" is now the least recently used: "e" takes its place.
        mark(&cache, "e", 4);
        for (user, n) in [("a", 0), ("c", 2), ("d", 3), ("e", 4)] {
            assert_eq!(read(&cache, user), Some(n), "{user}");
        }
        // Looking "b" up makes it an entry again, a fresh one.
        assert_eq!(read(&cache, "b"), None);
    }

    #[test]
    fn a_cache_of_none_remembers_nothing() {
        let cache = UserCache::new(0);
        assert!(cache.with("a", |entry| entry.is_none()));
    }
}
