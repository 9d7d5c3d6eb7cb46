#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod clock;
mod codec;
mod drift;
mod enrollment;
mod envelope;
mod event;
mod key_cache;
mod otp;
mod policy;
#[cfg(feature = "qr")]
mod qr;
mod recovery;
mod seal;
mod secret;
mod service;
mod shard;
mod store;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
mod throttle;
mod uri;
mod warning;
mod words;

pub use account::{
    Acknowledged, Bound, EnrollmentCheck, EnrollmentStage, Passed, RecoveryUsed, Screen,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::RecordError;
pub use drift::ClockDrift;
pub use event::{Actor, CollectingSink, Event, EventSink, NoEvents, RecordedEvent, RejectReason};
pub use service::{AsyncMfa, Mfa, MfaError, MfaStatus, Prepared, ResealReport, Save};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use store::PostgresStore;
#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "sqlite",
        feature = "postgres",
        feature = "sqlx-sqlite",
        feature = "sqlx-postgres"
    )))
)]
pub use store::SqlStoreError;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteStore;
#[cfg(feature = "sqlx-postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-postgres")))]
pub use store::SqlxPgStore;
#[cfg(feature = "sqlx-sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-sqlite")))]
pub use store::SqlxSqliteStore;
pub use store::{AsyncStore, MemoryStore, RecordKey, SaveOutcome, Store, Version, Versioned};
pub use throttle::{Gate, ThrottleError, ThrottlePolicy};

pub use enrollment::{Enrollment, EnrollmentBuilder, EnrollmentError};
pub use otp::{
    Algorithm, Code, Digits, ExposedCode, Hotp, ParamError, Period, Totp, TotpParams, Verified,
    VerifyError, Window,
};
pub use policy::{
    CompanyPolicy, EnforcementPreview, MemberMfa, RequirementUnavailable, SignInRequirement,
};
#[cfg(feature = "qr")]
#[cfg_attr(docsrs, doc(cfg(feature = "qr")))]
pub use qr::{Qr, QrError};
pub use recovery::{RecoveryCode, RecoveryError, RecoveryMode, SetSize};
pub use seal::{Keyring, SealError};
pub use secret::{Secret, SecretError};
pub use uri::{KeyUri, OtpType, UriError};
pub use warning::Warning;

/// The `rand_core` version this crate's generic RNG parameters use.
pub use rand_core;
