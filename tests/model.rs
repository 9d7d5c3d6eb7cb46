//! The service against the model of its rules (`model/rules.rs`): random
//! sequences of what owners, members and attackers do (sign in, read a
//! screen, enroll, type codes, tick, use recovery codes, switch the
//! requirement, reset, unlock, remove), with the clock moving and a store
//! that fails before or after writing. After every step the answer, and
//! the screen of every browser, must be the model's.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod model {
    pub mod rules;
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use model::rules::{self, Fault, Model, Refusal, Said, Session, Shown, OWNER, USERS};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::otp::{Secret, Totp, TotpParams};
use twostep::screen::{Acknowledged, Confirmed, EnrollmentCheck};
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::{
    Enrollment, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Requirement, Screen, Store,
};

const START: u64 = 1_700_000_000;

/// A store whose next save may fail before or after writing.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    fault: Mutex<Option<Fault>>,
}

#[derive(Debug, thiserror::Error)]
#[error("failed")]
struct Failed;

impl Store for FlakyStore {
    type Error = Failed;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Failed> {
        Ok(self.inner.load(key).unwrap())
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Failed> {
        match self.fault.lock().unwrap().take() {
            Some(Fault::BeforeWrite) => Err(Failed),
            Some(Fault::AfterWrite) => {
                let _ = self.inner.save(key, expected, bytes).unwrap();
                Err(Failed)
            }
            _ => Ok(self.inner.save(key, expected, bytes).unwrap()),
        }
    }
}

/// A phone for a base32 secret.
struct App(Totp);

impl App {
    fn new(secret: &str) -> App {
        let secret = Secret::from_base32(secret).unwrap();
        App(Totp::new(&secret, TotpParams::default()))
    }
}

impl rules::Phone for App {
    fn code(&self, step: u64) -> String {
        self.0.generate_at_step(step).expose().to_string()
    }
}

/// A phone nobody enrolled.
const STRANGER: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[derive(Clone, Copy, Debug)]
enum Typed {
    Current,
    Previous,
    Next,
    Wrong,
    Garbage,
}

#[derive(Clone, Copy, Debug)]
enum Recovery {
    Current,
    Used,
    Wrong,
}

/// What someone does, in browser `b` (0, 1: ann's; 2, 3: bo's).
#[derive(Clone, Debug)]
enum Op {
    SignIn(usize),
    Screen(usize),
    Begin(usize, bool),
    Code(usize, Typed),
    Second(usize, Typed),
    Tick(usize),
    Verify(usize, Typed),
    Recover(usize, Recovery),
    Regenerate(usize),
    Require(usize, bool, u64),
    Reset(usize),
    Unlock(usize),
    RemoveOwn(usize),
    EndSessions(usize),
    Advance(u64),
    Fail(Fault),
}

fn op() -> impl Strategy<Value = Op> {
    let b = 0..4usize;
    let typed = prop_oneof![
        4 => Just(Typed::Current),
        1 => Just(Typed::Previous),
        1 => Just(Typed::Next),
        2 => Just(Typed::Wrong),
        1 => Just(Typed::Garbage),
    ];
    let recovery = prop_oneof![
        Just(Recovery::Current),
        Just(Recovery::Used),
        Just(Recovery::Wrong)
    ];
    let advance = prop_oneof![
        6 => 0..40u64,
        1 => Just(299u64),
        1 => Just(601u64),
        1 => Just(901u64),
        1 => Just(24 * 3600u64),
    ];
    prop_oneof![
        2 => b.clone().prop_map(Op::SignIn),
        2 => b.clone().prop_map(Op::Screen),
        3 => (b.clone(), any::<bool>()).prop_map(|(b, two)| Op::Begin(b, two)),
        4 => (b.clone(), typed.clone()).prop_map(|(b, t)| Op::Code(b, t)),
        3 => (b.clone(), typed.clone()).prop_map(|(b, t)| Op::Second(b, t)),
        3 => b.clone().prop_map(Op::Tick),
        5 => (b.clone(), typed).prop_map(|(b, t)| Op::Verify(b, t)),
        3 => (b.clone(), recovery).prop_map(|(b, r)| Op::Recover(b, r)),
        1 => b.clone().prop_map(Op::Regenerate),
        2 => (b.clone(), any::<bool>(), prop_oneof![Just(0u64), Just(120)])
            .prop_map(|(b, on, grace)| Op::Require(b, on, grace)),
        1 => b.clone().prop_map(Op::Reset),
        1 => b.clone().prop_map(Op::Unlock),
        1 => b.clone().prop_map(Op::RemoveOwn),
        1 => b.clone().prop_map(Op::EndSessions),
        6 => advance.prop_map(Op::Advance),
        1 => prop_oneof![Just(Fault::BeforeWrite), Just(Fault::AfterWrite)].prop_map(Op::Fail),
    ]
}

/// Runs of operations that take a person somewhere worth testing: the
/// help page's enrollment from the password to the tick (its codes typed
/// right, so that factors become active), a later sign-in with a code or a
/// recovery code, a burst of guesses (to reach the throttle and the
/// lockout), or one operation of any kind.
fn chunk() -> impl Strategy<Value = Vec<Op>> {
    let b = 0..4usize;
    prop_oneof![
        8 => op().prop_map(|op| vec![op]),
        2 => (b.clone(), any::<bool>(), 0..4usize).prop_map(|(b, two, fault_at)| {
            let mut walk = vec![
                Op::SignIn(b),
                Op::Begin(b, two),
                Op::Code(b, Typed::Current),
            ];
            if two {
                walk.extend([Op::Advance(30), Op::Second(b, Typed::Current)]);
            }
            walk.push(Op::Tick(b));
            // Now and then the store fails at one of the steps.
            if fault_at < walk.len() && fault_at % 2 == 0 {
                walk.insert(fault_at, Op::Fail(Fault::AfterWrite));
            }
            walk
        }),
        2 => (b.clone(), any::<bool>()).prop_map(|(b, lost_phone)| {
            let second = if lost_phone {
                Op::Recover(b, Recovery::Current)
            } else {
                Op::Verify(b, Typed::Current)
            };
            vec![Op::Advance(30), Op::SignIn(b), second, Op::Screen(b), Op::Tick(b)]
        }),
        // The phone lost, a recovery code used, an onlooker guessing codes,
        // and the used code typed again, here and elsewhere.
        1 => b.clone().prop_map(|b| {
            let onlooker = b ^ 1;
            vec![
                Op::Advance(30),
                Op::SignIn(b),
                Op::Recover(b, Recovery::Current),
                Op::SignIn(onlooker),
                Op::Verify(onlooker, Typed::Wrong),
                Op::Verify(onlooker, Typed::Wrong),
                Op::Recover(onlooker, Recovery::Used),
                Op::Recover(b, Recovery::Used),
                Op::Recover(b, Recovery::Used),
                Op::Screen(b),
            ]
        }),
        1 => (b, 1..12usize, prop_oneof![Just(0u64), Just(16), Just(61), Just(901)])
            .prop_map(|(b, n, pause)| {
                let guesses = (0..n).flat_map(|_| [Op::Verify(b, Typed::Wrong), Op::Advance(pause)]);
                std::iter::once(Op::SignIn(b)).chain(guesses).collect()
            }),
    ]
}

/// A browser: whose, the session the service made, and what the model
/// makes of it.
struct Browser {
    user: &'static str,
    real: MfaSession,
    model: Session,
}

struct World {
    mfa: Mfa<Arc<FlakyStore>>,
    store: Arc<FlakyStore>,
    clock: Arc<ManualClock>,
    model: Model,
    browsers: Vec<Browser>,
}

fn said<T>(result: Result<T, MfaError<Failed>>, ok: impl FnOnce(T) -> Said) -> Said {
    match result {
        Ok(value) => ok(value),
        Err(MfaError::Store(_)) => rules::refused(MfaError::Store("failed".into())),
        Err(error) => Said::Refused(format!("{error:?}")),
    }
}

fn expected(result: Result<Said, Refusal>) -> Said {
    result.unwrap_or_else(rules::refused)
}

fn shown(screen: Screen) -> Shown {
    match screen {
        Screen::Continue => Shown::Continue,
        Screen::SignInAgain => Shown::SignInAgain,
        Screen::EnterCode { gate, .. } => Shown::EnterCode(gate),
        Screen::CompanyAccountVerification { deadline } => {
            Shown::CompanyAccountVerification(deadline)
        }
        Screen::ScanQr { enrollment, .. } => {
            Shown::ScanQr(enrollment.secret().expose_base32().to_string())
        }
        Screen::SecondCode { next_code_in, .. } => Shown::SecondCode(next_code_in),
        Screen::RecordRecoveryCode { codes, .. } => {
            Shown::RecordRecoveryCode(codes.iter().map(|c| c.expose_str().to_owned()).collect())
        }
        other => panic!("a screen the model does not know: {other:?}"),
    }
}

impl World {
    fn new(seed: u64) -> World {
        let store = Arc::new(FlakyStore::default());
        let clock = Arc::new(ManualClock::new(START));
        let mfa = Mfa::with_config(
            store.clone(),
            Keyring::new(1, &[5; 32]),
            twostep::Config::default()
                .with_clock(clock.clone())
                .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
        );
        mfa.create_company("co", &[OWNER]).unwrap();
        mfa.add_member("co", USERS[1]).unwrap();
        let mut model = Model::new(START);
        let browsers = [0, 0, 1, 1]
            .into_iter()
            .map(|u| Browser {
                user: USERS[u],
                real: mfa.start_session(USERS[u]).unwrap(),
                model: model.sign_in(USERS[u]),
            })
            .collect();
        World {
            mfa,
            store,
            clock,
            model,
            browsers,
        }
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    fn screen(&self, b: usize) -> Shown {
        let browser = &self.browsers[b];
        shown(
            self.mfa
                .current_screen(browser.user, Some("co"), &browser.real)
                .unwrap(),
        )
    }

    /// What the model learns from a screen the service drew: a secret or
    /// codes it could not know (drawn at random, or in a lost answer).
    fn learn(&mut self, user: &str, seen: &Shown) {
        match seen {
            Shown::ScanQr(secret) => self.model.learn_secret(user, secret.clone()),
            Shown::RecordRecoveryCode(codes) => self.model.learn_codes(user, codes),
            _ => {}
        }
    }

    /// `actual` agrees with `expected`, where the model leaves unknown
    /// what the service draws at random (an empty secret or code list).
    fn agree(expected: &Said, actual: &Said) -> bool {
        match (expected, actual) {
            (Said::Screen(e), Said::Screen(a)) => Self::agree_screen(e, a),
            (Said::Codes(e), Said::Codes(_)) if e.is_empty() => true,
            (
                Said::Recovered { retried, code },
                Said::Recovered {
                    retried: actual_retried,
                    ..
                },
            ) if code.is_empty() => retried == actual_retried,
            _ => expected == actual,
        }
    }

    fn agree_screen(expected: &Shown, actual: &Shown) -> bool {
        match (expected, actual) {
            (Shown::ScanQr(e), Shown::ScanQr(_)) if e.is_empty() => true,
            (Shown::RecordRecoveryCode(e), Shown::RecordRecoveryCode(a)) if e.is_empty() => {
                a.len() <= 1
            }
            _ => expected == actual,
        }
    }

    fn step(&mut self, op: &Op, fault: Fault) -> Result<(), TestCaseError> {
        *self.store.fault.lock().unwrap() = Some(fault).filter(|f| *f != Fault::None);
        let now = self.now();
        let (user, b) = match op {
            Op::SignIn(b)
            | Op::Screen(b)
            | Op::Begin(b, _)
            | Op::Code(b, _)
            | Op::Second(b, _)
            | Op::Tick(b)
            | Op::Verify(b, _)
            | Op::Recover(b, _)
            | Op::Regenerate(b)
            | Op::Require(b, _, _)
            | Op::Reset(b)
            | Op::Unlock(b)
            | Op::RemoveOwn(b)
            | Op::EndSessions(b) => (self.browsers[*b].user, *b),
            Op::Advance(_) | Op::Fail(_) => (OWNER, 0),
        };
        let (mfa, model) = (&self.mfa, &mut self.model);
        let browser = &mut self.browsers[b];
        let (expect, actual) = match *op {
            Op::Advance(secs) => {
                self.clock.advance(secs);
                model.now = self.clock.now();
                return Ok(());
            }
            Op::Fail(_) => return Ok(()),
            Op::SignIn(_) => {
                browser.real = mfa.start_session(user).unwrap();
                browser.model = model.sign_in(user);
                (Said::Done, Said::Done)
            }
            Op::Screen(_) => {
                let seen = shown(mfa.current_screen(user, Some("co"), &browser.real).unwrap());
                (
                    Said::Screen(model.screen(&browser.model)),
                    Said::Screen(seen),
                )
            }
            Op::Begin(_, two) => {
                let check = if two {
                    EnrollmentCheck::TwoCodes
                } else {
                    EnrollmentCheck::OneCode
                };
                let builder = Enrollment::builder("Acme", user);
                let answer = mfa.begin_enrollment(user, &browser.real, builder, check);
                let e = expected(model.begin(&browser.model, two, fault));
                if let Ok(enrollment) = &answer {
                    model.learn_secret(user, enrollment.secret().expose_base32().to_string());
                }
                (e, said(answer, |_| Said::Done))
            }
            Op::Code(_, t) | Op::Second(_, t) => {
                let second = matches!(op, Op::Second(..));
                let secret = model.enrollment_secret(user).map(str::to_owned);
                let typed = typed_at(now, secret.as_deref(), t);
                let app = App::new(secret.as_deref().unwrap_or(STRANGER));
                let answer = if second {
                    mfa.confirm_second_code(user, &browser.real, &typed)
                } else {
                    mfa.confirm_enrollment(user, &browser.real, &typed)
                };
                let e =
                    expected(model.enrollment_code(&browser.model, second, &typed, &app, fault));
                let a = said(answer, |c| {
                    Said::Screen(match c {
                        Confirmed::SecondCode { next_code_in } => Shown::SecondCode(next_code_in),
                        Confirmed::RecordRecoveryCode { codes } => Shown::RecordRecoveryCode(
                            codes.iter().map(|c| c.expose_str().to_owned()).collect(),
                        ),
                        other => panic!("{other:?}"),
                    })
                });
                (e, a)
            }
            Op::Tick(_) => {
                let answer = mfa.acknowledge_recovery(user, &mut browser.real);
                let e = expected(model.acknowledge(&mut browser.model, fault));
                let a = said(answer, |a| match a {
                    Acknowledged::FactorActivated => Said::Activated,
                    _ => Said::Recorded,
                });
                (e, a)
            }
            Op::Verify(_, t) => {
                let secret = model.factor_secret(user).map(str::to_owned);
                let typed = typed_at(now, secret.as_deref(), t);
                let app = App::new(secret.as_deref().unwrap_or(STRANGER));
                let answer = mfa.verify(user, &mut browser.real, &typed);
                let e = expected(model.verify(&mut browser.model, &typed, &app, fault));
                (e, said(answer, |v| Said::Verified(v.step)))
            }
            Op::Recover(_, r) => {
                let (current, used) = model.recovery_codes(user);
                let wrong = "00000-00000-00000-00000-00000".to_owned();
                let typed = match r {
                    Recovery::Current => current.unwrap_or(wrong),
                    Recovery::Used => used.unwrap_or(wrong),
                    Recovery::Wrong => wrong,
                };
                let answer = mfa.use_recovery_code(user, &mut browser.real, &typed);
                let e = expected(model.recover(&mut browser.model, &typed, fault));
                let a = said(answer, |u| Said::Recovered {
                    retried: u.retried,
                    code: u
                        .new_code
                        .map(|c| c.expose_str().to_owned())
                        .unwrap_or_default(),
                });
                if let Said::Recovered { code, .. } = &a {
                    model.learn_codes(user, std::slice::from_ref(code));
                }
                (e, a)
            }
            Op::Regenerate(_) => {
                let answer = mfa.regenerate_recovery_codes(user, &browser.real);
                let e = expected(model.regenerate(&browser.model, fault));
                let a = said(answer, |codes| {
                    Said::Codes(codes.iter().map(|c| c.expose_str().to_owned()).collect())
                });
                if let Said::Codes(codes) = &a {
                    model.learn_codes(user, codes);
                }
                (e, a)
            }
            Op::Require(_, on, grace) => {
                let requirement = if on {
                    Requirement::On {
                        grace_period: grace,
                    }
                } else {
                    Requirement::Off
                };
                let answer = mfa.set_mfa_requirement("co", user, &browser.real, requirement);
                let e = expected(model.require(&browser.model, on, grace, fault));
                (e, said(answer, |p| Said::Requires(p.requires_mfa())))
            }
            Op::Reset(_) | Op::Unlock(_) => {
                let target = USERS[1];
                let answer = match op {
                    Op::Reset(_) => mfa.reset_user_mfa("co", user, &browser.real, target),
                    _ => mfa.unlock_member("co", user, &browser.real, target),
                };
                let e = match op {
                    Op::Reset(_) => model.reset(&browser.model, target, fault),
                    _ => model.unlock(&browser.model, target, fault),
                };
                (expected(e), said(answer, |()| Said::Done))
            }
            Op::RemoveOwn(_) => {
                let answer = mfa.remove_own_factor(user, &mut browser.real);
                let e = expected(model.remove_own(&mut browser.model, fault));
                (e, said(answer, |()| Said::Done))
            }
            Op::EndSessions(_) => {
                let answer = mfa.end_sessions(user);
                let e = expected(model.end_sessions(user, fault));
                (e, said(answer, |()| Said::Done))
            }
        };
        *self.store.fault.lock().unwrap() = None;
        if let Said::Screen(seen) = &actual {
            self.learn(user, seen);
        }
        prop_assert!(
            Self::agree(&expect, &actual),
            "{op:?} (fault {fault:?}) at {now}: the model says {expect:?}, the service {actual:?}"
        );
        // After a lost answer the person reloads: what the model could not
        // know (a secret, codes drawn in that write) it learns from there.
        if fault == Fault::AfterWrite {
            let seen = self.screen(b);
            self.learn(user, &seen);
        }
        for b in 0..self.browsers.len() {
            let (user, seen) = (self.browsers[b].user, self.screen(b));
            self.learn(user, &seen);
            let expected = self.model.screen(&self.browsers[b].model);
            prop_assert!(
                Self::agree_screen(&expected, &seen),
                "after {op:?} (fault {fault:?}) at {now}, browser {b} ({user}): the model shows {expected:?}, the service {seen:?}"
            );
        }
        Ok(())
    }
}

fn typed_at(now: u64, secret: Option<&str>, typed: Typed) -> String {
    let step = now / rules::PERIOD;
    let app = App::new(secret.unwrap_or(STRANGER));
    let code = |step| rules::Phone::code(&app, step);
    match typed {
        Typed::Current => code(step),
        Typed::Previous => code(step - 1),
        Typed::Next => code(step + 1),
        Typed::Wrong => format!("{:06}", (step * 7_919) % 1_000_000),
        Typed::Garbage => "12 34".into(),
    }
}

static SEQUENCES: AtomicUsize = AtomicUsize::new(0);
static OPERATIONS: AtomicUsize = AtomicUsize::new(0);

/// Runs one sequence; faults apply to the operation after them.
fn run(ops: &[Op], seed: u64) -> Result<(), TestCaseError> {
    let mut world = World::new(seed);
    let mut fault = Fault::None;
    for op in ops {
        if let Op::Fail(next) = op {
            fault = *next;
            continue;
        }
        world.step(op, fault)?;
        fault = Fault::None;
        OPERATIONS.fetch_add(1, Ordering::Relaxed);
    }
    SEQUENCES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

#[test]
fn the_service_tells_the_models_story() {
    let cases = std::env::var("TWOSTEP_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let ops = proptest::collection::vec(chunk(), 1..60)
        .prop_map(|chunks| chunks.into_iter().flatten().collect::<Vec<_>>());
    let result = runner.run(&(ops, any::<u64>()), |(ops, seed)| run(&ops, seed));
    let (sequences, operations) = (
        SEQUENCES.load(Ordering::Relaxed),
        OPERATIONS.load(Ordering::Relaxed),
    );
    println!("model: {sequences} sequences, {operations} operations agreed with the service");
    match result {
        Err(proptest::test_runner::TestError::Fail(why, (ops, seed))) => {
            panic!("{why}\nthe shortest sequence found (seed {seed}):\n{ops:#?}")
        }
        Err(other) => panic!("{other}"),
        Ok(()) => {}
    }
}
