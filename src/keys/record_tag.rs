//! Records authenticated as a whole. Every record the service stores is
//!
//! ```text
//! "2a" ‖ envelope version (2) ‖ key id (u32) ‖ key check (4) ‖ tag (32) ‖ the record
//! ```
//!
//! where the tag is HMAC-SHA-256, under a key derived from the keyring for
//! records alone, of the record's kind, its id and its bytes. An altered
//! record (a used step made usable again, a spent recovery code revived, a
//! failure count lowered, an owner added) fails the tag; so does a record
//! copied to another id or kind. What a tag cannot tell is an older
//! authentic copy of the same record put back, or a record deleted: see the
//! security model guide (`src/guide/security_model.md`).
//!
//! The key check is 4 bytes of a value derived from the key alone (the
//! same for every record it tags): a keyring holding another key under the
//! record's key id is an operator's mistake, [`SealError::WrongKey`], not
//! a forged record. Either way nothing in the record is used. Version 1
//! (no key check) still opens; its tag failures are all `Unauthentic`.

use hmac::digest::FixedOutput;
use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::keys::record_codec::{RecordError, MAGIC as RECORD_MAGIC};
use crate::keys::{Keyring, RecordMac, SealError};

const MAGIC: [u8; 2] = *b"2a";
const VERSION: u8 = 2;
/// Envelopes before the key check.
const VERSION_1: u8 = 1;
const TAG_LEN: usize = 32;
pub(crate) const KEY_CHECK_LEN: usize = 4;
/// The envelope's bytes before the record.
pub(crate) const HEADER_LEN: usize = 2 + 1 + 4 + KEY_CHECK_LEN + TAG_LEN;

/// A record out of its envelope.
#[derive(Debug)]
pub(crate) struct Opened<'a> {
    /// The record's own bytes.
    pub(crate) record: &'a [u8],
    /// The keyring key whose tag it carried; `None` for a record written
    /// before records were authenticated, read because the host allows it.
    pub(crate) key_id: Option<u32>,
}

/// Why stored bytes did not open as an authentic record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnvelopeError {
    Record(RecordError),
    Seal(SealError),
}

/// `record`, of `kind` and `id`, in its envelope under the current key.
pub(crate) fn seal(keyring: &Keyring, kind: &str, id: &str, record: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + record.len());
    bytes.resize(HEADER_LEN, 0);
    bytes.extend_from_slice(record);
    seal_in_place(keyring, kind, id, &mut bytes);
    bytes
}

/// Puts the envelope around the record that follows [`HEADER_LEN`] bytes
/// of room at the start of `bytes` (no copy of the record).
pub(crate) fn seal_in_place(keyring: &Keyring, kind: &str, id: &str, bytes: &mut [u8]) {
    let (key_id, key, key_check) = keyring.current_record_mac();
    let Some((header, record)) = bytes.split_first_chunk_mut::<HEADER_LEN>() else {
        return;
    };
    let tag = tag(key, kind, id, record);
    let [m0, m1, version, k0, k1, k2, k3, c0, c1, c2, c3, stored @ ..] = header;
    [*m0, *m1] = MAGIC;
    *version = VERSION;
    [*k0, *k1, *k2, *k3] = key_id.to_be_bytes();
    [*c0, *c1, *c2, *c3] = *key_check;
    *stored = tag;
}

/// The record inside `bytes` stored as `kind` and `id`, if its tag is
/// right. A record written before records were authenticated opens only
/// with `legacy`; otherwise it is refused like a forged one.
///
/// # Errors
/// [`SealError::UnknownKey`] or [`SealError::WrongKey`] when the keyring
/// cannot check the tag; [`RecordError::Unauthentic`] when the tag is
/// wrong; [`RecordError::NotAuthenticated`], [`RecordError::NotARecord`] or
/// [`RecordError::UnsupportedFormat`] for bytes that are not an envelope.
pub(crate) fn open<'a>(
    keyring: &Keyring,
    kind: &str,
    id: &str,
    bytes: &'a [u8],
    legacy: bool,
) -> Result<Opened<'a>, EnvelopeError> {
    let refused = |error| Err(EnvelopeError::Record(error));
    let (key_id, key_check, stored_tag, record) = match bytes {
        [m0, m1, VERSION, k0, k1, k2, k3, c0, c1, c2, c3, rest @ ..] if [*m0, *m1] == MAGIC => {
            let Some((tag, record)) = rest.split_first_chunk::<TAG_LEN>() else {
                return refused(RecordError::Truncated);
            };
            let key_id = u32::from_be_bytes([*k0, *k1, *k2, *k3]);
            (key_id, Some([*c0, *c1, *c2, *c3]), tag, record)
        }
        [m0, m1, VERSION_1, k0, k1, k2, k3, rest @ ..] if [*m0, *m1] == MAGIC => {
            let Some((tag, record)) = rest.split_first_chunk::<TAG_LEN>() else {
                return refused(RecordError::Truncated);
            };
            (u32::from_be_bytes([*k0, *k1, *k2, *k3]), None, tag, record)
        }
        [m0, m1, version, ..] if [*m0, *m1] == MAGIC => {
            return refused(RecordError::UnsupportedFormat(*version))
        }
        _ if bytes.starts_with(&RECORD_MAGIC) && legacy => {
            return Ok(Opened {
                record: bytes,
                key_id: None,
            })
        }
        _ if bytes.starts_with(&RECORD_MAGIC) => return refused(RecordError::NotAuthenticated),
        _ => return refused(RecordError::NotARecord),
    };
    let (key, expected_check) = keyring.record_mac(key_id).map_err(EnvelopeError::Seal)?;
    // Not secret: both are stored or derived for every record alike.
    if key_check.is_some_and(|check| check != *expected_check) {
        return Err(EnvelopeError::Seal(SealError::WrongKey(key_id)));
    }
    if bool::from(tag(key, kind, id, record).ct_eq(stored_tag)) {
        Ok(Opened {
            record,
            key_id: Some(key_id),
        })
    } else {
        refused(RecordError::Unauthentic)
    }
}

type Tag = [u8; TAG_LEN];

/// HMAC-SHA-256 of the record's kind, id and bytes: lengths first, so that
/// no two (kind, id) pairs feed the same bytes.
fn tag(key: &RecordMac, kind: &str, id: &str, record: &[u8]) -> Tag {
    let mut mac = key.clone();
    mac.update(&(kind.len() as u64).to_be_bytes());
    mac.update(kind.as_bytes());
    mac.update(&(id.len() as u64).to_be_bytes());
    mac.update(id.as_bytes());
    mac.update(record);
    mac.finalize_fixed().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(1, &[1; 32])
    }

    #[test]
    fn a_record_opens_under_its_kind_and_id_only() {
        let sealed = seal(&keyring(), "user", "alice", b"2s\x03record");
        let opened = open(&keyring(), "user", "alice", &sealed, false).unwrap();
        assert_eq!(opened.record, b"2s\x03record");
        assert_eq!(opened.key_id, Some(1));
        for (kind, id) in [("user", "bob"), ("company", "alice"), ("usera", "lice")] {
            assert_eq!(
                open(&keyring(), kind, id, &sealed, false).unwrap_err(),
                EnvelopeError::Record(RecordError::Unauthentic),
                "{kind} {id}"
            );
        }
    }

    #[test]
    fn every_bit_flipped_is_refused_and_nothing_panics() {
        let sealed = seal(&keyring(), "user", "alice", b"2s\x03record bytes");
        for bit in 0..sealed.len() * 8 {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                open(&keyring(), "user", "alice", &flipped, true).is_err(),
                "bit {bit}"
            );
        }
        for len in 0..sealed.len() {
            assert!(open(&keyring(), "user", "alice", &sealed[..len], true).is_err());
        }
    }

    #[test]
    fn a_stripped_or_legacy_record_needs_the_hosts_consent() {
        let legacy = b"2s\x02old record";
        assert_eq!(
            open(&keyring(), "user", "a", legacy, false).unwrap_err(),
            EnvelopeError::Record(RecordError::NotAuthenticated)
        );
        assert_eq!(
            open(&keyring(), "user", "a", legacy, true).unwrap().key_id,
            None
        );
        // Rotation: the old key still opens what it tagged.
        let sealed = seal(&keyring(), "user", "a", b"2s\x03r");
        let rotated = Keyring::new(2, &[2; 32])
            .with_previous(1, &[1; 32])
            .unwrap();
        assert_eq!(
            open(&rotated, "user", "a", &sealed, false).unwrap().key_id,
            Some(1)
        );
        assert_eq!(
            open(&Keyring::new(2, &[2; 32]), "user", "a", &sealed, false,).unwrap_err(),
            EnvelopeError::Seal(SealError::UnknownKey(1))
        );
    }

    #[test]
    fn a_wrong_key_under_the_records_key_id_is_told_from_a_forgery() {
        let sealed = seal(&keyring(), "user", "a", b"2s\x05r");
        assert_eq!(
            open(&Keyring::new(1, &[9; 32]), "user", "a", &sealed, false).unwrap_err(),
            EnvelopeError::Seal(SealError::WrongKey(1))
        );
        let mut forged = sealed.clone();
        *forged.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&keyring(), "user", "a", &forged, false).unwrap_err(),
            EnvelopeError::Record(RecordError::Unauthentic)
        );
    }

    #[test]
    fn a_version_1_envelope_still_opens() {
        // As version 1 wrote it: no key check.
        let record = b"2s\x05r";
        let ring = keyring();
        let (_, key, _) = ring.current_record_mac();
        let mut v1 = [&MAGIC[..], &[VERSION_1], &1u32.to_be_bytes()].concat();
        v1.extend_from_slice(&tag(key, "user", "a", record));
        v1.extend_from_slice(record);
        assert_eq!(v1.len(), 2 + 1 + 4 + TAG_LEN + record.len());
        let opened = open(&keyring(), "user", "a", &v1, false).unwrap();
        assert_eq!((opened.record, opened.key_id), (&record[..], Some(1)));
        *v1.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&keyring(), "user", "a", &v1, false).unwrap_err(),
            EnvelopeError::Record(RecordError::Unauthentic)
        );
    }
}
