//! An arbitrary sequence of service operations on `MemoryStore`, each
//! person in one browser session they may sign in again with — begin an
//! enrollment of one or two codes, confirm its codes and acknowledge it,
//! verify, use or regenerate recovery codes, policy changes, unlocks, clock
//! moves — checking after each that accepted steps strictly increase, a
//! spent recovery code never works again (but as the documented retry, in
//! the same session), the failure count is exact, a user without an active
//! factor is never reported as having passed MFA, and the screen a new
//! sign-in lands on agrees with the stored state (codes kept for a factor's
//! holder never shown before the second factor).
#![no_main]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Screen};
use twostep::clock::{Clock, ManualClock};
use twostep::company::SignInRequirement;
use twostep::recovery::RecoveryMode;
use twostep::screen::{Confirmed, EnrollmentCheck, EnrollmentStage};
use twostep::throttle::ThrottlePolicy;

const USERS: [&str; 2] = ["ann", "bo"];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Typed {
    /// The code the app shows now.
    Current,
    /// The code of the step before.
    Previous,
    /// Any six digits.
    Any(u32),
    /// Not a code.
    Garbage,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Begin(bool, bool),
    Confirm(bool, Typed),
    Second(bool, Typed),
    Acknowledge(bool),
    Verify(bool, Typed),
    UseRecovery(bool, u8),
    Regenerate(bool),
    Require(bool, bool, u16),
    SignIn(bool),
    Unlock(bool),
    Advance(u16),
}

#[derive(Default)]
struct Model {
    /// The enrollment whose codes the user's app shows.
    app: Option<Enrollment>,
    /// The secret of the active factor, once acknowledged.
    active: Option<Enrollment>,
    /// The step of the enrollment's first code, in a two-code enrollment.
    first_step: Option<u64>,
    last_step: Option<u64>,
    failures: u32,
    recovery: Vec<String>,
    spent: HashSet<String>,
}

/// The step a code typed as `t` belongs to, when it is known.
fn step_of(enrollment: Option<&Enrollment>, now: u64, t: Typed) -> Option<u64> {
    let step = enrollment?.totp().step_at(now).ok()?;
    match t {
        Typed::Current => Some(step),
        Typed::Previous => step.checked_sub(1),
        _ => None,
    }
}

fn user(second: bool) -> &'static str {
    USERS[usize::from(second)]
}

fn typed(enrollment: Option<&Enrollment>, now: u64, t: Typed) -> String {
    let code = |at: u64| {
        enrollment.map_or("000000".to_owned(), |e| {
            e.totp().generate(at).unwrap().expose().to_string()
        })
    };
    match t {
        Typed::Current => code(now),
        Typed::Previous => code(now.saturating_sub(30)),
        Typed::Any(v) => format!("{:06}", v % 1_000_000),
        Typed::Garbage => "12 34".to_owned(),
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let mfa = Mfa::with_config(MemoryStore::new(), Keyring::new(1, &[4; 32]), Config::default().with_clock(clock.clone()).with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(3)).with_recovery(RecoveryMode::Single).with_throttle(ThrottlePolicy::new(3, 5, 60, 8).unwrap()));
    mfa.create_company("co", &["ann"]).unwrap();
    mfa.add_member("co", "bo").unwrap();
    let mut models: HashMap<&str, Model> = USERS.iter().map(|u| (*u, Model::default())).collect();
    let mut sessions: HashMap<&str, MfaSession> = USERS
        .iter()
        .map(|u| (*u, mfa.start_session(u).unwrap()))
        .collect();

    for op in ops.into_iter().take(64) {
        let now = clock.now();
        match op {
            Op::Advance(secs) => clock.advance(u64::from(secs % 1200)),
            Op::Begin(who, two) => {
                let u = user(who);
                let check = if two {
                    EnrollmentCheck::TwoCodes
                } else {
                    EnrollmentCheck::OneCode
                };
                let builder = Enrollment::builder("Acme", u);
                if let Ok(enrollment) = mfa.begin_enrollment(u, &sessions[u], builder, check) {
                    let m = models.get_mut(u).unwrap();
                    m.app = Some(enrollment);
                    m.first_step = None;
                }
            }
            Op::Confirm(who, t) | Op::Second(who, t) => {
                let u = user(who);
                let m = models.get_mut(u).unwrap();
                let input = typed(m.app.as_ref(), now, t);
                let outcome = match op {
                    Op::Second(..) => mfa.confirm_second_code(u, &sessions[u], &input),
                    _ => mfa.confirm_enrollment(u, &sessions[u], &input),
                };
                match outcome {
                    Ok(next) => {
                        let step = step_of(m.app.as_ref(), now, t);
                        if let (Some(step), Some(first)) = (step, m.first_step) {
                            assert!(step > first, "second code of step {step} after {first}");
                        }
                        match next {
                            Confirmed::SecondCode { .. } => m.first_step = step,
                            Confirmed::RecordRecoveryCode { codes } => {
                                m.recovery =
                                    codes.iter().map(|c| c.expose_str().to_owned()).collect();
                                m.last_step = step;
                            }
                            other => panic!("after a code: {other:?}"),
                        }
                    }
                    Err(MfaError::Mismatch | MfaError::Malformed | MfaError::Throttled { .. }) => {}
                    Err(MfaError::EnrollmentLocked) => m.app = None,
                    Err(_) => {}
                }
            }
            Op::Acknowledge(who) => {
                let u = user(who);
                let m = models.get_mut(u).unwrap();
                let confirming =
                    mfa.status(u).unwrap().enrollment == Some(EnrollmentStage::RecoveryCode);
                let acknowledged = mfa.acknowledge_recovery(u, sessions.get_mut(u).unwrap());
                assert_eq!(
                    acknowledged.is_ok() && confirming,
                    matches!(acknowledged, Ok(twostep::screen::Acknowledged::FactorActivated)),
                );
                if acknowledged.is_ok() && confirming {
                    m.active = m.app.clone();
                    m.failures = 0;
                }
            }
            Op::Verify(who, t) => {
                let u = user(who);
                let had_factor = mfa.status(u).unwrap().factor_bound_at.is_some();
                let m = models.get_mut(u).unwrap();
                let input = typed(m.active.as_ref(), now, t);
                match mfa.verify(u, sessions.get_mut(u).unwrap(), &input) {
                    Ok(v) => {
                        assert!(had_factor, "{u} passed MFA without an active factor");
                        if let Some(last) = m.last_step {
                            assert!(v.step > last, "step {} accepted after {last}", v.step);
                        }
                        m.last_step = Some(v.step);
                        m.failures = 0;
                    }
                    Err(MfaError::Mismatch | MfaError::Malformed) => m.failures += 1,
                    Err(_) => {}
                }
            }
            Op::UseRecovery(who, pick) => {
                let u = user(who);
                let m = models.get_mut(u).unwrap();
                let spent: Vec<&String> = m.spent.iter().collect();
                let input = match (pick % 3, m.recovery.first(), spent.first()) {
                    (0, Some(code), _) => code.clone(),
                    (1, _, Some(code)) => (*code).clone(),
                    _ => "0000-0000-0000-0000".to_owned(),
                };
                match mfa.use_recovery_code(u, sessions.get_mut(u).unwrap(), &input) {
                    Ok(used) if used.retried => {
                        assert!(m.spent.contains(&input), "a retry of a code never used");
                    }
                    Ok(used) => {
                        assert!(
                            !m.spent.contains(&input),
                            "a spent recovery code worked again"
                        );
                        m.spent.insert(input.clone());
                        m.recovery.retain(|c| *c != input);
                        m.recovery
                            .extend(used.new_code.map(|c| c.expose_str().to_owned()));
                        m.failures = 0;
                    }
                    // Wrong recovery codes are not counted.
                    Err(_) => {}
                }
            }
            Op::Regenerate(who) => {
                let u = user(who);
                let m = models.get_mut(u).unwrap();
                if let Ok(codes) = mfa.regenerate_recovery_codes(u, &sessions[u]) {
                    assert!(m.active.is_some(), "{u} regenerated without a factor");
                    m.spent.extend(m.recovery.drain(..));
                    m.recovery = codes.iter().map(|c| c.expose_str().to_owned()).collect();
                }
            }
            Op::Require(by_second, require, grace) => {
                // Only an owner, in a session past their second factor.
                let u = user(by_second);
                let requirement = if require {
                    twostep::Requirement::On {
                        grace_period: u64::from(grace),
                    }
                } else {
                    twostep::Requirement::Off
                };
                if mfa
                    .set_mfa_requirement("co", u, &sessions[u], requirement)
                    .is_ok()
                {
                    assert_eq!(u, "ann", "only the owner");
                    assert!(models[u].active.is_some(), "an owner without MFA");
                }
            }
            Op::SignIn(who) => {
                let u = user(who);
                sessions.insert(u, mfa.start_session(u).unwrap());
            }
            Op::Unlock(who) => {
                let u = user(who);
                mfa.unlock(u).unwrap();
                models.get_mut(u).unwrap().failures = 0;
            }
        }
        for u in USERS {
            let status = mfa.status(u).unwrap();
            assert_eq!(status.failures, models[u].failures, "failure count of {u}");
            let requirement = mfa.sign_in_requirement(u, Some("co")).unwrap();
            assert_eq!(
                requirement == SignInRequirement::SecondFactor,
                status.factor_bound_at.is_some(),
                "{u}: {requirement:?} with factor {:?}",
                status.factor_bound_at
            );
            let fresh = mfa.start_session(u).unwrap();
            let screen = mfa.current_screen(u, Some("co"), &fresh).unwrap();
            let expected_stage = match &screen {
                Screen::EnterCode { .. } => {
                    assert!(
                        status.factor_bound_at.is_some(),
                        "{u}: a code screen without a factor"
                    );
                    status.enrollment
                }
                Screen::ScanQr { .. } => Some(EnrollmentStage::FirstCode),
                Screen::SecondCode { .. } => Some(EnrollmentStage::SecondCode),
                Screen::RecordRecoveryCode { .. } => {
                    assert!(
                        status.factor_bound_at.is_none(),
                        "{u}: codes shown before the second factor"
                    );
                    Some(EnrollmentStage::RecoveryCode)
                }
                _ => None,
            };
            if status.factor_bound_at.is_none() {
                assert_eq!(status.enrollment, expected_stage, "{u}: {screen:?}");
            }
        }
    }
});
