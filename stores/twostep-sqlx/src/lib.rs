//! [`twostep`]'s stores over the host's own sqlx 0.9 pool, for async hosts
//! and [`AsyncMfa`](twostep::AsyncMfa): [`SqlxSqliteStore`] (feature
//! `sqlite`, over a `SqlitePool`) and [`SqlxPgStore`] (feature `postgres`,
//! over a `PgPool`). They run the SQL of the crate `twostep-sql` on the
//! same tables, so a database written by its synchronous stores is read
//! and updated by these, and the other way round.
//!
//! Each store takes the pool as it is and adds no connection of its own;
//! `migrate` creates or upgrades the tables where the application runs its
//! migrations. Both pass `twostep::testkit`, the store contract, in this
//! crate's tests. A host that keeps its sessions in the same database saves
//! twostep's record in its own transaction with `load_in` and `save_in`
//! (`examples/own_transaction.rs`).
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use twostep::{AsyncMfa, Keyring};
//! use twostep_sqlx::SqlxSqliteStore;
//! let pool = sqlx::SqlitePool::connect("sqlite:app.db").await?; // the app's own pool
//! let store = SqlxSqliteStore::new(pool);
//! store.migrate().await?;
//! let mfa = AsyncMfa::new(store, Keyring::new(1, &[7; 32])); // the key from your secret manager
//! # let _ = mfa;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use error::SqlxStoreError;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::SqlxPgStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqlxSqliteStore;
