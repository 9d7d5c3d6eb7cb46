//! The shared secret of a factor: generated, imported and written as base32.

use core::fmt;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::material::warning::Warning;

/// Why a secret could not be made or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Fewer than [`Secret::MIN_LEN`] bytes (80 bits): too weak to accept.
    #[error("secret of {bits} bits is too short: at least 80 bits are required")]
    TooShort {
        /// The length that was offered, in bits.
        bits: usize,
    },
    /// A new secret must have at least [`Secret::MIN_GENERATED_LEN`] bytes
    /// (RFC 4226 §4 R6: 128 bits) and at most [`Secret::MAX_LEN`].
    #[error("cannot generate a secret of {len} bytes: 16 to 128 bytes are allowed")]
    UnsupportedLength {
        /// The length asked for, in bytes.
        len: usize,
    },
    /// A character that is not base32 (nor a space, hyphen or trailing `=`).
    #[error("secret is not base32: unexpected character at position {position}")]
    InvalidCharacter {
        /// Zero-based index of the first offending character.
        position: usize,
    },
    /// A number of base32 characters that no byte string encodes to.
    #[error("secret is not base32: {chars} characters cannot encode whole bytes")]
    InvalidLength {
        /// Number of base32 characters after removing spaces, hyphens and padding.
        chars: usize,
    },
    /// More than [`Secret::MAX_LEN`] bytes.
    #[error("secret of {bits} bits is too long: at most 1024 bits are accepted")]
    TooLong {
        /// The length that was offered, in bits.
        bits: usize,
    },
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed")]
    Entropy,
}

/// The shared secret of an HOTP or TOTP factor.
///
/// Zeroized on drop. `Debug` prints a redaction; there is no `Display` and no
/// `==`. The bytes and their base32 come out only through the
/// [`expose_bytes`](Secret::expose_bytes) and
/// [`expose_base32`](Secret::expose_base32) methods.
///
/// ```
/// use twostep::otp::Secret;
/// # #[cfg(feature = "getrandom")] {
/// let secret = Secret::generate_os()?;
/// assert_eq!(secret.expose_base32().len(), 32); // 160 bits
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
/// # }
/// // Imports are lenient: lowercase, spaces, hyphens and padding are fine.
/// let github = Secret::from_base32("jbsw y3dp ehpk 3pxp")?;
/// assert_eq!(github.expose_base32().as_str(), "JBSWY3DPEHPK3PXP");
/// assert!(github.warning().is_some()); // 80 bits: accepted, with a warning
/// # Ok::<(), twostep::otp::SecretError>(())
/// ```
// Only `ZeroizeOnDrop`: a public `Zeroize` would let a caller empty a
// `Secret` in place and keep using it as an empty key.
#[derive(Clone, ZeroizeOnDrop)]
pub struct Secret {
    /// Inline, so that loading a stored factor allocates nothing.
    buf: [u8; Secret::MAX_LEN],
    len: u8,
}

impl Secret {
    /// The length of a new secret: 20 bytes, 160 bits (RFC 4226 §4 R6).
    pub const DEFAULT_LEN: usize = 20;
    /// The shortest secret that can be generated: 16 bytes, 128 bits.
    pub const MIN_GENERATED_LEN: usize = 16;
    /// The shortest secret accepted on import: 10 bytes, 80 bits, what GitHub,
    /// Discord and others hand out. Below [`MIN_GENERATED_LEN`](Self::MIN_GENERATED_LEN)
    /// it comes with [`Warning::ShortSecret`].
    pub const MIN_LEN: usize = 10;
    /// The longest secret accepted: 128 bytes (1024 bits), twice the largest
    /// HMAC block; longer keys add nothing.
    pub const MAX_LEN: usize = 128;

    /// Generates a 160-bit secret from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Secret {
        let mut secret = Secret::zeroed(Self::DEFAULT_LEN);
        rng.fill_bytes(secret.bytes_mut());
        secret
    }

    /// Generates a secret of `len` bytes from `rng`.
    ///
    /// # Errors
    /// [`SecretError::UnsupportedLength`] unless `len` is 16 to 128.
    pub fn generate_with_len<R: CryptoRng + ?Sized>(
        rng: &mut R,
        len: usize,
    ) -> Result<Secret, SecretError> {
        if !(Self::MIN_GENERATED_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(SecretError::UnsupportedLength { len });
        }
        let mut secret = Secret::zeroed(len);
        rng.fill_bytes(secret.bytes_mut());
        Ok(secret)
    }

    /// Generates a 160-bit secret from the operating system's generator.
    ///
    /// # Errors
    /// [`SecretError::Entropy`] if the operating system cannot provide randomness.
    #[cfg(feature = "getrandom")]
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn generate_os() -> Result<Secret, SecretError> {
        let mut secret = Secret::zeroed(Self::DEFAULT_LEN);
        getrandom::fill(secret.bytes_mut()).map_err(|_| SecretError::Entropy)?;
        Ok(secret)
    }

    /// Takes raw key bytes, e.g. the ASCII seeds of the RFC test vectors.
    ///
    /// # Errors
    /// [`SecretError::TooShort`] below 10 bytes, [`SecretError::TooLong`] above 128.
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, SecretError> {
        let bits = bytes.len().saturating_mul(8);
        if bytes.len() < Self::MIN_LEN {
            return Err(SecretError::TooShort { bits });
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(SecretError::TooLong { bits });
        }
        let mut secret = Secret::zeroed(bytes.len());
        secret.bytes_mut().copy_from_slice(bytes);
        Ok(secret)
    }

    /// Reads base32 (RFC 4648) leniently: lowercase, spaces, hyphens and `=`
    /// padding at the end are accepted, as real services hand them out.
    ///
    /// Call [`Secret::warning`] to learn whether the secret is short.
    ///
    /// # Errors
    /// [`SecretError::InvalidCharacter`], [`SecretError::InvalidLength`],
    /// [`SecretError::TooShort`] (below 80 bits) or [`SecretError::TooLong`].
    pub fn from_base32(encoded: &str) -> Result<Secret, SecretError> {
        let canonical = canonical_base32(encoded)?;
        let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &canonical)
            .map(Zeroizing::new)
            .ok_or(SecretError::InvalidLength {
                chars: canonical.len(),
            })?;
        Self::from_bytes(&bytes)
    }

    /// `len` zero bytes; `len` is at most [`Secret::MAX_LEN`] at every call.
    fn zeroed(len: usize) -> Secret {
        Secret {
            buf: [0; Self::MAX_LEN],
            len: u8::try_from(len.min(Self::MAX_LEN)).unwrap_or(u8::MAX),
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len);
        self.buf.get_mut(..len).unwrap_or_default()
    }

    /// [`Warning::ShortSecret`] if the secret has fewer than 128 bits
    /// (accepted for compatibility, below RFC 4226's minimum).
    pub fn warning(&self) -> Option<Warning> {
        (self.len() < Self::MIN_GENERATED_LEN).then_some(Warning::ShortSecret {
            bits: self.len() * 8,
        })
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always `false`: a secret has at least [`Secret::MIN_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw key bytes. Handle with care: whoever has them can make codes.
    pub fn expose_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The key as uppercase, unpadded base32, what every authenticator app
    /// reads for manual entry. Zeroized when dropped.
    pub fn expose_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32::encode(
            base32::Alphabet::Rfc4648 { padding: false },
            self.expose_bytes(),
        ))
    }

    /// The key for a person to type from the screen ("Can't scan? Enter
    /// this key"): [`expose_base32`](Self::expose_base32) in groups of four,
    /// separated by spaces. Authenticator apps ignore the spaces, and so
    /// does [`Secret::from_base32`]. Zeroized when dropped.
    ///
    /// ```
    /// # use twostep::otp::Secret;
    /// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(*secret.expose_base32_grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    /// # Ok::<(), twostep::otp::SecretError>(())
    /// ```
    pub fn expose_base32_grouped(&self) -> Zeroizing<String> {
        let plain = self.expose_base32();
        let mut grouped = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / 4));
        for (at, c) in plain.chars().enumerate() {
            if at > 0 && at % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        grouped
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// Uppercases `encoded` and drops spaces, hyphens and trailing `=`, refusing
/// anything else that is not in the RFC 4648 base32 alphabet and any length
/// that cannot encode whole bytes.
fn canonical_base32(encoded: &str) -> Result<Zeroizing<String>, SecretError> {
    let mut canonical = Zeroizing::new(String::with_capacity(encoded.len()));
    let mut padding_seen = false;
    for (position, c) in encoded.chars().enumerate() {
        match c {
            ' ' | '-' | '\t' => {}
            '=' => padding_seen = true,
            'A'..='Z' | 'a'..='z' | '2'..='7' if !padding_seen => {
                canonical.push(c.to_ascii_uppercase())
            }
            _ => return Err(SecretError::InvalidCharacter { position }),
        }
    }
    // 8 characters carry 5 bytes; 2, 4, 5 or 7 leftover characters carry 1 to
    // 4 bytes, and no byte count leaves 1, 3 or 6.
    if matches!(canonical.len() % 8, 1 | 3 | 6) {
        let chars = canonical.len();
        canonical.zeroize();
        return Err(SecretError::InvalidLength { chars });
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn generated_secrets_are_160_bits_and_distinct() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let a = Secret::generate(&mut rng);
        let b = Secret::generate(&mut rng);
        assert_eq!(a.len(), 20);
        assert_eq!(a.expose_base32().len(), 32);
        assert_ne!(a.expose_bytes(), b.expose_bytes());
        assert!(a.warning().is_none());
    }

    #[test]
    fn refuses_to_generate_weak_secrets() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        assert_eq!(
            Secret::generate_with_len(&mut rng, 15).unwrap_err(),
            SecretError::UnsupportedLength { len: 15 }
        );
        assert_eq!(Secret::generate_with_len(&mut rng, 16).unwrap().len(), 16);
        assert_eq!(Secret::generate_with_len(&mut rng, 64).unwrap().len(), 64);
    }

    #[test]
    fn lenient_import() {
        // "Hello!\xde\xad\xbe\xef" is 10 bytes: JBSWY3DPEHPK3PXP is the classic
        // 80-bit example secret.
        let canonical = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        for variant in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp",
            "JBSWY3DPEHPK3PXP======",
        ] {
            let s = Secret::from_base32(variant).unwrap();
            assert_eq!(s.expose_bytes(), canonical.expose_bytes(), "{variant}");
        }
        assert_eq!(canonical.warning(), Some(Warning::ShortSecret { bits: 80 }));
    }

    #[test]
    fn import_errors() {
        assert_eq!(
            Secret::from_base32("JBSWY3DPEHPK").unwrap_err(),
            SecretError::TooShort { bits: 56 }
        );
        assert_eq!(
            Secret::from_base32("JBSWY3DPEHPK3PX1").unwrap_err(),
            SecretError::InvalidCharacter { position: 15 }
        );
        assert_eq!(
            Secret::from_base32("JBSW=Y3DPEHPK3PXP").unwrap_err(),
            SecretError::InvalidCharacter { position: 5 }
        );
        assert_eq!(
            Secret::from_base32("JBSWY3DPEHPK3PXPA").unwrap_err(),
            SecretError::InvalidLength { chars: 17 }
        );
        assert_eq!(
            Secret::from_base32("").unwrap_err(),
            SecretError::TooShort { bits: 0 }
        );
        assert!(matches!(
            Secret::from_base32(&"A".repeat(400)),
            Err(SecretError::TooLong { .. })
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
    }

    proptest! {
        #[test]
        fn base32_round_trip(bytes in proptest::collection::vec(any::<u8>(), 10..=128)) {
            let secret = Secret::from_bytes(&bytes).unwrap();
            let encoded = secret.expose_base32();
            prop_assert!(!encoded.contains('='));
            prop_assert!(encoded.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
            let back = Secret::from_base32(&encoded).unwrap();
            prop_assert_eq!(back.expose_bytes(), &bytes[..]);
            let lower = Secret::from_base32(&encoded.to_lowercase()).unwrap();
            prop_assert_eq!(lower.expose_bytes(), &bytes[..]);
            // As typed from the screen: groups of four, the last one shorter.
            let grouped = secret.expose_base32_grouped();
            let groups: Vec<&str> = grouped.split(' ').collect();
            prop_assert!(groups.iter().all(|g| (1..=4).contains(&g.len())));
            prop_assert!(groups.iter().rev().skip(1).all(|g| g.len() == 4));
            prop_assert_eq!(groups.concat(), encoded.as_str());
            let typed = Secret::from_base32(&grouped).unwrap();
            prop_assert_eq!(typed.expose_bytes(), &bytes[..]);
        }

        #[test]
        fn base32_import_never_panics(input in ".{0,300}") {
            let _ = Secret::from_base32(&input);
        }
    }
}
