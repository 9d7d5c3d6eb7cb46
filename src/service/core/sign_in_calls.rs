//! Signing in with the factor, what is known of it, and keeping it: codes,
//! recovery codes, status, removal, unlocking, resealing.

use crate::account::Resealed;
use crate::codes::Verified;
use crate::keys::session_proof::MfaSession;
use crate::rules::clock_drift::ClockDrift;
use crate::rules::events::Actor;
use crate::rules::recovery_codes::RecoveryCode;
use crate::rules::throttle::Gate;
use crate::rules::EnrollmentStage;
use crate::screen::RecoveryUsed;
use crate::storage::{RecordKey, SaveOutcome};

use super::{Access, Core, MfaError};

/// What is known about a user's MFA, read without changing anything.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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

/// What [`Mfa::reseal_all`](crate::Mfa::reseal_all) did.
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

impl Core {
    pub(crate) async fn start_session<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<MfaSession, MfaError<A::Error>> {
        let mut nonce = [0u8; 16];
        self.config
            .entropy
            .fill(&mut nonce)
            .map_err(MfaError::Seal)?;
        let stamp = self.load(access, user).await?.record.stamp;
        Ok(MfaSession::new(&self.keyring, user, nonce, stamp))
    }

    pub(crate) async fn verify<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &mut MfaSession,
        input: &str,
    ) -> Result<Verified, MfaError<A::Error>> {
        let shown = &*session;
        let (verified, passed) = self
            .update(access, user, &Actor::User, |record, cx| {
                record.verify_in(cx, shown, input)
            })
            .await?;
        *session = passed;
        Ok(verified)
    }

    pub(crate) async fn use_recovery_code<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &mut MfaSession,
        input: &str,
    ) -> Result<RecoveryUsed, MfaError<A::Error>> {
        let shown = &*session;
        let (used, passed) = self
            .update(access, user, &Actor::User, |record, cx| {
                record.recovery_code_in(cx, shown, input)
            })
            .await?;
        *session = passed;
        Ok(used)
    }

    pub(crate) async fn regenerate_recovery_codes<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &MfaSession,
    ) -> Result<Vec<RecoveryCode>, MfaError<A::Error>> {
        self.update(access, user, &Actor::User, |record, cx| {
            record.regenerate_recovery(cx, session)
        })
        .await
    }

    pub(crate) async fn status<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<MfaStatus, MfaError<A::Error>> {
        self.read(access, user, |record, cx| {
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
        .await
    }

    pub(crate) async fn remove_factor<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        self.update(access, user, &Actor::Host, |record, _| {
            record.remove_factor()
        })
        .await
    }

    pub(crate) async fn unlock<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        self.update(access, user, &Actor::Host, |record, _| record.unlock())
            .await
    }

    pub(crate) async fn end_sessions<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        self.update(access, user, &Actor::Host, |record, _| {
            record.end_sessions()
        })
        .await
    }

    pub(crate) async fn reseal<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<bool, MfaError<A::Error>> {
        Ok(self.reseal_user(access, user).await?.changed)
    }

    async fn reseal_user<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<Resealed, MfaError<A::Error>> {
        let current = self.keyring.current_id();
        self.update_loaded(access, user, &Actor::Host, |loaded, cx| {
            let retag = loaded.tagged_by_old_key(current);
            loaded.record.reseal(cx, retag)
        })
        .await
    }

    pub(crate) async fn reseal_company<A: Access>(
        &self,
        access: &A,
        company: &str,
    ) -> Result<bool, MfaError<A::Error>> {
        let current = self.keyring.current_id();
        for _ in 0..self.config.max_attempts {
            let loaded = self.load_company(access, company).await?;
            if !loaded.tagged_by_old_key(current) {
                return Ok(false);
            }
            let key = RecordKey::Company(company);
            let record = loaded.record.encode();
            if let SaveOutcome::Saved(_) = self.save(access, key, loaded.version, &record).await? {
                return Ok(true);
            }
        }
        Err(MfaError::Contended)
    }

    pub(crate) async fn reseal_all<A: Access>(
        &self,
        access: &A,
        users: &[&str],
    ) -> ResealReport<A::Error> {
        let mut report = ResealReport {
            resealed: 0,
            current: 0,
            recovery_on_old_key: Vec::new(),
            failed: Vec::new(),
        };
        for user in users {
            match self.reseal_user(access, user).await {
                Ok(resealed) => {
                    if resealed.changed {
                        report.resealed += 1;
                    } else {
                        report.current += 1;
                    }
                    if resealed.recovery_on_old_key {
                        report.recovery_on_old_key.push((*user).to_owned());
                    }
                }
                Err(error) => report.failed.push(((*user).to_owned(), error)),
            }
        }
        report
    }
}
