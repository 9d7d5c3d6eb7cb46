//! Company accounts: their owners, their members (kept in each member's own
//! record, as the host reports joins and leaves), the requirement an owner
//! switches on, what it means at sign-in, and who it would affect.
//!
//! The rule "while a company requires MFA, its users keep their factor"
//! is checked against every company the user belongs to, never only the
//! one a caller names.

use crate::account::MfaRecord;
use crate::event::{Actor, Event};
use crate::policy::{
    self, CompanyPolicy, EnforcementPreview, RequirementUnavailable, SignInRequirement,
};
use crate::store::{RecordKey, SaveOutcome, Store};

use super::{Loaded, Mfa, MfaError};

/// Company ids are 1 to 255 bytes, as owners' ids.
const MAX_ID_LEN: usize = 255;

impl<S: Store> Mfa<S> {
    /// Creates a company account with these owners (1 to 255 user ids of 1
    /// to 255 bytes), not requiring MFA. The owners become its members.
    ///
    /// # Errors
    /// [`MfaError::InvalidCompany`], [`InvalidOwners`](MfaError::InvalidOwners),
    /// [`CompanyExists`](MfaError::CompanyExists), or an infrastructure error.
    pub fn create_company(&self, company: &str, owners: &[&str]) -> Result<(), MfaError<S::Error>> {
        if company.is_empty() || company.len() > MAX_ID_LEN {
            return Err(MfaError::InvalidCompany);
        }
        if owners.is_empty()
            || owners.len() > 255
            || owners.iter().any(|o| o.is_empty() || o.len() > MAX_ID_LEN)
        {
            return Err(MfaError::InvalidOwners);
        }
        let policy = CompanyPolicy::new(owners, self.clock.now());
        match self.save(RecordKey::Company(company), None, &policy.encode())? {
            SaveOutcome::Saved(_) => {}
            SaveOutcome::Conflict => return Err(MfaError::CompanyExists),
        }
        for owner in owners {
            self.update(owner, &Actor::Host, |record, _| record.join(company))?;
            let created = Event::CompanyCreated {
                company: company.to_owned(),
            };
            self.audit(owner, &Actor::Host, created);
        }
        Ok(())
    }

    /// The host reports that `user` joined `company`: from now on the
    /// company's requirement applies to them, and its owners may reset their
    /// MFA.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`TooManyCompanies`](MfaError::TooManyCompanies),
    /// or an infrastructure error.
    pub fn add_member(&self, company: &str, user: &str) -> Result<(), MfaError<S::Error>> {
        self.company_policy(company)?;
        self.update(user, &Actor::Host, |record, _| record.join(company))
    }

    /// The host reports that `user` left `company`. Owners stay members.
    ///
    /// # Errors
    /// [`MfaError::NotMember`], [`OwnerStaysMember`](MfaError::OwnerStaysMember),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub fn remove_member(&self, company: &str, user: &str) -> Result<(), MfaError<S::Error>> {
        if self.company_policy(company)?.is_owner(user) {
            return Err(MfaError::OwnerStaysMember);
        }
        self.update(user, &Actor::Host, |record, _| record.leave(company))
    }

    /// The company's policy.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub fn company_policy(&self, company: &str) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.load_company(company).map(|loaded| loaded.record)
    }

    pub(super) fn load_company(
        &self,
        company: &str,
    ) -> Result<Loaded<CompanyPolicy>, MfaError<S::Error>> {
        let key = RecordKey::Company(company);
        let stored = self
            .store
            .load(key)
            .map_err(MfaError::Store)?
            .ok_or(MfaError::NoCompany)?;
        let opened = self.open(key, &stored.bytes)?;
        let policy = CompanyPolicy::decode(opened.record).map_err(MfaError::CorruptRecord)?;
        Ok(Loaded {
            record: policy.with_version(stored.version.0),
            version: Some(stored.version),
            tagged_by: opened.key_id,
        })
    }

    /// "Force every user to use MFA before accessing the Company Account" →
    /// "Save changes" (or switching it off): only an owner, only with their
    /// current one-time code, checked in this call (OWASP ASVS: a fresh
    /// second factor before changing authentication settings). Switching on
    /// starts the grace period; saving "on" again while it is on keeps
    /// `since` and the deadline, and changes nothing. The change is saved
    /// with compare-and-swap and audited with the owner as user and actor.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`OwnMfaRequired`](MfaError::OwnMfaRequired)
    /// while the owner has no active factor, the errors of the owner's
    /// check (as [`Mfa::verify`]), [`NoCompany`](MfaError::NoCompany), or an
    /// infrastructure error.
    pub fn set_mfa_requirement(
        &self,
        company: &str,
        owner: &str,
        owner_otp: &str,
        require: bool,
        grace_period: u64,
    ) -> Result<CompanyPolicy, MfaError<S::Error>> {
        if !self.company_policy(company)?.is_owner(owner) {
            return Err(MfaError::NotOwner);
        }
        self.update(owner, &Actor::User, |record, cx| {
            record.owner_check(cx, owner_otp, company)
        })
        .map_err(|error| match error {
            MfaError::NoFactor => MfaError::OwnMfaRequired,
            other => other,
        })?;
        self.retry_on_conflict(|| {
            let now = self.clock.now();
            let Loaded {
                record: mut policy,
                version,
                ..
            } = self.load_company(company)?;
            if !policy.is_owner(owner) {
                return Err(MfaError::NotOwner);
            }
            if !policy.set_requirement(require, grace_period, now) {
                return Ok(Some(policy));
            }
            let SaveOutcome::Saved(version) =
                self.save(RecordKey::Company(company), version, &policy.encode())?
            else {
                return Ok(None);
            };
            let policy = policy.with_version(version.0);
            let event = Event::CompanyPolicyChanged {
                company: company.to_owned(),
                require_mfa: policy.requires_mfa(),
                grace_period: policy.grace_period(),
            };
            self.audit(owner, &Actor::Owner(owner.to_owned()), event);
            Ok(Some(policy))
        })
    }

    /// What the user must do after the password to reach `company` (or,
    /// with `None`, outside any company): nothing more, a second factor, or
    /// enrollment ("Company Account Verification"), possibly by a deadline.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] if the user is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub fn sign_in_requirement(
        &self,
        user: &str,
        company: Option<&str>,
    ) -> Result<SignInRequirement, MfaError<S::Error>> {
        let policy = company.map(|c| self.company_policy(c)).transpose()?;
        self.read(user, |record, cx| {
            member_of(user, record, company.zip(policy.as_ref()))?;
            Ok(policy::evaluate(
                policy.as_ref(),
                record.factor.is_some(),
                cx.now,
            ))
        })
    }

    /// The user turns their own MFA off, proving it with a current code.
    /// Refused while any company the user belongs to requires MFA.
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`], and as [`Mfa::verify`].
    pub fn remove_own_factor(&self, user: &str, otp_input: &str) -> Result<(), MfaError<S::Error>> {
        let record = self.load(user)?.record;
        for company in &record.companies {
            if self.company_policy(company)?.requires_mfa() {
                return Err(MfaError::RequiredByCompany);
            }
        }
        // A company that starts requiring MFA between this check and the
        // save finds the user without a factor: they are asked to enroll
        // at their next sign-in, like any member without one.
        self.update(user, &Actor::User, |record, cx| {
            record.remove_after_check(cx, otp_input)
        })
    }

    /// An owner of `company` resets the MFA of one of its members, after
    /// passing their own check in the same call: the member's factor and
    /// recovery codes are removed and they enroll again at the next sign-in
    /// ([`Event::FactorReset`], the owner as actor).
    ///
    /// Refused for a user who is not a member of `company`, for any owner
    /// of it (a co-owner, or the owner themselves: use
    /// [`remove_own_factor`](Mfa::remove_own_factor)), for an owner of any
    /// other company, and for a member of another company that requires MFA
    /// and that this owner does not own: no owner can weaken another
    /// company's requirement.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`NotMember`](MfaError::NotMember),
    /// [`CannotResetOwner`](MfaError::CannotResetOwner),
    /// [`RequiredByCompany`](MfaError::RequiredByCompany), errors of the
    /// owner's check (as [`Mfa::verify`]), or an infrastructure error.
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
        if policy.is_owner(user) {
            return Err(MfaError::CannotResetOwner);
        }
        let target = self.load(user)?.record;
        if !target.is_member(company) {
            return Err(MfaError::NotMember);
        }
        for other in target.companies.iter().filter(|c| *c != company) {
            let other = self.company_policy(other)?;
            if other.is_owner(user) {
                return Err(MfaError::CannotResetOwner);
            }
            if other.requires_mfa() && !other.is_owner(owner) {
                return Err(MfaError::RequiredByCompany);
            }
        }
        self.verify(owner, owner_otp)?;
        self.update(user, &Actor::Owner(owner.to_owned()), |record, _| {
            record.reset(company)
        })
    }

    /// Before "Save changes" of "Force every user to use MFA": who would be
    /// affected. `members` are the company's user ids (the host knows them);
    /// each comes back with its MFA state ([`MemberMfa`](crate::MemberMfa)),
    /// and [`EnforcementPreview::for_person`] says "3 of 12 users will be
    /// asked to set up MFA at their next sign-in." `unavailable` says why
    /// `owner` cannot change the setting, if they cannot (not an owner, or
    /// their own MFA is not active): the reason to show beside the checkbox.
    ///
    /// Reads one record per member; changes nothing.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] for an id that is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub fn enforcement_preview<'m>(
        &self,
        company: &str,
        owner: &str,
        members: impl IntoIterator<Item = &'m str>,
    ) -> Result<EnforcementPreview, MfaError<S::Error>> {
        let policy = self.company_policy(company)?;
        let unavailable = if !policy.is_owner(owner) {
            Some(RequirementUnavailable::NotOwner)
        } else if self.load(owner)?.record.factor.is_none() {
            Some(RequirementUnavailable::OwnMfaNotActive)
        } else {
            None
        };
        let members = members
            .into_iter()
            .map(|member| {
                self.read(member, |record, cx| {
                    member_of(member, record, Some((company, &policy)))?;
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

/// `user` (whose record this is) belongs to `company`, by the host's word
/// or as an owner; or no company is named.
pub(super) fn member_of<E>(
    user: &str,
    record: &MfaRecord,
    company: Option<(&str, &CompanyPolicy)>,
) -> Result<(), MfaError<E>> {
    match company {
        Some((company, policy)) if !record.is_member(company) && !policy.is_owner(user) => {
            Err(MfaError::NotMember)
        }
        _ => Ok(()),
    }
}
