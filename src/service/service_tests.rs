//! The service's own tests: throttling, replays, binding and removal.

use super::*;
use crate::clock::Clock;
use crate::clock::ManualClock;
use crate::codes::{Window, KEYS_PREPARED};
use crate::event::{CollectingSink, Event};
use crate::otp::Secret;
use crate::storage::{RecordKey, Store};
use crate::throttle::Gate;
use crate::{Enrollment, MemoryStore};
use std::sync::Arc;

const T0: u64 = 1_700_000_020; // 20 s before the next step

fn setup() -> (
    Mfa<MemoryStore>,
    Arc<ManualClock>,
    Arc<CollectingSink>,
    Enrollment,
) {
    let clock = Arc::new(ManualClock::new(T0));
    let sink = Arc::new(CollectingSink::new());
    let mfa = Mfa::with_config(
        MemoryStore::new(),
        crate::Keyring::new(1, &[7; 32]),
        Config::default()
            .with_clock(clock.clone())
            .with_events(sink.clone()),
    );
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let enrollment = Enrollment::builder("Acme", "alice")
        .with_secret(secret)
        .unwrap();
    (mfa, clock, sink, enrollment)
}

fn code_at(enrollment: &Enrollment, now: u64) -> String {
    enrollment
        .totp()
        .generate(now)
        .unwrap()
        .expose()
        .to_string()
}

fn prepared() -> u64 {
    KEYS_PREPARED.with(|n| n.get())
}

#[test]
fn throttle_follows_the_schedule_and_refuses_without_hmac() {
    let (mfa, clock, sink, enrollment) = setup();
    let mut s = mfa.start_session("u").unwrap();
    mfa.bind("u", &mut s, &enrollment, &code_at(&enrollment, T0))
        .unwrap();
    sink.take();
    let wrong = "000000";
    assert!(enrollment
        .totp()
        .verify(
            T0 + 10_000,
            &crate::otp::Code::parse(wrong, crate::otp::Digits::SIX).unwrap(),
            Window::new(10, 10).unwrap(),
            None
        )
        .is_err());

    // Three free failures.
    for failures in 1..=3 {
        assert!(matches!(
            mfa.verify("u", &mut s, wrong),
            Err(MfaError::Mismatch)
        ));
        assert_eq!(mfa.status("u").unwrap().failures, failures);
    }
    // Then 15 s, 30 s, 1, 2, 4, 8 and 15 min, then the lockout.
    for (delay, failures) in [
        (15, 4),
        (30, 5),
        (60, 6),
        (120, 7),
        (240, 8),
        (480, 9),
        (900, 10),
    ] {
        let before = prepared();
        assert!(matches!(
            mfa.verify("u", &mut s, wrong),
            Err(MfaError::Throttled { retry_after }) if retry_after == delay
        ));
        clock.advance(delay - 1);
        assert!(matches!(
            mfa.verify("u", &mut s, wrong),
            Err(MfaError::Throttled { retry_after: 1 })
        ));
        assert_eq!(prepared(), before, "a throttled check computed an HMAC");
        clock.advance(1);
        assert!(matches!(
            mfa.verify("u", &mut s, wrong),
            Err(MfaError::Mismatch)
        ));
        assert_eq!(mfa.status("u").unwrap().failures, failures);
    }
    // Locked: even the right code is refused, with no HMAC, at any time.
    clock.advance(1_000_000);
    let before = prepared();
    let right = code_at(&enrollment, clock.now());
    assert!(matches!(
        mfa.verify("u", &mut s, &right),
        Err(MfaError::Locked)
    ));
    assert_eq!(prepared(), before);
    assert_eq!(mfa.status("u").unwrap().gate, Gate::Locked);

    let events = sink.take();
    let locked: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.event, Event::Locked { failures: 10 }))
        .collect();
    assert_eq!(locked.len(), 1);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.event, Event::Rejected { .. }))
            .count(),
        10
    );

    // An owner unlocks; the right code works and resets the count.
    mfa.unlock("u").unwrap();
    assert_eq!(mfa.verify("u", &mut s, &right).unwrap().drift, 0);
    assert_eq!(mfa.status("u").unwrap().failures, 0);
    let events = sink.take();
    assert!(matches!(events[0].event, Event::Unlocked));
    assert!(matches!(
        events.last().unwrap().event,
        Event::Verified { .. }
    ));
}

#[test]
fn replays_and_clock_errors_are_not_counted() {
    let (mfa, clock, sink, enrollment) = setup();
    let first = code_at(&enrollment, T0);
    let mut s = mfa.start_session("u").unwrap();
    mfa.bind("u", &mut s, &enrollment, &first).unwrap();
    for _ in 0..20 {
        assert!(matches!(
            mfa.verify("u", &mut s, &first),
            Err(MfaError::Replayed { next_code_in: 20 })
        ));
    }
    assert_eq!(mfa.status("u").unwrap().failures, 0);
    clock.advance(20);
    mfa.verify("u", &mut s, &code_at(&enrollment, T0 + 20))
        .unwrap();
    let events: Vec<_> = sink.take().into_iter().map(|e| e.event).collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == Event::ReplayRejected)
            .count(),
        20
    );
    assert!(matches!(events[0], Event::FactorBound));
}

#[test]
fn malformed_input_counts_as_a_failure() {
    let (mfa, _, sink, enrollment) = setup();
    let mut s = mfa.start_session("u").unwrap();
    mfa.bind("u", &mut s, &enrollment, &code_at(&enrollment, T0))
        .unwrap();
    sink.take();
    assert!(matches!(
        mfa.verify("u", &mut s, "12345"),
        Err(MfaError::Malformed)
    ));
    assert_eq!(mfa.status("u").unwrap().failures, 1);
    assert_eq!(
        sink.take()[0].event,
        Event::Rejected {
            reason: crate::event::RejectReason::Malformed,
            failures: 1
        }
    );
}

#[test]
fn bind_remove_and_no_factor() {
    let (mfa, clock, sink, enrollment) = setup();
    let mut s = mfa.start_session("u").unwrap();
    assert!(matches!(
        mfa.verify("u", &mut s, "123456"),
        Err(MfaError::NoFactor)
    ));
    assert!(
        mfa.store().load(RecordKey::User("u")).unwrap().is_none(),
        "nothing written"
    );
    assert!(matches!(
        mfa.bind("u", &mut s, &enrollment, "000000"),
        Err(MfaError::Mismatch)
    ));
    assert_eq!(mfa.status("u").unwrap().failures, 1);
    let mut s = mfa.start_session("u").unwrap();
    mfa.bind("u", &mut s, &enrollment, &code_at(&enrollment, T0))
        .unwrap();
    assert_eq!(mfa.status("u").unwrap().factor_bound_at, Some(T0));
    clock.advance(30);
    assert!(matches!(
        mfa.bind("u", &mut s, &enrollment, &code_at(&enrollment, T0 + 30)),
        Err(MfaError::FactorExists)
    ));
    mfa.remove_factor("u").unwrap();
    // The removal ended the session; a new one finds no factor.
    assert!(matches!(
        mfa.verify("u", &mut s, &code_at(&enrollment, T0 + 30)),
        Err(MfaError::SessionEnded)
    ));
    let mut s = mfa.start_session("u").unwrap();
    assert!(matches!(
        mfa.verify("u", &mut s, &code_at(&enrollment, T0 + 30)),
        Err(MfaError::NoFactor)
    ));
    assert!(matches!(mfa.remove_factor("u"), Err(MfaError::NoFactor)));
    let kinds: Vec<_> = sink.take().into_iter().map(|e| e.event).collect();
    assert!(kinds.contains(&Event::FactorBound) && kinds.contains(&Event::FactorRemoved));
}
