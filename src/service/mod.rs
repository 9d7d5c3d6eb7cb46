//! Layer 6: what a host calls.
//!
//! - `core/`: the one copy of the service's logic, `async fn`s over a
//!   store's two calls: load → transition → save-if-version → retry;
//! - `drivers/`: [`Mfa`] (sync, over a [`Store`](crate::Store)) and
//!   [`AsyncMfa`] (over an [`AsyncStore`](crate::AsyncStore)), both generated
//!   from one list of operations, and their shared configuration;
//! - `own_transaction.rs`: the sans-IO path, for a host that saves in its
//!   own transaction ([`Prepared`]);
//! - `error.rs`: [`MfaError`] and its sentences for people.

mod core;
mod drivers;
mod error;
mod own_transaction;
mod step;
#[cfg(test)]
mod tests;

pub use self::core::{MfaStatus, ResealReport};
#[cfg(feature = "testkit")]
pub(crate) use drivers::block_on;
pub use drivers::{AsyncMfa, Mfa};
pub use error::MfaError;
pub use own_transaction::{Prepared, Write, Written};
#[cfg(feature = "serde")]
pub use step::StepForm;
pub use step::{Action, Step};
