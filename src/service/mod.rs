//! Layer 7: what a host calls.
//!
//! - `async_mfa.rs`: [`AsyncMfa`], every operation an `async fn` over an
//!   [`AsyncStore`](crate::AsyncStore), documented there;
//! - `mfa.rs`: [`Mfa`], each the blocking form over a [`Store`](crate::Store);
//! - `config.rs`: [`Config`], the settings both take;
//! - `core/`: the one copy of the service's logic, `async fn`s over a
//!   store's two calls: load → transition → save-if-version → retry;
//! - `action.rs`: [`Action`] in, [`Step`] out, for every screen's buttons;
//! - `clock.rs`: [`Clock`]s;
//! - `own_transaction.rs`: the sans-IO path, for a host that saves in its
//!   own transaction ([`Prepared`]);
//! - `error.rs`: [`MfaError`] and its sentences for people.

mod action;
mod async_mfa;
mod clock;
mod config;
mod core;
mod error;
mod mfa;
mod own_transaction;
#[cfg(test)]
mod service_tests;

pub use self::core::{MfaStatus, ResealReport};
#[cfg(feature = "serde")]
pub use action::StepForm;
pub use action::{Action, Step};
pub use async_mfa::AsyncMfa;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use error::MfaError;
#[cfg(feature = "testkit")]
pub(crate) use mfa::block_on;
pub use mfa::Mfa;
pub use own_transaction::{Prepared, Write, Written};
