//! Keeping records on the current key, and the administrative changes:
//! removal, an owner's reset, unlocking.

use crate::event::Event;

use super::{Context, MfaRecord, Refusal, Resealed, Transition};

impl MfaRecord {
    /// Reseals everything sealed in the record (the factor's secret, an
    /// enrollment's, recovery codes kept to be shown again) under the
    /// current key, if it is not already.
    pub(crate) fn reseal(&mut self, cx: &Context<'_>) -> Transition<Resealed> {
        let current = cx.keyring.current_id();
        let mut changed = false;
        let secrets = self
            .factor
            .as_mut()
            .map(|f| &mut f.sealed)
            .into_iter()
            .chain(self.enrollment.as_mut().map(|e| &mut e.sealed));
        for sealed in secrets.filter(|s| s.key_id != current) {
            match cx
                .keyring
                .open(cx.user, sealed)
                .and_then(|secret| cx.seal(&secret))
            {
                Ok(new) => *sealed = new,
                Err(error) => return error.into(),
            }
            changed = true;
        }
        let shown = self.shown.as_mut().and_then(|s| s.sealed.as_mut());
        if let Some(sealed) = shown.filter(|s| s.key_id != current) {
            match cx
                .open_codes(sealed)
                .and_then(|codes| cx.seal_codes(&codes))
            {
                Ok(new) => *sealed = new,
                Err(error) => return error.into(),
            }
            changed = true;
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

    /// Removes the factor, its recovery codes and its failure count.
    pub(crate) fn remove_factor(&mut self) -> Transition<()> {
        if self.factor.is_none() {
            return Transition::refused(Refusal::NoFactor);
        }
        self.clear();
        Transition::changed(Ok(()), [Some(Event::FactorRemoved), None])
    }

    /// An owner's reset: factor, enrollment and recovery codes removed, so
    /// the user enrolls again at the next sign-in.
    pub(crate) fn reset_by(&mut self, owner: &str) -> Transition<()> {
        self.clear();
        let reset = Event::FactorReset {
            by: owner.to_owned(),
        };
        Transition::changed(Ok(()), [Some(reset), None])
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
}
