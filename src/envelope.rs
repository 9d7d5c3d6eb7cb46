//! Records authenticated as a whole. Every record the service stores is
//!
//! ```text
//! "2a" ‖ envelope version (1) ‖ key id (u32) ‖ tag (32) ‖ the record
//! ```
//!
//! where the tag is HMAC-SHA-256, under a key derived from the keyring for
//! records alone, of the record's kind, its id and its bytes. An altered
//! record (a used step made usable again, a spent recovery code revived, a
//! failure count lowered, an owner added) fails the tag; so does a record
//! copied to another id or kind. What a tag cannot tell is an older
//! authentic copy of the same record put back, or a record deleted: see the
//! README's security section.

use hmac::digest::FixedOutput;
use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::codec::{RecordError, MAGIC as RECORD_MAGIC};
use crate::seal::{Keyring, RecordMac, SealError};

const MAGIC: [u8; 2] = *b"2a";
const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
/// The envelope's bytes before the record.
pub(crate) const HEADER_LEN: usize = 2 + 1 + 4 + TAG_LEN;

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
    let (key_id, key) = keyring.current_record_mac();
    let Some((header, record)) = bytes.split_first_chunk_mut::<HEADER_LEN>() else {
        return;
    };
    let tag = tag(key, kind, id, record);
    let [m0, m1, version, k0, k1, k2, k3, stored @ ..] = header;
    [*m0, *m1] = MAGIC;
    *version = VERSION;
    [*k0, *k1, *k2, *k3] = key_id.to_be_bytes();
    *stored = tag;
}

/// The record inside `bytes` stored as `kind` and `id`, if its tag is
/// right. A record written before records were authenticated opens only
/// with `legacy`; otherwise it is refused like a forged one.
pub(crate) fn open<'a>(
    keyring: &Keyring,
    kind: &str,
    id: &str,
    bytes: &'a [u8],
    legacy: bool,
) -> Result<Opened<'a>, EnvelopeError> {
    let refused = |error| Err(EnvelopeError::Record(error));
    let (header, record) = match bytes.split_first_chunk::<HEADER_LEN>() {
        Some((header, record)) if header.starts_with(&MAGIC) => (header, record),
        _ if bytes.starts_with(&RECORD_MAGIC) => {
            return if legacy {
                Ok(Opened {
                    record: bytes,
                    key_id: None,
                })
            } else {
                refused(RecordError::NotAuthenticated)
            };
        }
        _ => return refused(RecordError::NotARecord),
    };
    let [_, _, version, ..] = header;
    if *version != VERSION {
        return refused(RecordError::UnsupportedFormat(*version));
    }
    let key_id = key_id_of(header);
    let key = keyring.record_mac(key_id).map_err(EnvelopeError::Seal)?;
    if bool::from(tag(key, kind, id, record).ct_eq(stored_tag(header))) {
        Ok(Opened {
            record,
            key_id: Some(key_id),
        })
    } else {
        refused(RecordError::Unauthentic)
    }
}

type Tag = [u8; TAG_LEN];

fn key_id_of(header: &[u8; HEADER_LEN]) -> u32 {
    let [_, _, _, k0, k1, k2, k3, ..] = *header;
    u32::from_be_bytes([k0, k1, k2, k3])
}

fn stored_tag(header: &[u8; HEADER_LEN]) -> &[u8] {
    header.get(HEADER_LEN - TAG_LEN..).unwrap_or_default()
}

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
        let sealed = seal(
            &keyring(),
            "user",
            "alice",
            b"2s\x03record bytes",
        );
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
            open(&keyring(), "user", "a", legacy, true)
                .unwrap()
                .key_id,
            None
        );
        // Rotation: the old key still opens what it tagged.
        let sealed = seal(&keyring(), "user", "a", b"2s\x03r");
        let rotated = Keyring::new(2, &[2; 32])
            .with_previous(1, &[1; 32])
            .unwrap();
        assert_eq!(
            open(&rotated, "user", "a", &sealed, false)
                .unwrap()
                .key_id,
            Some(1)
        );
        assert_eq!(
            open(
                &Keyring::new(2, &[2; 32]),
                "user",
                "a",
                &sealed,
                false,
            )
            .unwrap_err(),
            EnvelopeError::Seal(SealError::UnknownKey(1))
        );
    }
}
