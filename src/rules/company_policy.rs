//! Company accounts: whether a company requires MFA of every user, and what a
//! sign-in needs. Pure: the service loads the policy and the user's state.

use crate::keys::record_codec::{Reader, RecordError, Writer};
use crate::words::Message;

/// The step of an enrollment that is open: the one the person is asked for.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnrollmentStage {
    /// The QR code is shown; the first one-time code is awaited.
    FirstCode,
    /// The first code checked out; a code of a later time step is awaited.
    SecondCode,
    /// The codes checked out and the recovery code was shown; "I have safely
    /// recorded this number" is awaited. The factor is not active yet.
    RecoveryCode,
}

/// A company account's MFA policy, stored versioned like user records.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyPolicy {
    /// The store's version of this policy (0 before it was first saved).
    version: u64,
    owners: Vec<String>,
    /// The members the host added (owners are members without being
    /// listed here).
    members: Vec<String>,
    require_mfa: bool,
    grace_period: u64,
    since: u64,
}

/// What an owner saves for "Force every user to use MFA before accessing
/// the Company Account" ([`Mfa::set_mfa_requirement`](crate::Mfa::set_mfa_requirement)).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Users without MFA sign in with their password alone.
    Off,
    /// Every user must use MFA: those without it enroll at their next
    /// sign-in, or may still skip it for `grace_period` seconds after the
    /// requirement is switched on (0: no grace).
    On {
        /// Seconds users without MFA may still skip enrolling.
        grace_period: u64,
    },
}

/// What a user must do, after the password, to reach a company account.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInRequirement {
    /// Nothing more: the company does not require MFA and the user has none.
    Nothing,
    /// A one-time code (or a recovery code): the user's factor is active.
    /// Personal MFA is honoured even where the company does not require it.
    SecondFactor,
    /// "Company Account Verification": the company requires MFA and the user
    /// has no active factor; nothing else may be reached until enrollment is
    /// done.
    EnrollmentRequired,
    /// As [`EnrollmentRequired`](SignInRequirement::EnrollmentRequired), but
    /// within the grace period: the user may continue until `deadline`.
    EnrollmentRequiredBy {
        /// Unix time when the grace period ends.
        deadline: u64,
    },
}

impl SignInRequirement {
    /// What to tell the person signing in, with `now` to count down a grace
    /// period.
    pub fn message(&self, now: u64) -> Message {
        match self {
            SignInRequirement::Nothing => Message::SignInNothing,
            SignInRequirement::SecondFactor => Message::SignInSecondFactor,
            SignInRequirement::EnrollmentRequired => Message::SignInEnroll,
            SignInRequirement::EnrollmentRequiredBy { deadline } => Message::SignInEnrollWithin {
                seconds: deadline.saturating_sub(now),
            },
        }
    }

    /// [`message`](Self::message) in English.
    pub fn for_person(&self, now: u64) -> String {
        self.message(now).english()
    }
}

/// A member's MFA as an owner sees it before requiring MFA
/// ([`Mfa::enforcement_preview`](crate::Mfa::enforcement_preview)).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberMfa {
    /// An active factor.
    Active,
    /// An active factor, locked after too many wrong codes.
    Locked,
    /// An enrollment in progress, at this step.
    Enrolling(EnrollmentStage),
    /// No factor and no enrollment in progress.
    NotSetUp,
}

/// Why "Force every user to use MFA" is unavailable to someone.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequirementUnavailable {
    /// Only an owner of the company account may change it.
    NotOwner,
    /// The owner's own MFA is not active yet.
    OwnMfaNotActive,
}

impl RequirementUnavailable {
    /// What to show beside the unavailable checkbox.
    pub fn message(&self) -> Message {
        match self {
            RequirementUnavailable::NotOwner => Message::RequirementOwnersOnly,
            RequirementUnavailable::OwnMfaNotActive => Message::RequirementOwnMfaFirst,
        }
    }

    /// [`message`](Self::message) in English.
    pub fn for_person(&self) -> String {
        self.message().english()
    }
}

/// Who "Force every user to use MFA" would affect, before "Save changes":
/// each member's MFA state, the counts, and whether the owner may save.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnforcementPreview {
    /// Each member of the company account, owners first, with their MFA
    /// state.
    pub members: Vec<(String, MemberMfa)>,
    /// `Some` when the owner asking cannot change the setting, and why.
    pub unavailable: Option<RequirementUnavailable>,
    /// Whether the company requires MFA already (the preview then says who
    /// *is* asked, not who *will be*).
    pub required: bool,
}

impl EnforcementPreview {
    /// Members in `state`.
    pub fn count(&self, state: MemberMfa) -> usize {
        self.members.iter().filter(|(_, s)| *s == state).count()
    }

    /// Members who will be asked to set up MFA at their next sign-in: no
    /// factor yet (not set up, or an enrollment not finished).
    pub fn to_enroll(&self) -> usize {
        self.members
            .iter()
            .filter(|(_, s)| matches!(s, MemberMfa::NotSetUp | MemberMfa::Enrolling(_)))
            .count()
    }

    /// The summary: "3 of 12 users will be asked to set up MFA at their next
    /// sign-in." (or "are asked", once the company requires MFA).
    pub fn message(&self) -> Message {
        let (to_enroll, total) = (self.to_enroll() as u64, self.members.len() as u64);
        match to_enroll {
            0 => Message::PreviewAllUseMfa { total },
            _ if self.required => Message::PreviewAreAsked { to_enroll, total },
            _ => Message::PreviewWillBeAsked { to_enroll, total },
        }
    }

    /// [`message`](Self::message) in English.
    pub fn for_person(&self) -> String {
        self.message().english()
    }
}

impl CompanyPolicy {
    /// A new company with these owners, not requiring MFA.
    pub(crate) fn new(owners: &[&str], now: u64) -> CompanyPolicy {
        CompanyPolicy {
            version: 0,
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            members: Vec::new(),
            require_mfa: false,
            grace_period: 0,
            since: now,
        }
    }

    /// The store's version of this policy: it changes with every saved change.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub(crate) fn with_version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }

    /// Whether `user` is an owner.
    pub fn is_owner(&self, user: &str) -> bool {
        self.owners.iter().any(|o| o == user)
    }

    /// The owners' user ids.
    pub fn owners(&self) -> &[String] {
        &self.owners
    }

    /// Every member's user id, the owners first, then as the host added
    /// them ([`Mfa::add_member`](crate::Mfa::add_member)).
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.owners.iter().chain(&self.members).map(String::as_str)
    }

    /// Lists `user` among the members; `false` if they are listed (or an
    /// owner) already.
    pub(crate) fn list_member(&mut self, user: &str) -> bool {
        if self.members().any(|m| m == user) {
            return false;
        }
        self.members.push(user.to_owned());
        true
    }

    /// Takes `user` off the list; `false` if they were not on it.
    pub(crate) fn unlist_member(&mut self, user: &str) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m != user);
        self.members.len() != before
    }

    /// Whether every user must use MFA.
    pub fn requires_mfa(&self) -> bool {
        self.require_mfa
    }

    /// Seconds users without MFA may still sign in after the requirement
    /// was switched on (0: enroll at the next sign-in).
    pub fn grace_period(&self) -> u64 {
        self.grace_period
    }

    /// When the requirement was last switched on or off (Unix seconds).
    pub fn since(&self) -> u64 {
        self.since
    }

    /// Switches the requirement; `false` if it already was so. Saving "on"
    /// again keeps `since` and the grace deadline: only off → on starts a
    /// grace period.
    pub(crate) fn set_requirement(&mut self, require: bool, grace_period: u64, now: u64) -> bool {
        if require == self.require_mfa {
            return false;
        }
        self.require_mfa = require;
        self.grace_period = if require { grace_period } else { 0 };
        self.since = now;
        true
    }

    /// What a sign-in needs now from a user with or without an active factor.
    pub fn sign_in_requirement(&self, has_active_factor: bool, now: u64) -> SignInRequirement {
        evaluate(Some(self), has_active_factor, now)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(FORMAT);
        w.u8(u8::from(self.require_mfa));
        w.u64(self.grace_period);
        w.u64(self.since);
        w.u8(u8::try_from(self.owners.len()).unwrap_or(u8::MAX));
        for owner in self.owners.iter().take(usize::from(u8::MAX)) {
            w.short_bytes(owner.as_bytes());
        }
        let members = self.members.len().min(MAX_MEMBERS);
        w.u32(u32::try_from(members).unwrap_or(0));
        for member in self.members.iter().take(members) {
            w.short_bytes(member.as_bytes());
        }
        w.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<CompanyPolicy, RecordError> {
        let (format, mut r) = Reader::new(bytes)?;
        if format != FORMAT && format != FORMAT_128 {
            return Err(RecordError::UnsupportedFormat(format));
        }
        let require_mfa = r.flag("require_mfa")?;
        let grace_period = r.u64()?;
        let since = r.u64()?;
        let count = r.u8()?;
        let mut owners = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            owners.push(read_id(&mut r, "owner")?);
        }
        let mut members = Vec::new();
        if format == FORMAT {
            let count = r.u32()?;
            if count as usize > MAX_MEMBERS {
                return Err(RecordError::InvalidField("members"));
            }
            for _ in 0..count {
                members.push(read_id(&mut r, "member")?);
            }
        }
        r.finish()?;
        Ok(CompanyPolicy {
            version: 0,
            owners,
            members,
            require_mfa,
            grace_period,
            since,
        })
    }
}

fn read_id(r: &mut Reader<'_>, field: &'static str) -> Result<String, RecordError> {
    let id = std::str::from_utf8(r.short_bytes()?).map_err(|_| RecordError::InvalidField(field))?;
    Ok(id.to_owned())
}

/// At most this many members (besides the owners) a company lists.
pub(crate) const MAX_MEMBERS: usize = 100_000;

/// Company records: format 129 (with the members), apart from user
/// records' numbers; 128 (without) still read.
const FORMAT: u8 = 129;
const FORMAT_128: u8 = 128;

/// What a sign-in needs, with or without a company policy.
pub(crate) fn evaluate(
    policy: Option<&CompanyPolicy>,
    has_active_factor: bool,
    now: u64,
) -> SignInRequirement {
    if has_active_factor {
        return SignInRequirement::SecondFactor;
    }
    match policy {
        Some(policy) if policy.require_mfa => {
            let deadline = policy.since.saturating_add(policy.grace_period);
            if policy.grace_period > 0 && now < deadline {
                SignInRequirement::EnrollmentRequiredBy { deadline }
            } else {
                SignInRequirement::EnrollmentRequired
            }
        }
        _ => SignInRequirement::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let mut policy = CompanyPolicy::new(&["owner"], 100);
        assert_eq!(
            policy.sign_in_requirement(false, 200),
            SignInRequirement::Nothing
        );
        assert_eq!(
            policy.sign_in_requirement(true, 200),
            SignInRequirement::SecondFactor
        );
        assert!(policy.set_requirement(true, 0, 300));
        assert_eq!(
            policy.sign_in_requirement(false, 300),
            SignInRequirement::EnrollmentRequired
        );
        // On again: nothing changes, the grace period does not reopen.
        assert!(!policy.set_requirement(true, 3600, 400));
        assert_eq!(policy.since(), 300);
        assert_eq!(policy.grace_period(), 0);
        assert!(policy.set_requirement(false, 0, 300));
        assert!(!policy.set_requirement(false, 0, 300));
        assert!(policy.set_requirement(true, 3600, 300));
        assert_eq!(
            policy.sign_in_requirement(false, 3899),
            SignInRequirement::EnrollmentRequiredBy { deadline: 3900 }
        );
        assert_eq!(
            policy.sign_in_requirement(false, 3900),
            SignInRequirement::EnrollmentRequired
        );
        assert_eq!(evaluate(None, false, 0), SignInRequirement::Nothing);
    }

    #[test]
    fn round_trips() {
        let mut policy = CompanyPolicy::new(&["a", "b"], 5);
        assert!(policy.set_requirement(true, 60, 9));
        let bytes = policy.encode();
        assert_eq!(CompanyPolicy::decode(&bytes).unwrap(), policy);
        for len in 0..bytes.len() {
            assert!(CompanyPolicy::decode(&bytes[..len]).is_err());
        }
    }
}
