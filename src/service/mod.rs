//! Layer 6: what a host calls.
//!
//! - `async_mfa.rs`: [`AsyncMfa`], every operation an `async fn` over an
//!   [`AsyncStore`](crate::AsyncStore), documented there;
//! - `mfa.rs`: [`Mfa`], each the blocking form over a [`Store`](crate::Store);
//! - `config.rs`: [`Config`], the settings both take;
//! - `core/`: the one copy of the service's logic, `async fn`s over a
//!   store's two calls: load → transition → save-if-version → retry;
//! - `step.rs`: [`Action`] in, [`Step`] out, for every screen's buttons;
//! - `own_transaction.rs`: the sans-IO path, for a host that saves in its
//!   own transaction ([`Prepared`]);
//! - `error.rs`: [`MfaError`] and its sentences for people.

mod async_mfa;
mod config;
mod core;
mod error;
mod mfa;
mod own_transaction;
mod step;
#[cfg(test)]
mod tests;

pub use self::core::{MfaStatus, ResealReport};
pub use async_mfa::AsyncMfa;
pub use config::Config;
pub use error::MfaError;
#[cfg(feature = "testkit")]
pub(crate) use mfa::block_on;
pub use mfa::Mfa;
pub use own_transaction::{Prepared, Write, Written};
#[cfg(feature = "serde")]
pub use step::StepForm;
pub use step::{Action, Step};
