//! The guides of `twostep` (`src/guide/`) as doctests of this crate too:
//! their examples that need a database store are gated on the features
//! that bring one (`sqlite`, `postgres`, `sqlx-sqlite`, `sqlx-postgres`),
//! which the core crate does not have and this crate forwards to the
//! store crates, so they compile and run here.

/// `src/guide/async_hosts.md`.
#[cfg(doctest)]
#[doc = include_str!("../src/guide/async_hosts.md")]
pub struct AsyncHostsGuide;

/// `src/guide/storage.md`.
#[cfg(doctest)]
#[doc = include_str!("../src/guide/storage.md")]
pub struct StorageGuide;
