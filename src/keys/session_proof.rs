//! twostep's part of a person's session: what the host keeps between
//! requests, made by the crate and checked by it whenever it comes back.
//!
//! A session value is bound to its user and to the user's stamp (which
//! moves whenever the user's factor is bound, activated, removed or reset)
//! by an HMAC-SHA-256 tag under a key derived from the keyring for this use
//! alone. So a session from before a reset is over without the host ending
//! anything, a value cannot be moved to another user, and the host's own
//! database (where sessions often live) cannot forge one. It also says
//! whether, and when, the second factor was passed: owner actions ask for
//! a *recent* one (sudo mode). Checking one costs one MAC over ~60 bytes.
//!
//! Its random nonce names the session: a used single recovery code retries
//! only for the session that used it.

use hmac::digest::FixedOutput;
use hmac::Mac;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::keys::Keyring;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;
/// version, key id, nonce, stamp, second factor time, tag.
const LEN: usize = 1 + 4 + NONCE_LEN + 8 + 8 + TAG_LEN;
/// The bytes of a retry binding kept in the record.
pub(crate) const RETRY_BINDING_LEN: usize = 16;

/// twostep's part of a person's session: keep it in the host's session from
/// the password on, and hand it back with every call for that person.
///
/// Made by [`Mfa::start_session`](crate::Mfa::start_session) once the
/// password is right, and renewed by the calls that pass the second factor
/// (a one-time code, a recovery code, or finishing enrollment), which take
/// it `&mut`. It proves, to the crate alone, who the session is for, that
/// it began after the user's MFA last changed, and when the second factor
/// was passed. A host that forgets to end sessions on a reset is still
/// safe: a session from before a reset, a removal or a new factor is over
/// ([`Screen::SignInAgain`](crate::Screen::SignInAgain),
/// [`MfaError::SessionEnded`](crate::MfaError::SessionEnded)).
///
/// Store it as text: [`to_token`](MfaSession::to_token) and
/// [`from_token`](MfaSession::from_token) (85 characters), or with the
/// `serde` feature as a string. It is not a secret key, but it is as good
/// as the session it belongs to: keep it server side (or in a signed
/// cookie), never in a URL or a log. `Debug` shows nothing of it.
///
/// ```
/// # #[cfg(feature = "getrandom")] {
/// use twostep::{Mfa, MfaSession, Screen};
/// let mfa = Mfa::in_memory()?;
/// // After the password:
/// let session = mfa.start_session("ada")?;
/// let kept = session.to_token();                     // into the host's session store
/// let session = MfaSession::from_token(&kept)?;      // on the next request
/// assert!(matches!(mfa.current_screen("ada", None, &session)?, Screen::Continue));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MfaSession {
    key_id: u32,
    nonce: [u8; NONCE_LEN],
    stamp: u64,
    /// When the second factor was passed (Unix seconds); 0: not yet.
    second_factor_at: u64,
    tag: [u8; TAG_LEN],
}

/// What a session value is worth for a user, as checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionCheck {
    /// Not this user's, altered, or made before the user's MFA changed.
    Ended,
    /// The password only.
    Password,
    /// The second factor too, at this time.
    SecondFactor { at: u64 },
}

/// Text that is not a session value made by twostep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a twostep session value")]
pub struct MalformedSession;

impl MfaSession {
    /// A session for `user`, whose record is at `stamp`, named by `nonce`.
    pub(crate) fn new(keyring: &Keyring, user: &str, nonce: [u8; NONCE_LEN], stamp: u64) -> Self {
        Self::tagged(keyring, user, nonce, stamp, 0)
    }

    /// This session, having passed the second factor at `at`, with the
    /// record at `stamp`.
    pub(crate) fn passed(&self, keyring: &Keyring, user: &str, stamp: u64, at: u64) -> Self {
        // 0 means "not passed": a clock at the epoch still counts as passed.
        Self::tagged(keyring, user, self.nonce, stamp, at.max(1))
    }

    /// This session after the user's own factor was removed in it: the
    /// password only, at the record's new `stamp`.
    pub(crate) fn without_factor(&self, keyring: &Keyring, user: &str, stamp: u64) -> Self {
        Self::tagged(keyring, user, self.nonce, stamp, 0)
    }

    fn tagged(
        keyring: &Keyring,
        user: &str,
        nonce: [u8; NONCE_LEN],
        stamp: u64,
        second_factor_at: u64,
    ) -> Self {
        let (key_id, _) = keyring.current_session_mac();
        let mut session = MfaSession {
            key_id,
            nonce,
            stamp,
            second_factor_at,
            tag: [0; TAG_LEN],
        };
        session.tag = session.expected_tag(keyring, user).unwrap_or_default();
        session
    }

    fn expected_tag(&self, keyring: &Keyring, user: &str) -> Option<[u8; TAG_LEN]> {
        let mut mac = keyring.session_mac(self.key_id).ok()?.clone();
        mac.update(&(user.len() as u64).to_be_bytes());
        mac.update(user.as_bytes());
        mac.update(&self.body());
        let full: [u8; 32] = mac.finalize_fixed().into();
        let (tag, _) = full.split_first_chunk::<TAG_LEN>()?;
        Some(*tag)
    }

    /// What this value is worth for `user`, whose record is at `stamp`.
    pub(crate) fn check(&self, keyring: &Keyring, user: &str, stamp: u64) -> SessionCheck {
        let authentic = self
            .expected_tag(keyring, user)
            .is_some_and(|expected| bool::from(expected.ct_eq(&self.tag)));
        match (authentic && self.stamp == stamp, self.second_factor_at) {
            (false, _) => SessionCheck::Ended,
            (true, 0) => SessionCheck::Password,
            (true, at) => SessionCheck::SecondFactor { at },
        }
    }

    /// What the record keeps of the session that used a single recovery
    /// code, to let that session alone retry: a hash of its nonce.
    pub(crate) fn retry_binding(&self) -> [u8; RETRY_BINDING_LEN] {
        let digest = sha2::Sha256::new()
            .chain_update(b"twostep/v1/recovery-retry\x01")
            .chain_update(self.nonce)
            .finalize();
        let mut binding = [0u8; RETRY_BINDING_LEN];
        for (dst, src) in binding.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
        binding
    }

    /// Everything but the tag.
    fn body(&self) -> [u8; LEN - TAG_LEN] {
        let mut body = [0u8; LEN - TAG_LEN];
        let parts: [&[u8]; 5] = [
            &[VERSION],
            &self.key_id.to_be_bytes(),
            &self.nonce,
            &self.stamp.to_be_bytes(),
            &self.second_factor_at.to_be_bytes(),
        ];
        let mut at = 0;
        for part in parts {
            if let Some(dst) = body.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
        body
    }

    /// The value as text, for the host's session store (base32, 85
    /// characters).
    pub fn to_token(&self) -> String {
        let bytes = [&self.body()[..], &self.tag].concat();
        base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &bytes)
    }

    /// A value kept with [`to_token`](MfaSession::to_token). Only its form
    /// is checked here; whether it counts is decided with the user's record,
    /// by every call that takes it.
    ///
    /// # Errors
    /// [`MalformedSession`] for text that is not such a value.
    pub fn from_token(text: &str) -> Result<MfaSession, MalformedSession> {
        let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, text)
            .ok_or(MalformedSession)?;
        let Ok(bytes) = <[u8; LEN]>::try_from(bytes.as_slice()) else {
            return Err(MalformedSession);
        };
        let (version, rest) = bytes.split_first().ok_or(MalformedSession)?;
        let (key_id, rest) = rest.split_first_chunk::<4>().ok_or(MalformedSession)?;
        let (nonce, rest) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(MalformedSession)?;
        let (stamp, rest) = rest.split_first_chunk::<8>().ok_or(MalformedSession)?;
        let (at, rest) = rest.split_first_chunk::<8>().ok_or(MalformedSession)?;
        let tag = <[u8; TAG_LEN]>::try_from(rest).map_err(|_| MalformedSession)?;
        let session = MfaSession {
            key_id: u32::from_be_bytes(*key_id),
            nonce: *nonce,
            stamp: u64::from_be_bytes(*stamp),
            second_factor_at: u64::from_be_bytes(*at),
            tag,
        };
        // One spelling only: trailing bits or a lost character are refused.
        if *version != VERSION || session.to_token() != text {
            return Err(MalformedSession);
        }
        Ok(session)
    }
}

impl std::fmt::Debug for MfaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaSession(..)")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for MfaSession {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_token())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for MfaSession {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        MfaSession::from_token(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(1, &[1; 32])
    }

    #[test]
    fn a_session_counts_for_its_user_and_stamp_only() {
        let session = MfaSession::new(&keyring(), "ada", [7; NONCE_LEN], 3);
        assert_eq!(session.check(&keyring(), "ada", 3), SessionCheck::Password);
        assert_eq!(session.check(&keyring(), "bob", 3), SessionCheck::Ended);
        assert_eq!(session.check(&keyring(), "ada", 4), SessionCheck::Ended);
        let passed = session.passed(&keyring(), "ada", 4, 1_000);
        assert_eq!(
            passed.check(&keyring(), "ada", 4),
            SessionCheck::SecondFactor { at: 1_000 }
        );
        assert_eq!(passed.retry_binding(), session.retry_binding());
        assert_eq!(
            passed.check(&Keyring::new(1, &[2; 32]), "ada", 4),
            SessionCheck::Ended
        );
        let rotated = Keyring::new(2, &[2; 32])
            .with_previous(1, &[1; 32])
            .unwrap();
        assert_eq!(
            passed.check(&rotated, "ada", 4),
            SessionCheck::SecondFactor { at: 1_000 }
        );
    }

    #[test]
    fn every_bit_of_the_token_counts_and_bad_text_is_refused() {
        let session =
            MfaSession::new(&keyring(), "ada", [7; NONCE_LEN], 3).passed(&keyring(), "ada", 3, 99);
        let token = session.to_token();
        assert_eq!(token.len(), 85);
        assert_eq!(MfaSession::from_token(&token).unwrap(), session);
        let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &token).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let text = base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &flipped);
            if let Ok(altered) = MfaSession::from_token(&text) {
                assert_eq!(
                    altered.check(&keyring(), "ada", 3),
                    SessionCheck::Ended,
                    "bit {bit}"
                );
            }
        }
        let lower = token.to_lowercase();
        for text in [
            "",
            "x",
            &token[..84],
            &format!("{token}A"),
            &lower,
            "ts1.abc",
        ] {
            assert_eq!(
                MfaSession::from_token(text),
                Err(MalformedSession),
                "{text}"
            );
        }
        assert_eq!(format!("{session:?}"), "MfaSession(..)");
    }
}
