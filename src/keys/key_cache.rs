//! The prepared TOTP keys of recently checked users: a check that finds
//! one opens no sealed secret and absorbs no HMAC pads.
//!
//! This is the one thing the process remembers between requests, because it
//! pays on a real store: 3 % of a verify on SQLite, measured paired
//! (`benches/memory_pays.rs`, `benches/README.md`). A key serves only the
//! same user and the same sealing of their factor (key id and random
//! nonce) with the same parameters, so a record resealed, rebound, reset or
//! copied from another user misses and is opened again. Keys hold HMAC
//! midstates, as good as the secret: zeroized when the last holder drops
//! them. A plain map behind one lock, held for a lookup or an insert and
//! never while a code is computed; bounded: when full, an entry picked by
//! the map's random order makes room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::codes::{Totp, TotpParams};
use crate::keys::{SealedSecret, NONCE_LEN};

pub(crate) struct KeyCache {
    capacity: usize,
    keys: Mutex<HashMap<Box<str>, KnownKey>>,
}

/// The prepared key of one sealing of a user's factor.
struct KnownKey {
    key_id: u32,
    nonce: [u8; NONCE_LEN],
    totp: Arc<Totp>,
}

impl KeyCache {
    /// A cache of at most `capacity` users' keys (0: off).
    pub(crate) fn new(capacity: usize) -> KeyCache {
        KeyCache {
            capacity,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The prepared key of `user`'s factor sealed as `sealed` with `params`,
    /// if this process has it.
    pub(crate) fn get(
        &self,
        user: &str,
        sealed: &SealedSecret,
        params: &TotpParams,
    ) -> Option<Arc<Totp>> {
        let keys = self.keys.lock().ok()?;
        let known = keys.get(user)?;
        let fits = known.key_id == sealed.key_id
            && known.nonce == sealed.nonce
            && known.totp.params() == params;
        fits.then(|| Arc::clone(&known.totp))
    }

    /// Remembers `totp` as the prepared key of `user`'s factor sealed as
    /// `sealed`.
    pub(crate) fn put(&self, user: &str, sealed: &SealedSecret, totp: Arc<Totp>) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut keys) = self.keys.lock() else {
            return;
        };
        if keys.len() >= self.capacity && !keys.contains_key(user) {
            let evicted = keys.keys().next().cloned();
            if let Some(evicted) = evicted {
                keys.remove(&evicted);
            }
        }
        let known = KnownKey {
            key_id: sealed.key_id,
            nonce: sealed.nonce,
            totp,
        };
        keys.insert(user.into(), known);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keyring;
    use crate::material::secret::Secret;

    fn sealed(keyring: &Keyring, user: &str, nonce: u8) -> (SealedSecret, Arc<Totp>) {
        let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        let sealed = keyring.seal([nonce; NONCE_LEN], user, &secret);
        (sealed, Arc::new(Totp::new(&secret, TotpParams::default())))
    }

    #[test]
    fn a_key_serves_only_its_user_and_sealing_and_the_map_stays_bounded() {
        let keyring = Keyring::new(1, &[1; 32]);
        let cache = KeyCache::new(2);
        let (a, totp) = sealed(&keyring, "a", 1);
        cache.put("a", &a, totp);
        let params = TotpParams::default();
        assert!(cache.get("a", &a, &params).is_some());
        assert!(cache.get("b", &a, &params).is_none());
        let (resealed, _) = sealed(&keyring, "a", 2);
        assert!(cache.get("a", &resealed, &params).is_none());
        let other = params.with_digits(crate::otp::Digits::new(8).unwrap());
        assert!(cache.get("a", &a, &other).is_none());
        for user in ["b", "c", "d"] {
            let (s, t) = sealed(&keyring, user, 3);
            cache.put(user, &s, t);
        }
        assert_eq!(cache.keys.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_cache_of_none_remembers_nothing() {
        let keyring = Keyring::new(1, &[1; 32]);
        let cache = KeyCache::new(0);
        let (a, totp) = sealed(&keyring, "a", 1);
        cache.put("a", &a, totp);
        assert!(cache.get("a", &a, &TotpParams::default()).is_none());
    }
}
