//! A bounded in-process memo of opened, prepared TOTP keys, so that a check
//! of a user seen recently opens no AEAD and absorbs no HMAC pads.
//!
//! An entry is found only for the same user and the same sealing (key id
//! and random nonce), so a record resealed, rebound or copied from another
//! user misses and is opened — and authenticated — again. Entries hold HMAC
//! midstates, as good as the secret: they are zeroized when evicted or
//! dropped, and the cache can be turned off with
//! [`Mfa::with_key_cache`](crate::Mfa::with_key_cache).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::otp::{Totp, TotpParams};
use crate::seal::{SealedSecret, NONCE_LEN};

const SHARDS: usize = 16;

struct Entry {
    key_id: u32,
    nonce: [u8; NONCE_LEN],
    /// Shared with the checks using it: a hit copies no key state, and the
    /// state is zeroized once, when the last holder lets go.
    totp: Arc<Totp>,
}

pub(crate) struct KeyCache {
    seed: u64,
    shards: Vec<Mutex<HashMap<Box<str>, Entry>>>,
    per_shard: usize,
}

impl KeyCache {
    /// A cache of about `capacity` users (0: off).
    pub(crate) fn new(capacity: usize) -> KeyCache {
        KeyCache {
            seed: crate::shard::seed(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, user: &str) -> Option<&Mutex<HashMap<Box<str>, Entry>>> {
        if self.per_shard == 0 {
            return None;
        }
        let index = crate::shard::index(self.seed, user, SHARDS);
        self.shards.get(index)
    }

    /// The prepared key of `user`'s factor sealed as `sealed`, if cached.
    pub(crate) fn get(
        &self,
        user: &str,
        sealed: &SealedSecret,
        params: &TotpParams,
    ) -> Option<Arc<Totp>> {
        let shard = self.shard(user)?.lock().ok()?;
        let entry = shard.get(user)?;
        (entry.key_id == sealed.key_id
            && entry.nonce == sealed.nonce
            && entry.totp.params() == params)
            .then(|| Arc::clone(&entry.totp))
    }

    /// Remembers the prepared key of `user`'s factor sealed as `sealed`.
    pub(crate) fn put(&self, user: &str, sealed: &SealedSecret, totp: &Arc<Totp>) {
        let Some(mut shard) = self.shard(user).and_then(|s| s.lock().ok()) else {
            return;
        };
        if shard.len() >= self.per_shard && !shard.contains_key(user) {
            // Full: drop an arbitrary entry (its key state is zeroized on drop).
            if let Some(victim) = shard.keys().next().cloned() {
                shard.remove(&victim);
            }
        }
        shard.insert(
            user.into(),
            Entry {
                key_id: sealed.key_id,
                nonce: sealed.nonce,
                totp: Arc::clone(totp),
            },
        );
    }
}
