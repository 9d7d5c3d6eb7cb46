//! Which screen the stored state puts a person on, so that a host renders
//! every step from the crate's state alone: after a reload, in a second
//! tab, after a lost answer, or when the person signs in again tomorrow.

use crate::drift::ClockDrift;
use crate::enrollment::Enrollment;
use crate::policy::{self, CompanyPolicy, MemberMfa, SignInRequirement};
use crate::recovery::RecoveryCode;
use crate::throttle::{Gate, ThrottlePolicy};
use crate::words::seconds_for_people;

use super::enrollment::Stage;
use super::{Context, MfaRecord, Refusal};
use crate::session::{MfaSession, SessionCheck};

/// The screen a person is on, decided from the stored state alone by
/// [`Mfa::current_screen`](crate::Mfa::current_screen), and returned by the
/// enrollment steps as the screen that comes next.
///
/// Each variant carries what the screen shows, and
/// [`title`](Screen::title) and [`for_person`](Screen::for_person) give its
/// default English wording.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "one per request, matched at once; a Box would only burden hosts' patterns"
)]
pub enum Screen {
    /// Nothing more to ask: let the person in.
    Continue,
    /// The session is over: it was made before the user's MFA changed (an
    /// owner's reset, a removal, a new factor), or it is not this user's.
    /// End it and ask for the password again.
    SignInAgain,
    /// "Enter the code from your authenticator app", or "Use a recovery
    /// code": the person has an active factor and has not passed it in this
    /// session.
    EnterCode {
        /// Whether a code may be checked now; [`Gate::Locked`] means only a
        /// recovery code (or an owner's unlock) helps.
        gate: Gate,
        /// The phone's clock, when its codes keep matching a neighbouring
        /// time step: worth a line on the screen.
        clock_drift: Option<ClockDrift>,
    },
    /// "Company Account Verification" with "Verify identity": the company
    /// requires MFA and no enrollment is in progress. "Verify identity"
    /// calls [`Mfa::begin_enrollment`](crate::Mfa::begin_enrollment).
    CompanyAccountVerification {
        /// Within a grace period, the Unix time until which the person may
        /// still go on without MFA; `None`: nothing else is reachable.
        deadline: Option<u64>,
    },
    /// The QR code window: scan, then enter the one-time code. The same
    /// secret and QR code every time it is shown, until it expires.
    ScanQr {
        /// The QR code ([`Enrollment::qr`]), the key to type by hand
        /// ([`Enrollment::secret`]) and its parameters.
        enrollment: Enrollment,
    },
    /// "Enter a one-time code from the authenticator app": a code of a later
    /// time step than the first ([`EnrollmentCheck::TwoCodes`](crate::EnrollmentCheck)).
    SecondCode {
        /// Seconds until the app shows a code that can follow the first.
        next_code_in: u64,
    },
    /// The recovery code window: the code(s) to record, and the "I have
    /// safely recorded this number" tick before Continue
    /// ([`Mfa::acknowledge_recovery`](crate::Mfa::acknowledge_recovery)).
    RecordRecoveryCode {
        /// The codes, the same every time until the tick. Empty only for
        /// codes shown by a `twostep` that kept no copy (record format 2).
        codes: Vec<RecoveryCode>,
    },
}

impl Screen {
    /// The screen's default English title.
    pub fn title(&self) -> &'static str {
        match self {
            Screen::Continue => "Signed in",
            Screen::SignInAgain => "Sign in again",
            Screen::EnterCode { .. } => "Multi-Factor Authentication",
            Screen::CompanyAccountVerification { .. } => "Company Account Verification",
            Screen::ScanQr { .. } => "Set up Multi-Factor Authentication",
            Screen::SecondCode { .. } => "Enter a one-time code",
            Screen::RecordRecoveryCode { .. } => "Copy provided recovery code",
        }
    }

    /// The screen's default English instruction for the person, with its
    /// numbers filled in.
    pub fn for_person(&self) -> String {
        match self {
            Screen::Continue => "You are signed in.".into(),
            Screen::SignInAgain => "Your account's Multi-Factor Authentication changed since you \
                 signed in. Sign in again to continue."
                .into(),
            Screen::EnterCode {
                gate: Gate::Locked, ..
            } => "Too many wrong codes: one-time codes are locked for this account. \
                  Use a recovery code, or ask an owner of the company account to unlock it."
                .into(),
            Screen::EnterCode {
                gate: Gate::Wait { retry_after },
                ..
            } => format!(
                "Too many wrong codes. You can enter a code again in {}.",
                seconds_for_people(*retry_after)
            ),
            Screen::EnterCode { .. } => {
                "Enter the one-time code from your authenticator app, or use a recovery code."
                    .into()
            }
            Screen::CompanyAccountVerification { deadline: None } => {
                "Your company account requires Multi-Factor Authentication. \
                 Select Verify identity to set it up before you continue."
                    .into()
            }
            Screen::CompanyAccountVerification { deadline: Some(_) } => {
                "Your company account requires Multi-Factor Authentication. \
                 Select Verify identity to set it up now; you can skip it until the deadline."
                    .into()
            }
            Screen::ScanQr { .. } => "Scan this QR code with your authenticator app, \
                 then enter the one-time code it shows and select Continue."
                .into(),
            Screen::SecondCode { next_code_in: 0 } => {
                "Enter a one-time code from the authenticator app: the next code it shows, \
                 not the one you just entered."
                    .into()
            }
            Screen::SecondCode { next_code_in } => format!(
                "Enter a one-time code from the authenticator app: wait {} for the next code, \
                 not the one you just entered.",
                seconds_for_people(*next_code_in)
            ),
            Screen::RecordRecoveryCode { codes } if codes.len() > 1 => {
                "Copy these recovery codes and keep them safe: each signs you in once if you \
                 lose your phone. Tick \u{201c}I have safely recorded this number\u{201d} to \
                 continue."
                    .into()
            }
            Screen::RecordRecoveryCode { .. } => {
                "Copy this recovery code and keep it safe: it signs you in if you lose your \
                 phone. Tick \u{201c}I have safely recorded this number\u{201d} to continue."
                    .into()
            }
        }
    }
}

impl MfaRecord {
    /// The screen for this record, given the company's policy (if any) and
    /// how far the person got in `session`.
    pub(crate) fn screen(
        &self,
        cx: &Context<'_>,
        company: Option<&CompanyPolicy>,
        session: &MfaSession,
    ) -> Result<Screen, Refusal> {
        let passed = match cx.session(self, session) {
            SessionCheck::Ended => return Ok(Screen::SignInAgain),
            SessionCheck::Password => false,
            SessionCheck::SecondFactor { .. } => true,
        };
        if self.factor.is_some() {
            // Nothing kept for the factor's holder (a replacement recovery
            // code) is shown before the second factor is passed.
            if !passed {
                return Ok(Screen::EnterCode {
                    gate: cx.policy.gate(self.failures, self.last_failure_at, cx.now),
                    clock_drift: self.clock.drift(),
                });
            }
            return match self.shown.as_ref().and_then(|s| s.sealed.as_ref()) {
                Some(sealed) => Ok(Screen::RecordRecoveryCode {
                    codes: cx.open_codes(sealed).map_err(Refusal::Seal)?,
                }),
                None => Ok(Screen::Continue),
            };
        }
        if let Some(enrollment) = &self.enrollment {
            match enrollment.stage {
                Stage::FirstCode { expires_at } if cx.now < expires_at => {
                    return Ok(Screen::ScanQr {
                        enrollment: enrollment.rebuild(cx)?,
                    })
                }
                Stage::FirstCode { .. } => {} // expired: as if none was begun
                Stage::SecondCode { first_step } => {
                    return Ok(Screen::SecondCode {
                        next_code_in: enrollment.next_code_in(first_step, cx.now),
                    })
                }
                Stage::RecoveryCode { .. } => {
                    let sealed = self.shown.as_ref().and_then(|s| s.sealed.as_ref());
                    let codes = match sealed {
                        Some(sealed) => cx.open_codes(sealed).map_err(Refusal::Seal)?,
                        None => Vec::new(),
                    };
                    return Ok(Screen::RecordRecoveryCode { codes });
                }
            }
        }
        Ok(match policy::evaluate(company, false, cx.now) {
            SignInRequirement::EnrollmentRequired => {
                Screen::CompanyAccountVerification { deadline: None }
            }
            SignInRequirement::EnrollmentRequiredBy { deadline } => {
                Screen::CompanyAccountVerification {
                    deadline: Some(deadline),
                }
            }
            _ => Screen::Continue,
        })
    }

    /// The user's MFA state as an owner's enforcement preview shows it.
    pub(crate) fn member_mfa(&self, now: u64, throttle: &ThrottlePolicy) -> MemberMfa {
        if self.factor.is_some() {
            return match throttle.gate(self.failures, self.last_failure_at, now) {
                Gate::Locked => MemberMfa::Locked,
                _ => MemberMfa::Active,
            };
        }
        match self.enrollment.as_ref().and_then(|e| e.open_stage(now)) {
            Some(stage) => MemberMfa::Enrolling(stage),
            None => MemberMfa::NotSetUp,
        }
    }
}
