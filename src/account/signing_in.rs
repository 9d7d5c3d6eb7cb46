//! Signing in with the factor: one-time codes, recovery codes (with the
//! retry that survives a lost answer), regenerating recovery codes, and the
//! one-call binding for hosts that need no acknowledgement.

use subtle::Choice;

use super::{Context, Factor, MfaRecord, Refusal, ReplacedCode, Transition, RETRY_BINDING_LEN};
use crate::codes::{Code, Totp, TotpParams, Verified};
use crate::keys::session_proof::MfaSession;
use crate::material::secret::Secret;
use crate::rules::events::Event;
use crate::rules::recovery_codes::{
    self as recovery, normalize, RecoveryCode, RecoveryMode, RecoveryState,
};

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
    /// show it, the person must record it and tick "I have safely recorded
    /// this number" ([`Mfa::acknowledge_recovery`](crate::Mfa::acknowledge_recovery)).
    /// Until then it is kept to be shown again.
    pub new_code: Option<RecoveryCode>,
    /// The same single code was used moments ago, in this same session, and
    /// its replacement is not yet acknowledged: this is the one retry after
    /// a lost answer, and `new_code` is that same replacement, not a new one.
    pub retried: bool,
}

/// The refusal of a secret too short for a factor: under 128 bits (RFC
/// 4226 §4 R6; NIST asks for 112). Such secrets can still be imported and
/// inspected ([`Secret`], [`KeyUri`](crate::otp::KeyUri)), never bound.
pub(crate) fn weak(secret: &Secret) -> Option<Refusal> {
    (secret.len() < Secret::MIN_GENERATED_LEN).then_some(Refusal::WeakSecret {
        bits: secret.len() * 8,
    })
}

impl MfaRecord {
    /// A one-time code typed in `session`: checked if the session counts,
    /// and on success the session as it now is, past the second factor.
    pub(crate) fn verify_in(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        input: &str,
    ) -> Transition<(Verified, MfaSession)> {
        if let Err(refusal) = cx.current_session(self, session) {
            return Transition::refused(refusal);
        }
        let passed = session.passed(cx.keyring, cx.user, self.stamp, cx.now);
        self.verify(cx, input).map(|verified| (verified, passed))
    }

    /// A recovery code typed in `session`: as [`verify_in`](Self::verify_in),
    /// the retry of a used single code bound to this session.
    pub(crate) fn recovery_code_in(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        input: &str,
    ) -> Transition<(RecoveryUsed, MfaSession)> {
        if let Err(refusal) = cx.current_session(self, session) {
            return Transition::refused(refusal);
        }
        let passed = session.passed(cx.keyring, cx.user, self.stamp, cx.now);
        self.use_recovery_code(cx, input, session.retry_binding())
            .map(|used| (used, passed))
    }

    /// Checks `input` against the active factor. On success the step is
    /// remembered, and a secret sealed under an older key is resealed under
    /// the current one.
    pub(crate) fn verify(&mut self, cx: &Context<'_>, input: &str) -> Transition<Verified> {
        let Some(factor) = &self.factor else {
            return Transition::refused(Refusal::NoFactor);
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
                    self.clock
                        .observe(&factor.params, verified.step, verified.drift, cx.now);
                }
                self.succeed(verified, None)
            }
            Err(error) => self.refuse(cx, error),
        }
    }

    /// Binds a factor with `secret` and `params` once `input` proves the
    /// person's app has it; `session` has then passed it (a new stamp:
    /// every other session of the user is over).
    pub(crate) fn bind(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        secret: &Secret,
        params: TotpParams,
        input: &str,
    ) -> Transition<(Bound, MfaSession)> {
        if let Err(refusal) = cx.current_session(self, session) {
            return Transition::refused(refusal);
        }
        if self.factor.is_some() {
            return Transition::refused(Refusal::FactorExists);
        }
        if let Some(weak) = weak(secret) {
            return Transition::refused(weak);
        }
        if let Some(refused) = self.gate(cx) {
            return refused;
        }
        let used = self.used_step(&params);
        let outcome = Code::parse(input, params.digits())
            .and_then(|code| Totp::new(secret, params).verify(cx.now, &code, cx.window, used));
        let verified = match outcome {
            Ok(verified) => verified,
            Err(error) => return self.refuse(cx, error),
        };
        let issued = cx.seal(secret).and_then(|sealed| {
            let (key_id, pepper) = cx.keyring.current_pepper();
            let (codes, state) =
                RecoveryState::generate(cx.recovery_mode, key_id, pepper, cx.user, cx.entropy)?;
            Ok((sealed, codes, state))
        });
        let (sealed, recovery_codes, recovery) = match issued {
            Ok(issued) => issued,
            Err(error) => return error.into(),
        };
        let count = recovery_codes.len() as u32;
        *self = MfaRecord {
            factor: Some(Box::new(Factor {
                sealed,
                params,
                last_accepted: Some(verified.step),
                bound_at: cx.now,
            })),
            recovery: Some(recovery),
            companies: std::mem::take(&mut self.companies),
            used_until: self.used_until,
            stamp: self.stamp.wrapping_add(1),
            ..MfaRecord::default()
        };
        self.clock
            .observe(&params, verified.step, verified.drift, cx.now);
        let passed = session.passed(cx.keyring, cx.user, self.stamp, cx.now);
        Transition::changed(
            Ok((
                Bound {
                    verified,
                    recovery_codes,
                },
                passed,
            )),
            [
                Some(Event::FactorBound),
                Some(Event::RecoveryCodesIssued { count }),
            ],
        )
    }

    /// Spends the recovery code `input`. A recovery code is checked
    /// whenever it is presented: it carries 125 bits, so no guesser finds
    /// one however fast they try, and a gate in front of it would let
    /// someone with only the password keep a locked-out person from their
    /// own code. So a wrong recovery code is audited, not counted against
    /// the one-time codes' budget; a right one clears that budget, ending a
    /// lockout (NIST: a success of that authenticator). In single mode a new
    /// code replaces the one used, and is kept sealed until acknowledged;
    /// the used code signs in once more, for the session named by
    /// `session` only (`retry_binding`), within the retry window and before
    /// the tick: a lost answer does not strand the person, and the same
    /// code from anyone else is refused.
    pub(crate) fn use_recovery_code(
        &mut self,
        cx: &Context<'_>,
        input: &str,
        session: [u8; RETRY_BINDING_LEN],
    ) -> Transition<RecoveryUsed> {
        let (Some(_), Some(recovery)) = (&self.factor, &self.recovery) else {
            return Transition::refused(Refusal::NoFactor);
        };
        let Some(typed) = normalize(input) else {
            return Transition::refused(Refusal::Malformed);
        };
        let pepper = match cx.keyring.pepper(recovery.key_id) {
            Ok(pepper) => pepper,
            Err(error) => return error.into(),
        };
        let found = recovery.find(pepper, cx.user, &typed);
        // The code used just before by this session, if it may still be
        // retried: checked whatever the set said, so the time does not tell
        // which matched.
        let retried = match self.retriable(cx.now, &session) {
            None => Choice::from(0),
            Some(replaced) => match cx.keyring.pepper(replaced.key_id) {
                Ok(pepper) => recovery::matches(&replaced.code, pepper, cx.user, &typed),
                Err(error) => return error.into(),
            },
        };
        match (found, bool::from(retried)) {
            (Some(index), _) => self.spend_recovery(cx, index, session),
            (None, true) => self.show_replacement_again(cx),
            (None, false) => {
                Transition::unchanged(Err(Refusal::Mismatch), Some(Event::RecoveryCodeRejected))
            }
        }
    }

    /// The single code used last by `session`, while its replacement waits
    /// for the tick and the retry window is open.
    fn retriable(&self, now: u64, session: &[u8; RETRY_BINDING_LEN]) -> Option<&ReplacedCode> {
        self.shown
            .as_ref()?
            .replaced
            .as_ref()
            .filter(|replaced| now < replaced.until && replaced.session == *session)
    }

    fn spend_recovery(
        &mut self,
        cx: &Context<'_>,
        index: usize,
        session: [u8; RETRY_BINDING_LEN],
    ) -> Transition<RecoveryUsed> {
        let Some(recovery) = &mut self.recovery else {
            return Transition::refused(Refusal::NoFactor);
        };
        let new_code = if recovery.mode == RecoveryMode::Single {
            let used = recovery.codes.get(index).cloned();
            let (old_key, issued) = (recovery.key_id, cx.issue_recovery());
            let (codes, state, sealed) = match issued {
                Ok(issued) => issued,
                Err(error) => return error.into(),
            };
            let replaced = used
                .filter(|_| cx.recovery_retry > 0)
                .map(|code| ReplacedCode {
                    key_id: old_key,
                    code,
                    until: cx.now.saturating_add(cx.recovery_retry),
                    session,
                });
            self.recovery = Some(state);
            self.show(sealed, true, replaced);
            // A copy; the vector's own copy is wiped when it drops.
            codes.first().cloned()
        } else {
            if let Some(code) = recovery.codes.get_mut(index) {
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
                retried: false,
            }),
            [Some(used), issued],
        )
    }

    /// The one retry of the last single-code sign-in: the same replacement
    /// again, nothing new issued, nothing else made valid, the failure count
    /// left as it is; the used code is then dead.
    fn show_replacement_again(&mut self, cx: &Context<'_>) -> Transition<RecoveryUsed> {
        let sealed = self.shown.as_ref().and_then(|shown| shown.sealed.as_ref());
        let codes = match sealed.map(|sealed| cx.open_codes(sealed)) {
            Some(Ok(codes)) => codes,
            Some(Err(error)) => return error.into(),
            None => return Transition::refused(Refusal::Mismatch),
        };
        if let Some(shown) = &mut self.shown {
            shown.replaced = None;
        }
        let remaining = self.recovery.as_ref().map_or(0, RecoveryState::remaining);
        Transition::changed(
            Ok(RecoveryUsed {
                remaining,
                new_code: codes.first().cloned(),
                retried: true,
            }),
            [Some(Event::RecoveryCodeRetried), None],
        )
    }

    /// Replaces every recovery code with a fresh set, for a session that
    /// passed the second factor recently. The new codes are kept sealed
    /// until acknowledged.
    pub(crate) fn regenerate_recovery(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
    ) -> Transition<Vec<RecoveryCode>> {
        if let Err(refusal) = cx.recent_second_factor(self, session) {
            return Transition::refused(refusal);
        }
        match cx.issue_recovery() {
            Ok((codes, state, sealed)) => {
                self.recovery = Some(state);
                self.show(sealed, false, None);
                let issued = Event::RecoveryCodesIssued {
                    count: codes.len() as u32,
                };
                Transition::changed(Ok(codes), [Some(issued), None])
            }
            Err(error) => error.into(),
        }
    }
}
