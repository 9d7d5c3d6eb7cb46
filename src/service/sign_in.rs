//! Signing in with the factor, what is known of it, and keeping it: codes,
//! recovery codes, status, removal, unlocking, resealing.

use crate::account::EnrollmentStage;
use crate::drift::ClockDrift;
use crate::otp::Verified;
use crate::recovery::RecoveryCode;
use crate::store::Store;
use crate::throttle::Gate;
use crate::RecoveryUsed;

use crate::event::Actor;

use super::{Mfa, MfaError};

/// What is known about a user's MFA, read without changing anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaStatus {
    /// When the active factor was bound, or `None` without one.
    pub factor_bound_at: Option<u64>,
    /// The open step of an enrollment in progress (`None`: none, or its QR
    /// code expired).
    pub enrollment: Option<EnrollmentStage>,
    /// Recovery codes were shown and not yet acknowledged.
    pub recovery_unacknowledged: bool,
    /// Consecutive failed checks of the factor.
    pub failures: u32,
    /// Whether a check may be made now.
    pub gate: Gate,
    /// The phone's clock, once the person's codes keep matching a
    /// neighbouring time step.
    pub clock_drift: Option<ClockDrift>,
}

/// What [`Mfa::reseal_all`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct ResealReport<E> {
    /// Users whose sealed data moved to the current key.
    pub resealed: usize,
    /// Users already on the current key, or with nothing sealed.
    pub current: usize,
    /// Users whose recovery codes are hashed under an older key's pepper:
    /// hashes cannot be moved without the codes, so keep the old key until
    /// these users regenerate their codes (or use them).
    pub recovery_on_old_key: Vec<String>,
    /// Users whose secret could not be resealed, and why (e.g. a key missing
    /// from the keyring): the old key must stay until these are solved.
    pub failed: Vec<(String, MfaError<E>)>,
}

impl<S: Store> Mfa<S> {
    /// Checks what the person typed against the user's factor and, if it is
    /// accepted, saves its step so that it can never be accepted again.
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed),
    /// [`Replayed`](MfaError::Replayed), [`Throttled`](MfaError::Throttled),
    /// [`Locked`](MfaError::Locked) and [`NoFactor`](MfaError::NoFactor) are
    /// answers; [`Store`](MfaError::Store), [`Contended`](MfaError::Contended)
    /// and [`CorruptRecord`](MfaError::CorruptRecord) mean nothing was accepted.
    pub fn verify(&self, user: &str, input: &str) -> Result<Verified, MfaError<S::Error>> {
        self.update(user, &Actor::User, |record, cx| record.verify(cx, input))
    }

    /// Signs in with a recovery code instead of a one-time code, spending it
    /// once its record is saved (16 requests racing with one code: one
    /// spend). Attempts count against the same throttle; a success ends a
    /// lockout. In single mode, show [`RecoveryUsed::new_code`] and then the
    /// tick, [`acknowledge_recovery`](Mfa::acknowledge_recovery); until the
    /// tick the replacement is kept to be shown again, and for
    /// [`with_recovery_retry`](Mfa::with_recovery_retry) the used code shows
    /// it again if the answer was lost ([`RecoveryUsed::retried`]).
    ///
    /// # Errors
    /// [`MfaError::Mismatch`] (also for a spent code),
    /// [`Malformed`](MfaError::Malformed), [`Throttled`](MfaError::Throttled),
    /// [`NoFactor`](MfaError::NoFactor), [`Seal`](MfaError::Seal) if the
    /// codes were hashed under a key no longer in the keyring, or an
    /// infrastructure error.
    pub fn use_recovery_code(
        &self,
        user: &str,
        input: &str,
    ) -> Result<RecoveryUsed, MfaError<S::Error>> {
        self.update(user, &Actor::User, |record, cx| {
            record.use_recovery_code(cx, input)
        })
    }

    /// Replaces all the user's recovery codes with new ones. It takes a
    /// current one-time code and checks it in the same step, so it cannot be
    /// reached without passing MFA again (OWASP: re-authenticate before
    /// changing authentication details). Old codes stop working at once; the
    /// new ones are kept to be shown again until
    /// [`acknowledge_recovery`](Mfa::acknowledge_recovery).
    ///
    /// # Errors
    /// As [`Mfa::verify`] for `otp_input`.
    pub fn regenerate_recovery_codes(
        &self,
        user: &str,
        otp_input: &str,
    ) -> Result<Vec<RecoveryCode>, MfaError<S::Error>> {
        self.update(user, &Actor::User, |record, cx| {
            record.regenerate_recovery(cx, otp_input)
        })
    }

    /// The user's MFA state now.
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub fn status(&self, user: &str) -> Result<MfaStatus, MfaError<S::Error>> {
        self.read(user, |record, cx| {
            Ok(MfaStatus {
                factor_bound_at: record.factor.as_ref().map(|f| f.bound_at),
                enrollment: record
                    .enrollment
                    .as_ref()
                    .and_then(|e| e.open_stage(cx.now)),
                recovery_unacknowledged: record.shown.is_some(),
                failures: record.failures,
                gate: cx
                    .policy
                    .gate(record.failures, record.last_failure_at, cx.now),
                clock_drift: record.clock.drift(),
            })
        })
    }

    /// The host removes the user's factor in its own name (an
    /// administrator's decision; audited with [`Actor::Host`]). It does not
    /// ask the user's companies: people use
    /// [`remove_own_factor`](Mfa::remove_own_factor), owners
    /// [`reset_user_mfa`](Mfa::reset_user_mfa).
    ///
    /// # Errors
    /// [`MfaError::NoFactor`] if there is none, or an infrastructure error.
    pub fn remove_factor(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.update(user, &Actor::Host, |record, _| record.remove_factor())
    }

    /// Clears the user's failure count, ending a lockout (audited with
    /// [`Actor::Host`]).
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub fn unlock(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.update(user, &Actor::Host, |record, _| record.unlock())
    }

    /// Reseals what the user's record keeps sealed under the keyring's
    /// current key, if it is sealed under an older one; `Ok(true)` if it was.
    /// Checks do this on their own after a success; call this for every user
    /// to retire an old key eagerly.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if something does not open, or an infrastructure error.
    pub fn reseal(&self, user: &str) -> Result<bool, MfaError<S::Error>> {
        self.reseal_user(user).map(|resealed| resealed.changed)
    }

    fn reseal_user(&self, user: &str) -> Result<crate::account::Resealed, MfaError<S::Error>> {
        let current = self.keyring.current_id();
        self.update_loaded(user, &Actor::Host, |loaded, cx| {
            let retag = loaded.tagged_by_old_key(current);
            loaded.record.reseal(cx, retag)
        })
    }

    /// Tags the company's record under the keyring's current key, if it is
    /// tagged under an older one (or, read as legacy, not at all); `Ok(true)`
    /// if it was. Every change to the company does this on its own.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`Seal`](MfaError::Seal) if its key is not
    /// in the keyring, or an infrastructure error.
    pub fn reseal_company(&self, company: &str) -> Result<bool, MfaError<S::Error>> {
        let current = self.keyring.current_id();
        self.retry_on_conflict(|| {
            let loaded = self.load_company(company)?;
            if !loaded.tagged_by_old_key(current) {
                return Ok(Some(false));
            }
            let key = crate::store::RecordKey::Company(company);
            match self.save(key, loaded.version, &loaded.record.encode())? {
                crate::store::SaveOutcome::Saved(_) => Ok(Some(true)),
                crate::store::SaveOutcome::Conflict => Ok(None),
            }
        })
    }

    /// Reseals every listed user's record under the current key, e.g. all
    /// user ids from the host's table, to retire an old key without waiting
    /// for each user's next sign-in. Goes on past failures and reports them.
    pub fn reseal_all<'u>(
        &self,
        users: impl IntoIterator<Item = &'u str>,
    ) -> ResealReport<S::Error> {
        let mut report = ResealReport {
            resealed: 0,
            current: 0,
            recovery_on_old_key: Vec::new(),
            failed: Vec::new(),
        };
        for user in users {
            match self.reseal_user(user) {
                Ok(resealed) => {
                    if resealed.changed {
                        report.resealed += 1;
                    } else {
                        report.current += 1;
                    }
                    if resealed.recovery_on_old_key {
                        report.recovery_on_old_key.push(user.to_owned());
                    }
                }
                Err(error) => report.failed.push((user.to_owned(), error)),
            }
        }
        report
    }
}
