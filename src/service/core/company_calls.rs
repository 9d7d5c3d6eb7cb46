//! Company accounts: their owners, their members (kept in each member's own
//! record, as the host reports joins and leaves), the requirement an owner
//! switches on, what it means at sign-in, and who it would affect.
//!
//! The rule "while a company requires MFA, its users keep their factor"
//! is checked against every company the user belongs to, never only the
//! one a caller names.

use crate::account::MfaRecord;
use crate::keys::session_proof::MfaSession;
use crate::rules::company_policy::{
    self as policy, CompanyPolicy, EnforcementPreview, Requirement, RequirementUnavailable,
    SignInRequirement,
};
use crate::rules::events::{Actor, Event};
use crate::storage::{RecordKey, SaveOutcome};

use super::{Access, Core, Loaded, MfaError};

/// Company ids are 1 to 255 bytes, as owners' ids.
const MAX_ID_LEN: usize = 255;

impl Core {
    pub(crate) async fn create_company<A: Access>(
        &self,
        access: &A,
        company: &str,
        owners: &[&str],
    ) -> Result<(), MfaError<A::Error>> {
        if company.is_empty() || company.len() > MAX_ID_LEN {
            return Err(MfaError::InvalidCompany);
        }
        if owners.is_empty()
            || owners.len() > 255
            || owners.iter().any(|o| o.is_empty() || o.len() > MAX_ID_LEN)
        {
            return Err(MfaError::InvalidOwners);
        }
        let policy = CompanyPolicy::new(owners, self.config.clock.now());
        let key = RecordKey::Company(company);
        if self.save(access, key, None, &policy.encode()).await? == SaveOutcome::Conflict {
            // Made before, with these owners: done (a host calls this at
            // every start); with others, refused.
            let existing = self.company_policy(access, company).await?;
            let same = existing.owners().len() == owners.len()
                && owners.iter().all(|o| existing.is_owner(o));
            if !same {
                return Err(MfaError::CompanyExists);
            }
        }
        for owner in owners {
            self.update(access, owner, &Actor::Host, |record, _| {
                record.join(company)
            })
            .await?;
            let created = Event::CompanyCreated {
                company: company.to_owned(),
            };
            self.audit(owner, &Actor::Host, created);
        }
        Ok(())
    }

    pub(crate) async fn add_member<A: Access>(
        &self,
        access: &A,
        company: &str,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        self.change_company(access, company, |policy| policy.list_member(user))
            .await?;
        self.update(access, user, &Actor::Host, |record, _| record.join(company))
            .await
    }

    /// Loads `company`'s record, applies `change` (`true`: it changed),
    /// saves it if it changed, again from a fresh load on a conflict; the
    /// policy as it then is.
    pub(crate) async fn change_company<A: Access>(
        &self,
        access: &A,
        company: &str,
        mut change: impl FnMut(&mut CompanyPolicy) -> bool,
    ) -> Result<CompanyPolicy, MfaError<A::Error>> {
        let key = RecordKey::Company(company);
        for _ in 0..self.config.max_attempts {
            let Loaded {
                record: mut policy,
                version,
                ..
            } = self.load_company(access, company).await?;
            if !change(&mut policy) {
                return Ok(policy);
            }
            if let SaveOutcome::Saved(version) =
                self.save(access, key, version, &policy.encode()).await?
            {
                return Ok(policy.with_version(version.0));
            }
        }
        Err(MfaError::Contended)
    }

    pub(crate) async fn remove_member<A: Access>(
        &self,
        access: &A,
        company: &str,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        if self.company_policy(access, company).await?.is_owner(user) {
            return Err(MfaError::OwnerStaysMember);
        }
        self.change_company(access, company, |policy| policy.unlist_member(user))
            .await?;
        self.update(access, user, &Actor::Host, |record, _| {
            record.leave(company)
        })
        .await
    }

    pub(crate) async fn company_policy<A: Access>(
        &self,
        access: &A,
        company: &str,
    ) -> Result<CompanyPolicy, MfaError<A::Error>> {
        Ok(self.load_company(access, company).await?.record)
    }

    pub(crate) async fn load_company<A: Access>(
        &self,
        access: &A,
        company: &str,
    ) -> Result<Loaded<CompanyPolicy>, MfaError<A::Error>> {
        let key = RecordKey::Company(company);
        let stored = access
            .load(key)
            .await
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

    pub(crate) async fn set_mfa_requirement<A: Access>(
        &self,
        access: &A,
        company: &str,
        owner: &str,
        session: &MfaSession,
        requirement: Requirement,
    ) -> Result<CompanyPolicy, MfaError<A::Error>> {
        if !self.company_policy(access, company).await?.is_owner(owner) {
            return Err(MfaError::NotOwner);
        }
        self.update(access, owner, &Actor::User, |record, cx| {
            record.owner_check(cx, session, company)
        })
        .await
        .map_err(|error| match error {
            MfaError::NoFactor => MfaError::OwnMfaRequired,
            other => other,
        })?;
        let (require, grace_period) = match requirement {
            Requirement::Off => (false, 0),
            Requirement::On { grace_period } => (true, grace_period),
        };
        let (mut changed, mut owns) = (false, true);
        let policy = self
            .change_company(access, company, |policy| {
                owns = policy.is_owner(owner);
                changed =
                    owns && policy.set_requirement(require, grace_period, self.config.clock.now());
                changed
            })
            .await?;
        if !owns {
            return Err(MfaError::NotOwner);
        }
        if changed {
            let event = Event::CompanyPolicyChanged {
                company: company.to_owned(),
                require_mfa: policy.requires_mfa(),
                grace_period: policy.grace_period(),
            };
            self.audit(owner, &Actor::Owner(owner.to_owned()), event);
        }
        Ok(policy)
    }

    pub(crate) async fn sign_in_requirement<A: Access>(
        &self,
        access: &A,
        user: &str,
        company: Option<&str>,
    ) -> Result<SignInRequirement, MfaError<A::Error>> {
        let policy = match company {
            Some(company) => Some(self.company_policy(access, company).await?),
            None => None,
        };
        self.read(access, user, |record, cx| {
            member_of(user, record, company.zip(policy.as_ref()))?;
            Ok(policy::evaluate(
                policy.as_ref(),
                record.factor.is_some(),
                cx.now,
            ))
        })
        .await
    }

    pub(crate) async fn remove_own_factor<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &mut MfaSession,
    ) -> Result<(), MfaError<A::Error>> {
        let record = self.load(access, user).await?.record;
        for company in &record.companies {
            if self.company_policy(access, company).await?.requires_mfa() {
                return Err(MfaError::RequiredByCompany);
            }
        }
        // A company that starts requiring MFA between this check and the
        // save finds the user without a factor: they are asked to enroll
        // at their next sign-in, like any member without one.
        let shown = &*session;
        let stamp = self
            .update(access, user, &Actor::User, |record, cx| {
                record.remove_own(cx, shown)
            })
            .await?;
        *session = session.without_factor(&self.keyring, user, stamp);
        Ok(())
    }

    /// `owner` owns `company`, and `session` passed the owner's factor
    /// recently: what an owner's action on a member needs.
    async fn owner_acting<A: Access>(
        &self,
        access: &A,
        company: &str,
        owner: &str,
        session: &MfaSession,
    ) -> Result<CompanyPolicy, MfaError<A::Error>> {
        let policy = self.company_policy(access, company).await?;
        if !policy.is_owner(owner) {
            return Err(MfaError::NotOwner);
        }
        self.read(access, owner, |record, cx| {
            cx.recent_second_factor(record, session)
                .map_err(MfaError::from)
        })
        .await?;
        Ok(policy)
    }

    pub(crate) async fn reset_user_mfa<A: Access>(
        &self,
        access: &A,
        company: &str,
        owner: &str,
        session: &MfaSession,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        let policy = self.owner_acting(access, company, owner, session).await?;
        if policy.is_owner(user) {
            return Err(MfaError::CannotResetOwner);
        }
        let target = self.load(access, user).await?.record;
        if !target.is_member(company) {
            return Err(MfaError::NotMember);
        }
        for other in target.companies.iter().filter(|c| *c != company) {
            let other = self.company_policy(access, other).await?;
            if other.is_owner(user) {
                return Err(MfaError::CannotResetOwner);
            }
            if other.requires_mfa() && !other.is_owner(owner) {
                return Err(MfaError::RequiredByCompany);
            }
        }
        self.update(
            access,
            user,
            &Actor::Owner(owner.to_owned()),
            |record, _| record.reset(company),
        )
        .await
    }

    pub(crate) async fn unlock_member<A: Access>(
        &self,
        access: &A,
        company: &str,
        owner: &str,
        session: &MfaSession,
        user: &str,
    ) -> Result<(), MfaError<A::Error>> {
        self.owner_acting(access, company, owner, session).await?;
        self.update(
            access,
            user,
            &Actor::Owner(owner.to_owned()),
            |record, _| record.unlock_member(company),
        )
        .await
    }

    pub(crate) async fn enforcement_preview<A: Access>(
        &self,
        access: &A,
        company: &str,
        owner: &str,
    ) -> Result<EnforcementPreview, MfaError<A::Error>> {
        let policy = self.company_policy(access, company).await?;
        let unavailable = if !policy.is_owner(owner) {
            Some(RequirementUnavailable::NotOwner)
        } else if self.load(access, owner).await?.record.factor.is_none() {
            Some(RequirementUnavailable::OwnMfaNotActive)
        } else {
            None
        };
        let mut states = Vec::new();
        for member in policy.members() {
            let state = self
                .read(access, member, |record, cx| {
                    Ok(record.member_mfa(cx.now, cx.policy))
                })
                .await?;
            states.push((member.to_owned(), state));
        }
        Ok(EnforcementPreview {
            members: states,
            unavailable,
            required: policy.requires_mfa(),
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
