//! Layer 3: keys and what they seal and tag: the application's keyring,
//! AEAD sealing of TOTP secrets bound to their user, the pepper for
//! recovery-code hashes, the tag on every stored record (`record_tag.rs`),
//! the proof a session carries (`session_proof.rs`), the records' byte
//! codec (`record_codec.rs`) and the prepared keys kept in memory
//! (`key_cache.rs`).
//!
//! A stolen database alone gives nothing usable: TOTP secrets are sealed
//! with XChaCha20-Poly1305 under a key the host keeps outside the database,
//! and recovery codes are stored only as keyed hashes under a pepper derived
//! from the same key.

use chacha20poly1305::KeyInit;
use hmac::digest::FixedOutput;
use hmac::{Hmac, Mac};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keys::record_tag::KEY_CHECK_LEN;
use crate::material::secret::Secret;

mod entropy;
pub(crate) mod key_cache;
pub(crate) mod record_codec;
pub(crate) mod record_tag;
mod sealed;
pub(crate) mod session_proof;

pub use record_codec::RecordError;
pub use session_proof::{MalformedSession, MfaSession};

#[cfg(not(feature = "getrandom"))]
pub(crate) use entropy::NoEntropy;
#[cfg(feature = "getrandom")]
pub(crate) use entropy::OsEntropy;
pub(crate) use entropy::{Entropy, RngEntropy};
use sealed::{decrypt, encrypt};
pub(crate) use sealed::{SealedCodes, SealedSecret, NONCE_LEN, TAG_LEN};

/// Why a sealed secret could not be opened, or a keyring made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The record was sealed under a key id the keyring does not have.
    #[error("no key with id {0} in the keyring")]
    UnknownKey(u32),
    /// The sealed bytes do not open under that key for this user: a wrong
    /// key, a record copied from another user, or tampering.
    #[error("sealed secret does not open")]
    Unauthentic,
    /// The keyring's key with this id is not the key the record was written
    /// with: the keyring was set up with other key material under this id
    /// (an operator's mistake: restore the right key). Told apart from a
    /// forged record by a key check value stored with every record; either
    /// way nothing in the record is used.
    #[error("the keyring's key {0} is not the one the record was written with")]
    WrongKey(u32),
    /// Two keys with one id.
    #[error("key id {0} is in the keyring twice")]
    DuplicateKeyId(u32),
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed")]
    Entropy,
}

/// One application key and what is derived from it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Key {
    #[zeroize(skip)]
    id: u32,
    /// HMAC-SHA-256 keyed for record tags, its pads absorbed once (cloned
    /// per record); it wipes itself on drop.
    #[zeroize(skip)]
    record_mac: RecordMac,
    /// A value of this key alone, stored with every record it tags, so that
    /// a wrong key is told from a forged record. Not secret.
    #[zeroize(skip)]
    key_check: [u8; KEY_CHECK_LEN],
    /// HMAC-SHA-256 keyed for the proofs kept in sessions.
    #[zeroize(skip)]
    session_mac: RecordMac,
    /// XChaCha20-Poly1305 key for sealing secrets.
    seal: [u8; 32],
    /// XChaCha20-Poly1305 key for recovery codes kept until acknowledged.
    seal_codes: [u8; 32],
    /// HMAC-SHA-256 key for recovery-code hashes.
    pepper: [u8; 32],
}

impl Key {
    fn derive(id: u32, master: &[u8; 32]) -> Key {
        // Separate keys for separate uses, derived from the one secret the
        // host manages: HMAC-SHA-256(master, label), as HKDF-Expand does
        // for a single block.
        let keyed = hmac_sha256(master);
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = keyed.clone();
            mac.update(label);
            let mut key = [0u8; 32];
            // Into the key directly: no unwiped copy of it on the way.
            FixedOutput::finalize_into(mac, (&mut key).into());
            key
        };
        let mut record_key = derive(b"twostep/v1/record-tag\x01");
        let record_mac = hmac_sha256(&record_key);
        record_key.zeroize();
        let mut session_key = derive(b"twostep/v1/session-proof\x01");
        let session_mac = hmac_sha256(&session_key);
        session_key.zeroize();
        let check = derive(b"twostep/v1/key-check\x01");
        let [c0, c1, c2, c3, ..] = check;
        Key {
            id,
            record_mac,
            key_check: [c0, c1, c2, c3],
            session_mac,
            seal: derive(b"twostep/v1/seal-totp-secret\x01"),
            seal_codes: derive(b"twostep/v1/seal-shown-recovery-codes\x01"),
            pepper: derive(b"twostep/v1/recovery-code-pepper\x01"),
        }
    }
}

/// HMAC-SHA-256 keyed for record tags or session proofs.
pub(crate) type RecordMac = Hmac<sha2::Sha256>;

/// HMAC-SHA-256 keyed with a 32-byte key, ready to clone per message.
/// HMAC pads a short key with zeros to the block, so the padded 64-byte
/// block is the same key, and this constructor cannot fail.
pub(crate) fn hmac_sha256(key: &[u8; 32]) -> Hmac<sha2::Sha256> {
    let mut block = [0u8; 64];
    for (dst, src) in block.iter_mut().zip(key) {
        *dst = *src;
    }
    let mac = <Hmac<sha2::Sha256> as KeyInit>::new(&block.into());
    block.zeroize();
    mac
}

/// The application's keys: a current key that seals, and older keys that
/// still open what they sealed, each with an id stored beside the data.
///
/// A real deployment MUST keep the key material outside the database (an
/// environment secret, a KMS, a file readable only by the service): a
/// database dump together with the keyring opens every secret. To rotate,
/// make the new key current and keep the old one with
/// [`with_previous`](Keyring::with_previous); records move to the new key on
/// their next successful check, or eagerly with
/// [`Mfa::reseal`](crate::Mfa::reseal).
///
/// `Debug` shows only the key ids.
///
/// ```
/// use twostep::Keyring;
/// let old = [7u8; 32]; // in production: from your secret manager
/// let new = [9u8; 32];
/// let keyring = Keyring::new(2, &new).with_previous(1, &old)?;
/// assert_eq!(keyring.current_id(), 2);
/// # Ok::<(), twostep::SealError>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl Keyring {
    /// A keyring whose current key has `id` and 32 bytes of `key` material
    /// (from a CSPRNG).
    pub fn new(id: u32, key: &[u8; 32]) -> Keyring {
        Keyring {
            current: Key::derive(id, key),
            previous: Vec::new(),
        }
    }

    /// Adds an older key, which opens what it sealed but seals nothing new.
    ///
    /// # Errors
    /// [`SealError::DuplicateKeyId`] if the id is already in the keyring.
    pub fn with_previous(mut self, id: u32, key: &[u8; 32]) -> Result<Keyring, SealError> {
        if self.get(id).is_ok() {
            return Err(SealError::DuplicateKeyId(id));
        }
        self.previous.push(Key::derive(id, key));
        Ok(self)
    }

    /// A keyring with one random key (id 1), for tests, examples and
    /// in-memory stores whose records die with the process.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Keyring {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        let keyring = Keyring::new(1, &key);
        key.zeroize();
        keyring
    }

    /// Like [`generate`](Keyring::generate), from the operating system.
    ///
    /// # Errors
    /// [`SealError::Entropy`] if the operating system has no randomness.
    #[cfg(feature = "getrandom")]
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn generate_os() -> Result<Keyring, SealError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|_| SealError::Entropy)?;
        let keyring = Keyring::new(1, &key);
        key.zeroize();
        Ok(keyring)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> u32 {
        self.current.id
    }

    fn get(&self, id: u32) -> Result<&Key, SealError> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
            .ok_or(SealError::UnknownKey(id))
    }

    /// The pepper of key `id` for recovery-code hashes.
    pub(crate) fn pepper(&self, id: u32) -> Result<&[u8; 32], SealError> {
        self.get(id).map(|key| &key.pepper)
    }

    /// The prepared record-tag HMAC of key `id`.
    /// The prepared record-tag HMAC of key `id` and the key's check value.
    pub(crate) fn record_mac(
        &self,
        id: u32,
    ) -> Result<(&RecordMac, &[u8; KEY_CHECK_LEN]), SealError> {
        self.get(id).map(|key| (&key.record_mac, &key.key_check))
    }

    /// The current key's id, prepared record-tag HMAC and check value.
    pub(crate) fn current_record_mac(&self) -> (u32, &RecordMac, &[u8; KEY_CHECK_LEN]) {
        let key = &self.current;
        (key.id, &key.record_mac, &key.key_check)
    }

    /// The prepared session-proof HMAC of key `id`.
    pub(crate) fn session_mac(&self, id: u32) -> Result<&RecordMac, SealError> {
        self.get(id).map(|key| &key.session_mac)
    }

    /// The current key's id and prepared session-proof HMAC.
    pub(crate) fn current_session_mac(&self) -> (u32, &RecordMac) {
        (self.current.id, &self.current.session_mac)
    }

    /// The current key's id and pepper.
    pub(crate) fn current_pepper(&self) -> (u32, &[u8; 32]) {
        (self.current.id, &self.current.pepper)
    }

    /// Seals `secret` for `user` under the current key with a fresh nonce.
    pub(crate) fn seal(&self, nonce: [u8; NONCE_LEN], user: &str, secret: &Secret) -> SealedSecret {
        let mut sealed = SealedSecret {
            key_id: self.current.id,
            nonce,
            ciphertext: [0; Secret::MAX_LEN],
            len: 0,
            tag: [0; TAG_LEN],
        };
        let plaintext = secret.expose_bytes();
        let buffer = sealed
            .ciphertext
            .get_mut(..plaintext.len())
            .unwrap_or_default();
        buffer.copy_from_slice(plaintext);
        if let Some(tag) = encrypt(&self.current.seal, &nonce, user, buffer) {
            sealed.tag = tag;
            sealed.len = u8::try_from(plaintext.len()).unwrap_or(u8::MAX);
        }
        sealed
    }

    /// Opens a secret sealed for `user`.
    pub(crate) fn open(&self, user: &str, sealed: &SealedSecret) -> Result<Secret, SealError> {
        let key = self.get(sealed.key_id)?;
        let mut buffer = sealed.ciphertext;
        let len = usize::from(sealed.len);
        let opened = buffer.get_mut(..len).unwrap_or_default();
        let result = decrypt(&key.seal, &sealed.nonce, user, opened, &sealed.tag)
            .and_then(|()| Secret::from_bytes(opened).map_err(|_| SealError::Unauthentic));
        buffer.zeroize();
        result
    }

    /// Seals recovery codes shown to `user` (their characters, in order)
    /// under the current key's own key for codes, so that they can be shown
    /// again until the person acknowledges them.
    pub(crate) fn seal_codes(
        &self,
        nonce: [u8; NONCE_LEN],
        user: &str,
        plaintext: &[u8],
    ) -> SealedCodes {
        let mut ciphertext = plaintext.to_vec();
        let tag = encrypt(&self.current.seal_codes, &nonce, user, &mut ciphertext);
        SealedCodes {
            key_id: self.current.id,
            nonce,
            tag: tag.unwrap_or_default(),
            ciphertext,
        }
    }

    /// Opens recovery codes sealed for `user`.
    pub(crate) fn open_codes(
        &self,
        user: &str,
        sealed: &SealedCodes,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = self.get(sealed.key_id)?;
        let mut plaintext = Zeroizing::new(sealed.ciphertext.clone());
        decrypt(
            &key.seal_codes,
            &sealed.nonce,
            user,
            &mut plaintext,
            &sealed.tag,
        )?;
        Ok(plaintext)
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous: Vec<u32> = self.previous.iter().map(|key| key.id).collect();
        f.debug_struct("Keyring")
            .field("current_id", &self.current.id)
            .field("previous_ids", &previous)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap()
    }

    #[test]
    fn seals_and_opens_for_the_same_user_only() {
        let keyring = Keyring::new(1, &[1; 32]);
        let sealed = keyring.seal([5; NONCE_LEN], "alice", &secret());
        assert_ne!(sealed.ciphertext(), secret().expose_bytes());
        assert_eq!(
            keyring.open("alice", &sealed).unwrap().expose_bytes(),
            secret().expose_bytes()
        );
        assert_eq!(
            keyring.open("bob", &sealed).unwrap_err(),
            SealError::Unauthentic
        );
        assert_eq!(
            Keyring::new(1, &[2; 32])
                .open("alice", &sealed)
                .unwrap_err(),
            SealError::Unauthentic
        );
        assert_eq!(
            Keyring::new(2, &[1; 32])
                .open("alice", &sealed)
                .unwrap_err(),
            SealError::UnknownKey(1)
        );
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(
            keyring.open("alice", &tampered).unwrap_err(),
            SealError::Unauthentic
        );
    }

    #[test]
    fn shown_codes_open_for_the_same_user_and_key_only() {
        let keyring = Keyring::new(1, &[1; 32]);
        let sealed = keyring.seal_codes([5; NONCE_LEN], "alice", b"K7QF3M9X2HRAWP4D");
        assert_ne!(&sealed.ciphertext[..], b"K7QF3M9X2HRAWP4D");
        assert_eq!(
            &keyring.open_codes("alice", &sealed).unwrap()[..],
            b"K7QF3M9X2HRAWP4D"
        );
        assert_eq!(
            keyring.open_codes("bob", &sealed).unwrap_err(),
            SealError::Unauthentic
        );
        // Not interchangeable with a sealed secret: another derived key.
        let as_secret =
            SealedSecret::from_parts(1, sealed.nonce, &sealed.ciphertext, sealed.tag).unwrap();
        assert_eq!(
            keyring.open("alice", &as_secret).unwrap_err(),
            SealError::Unauthentic
        );
        let mut tampered = sealed.clone();
        tampered.ciphertext[3] ^= 1;
        assert!(keyring.open_codes("alice", &tampered).is_err());
    }

    #[test]
    fn previous_keys_open_but_do_not_seal() {
        let old = Keyring::new(1, &[1; 32]);
        let sealed = old.seal([5; NONCE_LEN], "alice", &secret());
        let rotated = Keyring::new(2, &[2; 32])
            .with_previous(1, &[1; 32])
            .unwrap();
        assert!(rotated.open("alice", &sealed).is_ok());
        assert_eq!(rotated.seal([6; NONCE_LEN], "alice", &secret()).key_id, 2);
        assert_eq!(
            Keyring::new(1, &[1; 32])
                .with_previous(1, &[2; 32])
                .unwrap_err(),
            SealError::DuplicateKeyId(1)
        );
    }

    #[test]
    fn derived_keys_differ_from_each_other_and_the_master() {
        let key = Key::derive(1, &[3; 32]);
        assert_ne!(key.seal, key.pepper);
        assert_ne!(key.seal, key.seal_codes);
        assert_ne!(key.seal_codes, key.pepper);
        assert_ne!(key.seal, [3; 32]);
        let shown = format!("{:?}", Keyring::new(4, &[3; 32]));
        assert!(!shown.contains("3, 3"), "{shown}");
    }
}
