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

use subtle::ConstantTimeEq;

use crate::codec::{RecordError, MAGIC as RECORD_MAGIC};
use crate::otp::{HmacSha256, Midstates};
use crate::seal::{Keyring, SealError};

const MAGIC: [u8; 2] = *b"2a";
const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
/// The envelope's bytes before the record.
pub(crate) const HEADER_LEN: usize = 2 + 1 + 4 + TAG_LEN;
/// The two length fields before the kind and the id in a tag's message.
const LENGTHS_LEN: usize = 2 * 8;

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

/// What this process remembers of one record's envelope (one memo per
/// record kind and id): the bytes it last tagged or checked, an authentic
/// record whoever stores them again, so that they open again without a
/// check; the midstates of their tag, so that the record's next version is
/// tagged from the first block where the two differ; and the record decoded
/// from them, `R`, if the caller left it.
pub(crate) struct Memo<R> {
    bytes: Vec<u8>,
    midstates: Midstates,
    decoded: Option<R>,
}

impl<R> Default for Memo<R> {
    fn default() -> Self {
        Memo {
            bytes: Vec::new(),
            midstates: Midstates::default(),
            decoded: None,
        }
    }
}

impl<R> Memo<R> {
    /// The record decoded from the remembered bytes (those just opened or
    /// sealed with this memo), if it was left with [`Memo::keep_decoded`]:
    /// taken, so that the caller can change it and leave it again when it
    /// seals the changed record.
    pub(crate) fn take_decoded(&mut self) -> Option<R> {
        self.decoded.take()
    }

    /// Keeps `record`, decoded from the bytes just opened or sealed with
    /// this memo.
    pub(crate) fn keep_decoded(&mut self, record: R) {
        self.decoded = Some(record);
    }

    /// The tag of `record` under key `key_id`, resuming from the remembered
    /// tag where the two messages share whole blocks.
    fn tag(&mut self, key_id: u32, key: &HmacSha256, kind: &str, id: &str, record: &[u8]) -> Tag {
        let shared = match self.bytes.split_first_chunk::<HEADER_LEN>() {
            Some((header, remembered)) if key_id_of(header) == key_id => {
                shared_blocks(LENGTHS_LEN + kind.len() + id.len(), remembered, record)
            }
            _ => 0,
        };
        tag(key, kind, id, record, shared, Some(&mut self.midstates))
    }

    fn remember(&mut self, bytes: &[u8]) {
        // A record keeps about its size from save to save: reuse the buffer.
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
        self.decoded = None;
    }
}

/// `record`, of `kind` and `id`, in its envelope under the current key.
pub(crate) fn seal<R>(
    keyring: &Keyring,
    kind: &str,
    id: &str,
    record: &[u8],
    memo: Option<&mut Memo<R>>,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + record.len());
    bytes.resize(HEADER_LEN, 0);
    bytes.extend_from_slice(record);
    seal_in_place(keyring, kind, id, &mut bytes, memo);
    bytes
}

/// Puts the envelope around the record that follows [`HEADER_LEN`] bytes
/// of room at the start of `bytes` (no copy of the record).
pub(crate) fn seal_in_place<R>(
    keyring: &Keyring,
    kind: &str,
    id: &str,
    bytes: &mut [u8],
    mut memo: Option<&mut Memo<R>>,
) {
    let (key_id, key) = keyring.current_record_mac();
    let Some((header, record)) = bytes.split_first_chunk_mut::<HEADER_LEN>() else {
        return;
    };
    let tag = match memo.as_deref_mut() {
        Some(memo) => memo.tag(key_id, key, kind, id, record),
        None => tag(key, kind, id, record, 0, None),
    };
    let [m0, m1, version, k0, k1, k2, k3, stored @ ..] = header;
    [*m0, *m1] = MAGIC;
    *version = VERSION;
    [*k0, *k1, *k2, *k3] = key_id.to_be_bytes();
    *stored = tag;
    if let Some(memo) = memo {
        memo.remember(bytes);
    }
}

/// The record inside `bytes` stored as `kind` and `id`, if its tag is right
/// (or they are the bytes `memo` remembers). A record written before records
/// were authenticated opens only with `legacy`; otherwise it is refused like
/// a forged one.
pub(crate) fn open<'a, R>(
    keyring: &Keyring,
    kind: &str,
    id: &str,
    bytes: &'a [u8],
    legacy: bool,
    mut memo: Option<&mut Memo<R>>,
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
    let opened = Ok(Opened {
        record,
        key_id: Some(key_id),
    });
    // Not secret: both are stored bytes.
    if memo.as_ref().is_some_and(|memo| memo.bytes == bytes) {
        return opened;
    }
    let key = keyring.record_mac(key_id).map_err(EnvelopeError::Seal)?;
    let computed = match memo.as_deref_mut() {
        Some(memo) => memo.tag(key_id, key, kind, id, record),
        None => tag(key, kind, id, record, 0, None),
    };
    let authentic: bool = computed.ct_eq(stored_tag(header)).into();
    match memo {
        Some(memo) if authentic => memo.remember(bytes),
        // Its midstates are now those of the refused bytes.
        Some(memo) => *memo = Memo::default(),
        None => {}
    }
    if authentic {
        opened
    } else {
        refused(RecordError::Unauthentic)
    }
}

type Tag = [u8; TAG_LEN];

/// How many leading bytes, in whole blocks, the tag messages of records `a`
/// and `b` share, both after the same `prefix` bytes (a block compared at
/// once is a few instructions; the exact first difference is not needed).
fn shared_blocks(prefix: usize, a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let mut shared: usize = 0;
    loop {
        let range = shared.saturating_sub(prefix)..(shared + BLOCK).saturating_sub(prefix);
        match (a.get(range.clone()), b.get(range)) {
            (Some(a), Some(b)) if a == b => shared += BLOCK,
            _ => return shared,
        }
    }
}

fn key_id_of(header: &[u8; HEADER_LEN]) -> u32 {
    let [_, _, _, k0, k1, k2, k3, ..] = *header;
    u32::from_be_bytes([k0, k1, k2, k3])
}

fn stored_tag(header: &[u8; HEADER_LEN]) -> &[u8] {
    header.get(HEADER_LEN - TAG_LEN..).unwrap_or_default()
}

/// HMAC-SHA-256 of the record's kind, id and bytes: lengths first, so that
/// no two (kind, id) pairs feed the same bytes. The message's first `shared`
/// bytes are those `midstates` were kept for.
fn tag(
    key: &HmacSha256,
    kind: &str,
    id: &str,
    record: &[u8],
    shared: usize,
    midstates: Option<&mut Midstates>,
) -> Tag {
    let (kind_len, id_len) = (
        (kind.len() as u64).to_be_bytes(),
        (id.len() as u64).to_be_bytes(),
    );
    let message: [&[u8]; 5] = [&kind_len, kind.as_bytes(), &id_len, id.as_bytes(), record];
    match midstates {
        Some(midstates) => key.mac_resuming(&message, shared, midstates),
        None => key.mac(&message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(1, &[1; 32])
    }

    fn no_memo() -> Option<&'static mut Memo<()>> {
        None
    }

    #[test]
    fn a_record_opens_under_its_kind_and_id_only() {
        let sealed = seal(&keyring(), "user", "alice", b"2s\x03record", no_memo());
        let opened = open(&keyring(), "user", "alice", &sealed, false, no_memo()).unwrap();
        assert_eq!(opened.record, b"2s\x03record");
        assert_eq!(opened.key_id, Some(1));
        for (kind, id) in [("user", "bob"), ("company", "alice"), ("usera", "lice")] {
            assert_eq!(
                open(&keyring(), kind, id, &sealed, false, no_memo()).unwrap_err(),
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
            no_memo(),
        );
        for bit in 0..sealed.len() * 8 {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                open(&keyring(), "user", "alice", &flipped, true, no_memo()).is_err(),
                "bit {bit}"
            );
        }
        for len in 0..sealed.len() {
            assert!(open(&keyring(), "user", "alice", &sealed[..len], true, no_memo()).is_err());
        }
    }

    #[test]
    fn a_stripped_or_legacy_record_needs_the_hosts_consent() {
        let legacy = b"2s\x02old record";
        assert_eq!(
            open(&keyring(), "user", "a", legacy, false, no_memo()).unwrap_err(),
            EnvelopeError::Record(RecordError::NotAuthenticated)
        );
        assert_eq!(
            open(&keyring(), "user", "a", legacy, true, no_memo())
                .unwrap()
                .key_id,
            None
        );
        // Rotation: the old key still opens what it tagged.
        let sealed = seal(&keyring(), "user", "a", b"2s\x03r", no_memo());
        let rotated = Keyring::new(2, &[2; 32])
            .with_previous(1, &[1; 32])
            .unwrap();
        assert_eq!(
            open(&rotated, "user", "a", &sealed, false, no_memo())
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
                no_memo()
            )
            .unwrap_err(),
            EnvelopeError::Seal(SealError::UnknownKey(1))
        );
    }

    /// A record of a few blocks whose last bytes change, as a sign-in
    /// changes the record's counters.
    fn versions() -> Vec<Vec<u8>> {
        (0u8..6)
            .map(|n| {
                let mut record = b"2s\x04".to_vec();
                record.extend((0..200).map(|i: u8| i.wrapping_mul(7)));
                record.extend_from_slice(&[n; 20]);
                record
            })
            .collect()
    }

    #[test]
    fn a_memo_changes_no_tag_and_lets_no_forgery_through() {
        let mut memo = Memo::<()>::default();
        let rotated = Keyring::new(2, &[2; 32])
            .with_previous(1, &[1; 32])
            .unwrap();
        for (n, record) in versions().iter().enumerate() {
            // Saves resumed from the memo tag as a fresh seal does, also
            // across a key rotation.
            let keyring = if n < 3 { keyring() } else { rotated.clone() };
            let sealed = seal(&keyring, "user", "alice", record, Some(&mut memo));
            assert_eq!(
                sealed,
                seal(&keyring, "user", "alice", record, no_memo()),
                "version {n}"
            );
            assert_eq!(
                open(&keyring, "user", "alice", &sealed, false, Some(&mut memo))
                    .unwrap()
                    .record,
                record
            );
            // A forged change, after the shared blocks or in the first, is
            // refused with the memo at hand; the memo then checks the
            // authentic bytes again in full, and the next seal (above) is
            // not thrown off by the forgery's midstates.
            for at in [sealed.len() - 1, HEADER_LEN + 3] {
                let mut forged = sealed.clone();
                forged[at] ^= 1;
                assert_eq!(
                    open(&keyring, "user", "alice", &forged, false, Some(&mut memo)).unwrap_err(),
                    EnvelopeError::Record(RecordError::Unauthentic)
                );
            }
            assert!(open(&keyring, "user", "alice", &sealed, false, Some(&mut memo)).is_ok());
            // Another server's write of the next version: checked, then known.
            let next = seal(
                &keyring,
                "user",
                "alice",
                &[record.as_slice(), b"+"].concat(),
                no_memo(),
            );
            assert!(open(&keyring, "user", "alice", &next, false, Some(&mut memo)).is_ok());
            assert_eq!(memo.bytes, next);
        }
    }
}
