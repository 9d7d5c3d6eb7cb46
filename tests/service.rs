//! The service under concurrency, store faults and arbitrary sequences.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use common::{code_at, enrollment};

use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};

use proptest::prelude::*;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use twostep::clock::{Clock, ManualClock};
use twostep::event::{CollectingSink, Event};
use twostep::otp::Window;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::throttle::ThrottlePolicy;
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, Store};

const START: u64 = 1_700_000_000;

/// A fixed test key; a real host keeps its key outside the database.
fn keyring() -> Keyring {
    Keyring::new(1, &[7; 32])
}

/// A code that matches no step within ±10 steps of `now`: none of the
/// codes the app shows then (generation is checked against the RFC vectors,
/// so `verify` is not used to decide what is wrong).
fn wrong_code(enrollment: &Enrollment, now: u64, start: u32) -> String {
    let step = enrollment.totp().step_at(now).unwrap();
    let shown: Vec<String> = (step - 10..=step + 10)
        .map(|s| enrollment.totp().generate_at_step(s).expose().to_string())
        .collect();
    (start..1_000_000)
        .map(|v| format!("{v:06}"))
        .find(|c| !shown.contains(c))
        .unwrap()
}

/// 16 threads submit the same valid code at the same instant: exactly one
/// is accepted, the other 15 are told it was replayed. 200 rounds.
#[test]
fn race_same_code_is_accepted_once() {
    let clock = Arc::new(ManualClock::new(START));
    let mfa = Arc::new(Mfa::with_config(
        MemoryStore::new(),
        keyring(),
        Config::default().with_clock(clock.clone()),
    ));
    let enrollment = enrollment(1);
    mfa.bind(
        "racer",
        &mut mfa.start_session("racer").unwrap(),
        &enrollment,
        &code_at(&enrollment, START),
    )
    .unwrap();
    for round in 1..=200u64 {
        let now = START + 30 * round;
        clock.set(now);
        let code = code_at(&enrollment, now);
        let barrier = Arc::new(Barrier::new(16));
        let outcomes: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let (mfa, barrier, code) = (mfa.clone(), barrier.clone(), code.clone());
                    s.spawn(move || {
                        barrier.wait();
                        mfa.verify("racer", &mut mfa.start_session("racer").unwrap(), &code)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        let replayed = outcomes
            .iter()
            .filter(|o| matches!(o, Err(MfaError::Replayed { .. })))
            .count();
        assert_eq!((accepted, replayed), (1, 15), "round {round}: {outcomes:?}");
    }
}

fn concurrent_wrong_codes(
    mfa: &Mfa<MemoryStore>,
    wrong: &[String],
) -> Vec<Result<twostep::otp::Verified, MfaError<std::convert::Infallible>>> {
    let barrier = Barrier::new(wrong.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = wrong
            .iter()
            .map(|code| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    mfa.verify("target", &mut mfa.start_session("target").unwrap(), code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// 50 threads submit wrong codes at once: every failure is counted, exactly.
#[test]
fn counting_parallel_failures_loses_none() {
    let enrollment = enrollment(2);
    let wrong: Vec<String> = (0..50)
        .map(|i| wrong_code(&enrollment, START, i * 1000))
        .collect();

    // A budget larger than the burst: the count must be exactly 50.
    let mfa = Mfa::with_config(
        MemoryStore::new(),
        keyring(),
        Config::default()
            .with_clock(ManualClock::new(START))
            .with_throttle(ThrottlePolicy::new(60, 1, 1, 100).unwrap())
            .with_max_attempts(64),
    );
    mfa.bind(
        "target",
        &mut mfa.start_session("target").unwrap(),
        &enrollment,
        &code_at(&enrollment, START),
    )
    .unwrap();
    let outcomes = concurrent_wrong_codes(&mfa, &wrong);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(MfaError::Mismatch))),
        "{outcomes:?}"
    );
    assert_eq!(mfa.status("target").unwrap().failures, 50);

    // The default budget: 3 free failures, then every other attempt at the
    // same instant is throttled and not counted.
    let mfa = Mfa::with_config(
        MemoryStore::new(),
        keyring(),
        Config::default()
            .with_clock(ManualClock::new(START))
            .with_max_attempts(64),
    );
    mfa.bind(
        "target",
        &mut mfa.start_session("target").unwrap(),
        &enrollment,
        &code_at(&enrollment, START),
    )
    .unwrap();
    let outcomes = concurrent_wrong_codes(&mfa, &wrong);
    let mismatches = outcomes
        .iter()
        .filter(|o| matches!(o, Err(MfaError::Mismatch)))
        .count();
    let throttled = outcomes
        .iter()
        .filter(|o| matches!(o, Err(MfaError::Throttled { retry_after: 15 })))
        .count();
    assert_eq!((mismatches, throttled), (3, 47));
    assert_eq!(mfa.status("target").unwrap().failures, 3);
}

/// A store that fails or conflicts on a seeded random fraction of saves.
struct FaultyStore {
    inner: Arc<MemoryStore>,
    rng: Mutex<ChaCha8Rng>,
}

#[derive(Debug, thiserror::Error)]
#[error("injected fault")]
struct Fault;

impl Store for FaultyStore {
    type Error = Fault;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Fault> {
        Ok(self.inner.load(key).unwrap())
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Fault> {
        let roll = self.rng.lock().unwrap().next_u32() % 100;
        match roll {
            // Fails before writing.
            0..=9 => Err(Fault),
            // Writes, then the answer is lost.
            10..=19 => {
                let _ = self.inner.save(key, expected, bytes).unwrap();
                Err(Fault)
            }
            // A spurious conflict.
            20..=29 => Ok(SaveOutcome::Conflict),
            _ => Ok(self.inner.save(key, expected, bytes).unwrap()),
        }
    }
}

/// Over 10,000 operations against a faulty store, no code is reported
/// accepted unless its step was saved, and no step is accepted twice.
#[test]
fn faults_never_turn_into_acceptances() {
    let inner = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let sink = Arc::new(CollectingSink::new());
    let faulty = Mfa::with_config(
        FaultyStore {
            inner: inner.clone(),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(42)),
        },
        keyring(),
        Config::default()
            .with_clock(clock.clone())
            .with_events(sink.clone())
            .with_throttle(ThrottlePolicy::new(99, 1, 1, 100).unwrap())
            .with_max_attempts(3),
    );
    // The same records through a store that does not fail, to check what was saved.
    let honest = Mfa::with_config(
        inner.clone(),
        keyring(),
        Config::default().with_clock(clock.clone()),
    );
    let enrollment = enrollment(3);
    honest
        .bind(
            "u",
            &mut honest.start_session("u").unwrap(),
            &enrollment,
            &code_at(&enrollment, START),
        )
        .unwrap();

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut accepted_steps = Vec::new();
    let mut last_code = code_at(&enrollment, START);
    let (mut accepted, mut errors, mut contended) = (0, 0, 0);
    for _ in 0..10_000 {
        clock.advance(u64::from(rng.next_u32() % 40));
        let now = clock.now();
        let code = match rng.next_u32() % 10 {
            0..=5 => code_at(&enrollment, now),
            6 | 7 => last_code.clone(),
            _ => wrong_code(&enrollment, now, rng.next_u32() % 900_000),
        };
        match faulty.verify("u", &mut faulty.start_session("u").unwrap(), &code) {
            Ok(verified) => {
                accepted += 1;
                assert!(
                    accepted_steps
                        .last()
                        .is_none_or(|last| verified.step > *last),
                    "accepted steps must increase"
                );
                accepted_steps.push(verified.step);
                // Saved: the same code is now a replay, even through a store that works.
                assert!(matches!(
                    honest.verify("u", &mut honest.start_session("u").unwrap(), &code),
                    Err(MfaError::Replayed { .. })
                ));
                last_code = code;
            }
            Err(MfaError::Store(Fault)) => errors += 1,
            Err(MfaError::Contended) => contended += 1,
            Err(MfaError::Replayed { .. } | MfaError::Mismatch | MfaError::Throttled { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let unique: HashSet<_> = accepted_steps.iter().collect();
    assert_eq!(unique.len(), accepted_steps.len());
    // Every Verified event belongs to a saved acceptance that was reported.
    let verified_events = sink
        .take()
        .iter()
        .filter(|e| matches!(e.event, Event::Verified { .. }))
        .count();
    assert_eq!(verified_events, accepted);
    assert!(
        accepted > 3_000 && errors > 500 && contended > 0,
        "accepted {accepted}, errors {errors}, contended {contended}"
    );
    eprintln!("faults: {accepted} accepted, {errors} store errors, {contended} contended of 10000");
}

/// A store that never saves: nothing is accepted and no change is reported.
#[test]
fn events_only_for_saved_transitions() {
    struct Stubborn(MemoryStore);
    impl Store for Stubborn {
        type Error = Fault;
        fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Fault> {
            Ok(self.0.load(key).unwrap())
        }
        fn save(
            &self,
            _: RecordKey<'_>,
            _: Option<Version>,
            _: &[u8],
        ) -> Result<SaveOutcome, Fault> {
            Ok(SaveOutcome::Conflict)
        }
    }
    let sink = Arc::new(CollectingSink::new());
    let mfa = Mfa::with_config(
        Stubborn(MemoryStore::new()),
        keyring(),
        Config::default()
            .with_clock(ManualClock::new(START))
            .with_events(sink.clone()),
    );
    let enrollment = enrollment(4);
    assert!(matches!(
        mfa.bind(
            "u",
            &mut mfa.start_session("u").unwrap(),
            &enrollment,
            &code_at(&enrollment, START)
        ),
        Err(MfaError::Contended)
    ));
    assert!(matches!(
        mfa.bind(
            "u",
            &mut mfa.start_session("u").unwrap(),
            &enrollment,
            "000000"
        ),
        Err(MfaError::Contended)
    ));
    assert!(sink.take().is_empty());
}

/// A user whose stored bytes are damaged is refused, never accepted.
#[test]
fn corrupt_records_fail_closed() {
    let store = Arc::new(MemoryStore::new());
    let _ = store
        .save(RecordKey::User("u"), None, b"2s\x01garbage")
        .unwrap();
    let mfa = Mfa::new(store, keyring());
    // Refused from the first call on: the password's session already.
    assert!(matches!(
        mfa.start_session("u"),
        Err(MfaError::CorruptRecord(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any sequence of (time, code) submissions, accepted steps strictly increase.
    #[test]
    fn accepted_steps_strictly_increase(
        ops in proptest::collection::vec((0u64..100, 0u8..4, any::<u32>()), 1..80)
    ) {
        let clock = Arc::new(ManualClock::new(START));
        let mfa = Mfa::with_config(MemoryStore::new(), keyring(), Config::default().with_clock(clock.clone()).with_window(Window::new(2, 2).unwrap()));
        let enrollment = enrollment(5);
        mfa.bind("p", &mut mfa.start_session("p").unwrap(), &enrollment, &code_at(&enrollment, START)).unwrap();
        let mut last = START / 30;
        for (advance, kind, value) in ops {
            clock.advance(advance);
            let now = clock.now();
            let code = match kind {
                // The current code, a code from the window's edges, or anything.
                0 => code_at(&enrollment, now),
                1 => code_at(&enrollment, now.saturating_sub(60)),
                2 => code_at(&enrollment, now + 60),
                _ => format!("{:06}", value % 1_000_000),
            };
            if let Ok(verified) = mfa.verify("p", &mut mfa.start_session("p").unwrap(), &code) {
                prop_assert!(verified.step > last);
                last = verified.step;
            }
            let _ = mfa.unlock("p");
        }
    }
}
