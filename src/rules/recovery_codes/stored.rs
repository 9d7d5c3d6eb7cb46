//! Recovery codes as stored: salted keyed hashes, drawn in sets, checked in
//! constant time over the whole set.

use hmac::{Hmac, Mac};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::{
    crockford, grouped, RecoveryCode, RecoveryMode, Typed, CODE_BYTES, HASH_LEN, SALT_LEN,
};
use crate::keys::{hmac_sha256, Entropy, SealError};

/// A stored code: salt, keyed hash, and whether it was spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredCode {
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) hash: [u8; HASH_LEN],
    pub(crate) spent: bool,
}

/// A user's recovery codes as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecoveryState {
    pub(crate) mode: RecoveryMode,
    /// The keyring key whose pepper hashed these codes.
    pub(crate) key_id: u32,
    pub(crate) codes: Vec<StoredCode>,
}

impl RecoveryState {
    /// Draws a fresh set for `mode`: the codes to show, and the state to store.
    pub(crate) fn generate(
        mode: RecoveryMode,
        key_id: u32,
        pepper: &[u8; 32],
        user: &str,
        entropy: &dyn Entropy,
    ) -> Result<(Vec<RecoveryCode>, RecoveryState), SealError> {
        let count = mode.count();
        let peppered = hmac_sha256(pepper);
        let mut shown = Vec::with_capacity(count);
        let mut codes = Vec::with_capacity(count);
        for _ in 0..count {
            let mut random = Zeroizing::new([0u8; CODE_BYTES]);
            let mut salt = [0u8; SALT_LEN];
            entropy.fill(&mut *random)?;
            entropy.fill(&mut salt)?;
            let chars = Zeroizing::new(crockford(&random));
            codes.push(StoredCode {
                salt,
                hash: keyed_hash(&peppered, user, &salt, &*chars),
                spent: false,
            });
            shown.push(grouped(&*chars));
        }
        Ok((
            shown,
            RecoveryState {
                mode,
                key_id,
                codes,
            },
        ))
    }

    /// The index of the unspent code that `normalized` matches. Every stored
    /// code is hashed and compared, whichever matched, so the time does not
    /// tell which code of a set it was.
    pub(crate) fn find(&self, pepper: &[u8; 32], user: &str, typed: &Typed) -> Option<usize> {
        let (found, index) = self.find_in_constant_time(pepper, user, typed.chars());
        bool::from(found)
            .then(|| usize::try_from(index).ok())
            .flatten()
    }

    /// The constant-time core of [`find`](Self::find): whether and which
    /// code matched, with no branch on either. Not inlined, so that
    /// `tools/ct-check` can count its instructions alone.
    #[inline(never)]
    fn find_in_constant_time(&self, pepper: &[u8; 32], user: &str, typed: &[u8]) -> (Choice, u64) {
        let peppered = hmac_sha256(pepper);
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, code) in (0u64..).zip(&self.codes) {
            let matches = keyed_hash(&peppered, user, &code.salt, typed).ct_eq(&code.hash)
                & Choice::from(u8::from(!code.spent));
            index.conditional_assign(&i, matches & !found);
            found |= matches;
        }
        (found, index)
    }

    /// Codes not yet spent.
    pub(crate) fn remaining(&self) -> usize {
        self.codes.iter().filter(|code| !code.spent).count()
    }
}

/// Whether `normalized` is the code `stored` was hashed from, for `user`
/// under `pepper`, in constant time. (A spent code still matches here: the
/// caller decides what a match of a used code means.)
pub(crate) fn matches(stored: &StoredCode, pepper: &[u8; 32], user: &str, typed: &Typed) -> Choice {
    keyed_hash(&hmac_sha256(pepper), user, &stored.salt, typed.chars()).ct_eq(&stored.hash)
}

/// HMAC-SHA-256(pepper, len(user) ‖ user ‖ salt ‖ code), from the HMAC
/// keyed with the pepper once per set.
fn keyed_hash(
    peppered: &Hmac<sha2::Sha256>,
    user: &str,
    salt: &[u8; SALT_LEN],
    chars: &[u8],
) -> [u8; HASH_LEN] {
    let mut mac = peppered.clone();
    // Bound to the user, like sealed secrets: a user's stored codes copied
    // into another user's record do not match there.
    mac.update(&(user.len() as u64).to_be_bytes());
    mac.update(user.as_bytes());
    mac.update(salt);
    mac.update(chars);
    mac.finalize().into_bytes().into()
}
