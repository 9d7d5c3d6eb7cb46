//! One step through the help page's screens: the person's action, applied
//! to the record as the screen they were on asks, and the screen that
//! follows, with the refusal (if any) kept as an answer rather than an
//! error, so the next screen is drawn either way.

use crate::codes::TotpParams;
use crate::keys::session_proof::MfaSession;
use crate::material::secret::Secret;
use crate::rules::company_policy::CompanyPolicy;
use crate::rules::events::Event;

use super::enrolling::{Label, Stage};
use super::{Context, EnrollmentCheck, MfaRecord, Refusal, Screen, Transition};

/// What the person did, as the record's transitions take it.
pub(crate) enum Act<'a> {
    /// A one-time code, for whichever screen asks for one.
    Code(&'a str),
    RecoveryCode(&'a str),
    /// Continue on the recovery code screen, ticked or not.
    Recorded {
        ticked: bool,
    },
    /// A new QR code: the secret drawn for it, and its parameters and the
    /// names it carries (`None`: those of the enrollment in progress,
    /// "Start again").
    Begin {
        secret: &'a Secret,
        setup: Option<(TotpParams, Label)>,
    },
    /// "Not now"; `required`: some company of the person requires MFA.
    NotNow {
        required: bool,
    },
}

/// What a step did: the next screen, the refusal, the session if it
/// passed the second factor. `member` is false when the person is not a
/// member of the company named: a host's mistake, refused as an error.
pub(crate) struct Stepped {
    pub(crate) screen: Screen,
    pub(crate) refused: Option<Refusal>,
    pub(crate) passed: Option<MfaSession>,
}

/// Whether `refusal` is an answer to show beside the screen (not the
/// infrastructure failing).
fn is_answer(refusal: &Refusal) -> bool {
    !matches!(
        refusal,
        Refusal::Seal(_) | Refusal::Label(_) | Refusal::WeakSecret { .. } | Refusal::BeforeT0
    )
}

impl MfaRecord {
    /// Applies `act` in `session`, then draws the screen that follows from
    /// the record as it now is (for `company`'s policy).
    pub(crate) fn step(
        &mut self,
        cx: &Context<'_>,
        company: Option<&CompanyPolicy>,
        session: &MfaSession,
        act: Act<'_>,
    ) -> Transition<Stepped> {
        let required = company.is_some_and(CompanyPolicy::requires_mfa);
        let (transition, passed): (Transition<()>, Option<MfaSession>) = match act {
            Act::Code(input) => self.code(cx, session, input),
            Act::RecoveryCode(input) => {
                let t = self.recovery_code_in(cx, session, input);
                split(t, |(_, passed)| Some(passed))
            }
            Act::Recorded { ticked: false } => (Transition::refused(Refusal::NotTicked), None),
            Act::Recorded { ticked: true } => {
                let t = self.acknowledge_recovery(cx, session);
                let stamp = self.stamp;
                split(t, |acknowledged| {
                    (acknowledged == super::Acknowledged::FactorActivated)
                        .then(|| session.passed(cx.keyring, cx.user, stamp, cx.now))
                })
            }
            Act::Begin { secret, setup } => {
                // "Start again" keeps the names, parameters and number of
                // codes of the setup in progress; a new one asks two codes
                // where the company requires MFA (the help page's user), one
                // where the person chose it (its owner's own activation).
                let check = if required {
                    EnrollmentCheck::TwoCodes
                } else {
                    EnrollmentCheck::OneCode
                };
                let begun = match (setup, self.enrollment.as_deref()) {
                    (Some((params, label)), _) => Some((params, label, check)),
                    (None, Some(e)) => Some((e.params, e.label.clone(), e.check)),
                    (None, None) => None,
                };
                match begun {
                    Some((params, label, check)) => {
                        let t = self.begin_enrollment(cx, session, secret, params, label, check);
                        (t, None)
                    }
                    None => (Transition::refused(Refusal::NoEnrollment), None),
                }
            }
            Act::NotNow { required } => (self.cancel_enrollment(cx, session, required), None),
        };
        let refused = match transition.outcome {
            Ok(()) => None,
            Err(refusal) if is_answer(&refusal) => Some(refusal),
            Err(refusal) => return Transition::refused(refusal),
        };
        let shown = passed.as_ref().unwrap_or(session);
        let screen = match self.screen(cx, company, shown) {
            Ok(screen) => screen,
            Err(refusal) => return Transition::refused(refusal),
        };
        Transition {
            outcome: Ok(Stepped {
                screen,
                refused,
                passed,
            }),
            changed: transition.changed,
            events: transition.events,
        }
    }

    /// A one-time code, for the screen the record puts the person on: the
    /// sign-in code (or a fresh one to pass the second factor again), the
    /// QR code's, or the later second code.
    fn code(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        input: &str,
    ) -> (Transition<()>, Option<MfaSession>) {
        if self.factor.is_some() {
            return split(self.verify_in(cx, session, input), |(_, passed)| {
                Some(passed)
            });
        }
        let second = matches!(
            self.enrollment.as_deref().map(|e| e.stage),
            Some(Stage::SecondCode { .. })
        );
        let t = if second {
            self.confirm_second_code(cx, session, input)
        } else {
            self.confirm_enrollment(cx, session, input)
        };
        (t.map(|_| ()), None)
    }

    /// "Not now": the enrollment the person started is put off, unless a
    /// company of theirs requires MFA.
    pub(crate) fn cancel_enrollment(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        required: bool,
    ) -> Transition<()> {
        if let Err(refusal) = cx.current_session(self, session) {
            return Transition::refused(refusal);
        }
        if self.factor.is_some() {
            return Transition::refused(Refusal::FactorExists);
        }
        if self.enrollment.is_none() {
            return Transition::refused(Refusal::NoEnrollment);
        }
        if required {
            return Transition::refused(Refusal::RequiredByCompany);
        }
        self.enrollment = None;
        self.recovery = None;
        self.shown = None;
        Transition::changed(Ok(()), [Some(Event::EnrollmentCancelled), None])
    }
}

/// A transition with its success value turned into the session it passed.
fn split<T>(
    transition: Transition<T>,
    passed: impl FnOnce(T) -> Option<MfaSession>,
) -> (Transition<()>, Option<MfaSession>) {
    let mut session = None;
    let t = transition.map(|value| session = passed(value));
    (t, session)
}
