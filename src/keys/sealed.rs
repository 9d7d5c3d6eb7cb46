//! Sealed bytes as stored: a TOTP secret, or recovery codes kept until
//! acknowledged; and the XChaCha20-Poly1305 calls both use.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};

use super::SealError;
use crate::material::secret::Secret;

/// The nonce length of XChaCha20-Poly1305: 192 bits, safe to draw at random.
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

/// A TOTP secret sealed under one key of the keyring, for one user.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SealedSecret {
    pub(crate) key_id: u32,
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) ciphertext: [u8; Secret::MAX_LEN],
    pub(crate) len: u8,
    pub(crate) tag: [u8; TAG_LEN],
}

impl SealedSecret {
    /// The ciphertext without its unused tail.
    pub(crate) fn ciphertext(&self) -> &[u8] {
        self.ciphertext
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }

    /// Rebuilds a sealed secret read from a record.
    pub(crate) fn from_parts(
        key_id: u32,
        nonce: [u8; NONCE_LEN],
        ciphertext: &[u8],
        tag: [u8; TAG_LEN],
    ) -> Option<SealedSecret> {
        let len = u8::try_from(ciphertext.len()).ok()?;
        let mut buffer = [0u8; Secret::MAX_LEN];
        buffer
            .get_mut(..ciphertext.len())?
            .copy_from_slice(ciphertext);
        Some(SealedSecret {
            key_id,
            nonce,
            ciphertext: buffer,
            len,
            tag,
        })
    }
}

/// Recovery codes sealed for one user until "I have safely recorded this
/// number" (each code's 16 characters, in order).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SealedCodes {
    pub(crate) key_id: u32,
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) tag: [u8; TAG_LEN],
}

impl std::fmt::Debug for SealedCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedCodes(key {})", self.key_id)
    }
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedSecret(key {})", self.key_id)
    }
}

/// XChaCha20-Poly1305 in place with the user id as associated data, so
/// that sealed bytes copied into another user's record do not open. `None`
/// only for messages longer than 2^38 bytes.
pub(super) fn encrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    user: &str,
    buffer: &mut [u8],
) -> Option<[u8; TAG_LEN]> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .encrypt_inout_detached(nonce.into(), user.as_bytes(), buffer.into())
        .ok()
        .map(Into::into)
}

pub(super) fn decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    user: &str,
    buffer: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), SealError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_inout_detached(nonce.into(), user.as_bytes(), buffer.into(), tag.into())
        .map_err(|_| SealError::Unauthentic)
}
