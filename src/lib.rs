//! Authenticator-app multi-factor authentication for multi-user products:
//! TOTP and HOTP to the letter of RFC 6238 and RFC 4226, secrets sealed at
//! rest, records authenticated, QR codes rendered locally, and the screens
//! of a company account's MFA (activation, "Company Account Verification",
//! recovery codes, the requirement an owner switches on) stored step by step.
//!
//! # The guides
//!
//! [Company accounts](guide::company_accounts) (the help page's screens and
//! the step call), [a web host](guide::web_host), [async hosts](guide::async_hosts)
//! (sqlx on SQLite and PostgreSQL), [storage](guide::storage),
//! [PostgreSQL in production](guide::postgres_production), the
//! [security model](guide::security_model), [compatibility](guide::compatibility)
//! (authenticator apps, Rust versions, features).
//!
//! # Where to start
//!
//! The main types are here at the root; the rest is in a few namespaces:
//! [`otp`] (the algorithm alone), [`screen`], [`company`], [`recovery`],
//! [`throttle`], [`event`], [`clock`], [`store`], [`words`].
//!
//! | the job | the type |
//! |---|---|
//! | a product with accounts, sync code | [`Mfa`] over a [`Store`] |
//! | a product with accounts, async code (axum, actix, tokio) | [`AsyncMfa`] over an [`AsyncStore`] |
//! | what the host keeps in a person's session | [`MfaSession`], from [`Mfa::start_session`] after the password |
//! | which screen a person is on, after a reload or tomorrow | [`Mfa::current_screen`] → [`Screen`], its [`Screen::forms`] |
//! | every button of every screen | [`Mfa::step`]: an [`Action`] in (from a form: [`Action::from_form`], `StepForm`), a [`Step`] out |
//! | the same, call by call | [`Mfa::begin_enrollment`], [`Mfa::confirm_enrollment`], [`Mfa::confirm_second_code`], [`Mfa::acknowledge_recovery`], [`Mfa::verify`], [`Mfa::use_recovery_code`] |
//! | company accounts | [`Mfa::create_company`], [`Mfa::add_member`], [`Mfa::set_mfa_requirement`], [`Mfa::enforcement_preview`], [`Mfa::reset_user_mfa`] |
//! | where records live | [`MemoryStore`]; the crates `twostep-sql` (`SqliteStore`, `PostgresStore`) and `twostep-sqlx` (`SqlxSqliteStore`, `SqlxPgStore`, over your sqlx pool); your own [`Store`] or [`AsyncStore`], checked with `testkit` |
//! | saving in your own transaction | [`Mfa::prepare_verify`] → [`Prepared`](store::Prepared) |
//! | the keys that seal secrets and tag records | [`Keyring`] (kept outside the database) |
//! | an audit trail | [`EventSink`](event::EventSink), [`Event`](event::Event), [`Actor`](event::Actor) |
//! | words for the person at the screen, in any language | [`words::Message`]: an id, its numbers, the English |
//! | just the algorithm, no accounts | [`otp`]: `Totp`, `Hotp`, `Code`, `Secret`, `KeyUri`, `Qr`; [`Enrollment`] |
//!
//! # A sign-in, in full
//!
//! ```
//! # #[cfg(feature = "getrandom")] {
//! use twostep::{Action, Config, Mfa, Screen};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mfa = Mfa::in_memory_with(Config::default().with_issuer("Acme"))?; // a product: Mfa::with_config(its store, its keyring, config)
//!
//! // The password is right: twostep's part of the session, kept by the host.
//! let mut session = mfa.start_session("ada")?;
//! // "Multi-Factor Authentication → Activate": the QR code…
//! let step = mfa.step("ada", None, &mut session, Action::SetUp { account: "ada@example.com" })?;
//! let Screen::ScanQr { enrollment, .. } = step.screen else { unreachable!() };
//! # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! # let code = enrollment.totp().generate(now)?.expose().to_string();
//! // …the code it shows, then the recovery code and its tick:
//! let step = mfa.step("ada", None, &mut session, Action::Code(&code))?;
//! let Screen::RecordRecoveryCode { codes, .. } = step.screen else { unreachable!() };
//! let step = mfa.step("ada", None, &mut session, Action::Recorded { ticked: true })?;
//! assert!(step.passed_second_factor); // keep the changed session, renew its id
//!
//! // Every later sign-in, after the password: the code screen, a code.
//! let mut session = mfa.start_session("ada")?;
//! assert!(matches!(mfa.current_screen("ada", None, &session)?, Screen::EnterCode { .. }));
//! let step = mfa.step("ada", None, &mut session, Action::Code(&code))?;
//! if let Some(refused) = step.refused {
//!     println!("{refused}"); // "That code was just used. Wait 12 seconds for the next one."
//! }
//! # let _ = codes;
//! # Ok(()) }
//! # main().unwrap();
//! # }
//! ```
//!
//! # Features
//!
//! `getrandom` and `qr` by default; `qr-png`; `testkit` (the store contract
//! as checks); `serde`. The database stores are crates of their own:
//! `twostep-sql` and `twostep-sqlx`. [Compatibility](guide::compatibility) says what each
//! adds and which Rust it needs.
//!
//! With `serde`, what a host puts in a session, a JSON API or an audit log
//! is `Serialize` and `Deserialize`: [`Event`](event::Event), [`RecordedEvent`](event::RecordedEvent), [`Actor`](event::Actor),
//! [`SignInRequirement`](company::SignInRequirement), [`MfaStatus`](screen::MfaStatus), [`Gate`](throttle::Gate), [`EnrollmentStage`](screen::EnrollmentStage),
//! [`Acknowledged`](screen::Acknowledged), [`ClockDrift`](screen::ClockDrift), [`CompanyPolicy`](company::CompanyPolicy), [`Requirement`],
//! [`EnforcementPreview`](company::EnforcementPreview), [`MemberMfa`](company::MemberMfa); enums in `snake_case`, those with
//! fields tagged `"kind"`; and [`MfaSession`], as its token string:
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! # fn json<T: serde::Serialize>(_: &T) {}
//! json(&twostep::throttle::Gate::Wait { retry_after: 15 }); // {"kind":"wait","retry_after":15}
//! # }
//! ```
//!
//! Never a secret, a code, a recovery code, an enrollment or a screen that
//! carries one:
//!
//! ```compile_fail
//! fn json<T: serde::Serialize>(_: &T) {}
//! json(&twostep::otp::Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layers, top to bottom (ARCHITECTURE.md; `tools/layer-check` holds
// each to the ones above it).
mod account;
mod codes;
pub mod guide;
mod keys;
mod material;
mod rules;
mod service;
mod storage;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
pub mod words;

// What a host uses every day, at the root; the rest in a few namespaces.
pub use account::{Screen, ScreenKind};
pub use keys::{Keyring, MalformedSession, MfaSession, SealError};
pub use material::Enrollment;
pub use rules::Requirement;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use service::StepForm;
pub use service::{Action, AsyncMfa, Config, Mfa, MfaError, Step};
pub use storage::{AsyncStore, MemoryStore, Store};

/// One-time passwords alone (RFC 4226, RFC 6238) and what a phone is given:
/// codes, their parameters and check, secrets, otpauth URIs, QR codes, the
/// [`Enrollment`] builder.
pub mod otp {
    pub use crate::codes::{
        Algorithm, Code, Digits, ExposedCode, Hotp, ParamError, Period, Totp, TotpParams, Verified,
        VerifyError, Window,
    };
    pub use crate::material::{
        EnrollmentBuilder, EnrollmentError, KeyUri, OtpType, Secret, SecretError, UriError, Warning,
    };
    #[cfg(feature = "qr")]
    #[cfg_attr(docsrs, doc(cfg(feature = "qr")))]
    pub use crate::material::{Qr, QrError};
}

/// What the screens carry and what the call-by-call operations answer:
/// forms and their buttons, the answers of the enrollment steps, the
/// user's MFA state.
pub mod screen {
    pub use crate::account::{
        Acknowledged, Bound, Button, Confirmed, EnrollmentCheck, Form, Input, RecoveryUsed,
    };
    pub use crate::rules::{ClockDrift, EnrollmentStage};
    pub use crate::service::{MfaStatus, ResealReport};
}

/// Company accounts: the policy an owner sets, what a sign-in requires,
/// and the enforcement preview.
pub mod company {
    pub use crate::rules::{
        CompanyPolicy, EnforcementPreview, MemberMfa, RequirementUnavailable, SignInRequirement,
    };
}

/// Recovery codes and how they are issued.
pub mod recovery {
    pub use crate::rules::{RecoveryCode, RecoveryError, RecoveryMode, SetSize};
}

/// The failure budget: how many wrong codes, how long to wait, when to lock.
pub mod throttle {
    pub use crate::rules::{Gate, ThrottleError, ThrottlePolicy};
}

/// The audit trail: what happened, who did it, where it goes.
pub mod event {
    pub use crate::rules::{
        Actor, CollectingSink, Event, EventSink, NoEvents, RecordedEvent, RejectReason,
    };
}

/// Time as the service reads it: the system's, or one a test moves.
pub mod clock {
    pub use crate::service::{Clock, ManualClock, SystemClock};
}

/// What a store keeps and answers, for a host writing its own
/// [`Store`], and the sans-IO path for saving in the host's
/// own transaction.
pub mod store {
    pub use crate::keys::RecordError;
    pub use crate::service::{Prepared, Write, Written};
    pub use crate::storage::{RecordKey, SaveOutcome, Version, Versioned};
}

/// The `rand_core` version this crate's generic RNG parameters use.
pub use rand_core;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
