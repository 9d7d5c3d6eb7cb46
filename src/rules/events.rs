//! Audit events: what happened to whose factor, and when. Never a secret or
//! a code.

use std::sync::Mutex;

/// Who made something happen to a user's record.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Actor {
    /// The user themselves: typing a code, ticking, using a recovery code.
    User,
    /// An owner of a company account, by user id (a reset, a policy change).
    Owner(String),
    /// The host application, in its own name: creating a company,
    /// membership, `remove_factor`, `unlock`.
    Host,
}

/// Why a code was refused.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The code was wrong.
    Mismatch,
    /// The input was not a code of the right length.
    Malformed,
}

/// Something that happened to a user's factor.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A code was accepted and its step saved.
    Verified {
        /// The accepted time step.
        step: u64,
        /// Its distance from the current step.
        drift: i64,
    },
    /// A code was refused and the failure counted.
    Rejected {
        /// Why.
        reason: RejectReason,
        /// Consecutive failures now counted.
        failures: u32,
    },
    /// A right code was refused because its step was already used: someone
    /// else may know the code (RFC 6238 §5.2, OWASP ASVS V6).
    ReplayRejected,
    /// A check was refused without being made, because of earlier failures.
    Throttled {
        /// Seconds until the next check is allowed.
        retry_after: u64,
    },
    /// A check was refused without being made: the factor is locked.
    LockedOut,
    /// The failures reached the lockout: the factor is now locked.
    Locked {
        /// Consecutive failures counted.
        failures: u32,
    },
    /// The failure count was reset by an owner or an administrator.
    Unlocked,
    /// An enrollment was begun (or begun again): a QR code was shown.
    EnrollmentStarted,
    /// The first code of an enrollment that asks for two checked out; the
    /// second (later) code is awaited.
    EnrollmentFirstCodeAccepted,
    /// The enrollment's codes checked out; recovery codes were shown.
    EnrollmentConfirmed,
    /// Wrong enrollment codes reached the lockout: the enrollment is void and
    /// must begin again with a new secret.
    EnrollmentLocked {
        /// Wrong codes counted for that enrollment.
        failures: u32,
    },
    /// The person put off a setup they had started ("Not now"): the
    /// enrollment, its QR code and any codes it issued are gone.
    EnrollmentCancelled,
    /// The person confirmed having recorded replacement or regenerated
    /// recovery codes.
    RecoveryCodesAcknowledged,
    /// A factor was bound to the user (NIST SP 800-63B §4.1: notify the user).
    FactorBound,
    /// The user's factor was removed.
    FactorRemoved,
    /// Every session of the user was ended ("sign out everywhere"): each
    /// session made before is over, whatever it passed.
    SessionsEnded,
    /// An owner reset the user's MFA: factor and recovery codes removed; the
    /// user enrolls again at the next sign-in. The owner is the actor.
    FactorReset,
    /// A company account was created with this user among its owners.
    CompanyCreated {
        /// The company.
        company: String,
    },
    /// The host made the user a member of a company account.
    MemberAdded {
        /// The company.
        company: String,
    },
    /// The host removed the user from a company account.
    MemberRemoved {
        /// The company.
        company: String,
    },
    /// An owner changed a company's MFA requirement (delivered with the
    /// owner as the user and the actor).
    CompanyPolicyChanged {
        /// The company.
        company: String,
        /// Whether MFA is now required.
        require_mfa: bool,
        /// The grace period in seconds.
        grace_period: u64,
    },
    /// A recovery code was used (and spent); NIST SP 800-63B §4.2.1.1 asks
    /// to notify the user.
    RecoveryCodeUsed {
        /// Unspent codes left (after a new single code, 1).
        remaining: u32,
    },
    /// The single recovery code used moments ago was entered again before
    /// its replacement was acknowledged: the person signed in and was shown
    /// the same replacement (a retry after a lost answer; nothing new was
    /// issued).
    RecoveryCodeRetried,
    /// A recovery code was refused. Not counted against the one-time codes'
    /// failures: recovery codes carry 125 bits, no guesser finds one, and
    /// counting them would let someone with the password lock the owner out.
    RecoveryCodeRejected,
    /// New recovery codes were issued; all older ones are void.
    RecoveryCodesIssued {
        /// How many.
        count: u32,
    },
}

/// Where the service delivers events. The host implements it, e.g. to write
/// an audit log or notify the user on another channel. Each event comes
/// with the user whose record it is about, the time, and who acted.
///
/// Events that describe a change (verified, rejected, locked, unlocked,
/// bound, removed) are delivered only after the change was saved. Refusals
/// that change nothing (replayed, throttled, locked out) are delivered when
/// they are answered.
pub trait EventSink: Send + Sync {
    /// Delivers one event about `user` at Unix time `at`, caused by `by`.
    /// Must not block for long: it runs on the request's thread.
    fn record(&self, user: &str, at: u64, by: &Actor, event: Event);
}

impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    fn record(&self, user: &str, at: u64, by: &Actor, event: Event) {
        (**self).record(user, at, by, event);
    }
}

/// Discards every event (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn record(&self, _: &str, _: u64, _: &Actor, _: Event) {}
}

/// An event with its user and time, as kept by [`CollectingSink`].
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The user.
    pub user: String,
    /// Unix time.
    pub at: u64,
    /// Who acted.
    pub by: Actor,
    /// What happened.
    pub event: Event,
}

/// Keeps every event in memory, for tests and examples.
#[derive(Debug, Default)]
pub struct CollectingSink {
    events: Mutex<Vec<RecordedEvent>>,
}

impl CollectingSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the events collected so far, oldest first.
    pub fn take(&self) -> Vec<RecordedEvent> {
        match self.events.lock() {
            Ok(mut events) => std::mem::take(&mut *events),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl EventSink for CollectingSink {
    fn record(&self, user: &str, at: u64, by: &Actor, event: Event) {
        let recorded = RecordedEvent {
            user: user.to_owned(),
            at,
            by: by.clone(),
            event,
        };
        match self.events.lock() {
            Ok(mut events) => events.push(recorded),
            Err(poisoned) => poisoned.into_inner().push(recorded),
        }
    }
}
