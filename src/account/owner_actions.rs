//! Keeping records on the current key, and the administrative changes:
//! removal, an owner's reset, unlocking.

use crate::rules::events::Event;

use super::{Context, MfaRecord, Refusal, Resealed, Transition, MAX_COMPANIES};
use crate::keys::session_proof::MfaSession;

impl MfaRecord {
    /// Reseals everything sealed in the record (the factor's secret, an
    /// enrollment's, recovery codes kept to be shown again) under the
    /// current key, if it is not already; `retag` when the record's own tag
    /// was made with an older key (or none), so that saving it moves that too.
    pub(crate) fn reseal(&mut self, cx: &Context<'_>, retag: bool) -> Transition<Resealed> {
        let current = cx.keyring.current_id();
        let mut changed = retag;
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
    /// the user enrolls again at the next sign-in. Only a member of the
    /// owner's `company` (the owner is the event's actor).
    pub(crate) fn reset(&mut self, company: &str) -> Transition<()> {
        if !self.is_member(company) {
            return Transition::refused(Refusal::NotMember);
        }
        self.clear();
        Transition::changed(Ok(()), [Some(Event::FactorReset), None])
    }

    /// The host says the user is a member of `company`.
    pub(crate) fn join(&mut self, company: &str) -> Transition<()> {
        if self.is_member(company) {
            return Transition::unchanged(Ok(()), None);
        }
        if self.companies.len() >= MAX_COMPANIES {
            return Transition::refused(Refusal::TooManyCompanies);
        }
        self.companies.push(company.to_owned());
        let added = Event::MemberAdded {
            company: company.to_owned(),
        };
        Transition::changed(Ok(()), [Some(added), None])
    }

    /// The host says the user left `company`.
    pub(crate) fn leave(&mut self, company: &str) -> Transition<()> {
        if !self.is_member(company) {
            return Transition::refused(Refusal::NotMember);
        }
        self.companies.retain(|c| c != company);
        let removed = Event::MemberRemoved {
            company: company.to_owned(),
        };
        Transition::changed(Ok(()), [Some(removed), None])
    }

    /// Removes the factor for a session that passed it recently: the
    /// person's own decision (sudo mode, OWASP: a fresh second factor before
    /// changing authentication settings). The record's new stamp comes back.
    pub(crate) fn remove_own(&mut self, cx: &Context<'_>, session: &MfaSession) -> Transition<u64> {
        if let Err(refusal) = cx.recent_second_factor(self, session) {
            return Transition::refused(refusal);
        }
        let removed = self.remove_factor();
        let stamp = self.stamp;
        removed.map(|()| stamp)
    }

    /// An owner's session, before a change to their company: it must have
    /// passed the owner's factor recently; the company is recorded among
    /// the owner's, so that the company's rule covers the owner whichever
    /// call they make.
    pub(crate) fn owner_check(
        &mut self,
        cx: &Context<'_>,
        session: &MfaSession,
        company: &str,
    ) -> Transition<()> {
        if let Err(refusal) = cx.recent_second_factor(self, session) {
            return Transition::refused(refusal);
        }
        if self.is_member(company) || self.companies.len() >= MAX_COMPANIES {
            return Transition::unchanged(Ok(()), None);
        }
        self.companies.push(company.to_owned());
        Transition::changed(Ok(()), [None, None])
    }

    /// An owner of `company` clears the failure count of a member.
    pub(crate) fn unlock_member(&mut self, company: &str) -> Transition<()> {
        if !self.is_member(company) {
            return Transition::refused(Refusal::NotMember);
        }
        self.unlock()
    }

    /// Ends every session of the user: a new stamp, so each session value
    /// made before is over. The factor, codes and failures stay.
    pub(crate) fn end_sessions(&mut self) -> Transition<()> {
        self.stamp = self.stamp.wrapping_add(1);
        Transition::changed(Ok(()), [Some(Event::SessionsEnded), None])
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
