//! Layer 4: a user's MFA record and its transitions.
//!
//! A transition takes `now`, changes the record in memory and says whether
//! it must be saved and which events it produced. It never touches storage:
//! the service saves with compare-and-swap and only then reports the outcome.

use std::sync::Arc;

use crate::codec::{Reader, RecordError, Writer};
use crate::event::{Event, RejectReason};
use crate::key_cache::KeyCache;
use crate::otp::{
    Algorithm, Code, Digits, Period, Totp, TotpParams, Verified, VerifyError, Window,
};
use crate::recovery::{
    normalize, RecoveryCode, RecoveryMode, RecoveryState, SetSize, StoredCode, HASH_LEN, SALT_LEN,
};
use crate::seal::{Entropy, Keyring, SealError, SealedSecret, NONCE_LEN};
use crate::secret::Secret;
use crate::throttle::{Gate, ThrottlePolicy};

/// The format of records written by this version (2: the secret is sealed).
const FORMAT: u8 = 2;

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
    /// Prepared keys of recently checked users.
    pub(crate) key_cache: &'a KeyCache,
    /// How long a pending enrollment may wait for its first code.
    pub(crate) enrollment_ttl: u64,
}

impl Context<'_> {
    /// The factor's prepared key, and the opened secret when it had to be
    /// opened under an older key (so that it can be resealed). A cached key
    /// is used only for the current key's sealing of this very record.
    fn prepare(&self, factor: &Factor) -> Result<(Arc<Totp>, Option<Secret>), SealError> {
        let current = factor.sealed.key_id == self.keyring.current_id();
        if current {
            if let Some(totp) = self
                .key_cache
                .get(self.user, &factor.sealed, &factor.params)
            {
                return Ok((totp, None));
            }
        }
        let secret = self.keyring.open(self.user, &factor.sealed)?;
        let totp = Arc::new(Totp::new(&secret, factor.params));
        if current {
            self.key_cache.put(self.user, &factor.sealed, &totp);
            return Ok((totp, None));
        }
        Ok((totp, Some(secret)))
    }

    /// A fresh set of recovery codes under the current key's pepper.
    fn issue_recovery(
        &self,
        mode: RecoveryMode,
    ) -> Result<(Vec<RecoveryCode>, RecoveryState), SealError> {
        let (key_id, pepper) = self.keyring.current_pepper();
        RecoveryState::generate(mode, key_id, pepper, self.user, self.entropy)
    }

    /// Seals `secret` for this user under the current key with a fresh nonce.
    fn seal(&self, secret: &Secret) -> Result<SealedSecret, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.entropy.fill(&mut nonce)?;
        Ok(self.keyring.seal(nonce, self.user, secret))
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

/// A user's MFA record: the factor and the failure count of the throttle.
#[derive(Clone, Debug, Default)]
pub(crate) struct MfaRecord {
    pub(crate) factor: Option<Factor>,
    /// Consecutive failed checks.
    pub(crate) failures: u32,
    /// When the last failure happened (Unix seconds; 0 if none).
    pub(crate) last_failure_at: u64,
    /// The hashes of the recovery codes, if any were issued.
    pub(crate) recovery: Option<RecoveryState>,
    /// A factor on its way to becoming active.
    pub(crate) enrollment: Option<EnrollmentState>,
    /// A recovery code was shown (at confirmation, or as a replacement) and
    /// the person has not yet ticked "I have safely recorded this number".
    pub(crate) recovery_unacknowledged: bool,
}

/// The stored, multi-step enrollment: pending → confirmed → (acknowledged) active.
#[derive(Clone, Debug)]
pub(crate) enum EnrollmentState {
    /// Begun: the QR code was shown; waiting for the first code.
    Pending {
        sealed: SealedSecret,
        params: TotpParams,
        expires_at: u64,
    },
    /// The first code checked out and recovery codes were shown; waiting for
    /// the person to acknowledge them. Not yet an active factor.
    Confirmed {
        sealed: SealedSecret,
        params: TotpParams,
        last_accepted: u64,
    },
}

/// A factor bound by [`Mfa::bind`](crate::Mfa::bind).
#[derive(Debug)]
#[non_exhaustive]
pub struct Bound {
    /// The first code's step, saved as used.
    pub verified: Verified,
    /// The recovery codes to show now, once: only their hashes are stored.
    pub recovery_codes: Vec<RecoveryCode>,
}

/// A recovery code accepted by [`Mfa::use_recovery_code`](crate::Mfa::use_recovery_code).
#[derive(Debug)]
#[non_exhaustive]
pub struct RecoveryUsed {
    /// Unspent codes left.
    pub remaining: usize,
    /// In [`RecoveryMode::Single`], the new code that replaces the one used:
    /// show it once, the person must record it again.
    pub new_code: Option<RecoveryCode>,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    NoEnrollment,
    EnrollmentExpired,
    AlreadyConfirmed,
    NothingToAcknowledge,
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

    fn changed(outcome: Result<T, Refusal>, events: [Option<Event>; MAX_EVENTS]) -> Self {
        Transition {
            outcome,
            changed: true,
            events,
        }
    }

    /// The same transition with another success value.
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Transition<U> {
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
        Transition::unchanged(Err(Refusal::Seal(error)), None)
    }
}

impl MfaRecord {
    /// Checks `input` against the active factor. On success the step is
    /// remembered, and a secret sealed under an older key is resealed under
    /// the current one.
    pub(crate) fn verify(&mut self, cx: &Context<'_>, input: &str) -> Transition<Verified> {
        let Some(factor) = &self.factor else {
            return Transition::unchanged(Err(Refusal::NoFactor), None);
        };
        if let Some(refused) = self.gate(cx) {
            return refused;
        }
        // Parse first: a malformed input costs no key.
        let code = match Code::parse(input, factor.params.digits()) {
            Ok(code) => code,
            Err(error) => return self.refuse(cx, error),
        };
        let (totp, old_secret) = match cx.prepare(factor) {
            Ok(prepared) => prepared,
            Err(error) => return error.into(),
        };
        let outcome = totp.verify(cx.now, &code, cx.window, factor.last_accepted);
        match outcome {
            Ok(verified) => {
                if let Some(factor) = &mut self.factor {
                    factor.last_accepted = Some(verified.step);
                    // Rotation: move to the current key now. If no randomness
                    // can be had, the old seal stays valid; the code still counts.
                    if let Some(sealed) = old_secret.and_then(|secret| cx.seal(&secret).ok()) {
                        factor.sealed = sealed;
                    }
                }
                self.succeed(verified, None)
            }
            Err(error) => self.refuse(cx, error),
        }
    }

    /// Reseals the secret under the current key, if it is not already.
    pub(crate) fn reseal(&mut self, cx: &Context<'_>) -> Transition<Resealed> {
        let current = cx.keyring.current_id();
        // Every sealed secret in the record: the factor's and an enrollment's.
        let enrolling = match &mut self.enrollment {
            Some(
                EnrollmentState::Pending { sealed, .. } | EnrollmentState::Confirmed { sealed, .. },
            ) => Some(sealed),
            None => None,
        };
        let seals = self
            .factor
            .as_mut()
            .map(|f| &mut f.sealed)
            .into_iter()
            .chain(enrolling);
        let mut changed = false;
        for sealed in seals.filter(|s| s.key_id != current) {
            match cx
                .keyring
                .open(cx.user, sealed)
                .and_then(|secret| cx.seal(&secret))
            {
                Ok(new) => {
                    *sealed = new;
                    changed = true;
                }
                Err(error) => return error.into(),
            }
        }
        // Recovery hashes cannot be moved to a new pepper without the codes.
        let recovery_on_old_key = self.recovery.as_ref().is_some_and(|r| r.key_id != current);
        let outcome = Ok(Resealed {
            changed,
            recovery_on_old_key,
        });
        if changed {
            Transition::changed(outcome, [None, None])
        } else {
            Transition::unchanged(outcome, None)
        }
    }

    /// Binds a factor with `secret` and `params` once `input` proves the
    /// person's app has it.
    pub(crate) fn bind(
        &mut self,
        cx: &Context<'_>,
        secret: &Secret,
        params: TotpParams,
        input: &str,
    ) -> Transition<Bound> {
        if self.factor.is_some() {
            return Transition::unchanged(Err(Refusal::FactorExists), None);
        }
        if let Some(refused) = self.gate(cx) {
            return refused;
        }
        let outcome = Code::parse(input, params.digits())
            .and_then(|code| Totp::new(secret, params).verify(cx.now, &code, cx.window, None));
        let verified = match outcome {
            Ok(verified) => verified,
            Err(error) => return self.refuse(cx, error),
        };
        let issued = cx
            .seal(secret)
            .and_then(|sealed| Ok((sealed, cx.issue_recovery(cx.recovery_mode)?)));
        let (sealed, (recovery_codes, recovery)) = match issued {
            Ok(issued) => issued,
            Err(error) => return error.into(),
        };
        self.factor = Some(Factor {
            sealed,
            params,
            last_accepted: Some(verified.step),
            bound_at: cx.now,
        });
        self.recovery = Some(recovery);
        self.enrollment = None;
        self.failures = 0;
        Transition::changed(
            Ok(Bound {
                verified,
                recovery_codes,
            }),
            [
                Some(Event::FactorBound),
                Some(Event::RecoveryCodesIssued {
                    count: cx.recovery_mode.count() as u32,
                }),
            ],
        )
    }

    /// Spends the recovery code `input`. Attempts count against the same
    /// throttle as codes; a success clears the failures, ending a lockout
    /// (NIST: a success of that authenticator). In single mode a new code
    /// replaces the one used.
    pub(crate) fn use_recovery_code(
        &mut self,
        cx: &Context<'_>,
        input: &str,
    ) -> Transition<RecoveryUsed> {
        let (Some(_), Some(recovery)) = (&self.factor, &self.recovery) else {
            return Transition::unchanged(Err(Refusal::NoFactor), None);
        };
        if let Some(refused) = self.gate_with(cx, ThrottlePolicy::gate_recovery) {
            return refused;
        }
        let Some(typed) = normalize(input) else {
            return self.refuse(cx, VerifyError::Malformed);
        };
        let pepper = match cx.keyring.pepper(recovery.key_id) {
            Ok(pepper) => pepper,
            Err(error) => return error.into(),
        };
        let Some(index) = recovery.find(pepper, cx.user, &typed) else {
            return self.refuse(cx, VerifyError::Mismatch);
        };
        let mode = recovery.mode;
        let new_code = if mode == RecoveryMode::Single {
            match cx.issue_recovery(mode) {
                Ok((mut codes, state)) => {
                    self.recovery = Some(state);
                    self.recovery_unacknowledged = true;
                    codes.pop()
                }
                Err(error) => return error.into(),
            }
        } else {
            if let Some(code) = self.recovery.as_mut().and_then(|r| r.codes.get_mut(index)) {
                code.spent = true;
            }
            None
        };
        self.failures = 0;
        let remaining = self.recovery.as_ref().map_or(0, RecoveryState::remaining);
        let used = Event::RecoveryCodeUsed {
            remaining: remaining as u32,
        };
        let issued = new_code
            .as_ref()
            .map(|_| Event::RecoveryCodesIssued { count: 1 });
        Transition::changed(
            Ok(RecoveryUsed {
                remaining,
                new_code,
            }),
            [Some(used), issued],
        )
    }

    /// Replaces every recovery code with a fresh set, only after `otp_input`
    /// passes a full check (its step is saved like any accepted code).
    pub(crate) fn regenerate_recovery(
        &mut self,
        cx: &Context<'_>,
        otp_input: &str,
    ) -> Transition<Vec<RecoveryCode>> {
        let checked = self.verify(cx, otp_input);
        if checked.outcome.is_err() {
            return checked.map(|_| Vec::new());
        }
        match cx.issue_recovery(cx.recovery_mode) {
            Ok((codes, state)) => {
                self.recovery = Some(state);
                self.recovery_unacknowledged = true;
                let issued = Event::RecoveryCodesIssued {
                    count: codes.len() as u32,
                };
                let verified = checked.events().last();
                Transition::changed(Ok(codes), [verified, Some(issued)])
            }
            Err(error) => error.into(),
        }
    }

    /// Starts (or restarts) an enrollment with `secret`: stored sealed and
    /// pending until its first code, for the context's time to live.
    pub(crate) fn begin_enrollment(
        &mut self,
        cx: &Context<'_>,
        secret: &Secret,
        params: TotpParams,
    ) -> Transition<()> {
        if self.factor.is_some() {
            return Transition::unchanged(Err(Refusal::FactorExists), None);
        }
        match cx.seal(secret) {
            Ok(sealed) => {
                self.enrollment = Some(EnrollmentState::Pending {
                    sealed,
                    params,
                    expires_at: cx.now.saturating_add(cx.enrollment_ttl),
                });
                Transition::changed(Ok(()), [Some(Event::EnrollmentStarted), None])
            }
            Err(error) => error.into(),
        }
    }

    /// Checks the first code of a pending enrollment. On success the
    /// enrollment is confirmed, its step saved, and recovery codes issued,
    /// returned here and never again; the factor is not active until
    /// [`acknowledge_recovery`](Self::acknowledge_recovery).
    pub(crate) fn confirm_enrollment(
        &mut self,
        cx: &Context<'_>,
        input: &str,
    ) -> Transition<Vec<RecoveryCode>> {
        // An enrollment never replaces an active factor (begin refuses one;
        // this also covers a factor bound after the enrollment began).
        if self.factor.is_some() {
            return Transition::unchanged(Err(Refusal::FactorExists), None);
        }
        let (sealed, params) = match &self.enrollment {
            None => return Transition::unchanged(Err(Refusal::NoEnrollment), None),
            Some(EnrollmentState::Confirmed { .. }) => {
                return Transition::unchanged(Err(Refusal::AlreadyConfirmed), None)
            }
            Some(EnrollmentState::Pending { expires_at, .. }) if cx.now >= *expires_at => {
                return Transition::unchanged(Err(Refusal::EnrollmentExpired), None)
            }
            Some(EnrollmentState::Pending { sealed, params, .. }) => (sealed.clone(), *params),
        };
        if let Some(refused) = self.gate(cx) {
            return refused;
        }
        let code = match Code::parse(input, params.digits()) {
            Ok(code) => code,
            Err(error) => return self.refuse(cx, error),
        };
        let secret = match cx.keyring.open(cx.user, &sealed) {
            Ok(secret) => secret,
            Err(error) => return error.into(),
        };
        let outcome = Totp::new(&secret, params).verify(cx.now, &code, cx.window, None);
        let verified = match outcome {
            Ok(verified) => verified,
            Err(error) => return self.refuse(cx, error),
        };
        let (codes, recovery) = match cx.issue_recovery(cx.recovery_mode) {
            Ok(issued) => issued,
            Err(error) => return error.into(),
        };
        self.enrollment = Some(EnrollmentState::Confirmed {
            sealed,
            params,
            last_accepted: verified.step,
        });
        self.recovery = Some(recovery);
        self.recovery_unacknowledged = true;
        self.failures = 0;
        let issued = Event::RecoveryCodesIssued {
            count: codes.len() as u32,
        };
        Transition::changed(Ok(codes), [Some(Event::EnrollmentConfirmed), Some(issued)])
    }

    /// "I have safely recorded this number": activates a confirmed
    /// enrollment, or acknowledges a replacement recovery code.
    pub(crate) fn acknowledge_recovery(&mut self, cx: &Context<'_>) -> Transition<()> {
        // Take the enrollment only if it is the confirmed one (a pending one
        // stays), and never over an active factor.
        let no_factor = self.factor.is_none();
        if let Some(EnrollmentState::Confirmed {
            sealed,
            params,
            last_accepted,
        }) = self
            .enrollment
            .take_if(|e| no_factor && matches!(e, EnrollmentState::Confirmed { .. }))
        {
            self.factor = Some(Factor {
                sealed,
                params,
                last_accepted: Some(last_accepted),
                bound_at: cx.now,
            });
            self.recovery_unacknowledged = false;
            return Transition::changed(Ok(()), [Some(Event::FactorBound), None]);
        }
        if self.recovery_unacknowledged && self.factor.is_some() {
            self.recovery_unacknowledged = false;
            return Transition::changed(Ok(()), [Some(Event::RecoveryCodesAcknowledged), None]);
        }
        Transition::unchanged(Err(Refusal::NothingToAcknowledge), None)
    }

    /// Removes the factor and its failure count.
    pub(crate) fn remove_factor(&mut self) -> Transition<()> {
        if self.factor.is_none() {
            return Transition::unchanged(Err(Refusal::NoFactor), None);
        }
        self.clear();
        Transition::changed(Ok(()), [Some(Event::FactorRemoved), None])
    }

    /// Forgets the factor, any enrollment, the recovery codes and the
    /// failures: the user is back to having no MFA.
    fn clear(&mut self) {
        *self = MfaRecord::default();
    }

    /// An owner's reset: factor, enrollment and recovery codes removed, so
    /// the user enrolls again at the next sign-in.
    pub(crate) fn reset_by(&mut self, owner: &str) -> Transition<()> {
        self.clear();
        Transition::changed(
            Ok(()),
            [
                Some(Event::FactorReset {
                    by: owner.to_owned(),
                }),
                None,
            ],
        )
    }

    /// Checks a fresh one-time code, then removes the factor: the person's
    /// own decision, proven by passing MFA again.
    pub(crate) fn remove_after_check(
        &mut self,
        cx: &Context<'_>,
        otp_input: &str,
    ) -> Transition<()> {
        let checked = self.verify(cx, otp_input);
        if checked.outcome.is_err() {
            return checked.map(|_| ());
        }
        let removed = self.remove_factor();
        Transition::changed(removed.outcome, removed.events)
    }

    /// Clears the failure count (an owner's or administrator's reset).
    pub(crate) fn unlock(&mut self) -> Transition<()> {
        if self.failures == 0 {
            return Transition::unchanged(Ok(()), None);
        }
        self.failures = 0;
        Transition::changed(Ok(()), [Some(Event::Unlocked), None])
    }

    /// The throttle's refusal, if any: no code is parsed and no HMAC computed.
    fn gate<T>(&self, cx: &Context<'_>) -> Option<Transition<T>> {
        self.gate_with(cx, ThrottlePolicy::gate)
    }

    fn gate_with<T>(
        &self,
        cx: &Context<'_>,
        gate: fn(&ThrottlePolicy, u32, u64, u64) -> Gate,
    ) -> Option<Transition<T>> {
        match gate(cx.policy, self.failures, self.last_failure_at, cx.now) {
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

    fn succeed(&mut self, verified: Verified, first: Option<Event>) -> Transition<Verified> {
        self.failures = 0;
        let event = Event::Verified {
            step: verified.step,
            drift: verified.drift,
        };
        Transition::changed(Ok(verified), [first, Some(event)])
    }

    /// A failed check: counted, unless the code was right but replayed (a
    /// double submission must not lock anyone out) or the server's clock is
    /// wrong.
    fn refuse<T>(&mut self, cx: &Context<'_>, error: VerifyError) -> Transition<T> {
        let (refusal, reason) = match error {
            VerifyError::Replayed { next_code_in } => {
                return Transition::unchanged(
                    Err(Refusal::Replayed { next_code_in }),
                    Some(Event::ReplayRejected),
                )
            }
            VerifyError::BeforeT0 { .. } => {
                return Transition::unchanged(Err(Refusal::BeforeT0), None)
            }
            VerifyError::Malformed => (Refusal::Malformed, RejectReason::Malformed),
            _ => (Refusal::Mismatch, RejectReason::Mismatch),
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

    /// The record's bytes (no plaintext secret in them).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(FORMAT);
        w.u32(self.failures);
        w.u64(self.last_failure_at);
        match &self.factor {
            None => w.u8(0),
            Some(factor) => {
                w.u8(1);
                write_sealed(&mut w, &factor.sealed, &factor.params);
                w.option_u64(factor.last_accepted);
                w.u64(factor.bound_at);
            }
        }
        match &self.recovery {
            None => w.u8(0),
            Some(recovery) => {
                w.u8(1);
                w.u8(match recovery.mode {
                    RecoveryMode::Single => 0,
                    RecoveryMode::Set(size) => size.get(),
                });
                w.u32(recovery.key_id);
                w.u8(u8::try_from(recovery.codes.len()).unwrap_or(0));
                for code in &recovery.codes {
                    w.array(&code.salt);
                    w.array(&code.hash);
                    w.u8(u8::from(code.spent));
                }
            }
        }
        match &self.enrollment {
            None => w.u8(0),
            Some(EnrollmentState::Pending {
                sealed,
                params,
                expires_at,
            }) => {
                w.u8(1);
                write_sealed(&mut w, sealed, params);
                w.u64(*expires_at);
            }
            Some(EnrollmentState::Confirmed {
                sealed,
                params,
                last_accepted,
            }) => {
                w.u8(2);
                write_sealed(&mut w, sealed, params);
                w.u64(*last_accepted);
            }
        }
        w.u8(u8::from(self.recovery_unacknowledged));
        w.finish()
    }

    /// Reads a record written by [`MfaRecord::encode`].
    pub(crate) fn decode(bytes: &[u8]) -> Result<MfaRecord, RecordError> {
        let (format, mut r) = Reader::new(bytes)?;
        if format != FORMAT {
            return Err(RecordError::UnsupportedFormat(format));
        }
        let failures = r.u32()?;
        let last_failure_at = r.u64()?;
        let factor = if r.flag("factor")? {
            let (sealed, params) = read_sealed(&mut r)?;
            Some(Factor {
                sealed,
                params,
                last_accepted: r.option_u64("last_accepted")?,
                bound_at: r.u64()?,
            })
        } else {
            None
        };
        let recovery = if r.flag("recovery")? {
            let mode = match r.u8()? {
                0 => RecoveryMode::Single,
                n => RecoveryMode::Set(
                    SetSize::new(n).map_err(|_| RecordError::InvalidField("recovery mode"))?,
                ),
            };
            let key_id = r.u32()?;
            let count = r.u8()?;
            if usize::from(count) != mode.count() {
                return Err(RecordError::InvalidField("recovery codes"));
            }
            let mut codes = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let salt: [u8; SALT_LEN] = r.array()?;
                let hash: [u8; HASH_LEN] = r.array()?;
                codes.push(StoredCode {
                    salt,
                    hash,
                    spent: r.flag("spent")?,
                });
            }
            Some(RecoveryState {
                mode,
                key_id,
                codes,
            })
        } else {
            None
        };
        let enrollment = match r.u8()? {
            0 => None,
            1 => {
                let (sealed, params) = read_sealed(&mut r)?;
                Some(EnrollmentState::Pending {
                    sealed,
                    params,
                    expires_at: r.u64()?,
                })
            }
            2 => {
                let (sealed, params) = read_sealed(&mut r)?;
                Some(EnrollmentState::Confirmed {
                    sealed,
                    params,
                    last_accepted: r.u64()?,
                })
            }
            _ => return Err(RecordError::InvalidField("enrollment")),
        };
        let recovery_unacknowledged = r.flag("recovery_unacknowledged")?;
        r.finish()?;
        Ok(MfaRecord {
            factor,
            failures,
            last_failure_at,
            recovery,
            enrollment,
            recovery_unacknowledged,
        })
    }
}

/// A sealed secret and the parameters of its factor.
fn write_sealed(w: &mut Writer, sealed: &SealedSecret, params: &TotpParams) {
    w.u32(sealed.key_id);
    w.array(&sealed.nonce);
    w.short_bytes(sealed.ciphertext());
    w.array(&sealed.tag);
    w.u8(match params.algorithm() {
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 2,
        Algorithm::Sha512 => 3,
    });
    w.u8(params.digits().get());
    w.u64(params.period().seconds());
    w.u64(params.t0());
}

fn read_sealed(r: &mut Reader<'_>) -> Result<(SealedSecret, TotpParams), RecordError> {
    let key_id = r.u32()?;
    let nonce = r.array()?;
    let ciphertext = r.short_bytes()?;
    let sealed = SealedSecret::from_parts(key_id, nonce, ciphertext, r.array()?)
        .ok_or(RecordError::InvalidField("secret"))?;
    let algorithm = match r.u8()? {
        1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        _ => return Err(RecordError::InvalidField("algorithm")),
    };
    let digits = Digits::new(r.u8()?.into()).map_err(|_| RecordError::InvalidField("digits"))?;
    let period = Period::new(r.u64()?).map_err(|_| RecordError::InvalidField("period"))?;
    let params = TotpParams::default()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_period(period)
        .with_t0(r.u64()?);
    Ok((sealed, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MfaRecord {
        let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        MfaRecord {
            factor: Some(Factor {
                sealed: Keyring::new(1, &[1; 32]).seal([2; NONCE_LEN], "u", &secret),
                params: TotpParams::default()
                    .with_algorithm(Algorithm::Sha512)
                    .with_t0(5),
                last_accepted: Some(12345),
                bound_at: 1_700_000_000,
            }),
            failures: 3,
            last_failure_at: 99,
            recovery: Some(RecoveryState {
                mode: RecoveryMode::Set(SetSize::new(2).unwrap()),
                key_id: 1,
                codes: vec![
                    StoredCode {
                        salt: [1; SALT_LEN],
                        hash: [2; HASH_LEN],
                        spent: true,
                    },
                    StoredCode {
                        salt: [3; SALT_LEN],
                        hash: [4; HASH_LEN],
                        spent: false,
                    },
                ],
            }),
            enrollment: Some(EnrollmentState::Pending {
                sealed: Keyring::new(1, &[1; 32]).seal([3; NONCE_LEN], "u", &secret),
                params: TotpParams::default(),
                expires_at: 77,
            }),
            recovery_unacknowledged: true,
        }
    }

    #[test]
    fn encoding_round_trips() {
        let bytes = record().encode();
        let back = MfaRecord::decode(&bytes).unwrap();
        assert_eq!(back.encode().as_slice(), bytes.as_slice());
        let factor = back.factor.unwrap();
        assert_eq!(factor.last_accepted, Some(12345));
        assert_eq!(factor.params.algorithm(), Algorithm::Sha512);
        assert_eq!(factor.params.t0(), 5);
        assert_eq!(back.failures, 3);
        let empty = MfaRecord::default().encode();
        assert!(MfaRecord::decode(&empty).unwrap().factor.is_none());
    }

    #[test]
    fn damaged_bytes_are_typed_errors() {
        let bytes = record().encode();
        for len in 0..bytes.len() {
            assert!(
                MfaRecord::decode(&bytes[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(
            MfaRecord::decode(&longer).unwrap_err(),
            RecordError::TrailingBytes
        );
        let mut newer = bytes.to_vec();
        newer[2] = 9;
        assert_eq!(
            MfaRecord::decode(&newer).unwrap_err(),
            RecordError::UnsupportedFormat(9)
        );
        assert_eq!(
            MfaRecord::decode(b"{}").unwrap_err(),
            RecordError::NotARecord
        );
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let mut tagged = b"2s\x02".to_vec();
            tagged.extend(&bytes);
            let _ = MfaRecord::decode(&tagged);
            let _ = MfaRecord::decode(&bytes);
        }
    }
}
