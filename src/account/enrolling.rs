//! The stored enrollment, in the help page's order: the QR code and a first
//! code, a second (later) code when the host asks for one, the recovery code
//! and "I have safely recorded this number"; only then an active factor.
//! Each step is a stored stage, so a step cannot be skipped or reordered
//! across requests, reloads or servers.

use crate::codes::{Code, Totp, TotpParams, VerifyError};
use crate::keys::session_proof::{MfaSession, SessionCheck};
use crate::keys::SealedSecret;
use crate::material::enrollment_builder::Enrollment;
use crate::material::secret::Secret;
use crate::rules::company_policy::EnrollmentStage;
use crate::rules::events::Event;
use crate::rules::recovery_codes::RecoveryCode;
use crate::rules::throttle::ThrottlePolicy;

use super::{counted, gate, Context, Factor, MfaRecord, Refusal, Transition};

/// How many one-time codes an enrollment asks for before the recovery code.
///
/// The help page asks the owner activating their own MFA for one code, and a
/// user meeting "Company Account Verification" for two: a code right after
/// scanning, then a code from a later time step, which shows that the app
/// keeps producing the right codes (its clock runs), not just that one code
/// was read once.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnrollmentCheck {
    /// A code after scanning; then the recovery code.
    #[default]
    OneCode,
    /// A code after scanning, then a code of a later time step; then the
    /// recovery code.
    TwoCodes,
}

/// What the QR code names the factor in the person's app.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Label {
    pub(crate) issuer: String,
    pub(crate) account: String,
}

/// The stage with what it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names, reason = "named as EnrollmentStage's")]
pub(crate) enum Stage {
    FirstCode { expires_at: u64 },
    SecondCode { first_step: u64 },
    RecoveryCode { last_accepted: u64 },
}

impl Stage {
    pub(crate) fn public(self) -> EnrollmentStage {
        match self {
            Stage::FirstCode { .. } => EnrollmentStage::FirstCode,
            Stage::SecondCode { .. } => EnrollmentStage::SecondCode,
            Stage::RecoveryCode { .. } => EnrollmentStage::RecoveryCode,
        }
    }
}

/// An enrollment in progress, as stored.
#[derive(Clone, Debug)]
pub(crate) struct EnrollmentState {
    /// The new secret, sealed like a factor's.
    pub(crate) sealed: SealedSecret,
    pub(crate) params: TotpParams,
    pub(crate) label: Label,
    pub(crate) check: EnrollmentCheck,
    pub(crate) stage: Stage,
    /// Wrong codes for this enrollment: throttled like sign-in codes but
    /// counted apart from them, and gone with the enrollment, so a mistyped
    /// or abandoned enrollment never locks anyone out of enrolling.
    pub(crate) failures: u32,
    pub(crate) last_failure_at: u64,
}

impl EnrollmentState {
    /// The open stage at `now`; `None` once the QR code has expired.
    pub(crate) fn open_stage(&self, now: u64) -> Option<EnrollmentStage> {
        match self.stage {
            Stage::FirstCode { expires_at } if now >= expires_at => None,
            stage => Some(stage.public()),
        }
    }

    /// The enrollment the person scanned, rebuilt from the record: the same
    /// secret, names and parameters, so the same QR code.
    pub(crate) fn rebuild(&self, cx: &Context<'_>) -> Result<Enrollment, Refusal> {
        let secret = cx
            .keyring
            .open(cx.user, &self.sealed)
            .map_err(Refusal::Seal)?;
        Enrollment::builder(self.label.issuer.as_str(), self.label.account.as_str())
            .algorithm(self.params.algorithm())
            .digits(self.params.digits())
            .period(self.params.period())
            .with_secret(secret)
            .map_err(Refusal::Label)
    }

    /// Seconds until the step after `step` begins: when the person's app
    /// shows a code that may follow the first one.
    pub(crate) fn next_code_in(&self, step: u64, now: u64) -> u64 {
        let period = self.params.period().seconds();
        step.saturating_add(1)
            .saturating_mul(period)
            .saturating_add(self.params.t0())
            .saturating_sub(now)
    }
}

/// What an enrollment's code led to: the next of the help page's screens.
#[derive(Debug)]
#[non_exhaustive]
pub enum Confirmed {
    /// "Enter a one-time code from the authenticator app": a code of a later
    /// step is awaited ([`EnrollmentCheck::TwoCodes`]).
    SecondCode {
        /// Seconds until the app shows a code that can follow the first.
        next_code_in: u64,
    },
    /// The codes checked out: the recovery code(s) to record, then the tick
    /// ([`Mfa::acknowledge_recovery`](crate::Mfa::acknowledge_recovery)).
    RecordRecoveryCode {
        /// The codes, shown again by `current_screen` until the tick.
        codes: Vec<RecoveryCode>,
    },
}

/// What "I have safely recorded this number" did.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Acknowledged {
    /// The enrollment is complete: the factor is active from now on. The
    /// person has just proven it with their codes, so the session that
    /// ticked has passed the second factor (the call renewed its
    /// [`MfaSession`](crate::MfaSession)); every other session of the user
    /// is over.
    FactorActivated,
    /// Replacement or regenerated recovery codes are recorded; they are no
    /// longer kept to be shown again.
    CodesRecorded,
}

impl MfaRecord {
    /// Starts (or starts over) an enrollment with `secret`: stored sealed,
    /// waiting for its first code for the context's time to live. Whatever
    /// an earlier enrollment had reached, and its wrong codes, is gone.
    pub(crate) fn begin_enrollment(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        secret: &Secret,
        params: TotpParams,
        label: Label,
        check: EnrollmentCheck,
    ) -> Transition<()> {
        if let Err(refusal) = cx.current_session(self, session) {
            return Transition::refused(refusal);
        }
        if self.factor.is_some() {
            return Transition::refused(Refusal::FactorExists);
        }
        if let Some(weak) = super::signing_in::weak(secret) {
            return Transition::refused(weak);
        }
        let sealed = match cx.seal(secret) {
            Ok(sealed) => sealed,
            Err(error) => return error.into(),
        };
        self.enrollment = Some(Box::new(EnrollmentState {
            sealed,
            params,
            label,
            check,
            stage: Stage::FirstCode {
                expires_at: cx.now.saturating_add(cx.enrollment_ttl),
            },
            failures: 0,
            last_failure_at: 0,
        }));
        // Codes of an earlier, unfinished enrollment, and what an old app's
        // clock looked like, belong to that one.
        self.recovery = None;
        self.shown = None;
        self.clock = Default::default();
        Transition::changed(Ok(()), [Some(Event::EnrollmentStarted), None])
    }

    /// The first code, typed after scanning the QR code.
    pub(crate) fn confirm_enrollment(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        input: &str,
    ) -> Transition<Confirmed> {
        self.enrollment_code(cx, session, EnrollmentStage::FirstCode, input)
    }

    /// The second code, from a later time step than the first.
    pub(crate) fn confirm_second_code(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        input: &str,
    ) -> Transition<Confirmed> {
        self.enrollment_code(cx, session, EnrollmentStage::SecondCode, input)
    }

    /// A code for the code step `step`: refused unless that step is the
    /// open one; throttled by the enrollment's own failures. When it is the
    /// last code step, the recovery codes are issued and kept sealed until
    /// the tick; otherwise the second code step opens.
    fn enrollment_code(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        step: EnrollmentStage,
        input: &str,
    ) -> Transition<Confirmed> {
        if let Err(refusal) = cx.current_session(self, session) {
            return Transition::refused(refusal);
        }
        // An enrollment never replaces an active factor (begin refuses one;
        // this also covers a factor bound after the enrollment began).
        if self.factor.is_some() {
            return Transition::refused(Refusal::FactorExists);
        }
        let Some(enrollment) = &self.enrollment else {
            return Transition::refused(Refusal::NoEnrollment);
        };
        let last_accepted = match (enrollment.stage, step) {
            (Stage::FirstCode { expires_at }, _) if cx.now >= expires_at => {
                return Transition::refused(Refusal::EnrollmentExpired)
            }
            // Never a code a removed factor already used.
            (Stage::FirstCode { .. }, EnrollmentStage::FirstCode) => {
                self.used_step(&enrollment.params)
            }
            (Stage::SecondCode { first_step }, EnrollmentStage::SecondCode) => Some(first_step),
            (open, _) => {
                return Transition::refused(Refusal::OutOfOrder {
                    open: open.public(),
                })
            }
        };
        let (failures, last_failure_at) = (enrollment.failures, enrollment.last_failure_at);
        if let Some(refused) = gate(cx, failures, last_failure_at, ThrottlePolicy::gate) {
            return refused;
        }
        let params = enrollment.params;
        let code = match Code::parse(input, params.digits()) {
            Ok(code) => code,
            Err(error) => return self.refuse_enrollment(cx, error),
        };
        let secret = match cx.keyring.open(cx.user, &enrollment.sealed) {
            Ok(secret) => secret,
            Err(error) => return error.into(),
        };
        // The second code must be of a later step than the first: the first
        // one's step is passed as the last accepted.
        let totp = Totp::new(&secret, params);
        let verified = match totp.verify(cx.now, &code, cx.window, last_accepted) {
            Ok(verified) => verified,
            Err(error) => return self.refuse_enrollment(cx, error),
        };
        let two_codes = enrollment.check == EnrollmentCheck::TwoCodes;
        if step == EnrollmentStage::FirstCode && two_codes {
            let next_code_in = enrollment.next_code_in(verified.step, cx.now);
            self.clock
                .observe(&params, verified.step, verified.drift, cx.now);
            if let Some(enrollment) = &mut self.enrollment {
                enrollment.stage = Stage::SecondCode {
                    first_step: verified.step,
                };
                enrollment.failures = 0;
            }
            return Transition::changed(
                Ok(Confirmed::SecondCode { next_code_in }),
                [Some(Event::EnrollmentFirstCodeAccepted), None],
            );
        }
        let (codes, recovery, sealed) = match cx.issue_recovery() {
            Ok(issued) => issued,
            Err(error) => return error.into(),
        };
        self.clock
            .observe(&params, verified.step, verified.drift, cx.now);
        if let Some(enrollment) = &mut self.enrollment {
            enrollment.stage = Stage::RecoveryCode {
                last_accepted: verified.step,
            };
            enrollment.failures = 0;
        }
        self.recovery = Some(recovery);
        self.show(sealed, false, None);
        let issued = Event::RecoveryCodesIssued {
            count: codes.len() as u32,
        };
        Transition::changed(
            Ok(Confirmed::RecordRecoveryCode { codes }),
            [Some(Event::EnrollmentConfirmed), Some(issued)],
        )
    }

    /// A failed enrollment code: counted against the enrollment, not the
    /// factor; at the lockout the enrollment is void and must begin again
    /// (a new secret, so the guesses so far are worthless).
    fn refuse_enrollment<T>(&mut self, cx: &Context<'_>, error: VerifyError) -> Transition<T> {
        let (refusal, reason) = match counted(error) {
            Ok(counted) => counted,
            Err(uncounted) => return uncounted,
        };
        let Some(enrollment) = &mut self.enrollment else {
            return Transition::refused(Refusal::NoEnrollment);
        };
        enrollment.failures = enrollment.failures.saturating_add(1);
        enrollment.last_failure_at = cx.now;
        let failures = enrollment.failures;
        let rejected = Some(Event::Rejected { reason, failures });
        if failures >= cx.policy.lockout_after() {
            self.enrollment = None;
            return Transition::changed(
                Err(Refusal::EnrollmentLocked),
                [rejected, Some(Event::EnrollmentLocked { failures })],
            );
        }
        Transition::changed(Err(refusal), [rejected, None])
    }

    /// "I have safely recorded this number": activates an enrollment whose
    /// codes checked out (a new stamp: every other session is over), or
    /// acknowledges replacement or regenerated codes, which only a session
    /// past the second factor may do (they are the factor holder's to
    /// see). Either way the sealed copy of the codes is removed for good.
    pub(crate) fn acknowledge_recovery(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
    ) -> Transition<Acknowledged> {
        let passed = match cx.current_session(self, session) {
            Ok(check) => check,
            Err(refusal) => return Transition::refused(refusal),
        };
        if self.factor.is_some() {
            if !matches!(passed, SessionCheck::SecondFactor { .. }) {
                return Transition::refused(Refusal::SecondFactorRequired);
            }
            if self.shown.take().is_some() {
                return Transition::changed(
                    Ok(Acknowledged::CodesRecorded),
                    [Some(Event::RecoveryCodesAcknowledged), None],
                );
            }
            return Transition::refused(Refusal::NothingToAcknowledge);
        }
        let Some(enrollment) = &self.enrollment else {
            return Transition::refused(Refusal::NothingToAcknowledge);
        };
        let last_accepted = match enrollment.stage {
            Stage::RecoveryCode { last_accepted } => last_accepted,
            Stage::FirstCode { expires_at } if cx.now >= expires_at => {
                return Transition::refused(Refusal::EnrollmentExpired)
            }
            open => {
                return Transition::refused(Refusal::OutOfOrder {
                    open: open.public(),
                })
            }
        };
        self.factor = Some(Box::new(Factor {
            sealed: enrollment.sealed.clone(),
            params: enrollment.params,
            last_accepted: Some(last_accepted),
            bound_at: cx.now,
        }));
        self.enrollment = None;
        self.shown = None;
        self.stamp = self.stamp.wrapping_add(1);
        // Failures of checks made before this factor existed do not count
        // against it.
        self.failures = 0;
        Transition::changed(
            Ok(Acknowledged::FactorActivated),
            [Some(Event::FactorBound), None],
        )
    }
}
