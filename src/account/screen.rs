//! Which screen the stored state puts a person on, so that a host renders
//! every step from the crate's state alone: after a reload, in a second
//! tab, after a lost answer, or when the person signs in again tomorrow.

use crate::material::enrollment_builder::Enrollment;
use crate::rules::clock_drift::ClockDrift;
use crate::rules::company_policy::{self as policy, CompanyPolicy, MemberMfa, SignInRequirement};
use crate::rules::recovery_codes::RecoveryCode;
use crate::rules::throttle::{Gate, ThrottlePolicy};
use crate::words::Message;

use super::enrolling::Stage;
use super::{Context, MfaRecord, Refusal, ShownCodes};
use crate::keys::session_proof::{MfaSession, SessionCheck};

/// The screen a person is on, decided from the stored state alone by
/// [`Mfa::current_screen`](crate::Mfa::current_screen), and returned by the
/// enrollment steps as the screen that comes next.
///
/// Each variant carries what the screen shows; [`title`](Screen::title) and
/// [`message`](Screen::message) give its words, [`forms`](Screen::forms)
/// what it asks for and which [`Action`](crate::Action) each button sends,
/// so one template can draw every screen.
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
        /// The company account requires MFA of the person: the setup cannot
        /// be put off ("Not now" is offered only when this is false).
        required: bool,
    },
    /// "Enter a one-time code from the authenticator app": a code of a later
    /// time step than the first ([`EnrollmentCheck::TwoCodes`](crate::screen::EnrollmentCheck)).
    SecondCode {
        /// Seconds until the app shows a code that can follow the first.
        next_code_in: u64,
        /// As for [`Screen::ScanQr`].
        required: bool,
    },
    /// The recovery code window: the code(s) to record, and the "I have
    /// safely recorded this number" tick before Continue
    /// ([`Mfa::acknowledge_recovery`](crate::Mfa::acknowledge_recovery)).
    RecordRecoveryCode {
        /// The codes, the same every time until the tick. Empty only for
        /// codes shown by a `twostep` that kept no copy (record format 2).
        codes: Vec<RecoveryCode>,
        /// A recovery code was just used to sign in: these replace it, and
        /// the one used will not work again.
        replacement: bool,
    },
}

/// A [`Screen`]'s variant alone, for comparing and matching without its
/// contents (some of which are secrets, which have no `==`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScreenKind {
    /// [`Screen::Continue`]
    Continue,
    /// [`Screen::SignInAgain`]
    SignInAgain,
    /// [`Screen::EnterCode`]
    EnterCode,
    /// [`Screen::CompanyAccountVerification`]
    CompanyAccountVerification,
    /// [`Screen::ScanQr`]
    ScanQr,
    /// [`Screen::SecondCode`]
    SecondCode,
    /// [`Screen::RecordRecoveryCode`]
    RecordRecoveryCode,
}

/// One form of a screen: at most one input, and its buttons, the main one
/// first. A host's template draws `input` as a text field (or the tick)
/// named `code` (the tick a checkbox named `ticked`), and each button as
/// `<button name="action" value="{action}">{label}</button>`; the form's
/// fields then make an [`Action`](crate::Action) with
/// [`Action::from_form`](crate::Action::from_form).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Form {
    /// What the person types or ticks, if anything.
    pub input: Option<Input>,
    /// The buttons, the main one first.
    pub buttons: Vec<Button>,
}

/// What a form asks the person to type or tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Input {
    /// A one-time code: six digits (`autocomplete="one-time-code"`).
    Code,
    /// A recovery code.
    RecoveryCode,
    /// The "I have safely recorded this number" checkbox.
    Tick,
}

impl Input {
    /// The field's label (or the tick's text).
    pub fn label(&self) -> Message {
        match self {
            Input::Code => Message::FieldCode,
            Input::RecoveryCode => Message::FieldRecoveryCode,
            Input::Tick => Message::TickRecorded,
        }
    }
}

/// A button of a form: the words on it, and the action it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Button {
    /// The value of the form's `action` field.
    pub action: &'static str,
    /// The words on the button.
    pub label: Message,
}

impl Button {
    const fn new(action: &'static str, label: Message) -> Button {
        Button { action, label }
    }
}

impl Screen {
    /// The variant alone.
    pub fn kind(&self) -> ScreenKind {
        match self {
            Screen::Continue => ScreenKind::Continue,
            Screen::SignInAgain => ScreenKind::SignInAgain,
            Screen::EnterCode { .. } => ScreenKind::EnterCode,
            Screen::CompanyAccountVerification { .. } => ScreenKind::CompanyAccountVerification,
            Screen::ScanQr { .. } => ScreenKind::ScanQr,
            Screen::SecondCode { .. } => ScreenKind::SecondCode,
            Screen::RecordRecoveryCode { .. } => ScreenKind::RecordRecoveryCode,
        }
    }

    /// The screen's title.
    pub fn title(&self) -> Message {
        match self.kind() {
            ScreenKind::Continue => Message::TitleSignedIn,
            ScreenKind::SignInAgain => Message::TitleSignInAgain,
            ScreenKind::EnterCode => Message::TitleEnterCode,
            ScreenKind::CompanyAccountVerification => Message::TitleVerification,
            ScreenKind::ScanQr => Message::TitleScanQr,
            ScreenKind::SecondCode => Message::TitleSecondCode,
            ScreenKind::RecordRecoveryCode => Message::TitleRecoveryCode,
        }
    }

    /// What the screen tells the person to do, with its numbers.
    pub fn message(&self) -> Message {
        match self {
            Screen::Continue => Message::SignedIn,
            Screen::SignInAgain => Message::SignInAgain,
            Screen::EnterCode {
                gate: Gate::Locked, ..
            } => Message::CodesLocked,
            Screen::EnterCode {
                gate: Gate::Wait { retry_after },
                ..
            } => Message::EnterCodeWait {
                seconds: *retry_after,
            },
            Screen::EnterCode { .. } => Message::EnterCode,
            Screen::CompanyAccountVerification { deadline: None } => Message::VerificationRequired,
            Screen::CompanyAccountVerification { deadline: Some(_) } => {
                Message::VerificationSkippable
            }
            Screen::ScanQr { .. } => Message::ScanQr,
            Screen::SecondCode {
                next_code_in: 0, ..
            } => Message::SecondCodeNow,
            Screen::SecondCode { next_code_in, .. } => Message::SecondCodeWait {
                seconds: *next_code_in,
            },
            Screen::RecordRecoveryCode {
                replacement: true, ..
            } => Message::RecordReplacementCode,
            Screen::RecordRecoveryCode { codes, .. } if codes.len() > 1 => {
                Message::RecordRecoveryCodes
            }
            Screen::RecordRecoveryCode { .. } => Message::RecordRecoveryCode,
        }
    }

    /// [`message`](Self::message) in English.
    pub fn for_person(&self) -> String {
        self.message().english()
    }

    /// What the screen asks for, as forms whose buttons name the
    /// [`Action`](crate::Action) they send: none for [`Screen::Continue`]
    /// and [`Screen::SignInAgain`] (let the person in, or end the
    /// session); two on the code screen (a one-time code, or a recovery
    /// code).
    ///
    /// ```
    /// use twostep::Screen;
    /// use twostep::screen::Input;
    /// use twostep::throttle::Gate;
    /// let screen = Screen::EnterCode { gate: Gate::Open, clock_drift: None };
    /// let forms = screen.forms();
    /// assert_eq!(forms[0].input, Some(Input::Code));
    /// assert_eq!(forms[0].buttons[0].action, "code");
    /// assert_eq!(forms[1].input, Some(Input::RecoveryCode));
    /// ```
    pub fn forms(&self) -> Vec<Form> {
        let form = |input, buttons: &[Button]| Form {
            input,
            buttons: buttons.to_vec(),
        };
        let code = Button::new("code", Message::ButtonContinue);
        let start_again = Button::new("start_again", Message::ButtonStartAgain);
        let not_now = Button::new("not_now", Message::ButtonNotNow);
        let recovery = form(
            Some(Input::RecoveryCode),
            &[Button::new("recovery_code", Message::ButtonUseRecoveryCode)],
        );
        match self {
            Screen::Continue | Screen::SignInAgain => Vec::new(),
            Screen::EnterCode {
                gate: Gate::Locked, ..
            } => vec![recovery],
            Screen::EnterCode { .. } => vec![form(Some(Input::Code), &[code]), recovery],
            Screen::CompanyAccountVerification { .. } => vec![form(
                None,
                &[Button::new("set_up", Message::ButtonVerifyIdentity)],
            )],
            Screen::ScanQr { required, .. } | Screen::SecondCode { required, .. } => {
                let mut buttons = vec![code, start_again];
                if !required {
                    buttons.push(not_now);
                }
                vec![form(Some(Input::Code), &buttons)]
            }
            Screen::RecordRecoveryCode { .. } => vec![form(
                Some(Input::Tick),
                &[Button::new("recorded", Message::ButtonContinue)],
            )],
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
        let required = company.is_some_and(CompanyPolicy::requires_mfa);
        if self.factor.is_some() {
            // Nothing kept for the factor's holder (a replacement recovery
            // code) is shown before the second factor is passed.
            if !passed {
                return Ok(Screen::EnterCode {
                    gate: cx.policy.gate(self.failures, self.last_failure_at, cx.now),
                    clock_drift: self.clock.drift(),
                });
            }
            return match self.shown.as_deref() {
                Some(ShownCodes {
                    sealed: Some(sealed),
                    replacement,
                    ..
                }) => Ok(Screen::RecordRecoveryCode {
                    codes: cx.open_codes(sealed).map_err(Refusal::Seal)?,
                    replacement: *replacement,
                }),
                _ => Ok(Screen::Continue),
            };
        }
        if let Some(enrollment) = &self.enrollment {
            match enrollment.stage {
                Stage::FirstCode { expires_at } if cx.now < expires_at => {
                    return Ok(Screen::ScanQr {
                        enrollment: enrollment.rebuild(cx)?,
                        required,
                    })
                }
                Stage::FirstCode { .. } => {} // expired: as if none was begun
                Stage::SecondCode { first_step } => {
                    return Ok(Screen::SecondCode {
                        next_code_in: enrollment.next_code_in(first_step, cx.now),
                        required,
                    })
                }
                Stage::RecoveryCode { .. } => {
                    let sealed = self.shown.as_ref().and_then(|s| s.sealed.as_ref());
                    let codes = match sealed {
                        Some(sealed) => cx.open_codes(sealed).map_err(Refusal::Seal)?,
                        None => Vec::new(),
                    };
                    return Ok(Screen::RecordRecoveryCode {
                        codes,
                        replacement: false,
                    });
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
