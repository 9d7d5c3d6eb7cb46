//! Layer 4: pure rules: the failure schedule and its gates, recovery codes
//! and their keyed hashes, a company's policy and what a sign-in requires,
//! the phone's clock drift, and the audit events transitions produce.
//!
//! - `throttle.rs`: `ThrottlePolicy`, `Gate`;
//! - `recovery_codes/`: `RecoveryCode`, modes, stored hashes;
//! - `company_policy.rs`: `CompanyPolicy`, `Requirement`, `SignInRequirement`,
//!   `EnforcementPreview`, `MemberMfa`, `EnrollmentStage`;
//! - `clock_drift.rs`: `ClockDrift`;
//! - `events.rs`: `Event`, `Actor`, `EventSink`.

pub(crate) mod clock_drift;
pub(crate) mod company_policy;
pub(crate) mod events;
pub(crate) mod recovery_codes;
pub(crate) mod throttle;

pub use clock_drift::ClockDrift;
pub use company_policy::{
    CompanyPolicy, EnforcementPreview, EnrollmentStage, MemberMfa, Requirement,
    RequirementUnavailable, SignInRequirement,
};
pub use events::{Actor, CollectingSink, Event, EventSink, NoEvents, RecordedEvent, RejectReason};
pub use recovery_codes::{RecoveryCode, RecoveryError, RecoveryMode, SetSize};
pub use throttle::{Gate, ThrottleError, ThrottlePolicy};
