//! Recovery codes: drawn from a CSPRNG, shown once, stored only as salted
//! keyed hashes, checked in constant time, spent once.
//!
//! A code is 80 random bits written as 16 Crockford base32 characters in
//! four groups (`K7QF-3M9X-2HRA-WP4D`): no `I`, `L`, `O` or `U`, and what a
//! person types is normalised before checking (case, spaces, hyphens, `O`→`0`,
//! `I`/`L`→`1`). NIST SP 800-63B asks for at least 64 bits.
//!
//! Each code is stored as `HMAC-SHA-256(pepper, user ‖ salt ‖ code)` with a
//! random 128-bit salt per code and a pepper derived from the application keyring,
//! which the database never holds: a stolen database gives neither the codes
//! nor a way to test guesses offline.

use core::fmt;

use hmac::{Hmac, Mac};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::seal::{hmac_sha256, Entropy, SealError};

/// Characters of a code, without separators.
pub(crate) const CODE_CHARS: usize = 16;
/// Random bytes per code: 80 bits.
const CODE_BYTES: usize = 10;
pub(crate) const SALT_LEN: usize = 16;
pub(crate) const HASH_LEN: usize = 32;
/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How a user's recovery codes work, chosen by the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecoveryMode {
    /// One code; once used, a new one is issued, to be shown and recorded
    /// again (the default).
    #[default]
    Single,
    /// A set of single-use codes (GitHub uses 16, GitLab 10).
    Set(SetSize),
}

/// The number of codes in a set: 1 to 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetSize(u8);

impl SetSize {
    /// The largest set.
    pub const MAX: u8 = 16;

    /// Validates a set size.
    ///
    /// # Errors
    /// [`RecoveryError::SetSize`] unless `n` is 1 to 16.
    pub const fn new(n: u8) -> Result<SetSize, RecoveryError> {
        if n >= 1 && n <= Self::MAX {
            Ok(SetSize(n))
        } else {
            Err(RecoveryError::SetSize(n))
        }
    }

    /// The size.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// An invalid recovery configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// A set has 1 to 16 codes.
    #[error("a recovery code set has 1 to 16 codes, not {0}")]
    SetSize(u8),
}

impl RecoveryMode {
    pub(crate) fn count(self) -> usize {
        match self {
            RecoveryMode::Single => 1,
            RecoveryMode::Set(size) => usize::from(size.0),
        }
    }
}

/// A recovery code to show to the person once. Only its hash is stored.
///
/// `Debug` is redacted; [`expose_str`](RecoveryCode::expose_str) gives the
/// grouped form for display.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryCode {
    /// `XXXX-XXXX-XXXX-XXXX`.
    text: [u8; CODE_CHARS + 3],
}

impl RecoveryCode {
    /// Reads what a person typed leniently (case, spaces, hyphens, `O`→`0`,
    /// `I`/`L`→`1`), e.g. to tell them at once that it cannot be a recovery
    /// code. `None` if it cannot.
    ///
    /// ```
    /// use twostep::RecoveryCode;
    /// let code = RecoveryCode::parse("k7qf 3m9x 2hra wp4d").unwrap();
    /// assert_eq!(code.expose_str(), "K7QF-3M9X-2HRA-WP4D");
    /// assert!(RecoveryCode::parse("123456").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<RecoveryCode> {
        normalize(input).map(|chars| grouped(&chars))
    }

    /// The code as `XXXX-XXXX-XXXX-XXXX`, for the person to record.
    pub fn expose_str(&self) -> &str {
        core::str::from_utf8(&self.text).unwrap_or_default()
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([REDACTED])")
    }
}

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
                hash: keyed_hash(&peppered, user, &salt, &chars),
                spent: false,
            });
            shown.push(grouped(&chars));
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
    pub(crate) fn find(
        &self,
        pepper: &[u8; 32],
        user: &str,
        normalized: &[u8; CODE_CHARS],
    ) -> Option<usize> {
        let (found, index) = self.find_in_constant_time(pepper, user, normalized);
        bool::from(found)
            .then(|| usize::try_from(index).ok())
            .flatten()
    }

    /// The constant-time core of [`find`](Self::find): whether and which
    /// code matched, with no branch on either. Not inlined, so that
    /// `tools/ct-check` can count its instructions alone.
    #[inline(never)]
    fn find_in_constant_time(
        &self,
        pepper: &[u8; 32],
        user: &str,
        normalized: &[u8; CODE_CHARS],
    ) -> (Choice, u64) {
        let peppered = hmac_sha256(pepper);
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, code) in (0u64..).zip(&self.codes) {
            let matches = keyed_hash(&peppered, user, &code.salt, normalized).ct_eq(&code.hash)
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
pub(crate) fn matches(
    stored: &StoredCode,
    pepper: &[u8; 32],
    user: &str,
    normalized: &[u8; CODE_CHARS],
) -> Choice {
    keyed_hash(&hmac_sha256(pepper), user, &stored.salt, normalized).ct_eq(&stored.hash)
}

/// The codes' characters, 16 per code in order, to be sealed.
pub(crate) fn to_plaintext(codes: &[RecoveryCode]) -> Zeroizing<Vec<u8>> {
    let mut plaintext = Zeroizing::new(Vec::with_capacity(codes.len() * CODE_CHARS));
    for code in codes {
        plaintext.extend(code.text.iter().filter(|c| **c != b'-'));
    }
    plaintext
}

/// The codes back from [`to_plaintext`]'s bytes; `None` unless they are
/// whole codes of the alphabet.
pub(crate) fn from_plaintext(plaintext: &[u8]) -> Option<Vec<RecoveryCode>> {
    let chunks = plaintext.chunks_exact(CODE_CHARS);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks
        .map(|chunk| {
            let chars: &[u8; CODE_CHARS] = chunk.try_into().ok()?;
            chars
                .iter()
                .all(|c| ALPHABET.contains(c))
                .then(|| grouped(chars))
        })
        .collect()
}

/// What a person typed, as the 16 characters that were hashed, or `None` if
/// it cannot be a code.
pub(crate) fn normalize(input: &str) -> Option<Zeroizing<[u8; CODE_CHARS]>> {
    let mut out = Zeroizing::new([0u8; CODE_CHARS]);
    let mut len = 0;
    for c in input.trim().bytes() {
        let c = match c.to_ascii_uppercase() {
            b' ' | b'-' => continue,
            b'O' => b'0',
            b'I' | b'L' => b'1',
            c if ALPHABET.contains(&c) => c,
            _ => return None,
        };
        *out.get_mut(len)? = c;
        len += 1;
    }
    (len == CODE_CHARS).then_some(out)
}

/// HMAC-SHA-256(pepper, len(user) ‖ user ‖ salt ‖ code), from the HMAC
/// keyed with the pepper once per set.
fn keyed_hash(
    peppered: &Hmac<sha2::Sha256>,
    user: &str,
    salt: &[u8; SALT_LEN],
    chars: &[u8; CODE_CHARS],
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

/// 80 bits as 16 Crockford base32 characters.
fn crockford(random: &[u8; CODE_BYTES]) -> [u8; CODE_CHARS] {
    let mut bits = random
        .iter()
        .fold(0u128, |acc, b| acc << 8 | u128::from(*b));
    let mut out = [0u8; CODE_CHARS];
    for c in out.iter_mut().rev() {
        *c = ALPHABET.get((bits & 31) as usize).copied().unwrap_or(b'0');
        bits >>= 5;
    }
    out
}

fn grouped(chars: &[u8; CODE_CHARS]) -> RecoveryCode {
    let mut text = [b'-'; CODE_CHARS + 3];
    for (i, c) in chars.iter().enumerate() {
        if let Some(slot) = text.get_mut(i + i / 4) {
            *slot = *c;
        }
    }
    RecoveryCode { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::RngEntropy;
    use rand_chacha::rand_core::SeedableRng;

    fn entropy() -> RngEntropy<rand_chacha::ChaCha8Rng> {
        RngEntropy(std::sync::Mutex::new(
            rand_chacha::ChaCha8Rng::seed_from_u64(1),
        ))
    }

    #[test]
    fn codes_look_right_and_match_only_themselves() {
        let pepper = [9; 32];
        let (shown, state) = RecoveryState::generate(
            RecoveryMode::Set(SetSize::new(16).unwrap()),
            1,
            &pepper,
            "u",
            &entropy(),
        )
        .unwrap();
        assert_eq!(shown.len(), 16);
        for (i, code) in shown.iter().enumerate() {
            let text = code.expose_str();
            assert_eq!(text.len(), 19);
            assert_eq!(text.matches('-').count(), 3);
            assert!(text.split('-').all(|g| g.len() == 4));
            assert!(!text.contains(['I', 'L', 'O', 'U']));
            assert_eq!(state.find(&pepper, "u", &normalize(text).unwrap()), Some(i));
            assert_eq!(state.find(&pepper, "v", &normalize(text).unwrap()), None);
            assert_eq!(state.find(&[8; 32], "u", &normalize(text).unwrap()), None);
        }
        let distinct: std::collections::HashSet<_> =
            shown.iter().map(|c| c.expose_str().to_owned()).collect();
        assert_eq!(distinct.len(), 16);
    }

    #[test]
    fn look_alikes_are_normalised() {
        assert_eq!(
            &*normalize("k7qf-3m9x-2hra-wp4d").unwrap(),
            b"K7QF3M9X2HRAWP4D"
        );
        assert_eq!(
            &*normalize(" K7QF 3M9X 2HRA WP4D ").unwrap(),
            b"K7QF3M9X2HRAWP4D"
        );
        assert_eq!(
            &*normalize("oOiI-lL00-1111-2222").unwrap(),
            b"0011110011112222"
        );
        assert!(normalize("K7QF-3M9X-2HRA-WP4").is_none());
        assert!(normalize("K7QF-3M9X-2HRA-WP4DX").is_none());
        assert!(normalize("K7QF-3M9X-2HRA-WP4U").is_none());
        assert!(normalize("K7QF_3M9X-2HRA-WP4D").is_none());
    }

    #[test]
    fn spent_codes_never_match() {
        let pepper = [9; 32];
        let (shown, mut state) =
            RecoveryState::generate(RecoveryMode::Single, 1, &pepper, "u", &entropy()).unwrap();
        let typed = normalize(shown[0].expose_str()).unwrap();
        assert_eq!(state.find(&pepper, "u", &typed), Some(0));
        state.codes[0].spent = true;
        assert_eq!(state.find(&pepper, "u", &typed), None);
        assert_eq!(state.remaining(), 0);
    }

    #[test]
    fn codes_survive_the_sealing_buffer() {
        let (shown, _) = RecoveryState::generate(
            RecoveryMode::Set(SetSize::new(3).unwrap()),
            1,
            &[9; 32],
            "u",
            &entropy(),
        )
        .unwrap();
        let plaintext = to_plaintext(&shown);
        assert_eq!(plaintext.len(), 48);
        let back = from_plaintext(&plaintext).unwrap();
        let texts = |codes: &[RecoveryCode]| -> Vec<String> {
            codes.iter().map(|c| c.expose_str().to_owned()).collect()
        };
        assert_eq!(texts(&back), texts(&shown));
        assert!(from_plaintext(&plaintext[..47]).is_none());
        assert!(from_plaintext(b"K7QF3M9X2HRAWP4U").is_none());
        assert_eq!(from_plaintext(b"").unwrap().len(), 0);
    }

    #[test]
    fn set_sizes_are_bounded() {
        assert!(SetSize::new(0).is_err());
        assert!(SetSize::new(17).is_err());
        assert_eq!(SetSize::new(10).unwrap().get(), 10);
        assert_eq!(
            format!("{:?}", grouped(b"K7QF3M9X2HRAWP4D")),
            "RecoveryCode([REDACTED])"
        );
    }
}
