//! Company accounts: their owners and policy, the requirement an owner
//! switches on, what it means at sign-in, and who it would affect.

use crate::event::Event;
use crate::policy::{
    self, CompanyPolicy, EnforcementPreview, RequirementUnavailable, SignInRequirement,
};
use crate::store::{RecordKey, SaveOutcome, Store, Version};

use super::{Mfa, MfaError};

impl<S: Store> Mfa<S> {
    /// Creates a company account with these owners (1 to 255 user ids of 1
    /// to 255 bytes), not requiring MFA.
    ///
    /// # Errors
    /// [`MfaError::InvalidOwners`], [`MfaError::CompanyExists`], or an
    /// infrastructure error.
    pub fn create_company(&self, company: &str, owners: &[&str]) -> Result<(), MfaError<S::Error>> {
        if owners.is_empty()
            || owners.len() > 255
            || owners.iter().any(|o| o.is_empty() || o.len() > 255)
        {
            return Err(MfaError::InvalidOwners);
        }
        let policy = CompanyPolicy::new(owners, self.clock.now());
        match self
            .store
            .save(RecordKey::Company(company), None, &policy.encode())
            .map_err(MfaError::Store)?
        {
            SaveOutcome::Saved(_) => Ok(()),
            SaveOutcome::Conflict => Err(MfaError::CompanyExists),
        }
    }

    /// The company's policy.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub fn company_policy(&self, company: &str) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.load_company(company).map(|(policy, _)| policy)
    }

    fn load_company(&self, company: &str) -> Result<(CompanyPolicy, Version), MfaError<S::Error>> {
        let stored = self
            .store
            .load(RecordKey::Company(company))
            .map_err(MfaError::Store)?
            .ok_or(MfaError::NoCompany)?;
        let policy = CompanyPolicy::decode(&stored.bytes).map_err(MfaError::CorruptRecord)?;
        Ok((policy.with_version(stored.version.0), stored.version))
    }

    /// "Force every user to use MFA before accessing the Company Account" →
    /// "Save changes" (or switch it off): allowed only to an owner whose own
    /// MFA is active. The policy is saved with compare-and-swap, its "since"
    /// set to now, and the change delivered as an event with the owner as
    /// the user.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`OwnMfaRequired`](MfaError::OwnMfaRequired),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub fn set_mfa_requirement(
        &self,
        company: &str,
        by: &str,
        require: bool,
        grace_period: u64,
    ) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.retry_on_conflict(|| {
            let now = self.clock.now();
            let (mut policy, version) = self.load_company(company)?;
            if !policy.is_owner(by) {
                return Err(MfaError::NotOwner);
            }
            if self.load(by)?.0.factor.is_none() {
                return Err(MfaError::OwnMfaRequired);
            }
            policy.set_requirement(require, grace_period, now);
            let saved = self
                .store
                .save(RecordKey::Company(company), Some(version), &policy.encode())
                .map_err(MfaError::Store)?;
            let SaveOutcome::Saved(version) = saved else {
                return Ok(None);
            };
            let policy = policy.with_version(version.0);
            let event = Event::CompanyPolicyChanged {
                company: company.to_owned(),
                require_mfa: policy.requires_mfa(),
                grace_period: policy.grace_period(),
            };
            self.events.record(by, now, event);
            Ok(Some(policy))
        })
    }

    /// What the user must do after the password to reach `company` (or,
    /// with `None`, outside any company): nothing more, a second factor, or
    /// enrollment ("Company Account Verification"), possibly by a deadline.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub fn sign_in_requirement(
        &self,
        user: &str,
        company: Option<&str>,
    ) -> Result<SignInRequirement, MfaError<S::Error>> {
        let policy = company.map(|c| self.company_policy(c)).transpose()?;
        self.read(user, |record, cx| {
            Ok(policy::evaluate(
                policy.as_ref(),
                record.factor.is_some(),
                cx.now,
            ))
        })
    }

    /// The user turns their own MFA off, proving it with a current code.
    /// Refused while `company` requires MFA (an owner cannot remove their own
    /// MFA while the company requires it).
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`], and as [`Mfa::verify`].
    pub fn remove_own_factor(
        &self,
        user: &str,
        company: Option<&str>,
        otp_input: &str,
    ) -> Result<(), MfaError<S::Error>> {
        if let Some(company) = company {
            if self.company_policy(company)?.requires_mfa() {
                return Err(MfaError::RequiredByCompany);
            }
        }
        self.update(user, |record, cx| record.remove_after_check(cx, otp_input))
    }

    /// An owner resets another user's MFA after passing their own check in
    /// the same call. The host MUST check that `user` belongs to `company`:
    /// `twostep` does not know the members. The user's factor and recovery
    /// codes are removed, the user must enroll at the next sign-in, and the
    /// user's audit trail gets [`Event::FactorReset`].
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], errors of the owner's check (as
    /// [`Mfa::verify`]), or an infrastructure error.
    pub fn reset_user_mfa(
        &self,
        company: &str,
        owner: &str,
        owner_otp: &str,
        user: &str,
    ) -> Result<(), MfaError<S::Error>> {
        let policy = self.company_policy(company)?;
        if !policy.is_owner(owner) {
            return Err(MfaError::NotOwner);
        }
        // Resetting oneself would bypass `remove_own_factor`'s refusal.
        if owner == user && policy.requires_mfa() {
            return Err(MfaError::RequiredByCompany);
        }
        self.verify(owner, owner_otp)?;
        self.update(user, |record, _| record.reset_by(owner))
    }

    /// Before "Save changes" of "Force every user to use MFA": who would be
    /// affected. `members` are the company's user ids (the host knows them);
    /// each comes back with its MFA state ([`MemberMfa`](crate::MemberMfa)), and
    /// [`EnforcementPreview::for_person`] says "3 of 12 users will be asked
    /// to set up MFA at their next sign-in." `unavailable` says why `owner`
    /// cannot change the setting, if they cannot (not an owner, or their own
    /// MFA is not active): the reason to show beside the checkbox.
    ///
    /// Reads one record per member; changes nothing.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub fn enforcement_preview<'m>(
        &self,
        company: &str,
        owner: &str,
        members: impl IntoIterator<Item = &'m str>,
    ) -> Result<EnforcementPreview, MfaError<S::Error>> {
        let policy = self.company_policy(company)?;
        let unavailable = if !policy.is_owner(owner) {
            Some(RequirementUnavailable::NotOwner)
        } else if self.load(owner)?.0.factor.is_none() {
            Some(RequirementUnavailable::OwnMfaNotActive)
        } else {
            None
        };
        let members = members
            .into_iter()
            .map(|member| {
                self.read(member, |record, cx| {
                    Ok((member.to_owned(), record.member_mfa(cx.now, cx.policy)))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(EnforcementPreview {
            members,
            unavailable,
        })
    }
}
