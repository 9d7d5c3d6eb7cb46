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
//!   ([`envelope::Memo`]): the same bytes loaded again need no tag check,
//!   and the next version is tagged from where it starts to differ.
//!
//! An operation locks its user's entry once, for its synchronous part (open
//! the loaded record, run the transition, seal the changed record), so that
//! a check takes no further lock and shares the key without copying it.
//! [`Mfa::with_key_cache`](crate::Mfa::with_key_cache) sizes the cache, or
//! turns it off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::account::MfaRecord;
use crate::envelope;
use crate::otp::{Totp, TotpParams};
use crate::seal::{SealedSecret, NONCE_LEN};

const SHARDS: usize = 16;

type Shard = Mutex<HashMap<Box<str>, Arc<CachedUser>>>;

pub(crate) struct UserCache {
    seed: u64,
    shards: Vec<Shard>,
    per_shard: usize,
}

/// What is remembered of one user, shared by the operations on that user.
#[derive(Default)]
pub(crate) struct CachedUser(Mutex<Entry>);

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
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    /// What is remembered of `user`, a new entry if nothing yet; `None`
    /// when the cache is off.
    pub(crate) fn user(&self, user: &str) -> Option<Arc<CachedUser>> {
        if self.per_shard == 0 {
            return None;
        }
        let index = crate::shard::index(self.seed, user, SHARDS);
        let mut shard = self.shards.get(index)?.lock().ok()?;
        if let Some(cached) = shard.get(user) {
            return Some(Arc::clone(cached));
        }
        if shard.len() >= self.per_shard {
            // Full: drop an arbitrary entry (its key state is zeroized when
            // the last operation holding it ends).
            if let Some(victim) = shard.keys().next().cloned() {
                shard.remove(&victim);
            }
        }
        let cached = Arc::new(CachedUser::default());
        shard.insert(user.into(), Arc::clone(&cached));
        Some(cached)
    }
}

impl CachedUser {
    /// The entry, unless a panic while it was held left it poisoned: then
    /// nothing is remembered.
    #[inline]
    pub(crate) fn lock(&self) -> Option<MutexGuard<'_, Entry>> {
        self.0.lock().ok()
    }
}
