//! Recovery codes: drawn from a CSPRNG, stored only as salted keyed hashes,
//! checked in constant time, spent once.
//!
//! A code is 125 random bits written as 25 Crockford base32 characters in
//! five groups (`K7QF3-M9X2H-RAWP4-DQ8ZT-N5B1C`): no `I`, `L`, `O` or `U`,
//! and what a person types is normalised before checking (case, spaces,
//! hyphens, `O`→`0`, `I`/`L`→`1`). From 112 bits NIST SP 800-63B lets a
//! look-up secret be stored with an approved one-way hash (below it asks
//! for a password hashing scheme), so a set of 16 is checked in a few
//! microseconds, and no guesser online finds a code at any rate: they need
//! no throttle an attacker could hold shut. Codes of 80 bits (16 characters)
//! issued by earlier versions are still checked.
//!
//! Each code is stored as `HMAC-SHA-256(pepper, user ‖ salt ‖ code)` with a
//! random 128-bit salt per code and a pepper derived from the application keyring,
//! which the database never holds: a stolen database gives neither the codes
//! nor a way to test guesses offline.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

mod stored;

pub(crate) use stored::{matches, RecoveryState, StoredCode};

/// Characters of a code, without separators: 125 bits.
pub(crate) const CODE_CHARS: usize = 25;
/// Characters of an 80-bit code of earlier versions.
const LEGACY_CHARS: usize = 16;
/// Random bytes drawn per code (the top 3 bits are not used).
const CODE_BYTES: usize = 16;
/// The longest written form: five groups of five and four hyphens.
const TEXT_LEN: usize = CODE_CHARS + 4;
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

/// A recovery code to show to the person. Only its hash is stored (and,
/// until the person acknowledges it, a sealed copy to show it again).
///
/// `Debug` is redacted; [`expose_str`](RecoveryCode::expose_str) gives the
/// grouped form for display.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryCode {
    /// `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX` (or `XXXX-XXXX-XXXX-XXXX` for an
    /// 80-bit code of an earlier version), then unused bytes.
    text: [u8; TEXT_LEN],
    len: u8,
}

impl RecoveryCode {
    /// Reads what a person typed leniently (case, spaces, hyphens, `O`→`0`,
    /// `I`/`L`→`1`), e.g. to tell them at once that it cannot be a recovery
    /// code. `None` if it cannot.
    ///
    /// ```
    /// use twostep::recovery::RecoveryCode;
    /// let code = RecoveryCode::parse("k7qf3 m9x2h rawp4 dq8zt n5b1c").unwrap();
    /// assert_eq!(code.expose_str(), "K7QF3-M9X2H-RAWP4-DQ8ZT-N5B1C");
    /// assert!(RecoveryCode::parse("123456").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<RecoveryCode> {
        normalize(input).map(|typed| grouped(typed.chars()))
    }

    /// The code as `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`, for the person to record.
    pub fn expose_str(&self) -> &str {
        let text = self.text.get(..usize::from(self.len)).unwrap_or_default();
        core::str::from_utf8(text).unwrap_or_default()
    }

    /// The characters without hyphens.
    fn chars(&self) -> impl Iterator<Item = u8> + '_ {
        self.expose_str().bytes().filter(|c| *c != b'-')
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([REDACTED])")
    }
}

/// The codes' characters, 25 per code in order, to be sealed. (Only codes of
/// this version are issued, so only they are ever sealed.)
pub(crate) fn to_plaintext(codes: &[RecoveryCode]) -> Zeroizing<Vec<u8>> {
    let mut plaintext = Zeroizing::new(Vec::with_capacity(codes.len() * CODE_CHARS));
    for code in codes {
        plaintext.extend(code.chars());
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
            chunk
                .iter()
                .all(|c| ALPHABET.contains(c))
                .then(|| grouped(chunk))
        })
        .collect()
}

/// What a person typed, normalised: the characters that were hashed.
pub(crate) struct Typed {
    chars: Zeroizing<[u8; CODE_CHARS]>,
    len: usize,
}

impl Typed {
    fn chars(&self) -> &[u8] {
        self.chars.get(..self.len).unwrap_or_default()
    }
}

/// What a person typed as the characters of a code (25, or 16 for a code of
/// an earlier version), or `None` if it cannot be one.
pub(crate) fn normalize(input: &str) -> Option<Typed> {
    let mut chars = Zeroizing::new([0u8; CODE_CHARS]);
    let mut len = 0;
    for c in input.trim().bytes() {
        let c = match c.to_ascii_uppercase() {
            b' ' | b'-' => continue,
            b'O' => b'0',
            b'I' | b'L' => b'1',
            c if ALPHABET.contains(&c) => c,
            _ => return None,
        };
        *chars.get_mut(len)? = c;
        len += 1;
    }
    (len == CODE_CHARS || len == LEGACY_CHARS).then_some(Typed { chars, len })
}

/// The low 125 bits of 16 random bytes as 25 Crockford base32 characters.
fn crockford(random: &[u8; CODE_BYTES]) -> [u8; CODE_CHARS] {
    let mut bits = u128::from_be_bytes(*random);
    let mut out = [0u8; CODE_CHARS];
    for c in out.iter_mut().rev() {
        *c = ALPHABET.get((bits & 31) as usize).copied().unwrap_or(b'0');
        bits >>= 5;
    }
    bits.zeroize();
    out
}

/// The written form: groups of five (of four for a 16-character code).
fn grouped(chars: &[u8]) -> RecoveryCode {
    let group = if chars.len() == LEGACY_CHARS { 4 } else { 5 };
    let mut text = [0u8; TEXT_LEN];
    let mut len = 0;
    for (i, c) in chars.iter().take(CODE_CHARS).enumerate() {
        if i > 0 && i % group == 0 {
            if let Some(slot) = text.get_mut(len) {
                *slot = b'-';
                len += 1;
            }
        }
        if let Some(slot) = text.get_mut(len) {
            *slot = *c;
            len += 1;
        }
    }
    RecoveryCode {
        text,
        len: u8::try_from(len).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::RngEntropy;
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
            assert_eq!(text.len(), 29);
            assert_eq!(text.matches('-').count(), 4);
            assert!(text.split('-').all(|g| g.len() == 5));
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
        let chars = |input: &str| normalize(input).map(|t| t.chars().to_vec());
        let code = b"K7QF3M9X2HRAWP4DQ8ZTN5B1C".to_vec();
        assert_eq!(chars("k7qf3-m9x2h-rawp4-dq8zt-n5b1c"), Some(code.clone()));
        assert_eq!(chars(" K7QF3 M9X2H RAWP4 DQ8ZT N5B1C "), Some(code));
        assert_eq!(
            chars("oOiIl-L0011-11222-22333-33444"),
            Some(b"0011110011112222233333444".to_vec())
        );
        // An 80-bit code of an earlier version is still read.
        assert_eq!(
            chars("k7qf-3m9x-2hra-wp4d"),
            Some(b"K7QF3M9X2HRAWP4D".to_vec())
        );
        for wrong in [
            "K7QF3-M9X2H-RAWP4-DQ8ZT-N5B1",
            "K7QF3-M9X2H-RAWP4-DQ8ZT-N5B1CX",
            "K7QF3-M9X2H-RAWP4-DQ8ZT-N5B1U",
            "K7QF3_M9X2H-RAWP4-DQ8ZT-N5B1C",
            "K7QF-3M9X-2HRA-WP4",
        ] {
            assert!(normalize(wrong).is_none(), "{wrong}");
        }
        assert_eq!(
            RecoveryCode::parse("k7qf3m9x2hrawp4d")
                .unwrap()
                .expose_str(),
            "K7QF-3M9X-2HRA-WP4D"
        );
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
        assert_eq!(plaintext.len(), 75);
        let back = from_plaintext(&plaintext).unwrap();
        let texts = |codes: &[RecoveryCode]| -> Vec<String> {
            codes.iter().map(|c| c.expose_str().to_owned()).collect()
        };
        assert_eq!(texts(&back), texts(&shown));
        assert!(from_plaintext(&plaintext[..74]).is_none());
        assert!(from_plaintext(b"K7QF3M9X2HRAWP4DQ8ZTN5B1U").is_none());
        assert_eq!(from_plaintext(b"").unwrap().len(), 0);
    }

    #[test]
    fn set_sizes_are_bounded() {
        assert!(SetSize::new(0).is_err());
        assert!(SetSize::new(17).is_err());
        assert_eq!(SetSize::new(10).unwrap().get(), 10);
        assert_eq!(
            format!("{:?}", grouped(b"K7QF3M9X2HRAWP4DQ8ZTN5B1C")),
            "RecoveryCode([REDACTED])"
        );
    }
}
