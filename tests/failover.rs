//! A failover that loses acknowledged saves (a promoted standby that had
//! not received them) must not let a code be accepted twice: a store that
//! says so (`Versioned::lost_saves_before`) makes the service count every
//! code those saves could have accepted as used.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use twostep::clock::ManualClock;
use twostep::otp::Secret;
use twostep::screen::EnrollmentCheck;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::{Config, Enrollment, Keyring, Mfa, MfaError, MfaSession, Store};

/// Step boundaries fall on multiples of 30 s: T0 is 20 s before one.
const T0: u64 = 1_700_000_020;

type Rows = HashMap<(&'static str, String), (u64, Vec<u8>)>;

/// A primary and what its standby had received; `fail_over` promotes the
/// standby, saying (or not) that saves before a time may be lost.
#[derive(Default)]
struct Replicated {
    primary: Mutex<Rows>,
    standby: Mutex<Rows>,
    lost_saves_before: Mutex<Option<u64>>,
}

impl Replicated {
    /// The standby catches up with the primary.
    fn ship(&self) {
        *self.standby.lock().unwrap() = self.primary.lock().unwrap().clone();
    }

    fn fail_over(&self, lost_saves_before: Option<u64>) {
        *self.primary.lock().unwrap() = self.standby.lock().unwrap().clone();
        *self.lost_saves_before.lock().unwrap() = lost_saves_before;
    }
}

impl Store for Replicated {
    type Error = Infallible;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Infallible> {
        let rows = self.primary.lock().unwrap();
        Ok(rows
            .get(&(key.kind(), key.id().to_owned()))
            .map(|(version, bytes)| Versioned {
                version: Version(*version),
                bytes: bytes.clone(),
                lost_saves_before: *self.lost_saves_before.lock().unwrap(),
            }))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Infallible> {
        let mut rows = self.primary.lock().unwrap();
        let row = rows.entry((key.kind(), key.id().to_owned()));
        let stored = match &row {
            std::collections::hash_map::Entry::Occupied(o) => Some(Version(o.get().0)),
            std::collections::hash_map::Entry::Vacant(_) => None,
        };
        if stored != expected {
            return Ok(SaveOutcome::Conflict);
        }
        let next = expected.map_or(1, |v| v.0 + 1);
        *row.or_default() = (next, bytes.to_vec());
        Ok(SaveOutcome::Saved(Version(next)))
    }
}

struct Setup {
    mfa: Mfa<Arc<Replicated>>,
    store: Arc<Replicated>,
    clock: Arc<ManualClock>,
    phone: Enrollment,
    session: MfaSession,
}

/// The service over a replicated store, on a clock set to T0.
fn service() -> (Mfa<Arc<Replicated>>, Arc<Replicated>, Arc<ManualClock>) {
    let store = Arc::new(Replicated::default());
    let clock = Arc::new(ManualClock::new(T0));
    let mfa = Mfa::with_config(
        store.clone(),
        Keyring::new(1, &[7; 32]),
        Config::default().with_clock(clock.clone()),
    );
    (mfa, store, clock)
}

fn setup() -> Setup {
    let (mfa, store, clock) = service();
    let mut session = mfa.start_session("alice").unwrap();
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let phone = Enrollment::builder("Acme", "alice")
        .with_secret(secret)
        .unwrap();
    mfa.bind("alice", &mut session, &phone, &code(&phone, T0))
        .unwrap();
    Setup {
        mfa,
        store,
        clock,
        phone,
        session,
    }
}

fn code(phone: &Enrollment, now: u64) -> String {
    phone.totp().generate(now).unwrap().expose().to_string()
}

/// T0 + 30 is 10 s into a step: the code of that step is accepted on the
/// primary, its save not shipped, and the standby promoted a second later.
fn accept_then_lose(s: &mut Setup, lost_saves_before: Option<u64>) -> String {
    s.store.ship();
    s.clock.set(T0 + 30);
    let lost = code(&s.phone, T0 + 30);
    s.mfa.verify("alice", &mut s.session, &lost).unwrap();
    s.clock.set(T0 + 31);
    s.store.fail_over(lost_saves_before);
    lost
}

#[test]
fn without_the_fence_a_lost_save_lets_its_code_in_twice() {
    let mut s = setup();
    let lost = accept_then_lose(&mut s, None);
    assert!(s.mfa.verify("alice", &mut s.session, &lost).is_ok());
}

#[test]
fn a_code_accepted_before_a_failover_that_lost_its_save_is_refused_after_it() {
    let mut s = setup();
    let lost = accept_then_lose(&mut s, Some(T0 + 31));
    // The fence covers saves up to 5 s past T0 + 31 and the window's step
    // ahead: the steps starting at T0 + 20 and T0 + 50. The next code is the
    // one of the step starting at T0 + 80, 49 s away.
    assert!(matches!(
        s.mfa.verify("alice", &mut s.session, &lost),
        Err(MfaError::Replayed { next_code_in: 49 })
    ));
    s.clock.set(T0 + 60);
    assert!(matches!(
        s.mfa
            .verify("alice", &mut s.session, &code(&s.phone, T0 + 60)),
        Err(MfaError::Replayed { next_code_in: 20 })
    ));
    // Refusals under the fence are replays: nothing counted against anyone.
    assert_eq!(s.mfa.status("alice").unwrap().failures, 0);
    s.clock.set(T0 + 80);
    s.mfa
        .verify("alice", &mut s.session, &code(&s.phone, T0 + 80))
        .unwrap();
}

#[test]
fn an_old_fence_costs_nothing() {
    let mut s = setup();
    accept_then_lose(&mut s, Some(T0 - 3_600));
    s.clock.set(T0 + 50);
    s.mfa
        .verify("alice", &mut s.session, &code(&s.phone, T0 + 50))
        .unwrap();
}

#[test]
fn the_first_enrollment_code_lost_in_a_failover_is_refused_after_it() {
    let (mfa, store, clock) = service();
    let session = mfa.start_session("bob").unwrap();
    let phone = mfa
        .begin_enrollment(
            "bob",
            &session,
            Enrollment::builder("Acme", "bob"),
            EnrollmentCheck::TwoCodes,
        )
        .unwrap();
    store.ship();
    let first = code(&phone, T0);
    mfa.confirm_enrollment("bob", &session, &first).unwrap();
    store.fail_over(Some(T0 + 1));
    assert!(matches!(
        mfa.confirm_enrollment("bob", &session, &first),
        Err(MfaError::Replayed { .. })
    ));
    clock.set(T0 + 50);
    mfa.confirm_enrollment("bob", &session, &code(&phone, T0 + 50))
        .unwrap();
}
