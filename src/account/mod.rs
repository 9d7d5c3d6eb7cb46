//! Layer 5: a user's MFA record and its transitions.
//!
//! A transition takes `now`, changes the record in memory and says whether
//! it must be saved and which events it produced. It never touches storage:
//! the service saves with compare-and-swap and only then reports the outcome.
//!
//! - `enrolling.rs`: the help page's steps (QR and first code, a second
//!   code, the recovery code and its tick), stored stage by stage;
//! - `signing_in.rs`: codes, recovery codes, regeneration, one-call binding;
//! - `owner_actions.rs`: resealing, removal, resets, unlocking;
//! - `screen.rs`: which screen the stored state puts the person on, and
//!   its forms;
//! - `screen_step.rs`: an action applied as the screen asks;
//! - `format/`: the record's bytes.

mod enrolling;
mod format;
mod owner_actions;
mod screen;
mod screen_step;
mod signing_in;

use std::sync::Arc;

use crate::codes::{Totp, TotpParams, Verified, VerifyError, Window};
use crate::keys::key_cache::KeyCache;
use crate::keys::session_proof::{MfaSession, SessionCheck, RETRY_BINDING_LEN};
use crate::keys::{Entropy, Keyring, SealError, SealedCodes, SealedSecret, NONCE_LEN};
use crate::material::secret::Secret;
use crate::rules::clock_drift::ClockEstimate;
use crate::rules::company_policy::EnrollmentStage;
use crate::rules::events::{Event, RejectReason};
use crate::rules::recovery_codes::{
    self as recovery, RecoveryCode, RecoveryMode, RecoveryState, StoredCode,
};
use crate::rules::throttle::{Gate, ThrottlePolicy};
use enrolling::Stage;

pub(crate) use enrolling::Label;
pub use enrolling::{Acknowledged, Confirmed, EnrollmentCheck};
pub use screen::{Button, Form, Input, Screen, ScreenKind};
pub(crate) use screen_step::Act;
pub use signing_in::{Bound, RecoveryUsed};

/// What a transition may use besides the record: who, when, under which
/// rules, with which keys, and fresh randomness drawn by the caller. No IO.
pub(crate) struct Context<'a> {
    pub(crate) user: &'a str,
    pub(crate) now: u64,
    pub(crate) policy: &'a ThrottlePolicy,
    pub(crate) window: Window,
    pub(crate) keyring: &'a Keyring,
    /// Fresh randomness, drawn only by transitions that need it.
    pub(crate) entropy: &'a dyn Entropy,
    /// How new recovery codes are issued.
    pub(crate) recovery_mode: RecoveryMode,
    /// The prepared keys this process remembers.
    pub(crate) keys: &'a KeyCache,
    /// How long a pending enrollment may wait for its first code.
    pub(crate) enrollment_ttl: u64,
    /// How long a single recovery code, once used, shows its replacement
    /// again (a retry after a lost answer); 0: never.
    pub(crate) recovery_retry: u64,
    /// How long after the second factor an owner action needs no new code.
    pub(crate) sudo_window: u64,
}

impl Context<'_> {
    /// What `session` is worth for this user, whose record is `record`.
    pub(crate) fn session(&self, record: &MfaRecord, session: &MfaSession) -> SessionCheck {
        session.check(self.keyring, self.user, record.stamp)
    }

    /// `session`, unless it is over for this user.
    pub(crate) fn current_session(
        &self,
        record: &MfaRecord,
        session: &MfaSession,
    ) -> Result<SessionCheck, Refusal> {
        match self.session(record, session) {
            SessionCheck::Ended => Err(Refusal::SessionEnded),
            check => Ok(check),
        }
    }

    /// `session` passed the user's active factor within the sudo window:
    /// what an owner's action, or a change to one's own MFA, needs.
    pub(crate) fn recent_second_factor(
        &self,
        record: &MfaRecord,
        session: &MfaSession,
    ) -> Result<(), Refusal> {
        match self.current_session(record, session)? {
            _ if record.factor.is_none() => Err(Refusal::NoFactor),
            SessionCheck::SecondFactor { at } if self.now < at.saturating_add(self.sudo_window) => {
                Ok(())
            }
            SessionCheck::SecondFactor { .. } => Err(Refusal::RecentSecondFactorRequired),
            _ => Err(Refusal::SecondFactorRequired),
        }
    }

    /// The factor's prepared key, and the opened secret when it had to be
    /// opened under an older key (so that it can be resealed). Only keys of
    /// the current key's sealings are remembered.
    fn prepare(&self, factor: &Factor) -> Result<(Arc<Totp>, Option<Secret>), SealError> {
        let current = factor.sealed.key_id == self.keyring.current_id();
        let known = current
            .then(|| self.keys.get(self.user, &factor.sealed, &factor.params))
            .flatten();
        if let Some(known) = known {
            return Ok((known, None));
        }
        let secret = self.keyring.open(self.user, &factor.sealed)?;
        let totp = Arc::new(Totp::new(&secret, factor.params));
        if current {
            self.keys.put(self.user, &factor.sealed, Arc::clone(&totp));
            return Ok((totp, None));
        }
        Ok((totp, Some(secret)))
    }

    /// A fresh set of recovery codes under the current key's pepper, and the
    /// codes sealed so that they can be shown again until acknowledged.
    fn issue_recovery(&self) -> Result<(Vec<RecoveryCode>, RecoveryState, SealedCodes), SealError> {
        let (key_id, pepper) = self.keyring.current_pepper();
        let (codes, state) =
            RecoveryState::generate(self.recovery_mode, key_id, pepper, self.user, self.entropy)?;
        let sealed = self.seal_codes(&codes)?;
        Ok((codes, state, sealed))
    }

    /// Seals `secret` for this user under the current key with a fresh nonce.
    fn seal(&self, secret: &Secret) -> Result<SealedSecret, SealError> {
        Ok(self.keyring.seal(self.nonce()?, self.user, secret))
    }

    /// Seals shown recovery codes for this user under the current key.
    fn seal_codes(&self, codes: &[RecoveryCode]) -> Result<SealedCodes, SealError> {
        let plaintext = recovery::to_plaintext(codes);
        Ok(self
            .keyring
            .seal_codes(self.nonce()?, self.user, &plaintext))
    }

    fn nonce(&self) -> Result<[u8; NONCE_LEN], SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.entropy.fill(&mut nonce)?;
        Ok(nonce)
    }

    /// Opens recovery codes sealed for this user.
    fn open_codes(&self, sealed: &SealedCodes) -> Result<Vec<RecoveryCode>, SealError> {
        let plaintext = self.keyring.open_codes(self.user, sealed)?;
        recovery::from_plaintext(&plaintext).ok_or(SealError::Unauthentic)
    }
}

/// An active TOTP factor.
#[derive(Clone, Debug)]
pub(crate) struct Factor {
    /// The secret, sealed for this user under the application keyring.
    pub(crate) sealed: SealedSecret,
    pub(crate) params: TotpParams,
    /// The newest step accepted; a code of this step or older is a replay.
    pub(crate) last_accepted: Option<u64>,
    /// When the factor was bound (Unix seconds).
    pub(crate) bound_at: u64,
}

impl Factor {
    /// The end of the newest step this factor accepted (0: none).
    fn used_until(&self) -> u64 {
        let period = self.params.period().seconds();
        self.last_accepted.map_or(0, |step| {
            step.saturating_add(1)
                .saturating_mul(period)
                .saturating_add(self.params.t0())
        })
    }
}

/// A user's MFA record: the factor and the failure count of the throttle.
#[derive(Clone, Debug, Default)]
pub(crate) struct MfaRecord {
    pub(crate) factor: Option<Box<Factor>>,
    /// Consecutive failed checks of the factor.
    pub(crate) failures: u32,
    /// When the last failure happened (Unix seconds; 0 if none).
    pub(crate) last_failure_at: u64,
    /// The hashes of the recovery codes, if any were issued.
    pub(crate) recovery: Option<RecoveryState>,
    /// A factor on its way to becoming active. (Boxed, like `shown`: rare
    /// on the sign-in path, and a record is moved by value there.)
    pub(crate) enrollment: Option<Box<enrolling::EnrollmentState>>,
    /// Recovery codes shown (at confirmation, as a replacement, or
    /// regenerated) and not yet acknowledged with "I have safely recorded
    /// this number".
    pub(crate) shown: Option<Box<ShownCodes>>,
    /// What the person's accepted codes tell of their phone's clock.
    pub(crate) clock: ClockEstimate,
    /// The company accounts the user is a member of, as the host said
    /// (owners are members of their companies).
    pub(crate) companies: Vec<String>,
    /// The end (Unix seconds, exclusive) of the newest step a removed factor
    /// accepted: a factor bound later never accepts a code from before it,
    /// so binding the same secret again does not reopen used codes.
    pub(crate) used_until: u64,
    /// Moves whenever the user's factor does (bound, activated, removed,
    /// reset): a session made under another stamp is over.
    pub(crate) stamp: u64,
}

/// How far past the time a store reports lost saves from the servers'
/// clocks may be (seconds): they are trusted to within this of the
/// database's (NTP keeps them within milliseconds).
pub(crate) const FENCE_CLOCK_TOLERANCE: u64 = 5;

/// At most this many company accounts per user.
pub(crate) const MAX_COMPANIES: usize = 1_000;

/// Recovery codes waiting for "I have safely recorded this number".
#[derive(Clone, Debug, Default)]
pub(crate) struct ShownCodes {
    /// The codes, sealed, to show again after a reload or a lost answer;
    /// `None` for codes shown by record format 2, which kept no copy.
    pub(crate) sealed: Option<SealedCodes>,
    /// In single mode, the code whose use issued them: until `until` (and
    /// until the tick) it signs in once more and shows the same replacement,
    /// so a lost answer cannot leave the person without a way in.
    pub(crate) replaced: Option<ReplacedCode>,
    /// They replace a recovery code just used (the screen says the used
    /// one will not work again).
    pub(crate) replacement: bool,
}

/// A used single recovery code, kept briefly for one retry by the session
/// that used it.
#[derive(Clone, Debug)]
pub(crate) struct ReplacedCode {
    /// The keyring key whose pepper hashed it.
    pub(crate) key_id: u32,
    pub(crate) code: StoredCode,
    pub(crate) until: u64,
    /// The session that used it ([`MfaSession::retry_binding`](crate::MfaSession)).
    pub(crate) session: [u8; RETRY_BINDING_LEN],
}

/// What a reseal did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resealed {
    /// A secret moved to the current key.
    pub(crate) changed: bool,
    /// The recovery codes are hashed under an older key's pepper: the old key
    /// is needed until they are regenerated.
    pub(crate) recovery_on_old_key: bool,
}

/// Why a transition refused; the service turns it into an `MfaError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NoFactor,
    FactorExists,
    Malformed,
    Mismatch,
    Replayed { next_code_in: u64 },
    Throttled { retry_after: u64 },
    Locked,
    BeforeT0,
    Seal(SealError),
    Label(crate::material::enrollment_builder::EnrollmentError),
    NoEnrollment,
    EnrollmentExpired,
    EnrollmentLocked,
    OutOfOrder { open: EnrollmentStage },
    NothingToAcknowledge,
    NotMember,
    TooManyCompanies,
    WeakSecret { bits: usize },
    SessionEnded,
    SecondFactorRequired,
    RecentSecondFactorRequired,
    NotTicked,
    RequiredByCompany,
}

/// At most this many events come from one transition.
const MAX_EVENTS: usize = 2;

/// The result of a transition: the answer, whether the record changed and
/// must be saved before the answer is given, and the events to deliver.
#[derive(Debug)]
#[must_use]
pub(crate) struct Transition<T> {
    pub(crate) outcome: Result<T, Refusal>,
    pub(crate) changed: bool,
    events: [Option<Event>; MAX_EVENTS],
}

impl<T> Transition<T> {
    fn unchanged(outcome: Result<T, Refusal>, event: Option<Event>) -> Self {
        Transition {
            outcome,
            changed: false,
            events: [event, None],
        }
    }

    pub(crate) fn refused(refusal: Refusal) -> Self {
        Transition::unchanged(Err(refusal), None)
    }

    fn changed(outcome: Result<T, Refusal>, events: [Option<Event>; MAX_EVENTS]) -> Self {
        Transition {
            outcome,
            changed: true,
            events,
        }
    }

    /// The same transition with another success value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Transition<U> {
        Transition {
            outcome: self.outcome.map(f),
            changed: self.changed,
            events: self.events,
        }
    }

    pub(crate) fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.iter().flatten().cloned()
    }
}

/// A secret that would not open or seal: refused, nothing changed.
impl<T> From<SealError> for Transition<T> {
    fn from(error: SealError) -> Self {
        Transition::refused(Refusal::Seal(error))
    }
}

/// The throttle's refusal of a check after `failures`, the last at
/// `last_failure_at`, if any: no code is parsed and no HMAC computed.
fn gate<T>(
    cx: &Context<'_>,
    failures: u32,
    last_failure_at: u64,
    gate: fn(&ThrottlePolicy, u32, u64, u64) -> Gate,
) -> Option<Transition<T>> {
    match gate(cx.policy, failures, last_failure_at, cx.now) {
        Gate::Open => None,
        Gate::Wait { retry_after } => Some(Transition::unchanged(
            Err(Refusal::Throttled { retry_after }),
            Some(Event::Throttled { retry_after }),
        )),
        Gate::Locked => Some(Transition::unchanged(
            Err(Refusal::Locked),
            Some(Event::LockedOut),
        )),
    }
}

/// How a failed check counts: `Ok` with the refusal and its reason for a
/// counted failure; `Err` with the finished transition for one that is not
/// counted (a replay: a double submission must not lock anyone out; a
/// server clock before T0).
fn counted<T>(error: VerifyError) -> Result<(Refusal, RejectReason), Transition<T>> {
    match error {
        VerifyError::Replayed { next_code_in } => Err(Transition::unchanged(
            Err(Refusal::Replayed { next_code_in }),
            Some(Event::ReplayRejected),
        )),
        VerifyError::BeforeT0 { .. } => Err(Transition::refused(Refusal::BeforeT0)),
        VerifyError::Malformed => Ok((Refusal::Malformed, RejectReason::Malformed)),
        _ => Ok((Refusal::Mismatch, RejectReason::Mismatch)),
    }
}

impl MfaRecord {
    /// The factor's throttle refusal, if any.
    fn gate<T>(&self, cx: &Context<'_>) -> Option<Transition<T>> {
        gate(
            cx,
            self.failures,
            self.last_failure_at,
            ThrottlePolicy::gate,
        )
    }

    fn succeed(&mut self, verified: Verified, first: Option<Event>) -> Transition<Verified> {
        self.failures = 0;
        let event = Event::Verified {
            step: verified.step,
            drift: verified.drift,
        };
        Transition::changed(Ok(verified), [first, Some(event)])
    }

    /// A failed check of the factor: counted, unless it is not (see
    /// [`counted`]).
    fn refuse<T>(&mut self, cx: &Context<'_>, error: VerifyError) -> Transition<T> {
        let (refusal, reason) = match counted(error) {
            Ok(counted) => counted,
            Err(uncounted) => return uncounted,
        };
        self.failures = self.failures.saturating_add(1);
        self.last_failure_at = cx.now;
        let locked = (self.failures == cx.policy.lockout_after()).then_some(Event::Locked {
            failures: self.failures,
        });
        let rejected = Event::Rejected {
            reason,
            failures: self.failures,
        };
        Transition::changed(Err(refusal), [Some(rejected), locked])
    }

    /// Shows `codes` until they are acknowledged: kept sealed in the record.
    /// `replacement`: they replace a recovery code just used (`replaced`).
    fn show(&mut self, sealed: SealedCodes, replacement: bool, replaced: Option<ReplacedCode>) {
        self.shown = Some(Box::new(ShownCodes {
            sealed: Some(sealed),
            replaced,
            replacement,
        }));
    }

    /// Forgets the factor, any enrollment, the recovery codes, the failures
    /// and the clock estimate: the user is back to having no MFA, and every
    /// session made before is over. What stays: the memberships, and the
    /// time up to which codes were used.
    fn clear(&mut self) {
        let used_until = self
            .used_until
            .max(self.factor.as_deref().map_or(0, Factor::used_until));
        *self = MfaRecord {
            companies: std::mem::take(&mut self.companies),
            used_until,
            stamp: self.stamp.wrapping_add(1),
            ..MfaRecord::default()
        };
    }

    /// Counts as used every code a save made before `lost_before` (Unix
    /// seconds, the database's clock) could have accepted, with this
    /// `window`: the store says such saves may be lost (a failover). A
    /// save at `t` accepted at most the step of `t` plus the window's
    /// future steps; `t` is taken up to [`FENCE_CLOCK_TOLERANCE`] past
    /// `lost_before`, for the servers' clocks. The person is told the code
    /// was used and waits for a later one.
    pub(crate) fn fence(&mut self, lost_before: u64, window: Window) {
        let until = lost_before.saturating_add(FENCE_CLOCK_TOLERANCE);
        let fenced = |params: &TotpParams| {
            let step = until.checked_sub(params.t0())? / params.period().seconds();
            Some(step.saturating_add(u64::from(window.future())))
        };
        if let Some(factor) = self.factor.as_deref_mut() {
            factor.last_accepted = factor.last_accepted.max(fenced(&factor.params));
        }
        if let Some(enrollment) = self.enrollment.as_deref_mut() {
            let Some(step) = fenced(&enrollment.params) else {
                return;
            };
            match &mut enrollment.stage {
                Stage::FirstCode { .. } => {
                    let end = step
                        .saturating_add(1)
                        .saturating_mul(enrollment.params.period().seconds())
                        .saturating_add(enrollment.params.t0());
                    self.used_until = self.used_until.max(end);
                }
                Stage::SecondCode { first_step: last }
                | Stage::RecoveryCode {
                    last_accepted: last,
                } => {
                    *last = (*last).max(step);
                }
            }
        }
    }

    /// The newest step of `params` whose codes were already used by a
    /// removed factor: codes of that step or older are replays.
    fn used_step(&self, params: &TotpParams) -> Option<u64> {
        let last_used = self.used_until.checked_sub(1)?.checked_sub(params.t0())?;
        Some(last_used / params.period().seconds())
    }

    /// Whether the user is a member of `company`.
    pub(crate) fn is_member(&self, company: &str) -> bool {
        self.companies.iter().any(|c| c == company)
    }
}
