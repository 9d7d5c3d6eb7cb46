//! Recovery codes through the service: spent once, throttled with codes,
//! ending lockouts, regenerated only after a fresh check, never stored.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::{Arc, Barrier};

use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::event::{CollectingSink, Event};
use twostep::recovery::{RecoveryCode, RecoveryMode, SetSize};
use twostep::store::RecordKey;
use twostep::throttle::ThrottlePolicy;
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, Store};

const START: u64 = 1_700_000_000;

struct Fixture {
    mfa: Mfa<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    enrollment: Enrollment,
}

fn fixture(mode: RecoveryMode, throttle: ThrottlePolicy) -> Fixture {
    fixture_with(mode, throttle, |config| config)
}

/// A fixture whose settings `configure` changes further.
fn fixture_with(
    mode: RecoveryMode,
    throttle: ThrottlePolicy,
    configure: impl FnOnce(Config) -> Config,
) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let mfa = Mfa::with_config(
        store.clone(),
        Keyring::new(1, &[5; 32]),
        configure(
            Config::default()
                .with_clock(clock.clone())
                .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(11))
                .with_recovery(mode)
                .with_throttle(throttle)
                .with_max_attempts(64),
        ),
    );
    let enrollment = common::enrollment(12);
    Fixture {
        mfa,
        store,
        clock,
        enrollment,
    }
}

impl Fixture {
    fn otp(&self) -> String {
        common::code_at(&self.enrollment, self.clock.now())
    }

    fn bind(&self, user: &str) -> Vec<RecoveryCode> {
        let mut session = self.mfa.start_session(user).unwrap();
        let bound = self
            .mfa
            .bind(user, &mut session, &self.enrollment, &self.otp())
            .unwrap();
        self.clock.advance(30);
        bound.recovery_codes
    }
}

fn set(n: u8) -> RecoveryMode {
    RecoveryMode::Set(SetSize::new(n).unwrap())
}

fn generous() -> ThrottlePolicy {
    ThrottlePolicy::new(90, 1, 1, 100).unwrap()
}

#[test]
fn single_code_rotates_after_use() {
    let f = fixture(RecoveryMode::Single, ThrottlePolicy::default());
    let codes = f.bind("u");
    assert_eq!(codes.len(), 1);
    let mut session = f.mfa.start_session("u").unwrap();
    let used = f
        .mfa
        .use_recovery_code("u", &mut session, codes[0].expose_str())
        .unwrap();
    let new_code = used.new_code.unwrap();
    assert_eq!(used.remaining, 1);
    assert!(!used.retried);
    assert_ne!(new_code.expose_str(), codes[0].expose_str());
    // Until the replacement is acknowledged, the used code is a retry in
    // the session that used it: the same replacement, nothing new.
    let again = f
        .mfa
        .use_recovery_code("u", &mut session, codes[0].expose_str())
        .unwrap();
    assert!(again.retried);
    assert_eq!(again.new_code.unwrap().expose_str(), new_code.expose_str());
    f.mfa.acknowledge_recovery("u", &mut session).unwrap();
    assert!(matches!(
        f.mfa
            .use_recovery_code("u", &mut session, codes[0].expose_str()),
        Err(MfaError::Mismatch)
    ));
    assert!(f
        .mfa
        .use_recovery_code("u", &mut session, new_code.expose_str())
        .is_ok());
}

/// Review finding: anyone with the password and the *used* code (seen
/// over a shoulder) signed in with it within ten minutes and was shown the
/// live replacement; and the retry worked any number of times, each one
/// clearing the failure count.
#[test]
fn a_used_code_retries_once_and_only_in_the_session_that_used_it() {
    let f = fixture(RecoveryMode::Single, ThrottlePolicy::default());
    let codes = f.bind("u");
    let used = codes[0].expose_str();
    let mut person = f.mfa.start_session("u").unwrap();
    let mut onlooker = f.mfa.start_session("u").unwrap();
    let replacement = f
        .mfa
        .use_recovery_code("u", &mut person, used)
        .unwrap()
        .new_code
        .unwrap();
    // The onlooker, with the password and the code they saw: refused like
    // a wrong code, and never shown the replacement.
    assert!(matches!(
        f.mfa.use_recovery_code("u", &mut onlooker, used),
        Err(MfaError::Mismatch)
    ));
    assert!(matches!(
        f.mfa.current_screen("u", None, &onlooker).unwrap(),
        twostep::Screen::EnterCode { .. }
    ));
    // Failures meanwhile (the onlooker guessing one-time codes)...
    for _ in 0..2 {
        let _ = f.mfa.verify("u", &mut onlooker, "000000");
    }
    // ...are not cleared by the person's retry, which works once.
    let retry = f.mfa.use_recovery_code("u", &mut person, used).unwrap();
    assert!(retry.retried);
    assert_eq!(
        retry.new_code.unwrap().expose_str(),
        replacement.expose_str()
    );
    assert_eq!(f.mfa.status("u").unwrap().failures, 2);
    assert!(matches!(
        f.mfa.use_recovery_code("u", &mut person, used),
        Err(MfaError::Mismatch)
    ));
    // The replacement is what signs in now, in any session.
    assert!(f
        .mfa
        .use_recovery_code("u", &mut onlooker, replacement.expose_str())
        .is_ok());
}

#[test]
fn without_the_retry_window_a_used_single_code_never_works_again() {
    let f = fixture_with(RecoveryMode::Single, ThrottlePolicy::default(), |config| {
        config.with_recovery_retry(0)
    });
    let codes = f.bind("u");
    f.mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            codes[0].expose_str(),
        )
        .unwrap();
    assert!(matches!(
        f.mfa.use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            codes[0].expose_str()
        ),
        Err(MfaError::Mismatch)
    ));
}

#[test]
fn a_set_spends_each_code_once() {
    let f = fixture(set(16), generous());
    let codes = f.bind("u");
    assert_eq!(codes.len(), 16);
    for (i, code) in codes.iter().enumerate().rev() {
        let used = f
            .mfa
            .use_recovery_code(
                "u",
                &mut f.mfa.start_session("u").unwrap(),
                code.expose_str(),
            )
            .unwrap();
        assert_eq!(used.remaining, i);
        assert!(used.new_code.is_none());
        assert!(matches!(
            f.mfa.use_recovery_code(
                "u",
                &mut f.mfa.start_session("u").unwrap(),
                code.expose_str()
            ),
            Err(MfaError::Mismatch)
        ));
    }
}

#[test]
fn look_alikes_and_formatting_are_accepted() {
    let f = fixture(set(3), generous());
    let codes = f.bind("u");
    let typed = |code: &RecoveryCode, f: fn(&str) -> String| f(code.expose_str());
    assert!(f
        .mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            &typed(&codes[0], |s| s.to_lowercase())
        )
        .is_ok());
    assert!(f
        .mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            &typed(&codes[1], |s| s.replace('-', " "))
        )
        .is_ok());
    // A person reading 0 as O and 1 as I or L.
    let confusable = typed(&codes[2], |s| {
        format!(
            "  {}  ",
            s.replace('0', "O").replace('1', "l").replace('-', "")
        )
    });
    assert!(f
        .mfa
        .use_recovery_code("u", &mut f.mfa.start_session("u").unwrap(), &confusable)
        .is_ok());
    assert!(matches!(
        f.mfa
            .use_recovery_code("u", &mut f.mfa.start_session("u").unwrap(), "not a code"),
        Err(MfaError::Malformed)
    ));
}

#[test]
fn race_one_recovery_code_is_spent_once() {
    for mode in [RecoveryMode::Single, set(4)] {
        for round in 0..50 {
            let f = fixture(mode, generous());
            let user = format!("racer-{round}");
            let code = f.bind(&user)[0].expose_str().to_owned();
            // Sixteen submissions from one browser (a double-click storm).
            let session = f.mfa.start_session(&user).unwrap();
            let barrier = Barrier::new(16);
            let outcomes: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..16)
                    .map(|_| {
                        let mut session = session.clone();
                        let (f, user, code, barrier) = (&f, &user, &code, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            f.mfa.use_recovery_code(user, &mut session, code)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let count = |retried: bool| {
                outcomes
                    .iter()
                    .filter(|o| matches!(o, Ok(used) if used.retried == retried))
                    .count()
            };
            assert_eq!(count(false), 1, "{mode:?} round {round}: spent once");
            // In single mode one more may be the retry of the same
            // exchange (the same replacement); the rest are refused.
            let retries = count(true);
            let replacements: std::collections::HashSet<String> = outcomes
                .iter()
                .filter_map(|o| o.as_ref().ok()?.new_code.as_ref())
                .map(|c| c.expose_str().to_owned())
                .collect();
            match mode {
                RecoveryMode::Single => {
                    assert!(retries <= 1, "round {round}: {retries} retries");
                    assert_eq!(replacements.len(), 1, "round {round}");
                }
                _ => assert_eq!(retries, 0),
            }
            let mismatched = outcomes
                .iter()
                .filter(|o| matches!(o, Err(MfaError::Mismatch)))
                .count();
            assert_eq!(mismatched, 15 - retries, "{mode:?} round {round}");
        }
    }
}

#[test]
fn a_valid_recovery_code_cannot_be_starved_and_ends_a_lockout() {
    let sink = Arc::new(CollectingSink::new());
    let f = fixture_with(set(2), ThrottlePolicy::default(), |config| {
        config.with_events(sink.clone())
    });
    let codes = f.bind("u");
    // Someone with only the password locks the one-time codes...
    while f.mfa.status("u").unwrap().failures < 10 {
        f.clock.advance(900);
        let _ = f
            .mfa
            .verify("u", &mut f.mfa.start_session("u").unwrap(), "000002");
    }
    f.clock.advance(1);
    assert!(matches!(
        f.mfa
            .verify("u", &mut f.mfa.start_session("u").unwrap(), &f.otp()),
        Err(MfaError::Locked)
    ));
    // ...and keeps sending wrong recovery codes, as fast as they like:
    // refused, audited, not counted, and no gate closes.
    for _ in 0..50 {
        assert!(matches!(
            f.mfa.use_recovery_code(
                "u",
                &mut f.mfa.start_session("u").unwrap(),
                "00000-00000-00000-00000-00000"
            ),
            Err(MfaError::Mismatch)
        ));
    }
    assert_eq!(f.mfa.status("u").unwrap().failures, 10);
    // The person's own code works at once, and ends the lockout.
    assert!(f
        .mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            codes[0].expose_str()
        )
        .is_ok());
    assert_eq!(f.mfa.status("u").unwrap().failures, 0);
    f.clock.advance(30);
    assert!(f
        .mfa
        .verify("u", &mut f.mfa.start_session("u").unwrap(), &f.otp())
        .is_ok());
    let events: Vec<_> = sink.take().into_iter().map(|e| e.event).collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == Event::RecoveryCodeRejected)
            .count(),
        50
    );
    assert!(events.contains(&Event::RecoveryCodeUsed { remaining: 1 }));
    assert!(events.contains(&Event::Locked { failures: 10 }));
}

#[test]
fn recovery_codes_carry_125_bits_and_old_80_bit_codes_still_read() {
    let f = fixture(set(16), generous());
    let codes = f.bind("u");
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for code in &codes {
        let groups: Vec<&str> = code.expose_str().split('-').collect();
        assert_eq!(groups.len(), 5);
        assert!(groups
            .iter()
            .all(|g| g.len() == 5 && g.chars().all(|c| alphabet.contains(c))));
    }
    // 25 characters of 5 bits: every position takes many values across 16
    // codes (a code of 80 bits padded to 25 characters would not).
    for position in 0..25 {
        let seen: std::collections::HashSet<char> = codes
            .iter()
            .map(|c| {
                c.expose_str()
                    .replace('-', "")
                    .chars()
                    .nth(position)
                    .unwrap()
            })
            .collect();
        assert!(seen.len() > 4, "position {position}: {seen:?}");
    }
}

#[test]
fn regeneration_needs_a_recent_second_factor_and_voids_the_old_ones() {
    let f = fixture(set(10), generous());
    let old = f.bind("u");
    let mut session = f.mfa.start_session("u").unwrap();
    assert!(matches!(
        f.mfa.regenerate_recovery_codes("u", &session),
        Err(MfaError::SecondFactorRequired)
    ));
    // The old codes still work after a refused regeneration.
    assert!(f
        .mfa
        .use_recovery_code("u", &mut session, old[0].expose_str())
        .is_ok());
    let new = f.mfa.regenerate_recovery_codes("u", &session).unwrap();
    assert_eq!(new.len(), 10);
    // A day later the same session must pass a code again.
    f.clock.advance(24 * 3600);
    assert!(matches!(
        f.mfa.regenerate_recovery_codes("u", &session),
        Err(MfaError::RecentSecondFactorRequired)
    ));
    for code in &old[1..] {
        assert!(matches!(
            f.mfa.use_recovery_code(
                "u",
                &mut f.mfa.start_session("u").unwrap(),
                code.expose_str()
            ),
            Err(MfaError::Mismatch)
        ));
    }
    assert!(f
        .mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            new[3].expose_str()
        )
        .is_ok());
}

#[test]
fn a_code_of_user_a_is_refused_for_user_b() {
    let f = fixture(set(4), generous());
    let alice = f.bind("alice");
    let _bob = f.bind("bob");
    for code in &alice {
        assert!(matches!(
            f.mfa.use_recovery_code(
                "bob",
                &mut f.mfa.start_session("bob").unwrap(),
                code.expose_str()
            ),
            Err(MfaError::Mismatch)
        ));
    }
    assert!(f
        .mfa
        .use_recovery_code(
            "alice",
            &mut f.mfa.start_session("alice").unwrap(),
            alice[0].expose_str()
        )
        .is_ok());
}

#[test]
fn stored_records_hold_no_recovery_code() {
    let f = fixture(set(16), generous());
    let mut codes = f.bind("u");
    codes.extend(f.bind("v"));
    let used = f
        .mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            codes[0].expose_str(),
        )
        .unwrap();
    assert!(used.new_code.is_none());
    for user in ["u", "v"] {
        let bytes = f.store.load(RecordKey::User(user)).unwrap().unwrap().bytes;
        let dump = String::from_utf8_lossy(&bytes).to_lowercase();
        for code in &codes {
            let text = code.expose_str();
            for form in [
                text.to_owned(),
                text.replace('-', ""),
                text.replace('-', " "),
            ] {
                assert!(
                    !dump.contains(&form.to_lowercase()),
                    "{user}: a code is stored"
                );
            }
            // Nor the code's 4-character groups in a row.
            assert!(!dump.contains(&text[..9].to_lowercase()));
        }
    }
}

#[test]
fn debug_output_hides_recovery_codes() {
    let f = fixture(RecoveryMode::Single, generous());
    let code = f.bind("u").remove(0);
    let used = f
        .mfa
        .use_recovery_code(
            "u",
            &mut f.mfa.start_session("u").unwrap(),
            code.expose_str(),
        )
        .unwrap();
    let shown = format!("{code:?} {used:?} {:?}", f.mfa);
    assert!(!shown.contains(code.expose_str()));
    assert!(!shown.contains(used.new_code.as_ref().unwrap().expose_str()));
}
