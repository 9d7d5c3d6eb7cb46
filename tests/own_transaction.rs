//! The sans-IO path: the host loads and saves the record itself, in its own
//! transaction, and gets an answer only by handing back what its save did.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use common::{code_at, enrollment};
use twostep::{
    CollectingSink, Event, Keyring, ManualClock, MemoryStore, Mfa, MfaError, RecordKey,
    SaveOutcome, Store, Version,
};

const NOW: u64 = 1_700_000_000;

struct Host {
    mfa: Mfa<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    sink: Arc<CollectingSink>,
}

fn host() -> (Host, twostep::Enrollment) {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(CollectingSink::new());
    let mfa = Mfa::new(store.clone(), Keyring::new(1, &[8; 32]))
        .with_clock(ManualClock::new(NOW + 30))
        .with_events(sink.clone());
    let phone = enrollment(40);
    mfa.bind("u", &phone, &code_at(&phone, NOW + 30)).unwrap();
    sink.take();
    (Host { mfa, store, sink }, phone)
}

impl Host {
    /// One attempt: the record as stored now, the decision, and the write
    /// done by `write` (which says what the database did).
    fn attempt(
        &self,
        input: &str,
        write: impl FnOnce(RecordKey<'_>, Option<Version>, &[u8]) -> Option<SaveOutcome>,
    ) -> Result<u64, MfaError<std::convert::Infallible>> {
        let stored = self.store.load(RecordKey::User("u")).unwrap();
        let prepared = self.mfa.prepare_verify("u", stored.as_ref(), input)?;
        let saved = prepared
            .save()
            .and_then(|save| write(save.key(), save.expected(), save.bytes()));
        prepared.finish(saved).map(|v| v.step)
    }

    fn really_save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Option<SaveOutcome> {
        Some(self.store.save(key, expected, bytes).unwrap())
    }
}

#[test]
fn a_code_is_accepted_only_once_its_save_is_reported() {
    let (host, phone) = host();
    let code = code_at(&phone, NOW + 60);
    // The host's transaction rolled back: nothing written, nothing accepted,
    // nothing audited; the code is still good.
    let rolled_back = host.attempt(&code, |_, _, _| None);
    assert!(matches!(rolled_back, Err(MfaError::Contended)));
    assert!(host.sink.take().is_empty());
    // Another request wrote first: no acceptance either.
    let raced = host.attempt(&code, |_, _, _| Some(SaveOutcome::Conflict));
    assert!(matches!(raced, Err(MfaError::Contended)));
    // Saved: accepted, and audited now.
    assert!(host
        .attempt(&code, |k, v, b| host.really_save(k, v, b))
        .is_ok());
    assert!(matches!(
        host.sink.take()[..],
        [twostep::RecordedEvent {
            event: Event::Verified { .. },
            ..
        }]
    ));
    // The same code again needs no write, and is a replay.
    let again = host.attempt(&code, |_, _, _| panic!("a replay writes nothing"));
    assert!(matches!(again, Err(MfaError::Replayed { .. })));
    // Through the ordinary path too.
    assert!(matches!(
        host.mfa.verify("u", &code),
        Err(MfaError::Replayed { .. })
    ));
}

#[test]
fn a_wrong_code_is_counted_through_the_hosts_save() {
    let (host, _) = host();
    let stored = host.store.load(RecordKey::User("u")).unwrap();
    let prepared = host
        .mfa
        .prepare_verify("u", stored.as_ref(), "000000")
        .unwrap();
    assert!(!prepared.accepts());
    let save = prepared.save().expect("a failure is counted in the record");
    let saved = host
        .store
        .save(save.key(), save.expected(), save.bytes())
        .unwrap();
    assert!(matches!(
        prepared.finish(Some(saved)),
        Err(MfaError::Mismatch)
    ));
    assert_eq!(host.mfa.status("u").unwrap().failures, 1);
}

#[test]
fn a_record_that_does_not_open_is_refused_before_anything_is_decided() {
    let (host, phone) = host();
    let mut stored = host.store.load(RecordKey::User("u")).unwrap().unwrap();
    let last = stored.bytes.len() - 1;
    stored.bytes[last] ^= 1;
    assert!(matches!(
        host.mfa
            .prepare_verify("u", Some(&stored), &code_at(&phone, NOW + 60)),
        Err(MfaError::CorruptRecord(_))
    ));
}
