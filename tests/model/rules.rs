//! The rules of twostep as a small state machine, written from the help
//! page and the guides, not from the code: what each call answers, which
//! screen a person is on, and what changes. `tests/model.rs` runs random
//! sequences through the service and this model side by side.
//!
//! One company, "co": its owner "ann" and its member "bo". Codes come from
//! phones the model knows (it computes their codes with the RFC 6238
//! arithmetic, tested on its own against the RFC's vectors); secrets and
//! recovery codes the service draws at random are learnt from its answers
//! and screens, never predicted.

use twostep::screen::EnrollmentStage;
use twostep::throttle::Gate;
use twostep::MfaError;

/// Seconds per step; codes of the current step and one on each side count.
pub const PERIOD: u64 = 30;
/// A QR code waits this long for its first code.
const ENROLLMENT_TTL: u64 = 10 * 60;
/// A used single recovery code retries for this long, once, in its session.
const RECOVERY_RETRY: u64 = 10 * 60;
/// Owner actions and changes to one's own MFA within this long after a
/// second factor need no new code.
const SUDO_WINDOW: u64 = 10 * 60;
/// README: "3 free attempts, then 15 s doubling to 15 min, then a lockout
/// after 10 failures".
const FREE: u32 = 3;
const LOCKOUT: u32 = 10;

pub type Refusal = MfaError<String>;

/// The documented throttle (the security model guide): when the next check may be made.
pub fn gate(failures: u32, last_failure_at: u64, now: u64) -> Gate {
    if failures >= LOCKOUT {
        return Gate::Locked;
    }
    if failures < FREE {
        return Gate::Open;
    }
    let delay = (15u64 << (failures - FREE)).min(15 * 60);
    match (last_failure_at + delay).checked_sub(now) {
        Some(wait) if wait > 0 => Gate::Wait { retry_after: wait },
        _ => Gate::Open,
    }
}

/// A phone: the codes an authenticator app shows for one secret.
pub trait Phone {
    /// The code of `step`.
    fn code(&self, step: u64) -> String;
}

/// What a typed code is, against a phone at `now`: RFC 6238 with one step
/// each side and the replay guard.
#[derive(Debug, PartialEq)]
enum Check {
    Accepted(u64),
    Replayed { next_code_in: u64 },
    Wrong,
    Malformed,
}

fn check(phone: &dyn Phone, typed: &str, now: u64, last: Option<u64>) -> Check {
    if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Check::Malformed;
    }
    let step = now / PERIOD;
    let matching: Vec<u64> = (step.saturating_sub(1)..=step + 1)
        .filter(|s| phone.code(*s) == typed)
        .collect();
    let fresh = matching
        .iter()
        .copied()
        .find(|s| last.is_none_or(|l| *s > l));
    match (fresh, last) {
        (Some(s), _) => Check::Accepted(s),
        (None, Some(l)) if !matching.is_empty() => Check::Replayed {
            next_code_in: ((l + 1) * PERIOD).saturating_sub(now),
        },
        _ => Check::Wrong,
    }
}

/// A screen, as compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    Continue,
    SignInAgain,
    EnterCode(Gate),
    CompanyAccountVerification(Option<u64>),
    ScanQr(String),
    SecondCode(u64),
    RecordRecoveryCode(Vec<String>),
}

/// What a call answered, as compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Said {
    Done,
    Screen(Shown),
    Verified(u64),
    Activated,
    Recorded,
    Recovered { retried: bool, code: String },
    Codes(Vec<String>),
    Requires(bool),
    Refused(String),
}

pub fn refused(error: Refusal) -> Said {
    Said::Refused(format!("{error:?}"))
}

/// The stage an enrollment waits at (named as the help page's screens).
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::enum_variant_names, reason = "the screens' names")]
enum Stage {
    FirstCode { expires_at: u64 },
    SecondCode { first_step: u64 },
    RecoveryCode { last: u64 },
}

#[derive(Clone, Debug)]
struct Enrollment {
    /// The secret (base32), learnt from the answer or the screen.
    secret: Option<String>,
    two_codes: bool,
    stage: Stage,
    failures: u32,
    last_failure_at: u64,
}

#[derive(Clone, Debug)]
struct Factor {
    secret: String,
    last: Option<u64>,
}

/// A used single code, kept for one retry by the session that used it.
#[derive(Clone, Debug)]
struct Replaced {
    code: Option<String>,
    until: u64,
    session: usize,
}

#[derive(Clone, Debug, Default)]
pub struct User {
    stamp: u64,
    factor: Option<Factor>,
    failures: u32,
    last_failure_at: u64,
    enrollment: Option<Enrollment>,
    /// The single recovery code that signs in now (unknown until seen).
    recovery: Option<Option<String>>,
    /// Codes shown and not yet ticked, and the retry of a used one.
    shown: Option<(Option<String>, Option<Replaced>)>,
    /// Codes of steps up to here were used by a removed factor.
    used_until: u64,
    /// The recovery code spent last: the person, and maybe an onlooker,
    /// still know it.
    spent: Option<String>,
    /// Counts what the service draws at random (secrets, recovery codes):
    /// each draw changes the record, even before the model learns it.
    draws: u64,
}

/// A browser's session, as the model understands it.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: &'static str,
    /// Names the session (its nonce).
    pub id: usize,
    stamp: u64,
    second_factor_at: Option<u64>,
}

#[derive(Debug)]
pub struct Model {
    pub now: u64,
    pub users: [User; 2],
    requires_mfa: bool,
    grace_deadline: Option<u64>,
    next_session: usize,
}

pub const USERS: [&str; 2] = ["ann", "bo"];
pub const OWNER: &str = "ann";

fn index(user: &str) -> usize {
    usize::from(user != USERS[0])
}

/// How a save ended, for a call that changes something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The store failed before writing: nothing changed.
    BeforeWrite,
    /// The store wrote, then its answer was lost.
    AfterWrite,
}

/// What a session is worth for its user now.
enum Passed {
    Ended,
    Password,
    SecondFactor(u64),
}

impl Model {
    pub fn new(now: u64) -> Model {
        Model {
            now,
            users: Default::default(),
            requires_mfa: false,
            grace_deadline: None,
            next_session: 0,
        }
    }

    fn user(&self, user: &str) -> &User {
        &self.users[index(user)]
    }

    fn passed(&self, session: &Session) -> Passed {
        if session.stamp != self.user(session.user).stamp {
            return Passed::Ended;
        }
        match session.second_factor_at {
            None => Passed::Password,
            Some(at) => Passed::SecondFactor(at),
        }
    }

    /// A session after the password.
    pub fn sign_in(&mut self, user: &'static str) -> Session {
        self.next_session += 1;
        Session {
            user,
            id: self.next_session,
            stamp: self.user(user).stamp,
            second_factor_at: None,
        }
    }

    /// The second factor passed in `session`, now.
    fn pass(&self, session: &mut Session) {
        session.stamp = self.user(session.user).stamp;
        session.second_factor_at = Some(self.now);
    }

    /// A session past its user's second factor within the sudo window.
    fn recent(&self, session: &Session) -> Result<(), Refusal> {
        match self.passed(session) {
            Passed::Ended => Err(MfaError::SessionEnded),
            _ if self.user(session.user).factor.is_none() => Err(MfaError::NoFactor),
            Passed::SecondFactor(at) if self.now < at + SUDO_WINDOW => Ok(()),
            Passed::SecondFactor(_) => Err(MfaError::RecentSecondFactorRequired),
            Passed::Password => Err(MfaError::SecondFactorRequired),
        }
    }

    /// The screen `session` is on (the help page's order).
    pub fn screen(&self, session: &Session) -> Shown {
        let user = self.user(session.user);
        let passed = match self.passed(session) {
            Passed::Ended => return Shown::SignInAgain,
            Passed::Password => false,
            Passed::SecondFactor(_) => true,
        };
        if user.factor.is_some() {
            if !passed {
                return Shown::EnterCode(gate(user.failures, user.last_failure_at, self.now));
            }
            return match &user.shown {
                Some((code, _)) => Shown::RecordRecoveryCode(code.iter().cloned().collect()),
                None => Shown::Continue,
            };
        }
        if let Some(enrollment) = &user.enrollment {
            match &enrollment.stage {
                Stage::FirstCode { expires_at } if self.now < *expires_at => {
                    return Shown::ScanQr(enrollment.secret.clone().unwrap_or_default())
                }
                Stage::FirstCode { .. } => {}
                Stage::SecondCode { first_step } => {
                    return Shown::SecondCode(((first_step + 1) * PERIOD).saturating_sub(self.now))
                }
                Stage::RecoveryCode { .. } => {
                    let code = user.shown.as_ref().and_then(|(code, _)| code.clone());
                    return Shown::RecordRecoveryCode(code.into_iter().collect());
                }
            }
        }
        if self.requires_mfa {
            let deadline = self.grace_deadline.filter(|d| self.now < *d);
            return Shown::CompanyAccountVerification(deadline);
        }
        Shown::Continue
    }

    /// Applies `change` to a copy of the user's record; if it changed
    /// anything, the save meets `fault`. The answer, as the service gives it.
    fn update(
        &mut self,
        user: &str,
        fault: Fault,
        change: impl FnOnce(&mut User, u64) -> Result<Said, Refusal>,
    ) -> (Result<Said, Refusal>, bool) {
        let mut record = self.users[index(user)].clone();
        let answer = change(&mut record, self.now);
        let changed = format!("{record:?}") != format!("{:?}", self.users[index(user)]);
        if !changed {
            return (answer, true);
        }
        match fault {
            Fault::None => {
                self.users[index(user)] = record;
                (answer, true)
            }
            Fault::BeforeWrite => (Err(MfaError::Store("failed".into())), false),
            Fault::AfterWrite => {
                self.users[index(user)] = record;
                (Err(MfaError::Store("failed".into())), false)
            }
        }
    }

    /// "Activate" / "Verify identity": a new QR code. `secret` is the one
    /// the service drew (learnt from its answer, or later from the screen).
    pub fn begin(
        &mut self,
        session: &Session,
        two_codes: bool,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        if let Passed::Ended = self.passed(session) {
            return Err(MfaError::SessionEnded);
        }
        self.update(session.user, fault, |user, now| {
            if user.factor.is_some() {
                return Err(MfaError::FactorExists);
            }
            user.enrollment = Some(Enrollment {
                secret: None,
                two_codes,
                stage: Stage::FirstCode {
                    expires_at: now + ENROLLMENT_TTL,
                },
                failures: 0,
                last_failure_at: 0,
            });
            user.recovery = None;
            user.shown = None;
            user.draws += 1;
            Ok(Said::Done)
        })
        .0
    }

    /// Learns the secret of `user`'s new enrollment.
    pub fn learn_secret(&mut self, user: &str, secret: String) {
        if let Some(enrollment) = &mut self.users[index(user)].enrollment {
            enrollment.secret.get_or_insert(secret);
        }
    }

    /// Learns recovery codes seen on a screen or in an answer: a code the
    /// model did not know yet takes the value seen.
    pub fn learn_codes(&mut self, user: &str, seen: &[String]) {
        let user = &mut self.users[index(user)];
        let Some(first) = seen.first() else { return };
        if let Some((code @ None, _)) = &mut user.shown {
            *code = Some(first.clone());
        }
        if let Some(current @ None) = &mut user.recovery {
            *current = Some(first.clone());
        }
    }

    /// The secret of `user`'s enrollment, if the model knows it.
    pub fn enrollment_secret(&self, user: &str) -> Option<&str> {
        self.user(user).enrollment.as_ref()?.secret.as_deref()
    }

    /// The secret of `user`'s active factor.
    pub fn factor_secret(&self, user: &str) -> Option<&str> {
        Some(&self.user(user).factor.as_ref()?.secret)
    }

    /// The recovery code that signs `user` in now, and the one spent last.
    pub fn recovery_codes(&self, user: &str) -> (Option<String>, Option<String>) {
        let user = self.user(user);
        (user.recovery.clone().flatten(), user.spent.clone())
    }

    /// The QR window's Continue (`second`: the later code's Continue).
    pub fn enrollment_code(
        &mut self,
        session: &Session,
        second: bool,
        typed: &str,
        phone: &dyn Phone,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        if let Passed::Ended = self.passed(session) {
            return Err(MfaError::SessionEnded);
        }
        self.update(session.user, fault, |user, now| {
            if user.factor.is_some() {
                return Err(MfaError::FactorExists);
            }
            let Some(enrollment) = &mut user.enrollment else {
                return Err(MfaError::NoEnrollment);
            };
            let last = match (&enrollment.stage, second) {
                (Stage::FirstCode { expires_at }, _) if now >= *expires_at => {
                    return Err(MfaError::EnrollmentExpired)
                }
                // Never a code a removed factor already used.
                (Stage::FirstCode { .. }, false) => {
                    user.used_until.checked_sub(1).map(|t| t / PERIOD)
                }
                (Stage::SecondCode { first_step }, true) => Some(*first_step),
                (Stage::FirstCode { .. }, true) => {
                    return Err(MfaError::OutOfOrder {
                        open: EnrollmentStage::FirstCode,
                    })
                }
                (Stage::SecondCode { .. }, false) => {
                    return Err(MfaError::OutOfOrder {
                        open: EnrollmentStage::SecondCode,
                    })
                }
                (Stage::RecoveryCode { .. }, _) => {
                    return Err(MfaError::OutOfOrder {
                        open: EnrollmentStage::RecoveryCode,
                    })
                }
            };
            match gate(enrollment.failures, enrollment.last_failure_at, now) {
                Gate::Wait { retry_after } => return Err(MfaError::Throttled { retry_after }),
                Gate::Locked => return Err(MfaError::Locked),
                Gate::Open => {}
            }
            let refusal = match check(phone, typed, now, last) {
                Check::Accepted(step) if enrollment.two_codes && !second => {
                    enrollment.stage = Stage::SecondCode { first_step: step };
                    enrollment.failures = 0;
                    return Ok(Said::Screen(Shown::SecondCode(
                        ((step + 1) * PERIOD).saturating_sub(now),
                    )));
                }
                Check::Accepted(step) => {
                    enrollment.stage = Stage::RecoveryCode { last: step };
                    enrollment.failures = 0;
                    user.recovery = Some(None);
                    user.shown = Some((None, None));
                    user.draws += 1;
                    return Ok(Said::Screen(Shown::RecordRecoveryCode(Vec::new())));
                }
                Check::Replayed { next_code_in } => {
                    return Err(MfaError::Replayed { next_code_in })
                }
                Check::Wrong => MfaError::Mismatch,
                Check::Malformed => MfaError::Malformed,
            };
            // A wrong code counts against the enrollment, not the factor;
            // at the lockout the enrollment is void.
            enrollment.failures += 1;
            enrollment.last_failure_at = now;
            if enrollment.failures >= LOCKOUT {
                user.enrollment = None;
                return Err(MfaError::EnrollmentLocked);
            }
            Err(refusal)
        })
        .0
    }

    /// "I have safely recorded this number" → Continue.
    pub fn acknowledge(&mut self, session: &mut Session, fault: Fault) -> Result<Said, Refusal> {
        let passed = self.passed(session);
        if let Passed::Ended = passed {
            return Err(MfaError::SessionEnded);
        }
        let second_factor = matches!(passed, Passed::SecondFactor(_));
        let (answer, answered) = self.update(session.user, fault, |user, now| {
            if user.factor.is_some() {
                if !second_factor {
                    return Err(MfaError::SecondFactorRequired);
                }
                return match user.shown.take() {
                    Some(_) => Ok(Said::Recorded),
                    None => Err(MfaError::NothingToAcknowledge),
                };
            }
            let Some(enrollment) = user.enrollment.take() else {
                return Err(MfaError::NothingToAcknowledge);
            };
            let last = match enrollment.stage {
                Stage::RecoveryCode { last } => last,
                Stage::FirstCode { expires_at } if now >= expires_at => {
                    user.enrollment = Some(enrollment);
                    return Err(MfaError::EnrollmentExpired);
                }
                Stage::FirstCode { .. } => {
                    user.enrollment = Some(enrollment);
                    return Err(MfaError::OutOfOrder {
                        open: EnrollmentStage::FirstCode,
                    });
                }
                Stage::SecondCode { .. } => {
                    user.enrollment = Some(enrollment);
                    return Err(MfaError::OutOfOrder {
                        open: EnrollmentStage::SecondCode,
                    });
                }
            };
            // The factor is active: every other session is over.
            user.factor = Some(Factor {
                secret: enrollment.secret.unwrap_or_default(),
                last: Some(last),
            });
            user.shown = None;
            user.stamp += 1;
            user.failures = 0;
            Ok(Said::Activated)
        });
        if answered && matches!(answer, Ok(Said::Activated)) {
            self.pass(session);
        }
        answer
    }

    /// A one-time code at sign-in (or to pass the second factor again).
    pub fn verify(
        &mut self,
        session: &mut Session,
        typed: &str,
        phone: &dyn Phone,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        if let Passed::Ended = self.passed(session) {
            return Err(MfaError::SessionEnded);
        }
        let (answer, answered) = self.update(session.user, fault, |user, now| {
            let Some(factor) = &mut user.factor else {
                return Err(MfaError::NoFactor);
            };
            match gate(user.failures, user.last_failure_at, now) {
                Gate::Wait { retry_after } => return Err(MfaError::Throttled { retry_after }),
                Gate::Locked => return Err(MfaError::Locked),
                Gate::Open => {}
            }
            let refusal = match check(phone, typed, now, factor.last) {
                Check::Accepted(step) => {
                    factor.last = Some(step);
                    user.failures = 0;
                    return Ok(Said::Verified(step));
                }
                Check::Replayed { next_code_in } => {
                    return Err(MfaError::Replayed { next_code_in })
                }
                Check::Wrong => MfaError::Mismatch,
                Check::Malformed => MfaError::Malformed,
            };
            user.failures += 1;
            user.last_failure_at = now;
            Err(refusal)
        });
        if answered && matches!(answer, Ok(Said::Verified(_))) {
            self.pass(session);
        }
        answer
    }

    /// "Use a recovery code": never throttled, never counted; spent once;
    /// the used code retries once, in the session that used it, for ten
    /// minutes and until the tick, without touching the failure count.
    pub fn recover(
        &mut self,
        session: &mut Session,
        typed: &str,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        if let Passed::Ended = self.passed(session) {
            return Err(MfaError::SessionEnded);
        }
        let id = session.id;
        let (answer, answered) = self.update(session.user, fault, |user, now| {
            let (Some(_), Some(current)) = (&user.factor, &user.recovery) else {
                return Err(MfaError::NoFactor);
            };
            if current.as_deref() == Some(typed) {
                let used = current.clone();
                user.spent.clone_from(&used);
                user.recovery = Some(None);
                user.shown = Some((
                    None,
                    Some(Replaced {
                        code: used,
                        until: now + RECOVERY_RETRY,
                        session: id,
                    }),
                ));
                user.failures = 0;
                user.draws += 1;
                return Ok(Said::Recovered {
                    retried: false,
                    code: String::new(),
                });
            }
            let retry = match &mut user.shown {
                Some((shown, replaced @ Some(_))) => {
                    let r = replaced.as_ref().filter(|r| {
                        r.session == id && now < r.until && r.code.as_deref() == Some(typed)
                    });
                    if r.is_some() {
                        *replaced = None;
                        Some(shown.clone().unwrap_or_default())
                    } else {
                        None
                    }
                }
                _ => None,
            };
            match retry {
                Some(code) => Ok(Said::Recovered {
                    retried: true,
                    code,
                }),
                None => Err(MfaError::Mismatch),
            }
        });
        if answered && matches!(answer, Ok(Said::Recovered { .. })) {
            self.pass(session);
        }
        answer
    }

    /// New recovery codes, for a session past the second factor recently.
    pub fn regenerate(&mut self, session: &Session, fault: Fault) -> Result<Said, Refusal> {
        self.recent(session)?;
        self.update(session.user, fault, |user, _| {
            user.recovery = Some(None);
            user.shown = Some((None, None));
            user.draws += 1;
            Ok(Said::Codes(Vec::new()))
        })
        .0
    }

    /// The owner's "Save changes" of "Force every user to use MFA".
    pub fn require(
        &mut self,
        session: &Session,
        on: bool,
        grace: u64,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        if session.user != OWNER {
            return Err(MfaError::NotOwner);
        }
        match self.recent(session) {
            Err(MfaError::NoFactor) => return Err(MfaError::OwnMfaRequired),
            other => other?,
        }
        if on == self.requires_mfa {
            return Ok(Said::Requires(on));
        }
        match fault {
            Fault::BeforeWrite => return Err(MfaError::Store("failed".into())),
            Fault::AfterWrite | Fault::None => {
                self.requires_mfa = on;
                self.grace_deadline = (on && grace > 0).then(|| self.now + grace);
            }
        }
        if fault == Fault::AfterWrite {
            return Err(MfaError::Store("failed".into()));
        }
        Ok(Said::Requires(on))
    }

    /// An owner's "Reset MFA" of a member: their factor, enrollment and
    /// codes gone, every session of theirs over.
    pub fn reset(
        &mut self,
        session: &Session,
        target: &str,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        self.owner_acting(session)?;
        if target == OWNER {
            return Err(MfaError::CannotResetOwner);
        }
        self.update(target, fault, |user, _| {
            clear(user);
            Ok(Said::Done)
        })
        .0
    }

    /// An owner ends a member's lockout.
    pub fn unlock(
        &mut self,
        session: &Session,
        target: &str,
        fault: Fault,
    ) -> Result<Said, Refusal> {
        self.owner_acting(session)?;
        self.update(target, fault, |user, _| {
            user.failures = 0;
            Ok(Said::Done)
        })
        .0
    }

    /// "Sign out everywhere": every session of `user` from before is over;
    /// nothing else changes.
    pub fn end_sessions(&mut self, user: &str, fault: Fault) -> Result<Said, Refusal> {
        self.update(user, fault, |user, _| {
            user.stamp += 1;
            Ok(Said::Done)
        })
        .0
    }

    fn owner_acting(&self, session: &Session) -> Result<(), Refusal> {
        if session.user != OWNER {
            return Err(MfaError::NotOwner);
        }
        self.recent(session)
    }

    /// A person turns their own MFA off: never while the company requires
    /// it; in a session past the second factor recently, which goes on.
    pub fn remove_own(&mut self, session: &mut Session, fault: Fault) -> Result<Said, Refusal> {
        if self.requires_mfa {
            return Err(MfaError::RequiredByCompany);
        }
        self.recent(session)?;
        let (answer, answered) = self.update(session.user, fault, |user, _| {
            clear(user);
            Ok(Said::Done)
        });
        if answered && answer.is_ok() {
            session.stamp = self.user(session.user).stamp;
            session.second_factor_at = None;
        }
        answer
    }
}

/// The user back to no MFA: every session over; what stays is the time up
/// to which codes were used.
fn clear(user: &mut User) {
    let used = user
        .factor
        .as_ref()
        .and_then(|f| f.last)
        .map_or(0, |last| (last + 1) * PERIOD);
    *user = User {
        stamp: user.stamp + 1,
        used_until: user.used_until.max(used),
        draws: user.draws,
        spent: user.spent.take(),
        ..User::default()
    };
}
