//! SQLite and PostgreSQL stores for [`twostep`], for synchronous hosts:
//! [`SqliteStore`] (feature `sqlite`, rusqlite with SQLite compiled in) and
//! [`PostgresStore`] (feature `postgres`; `postgres-tls` for servers across
//! a network). Async hosts use the crate `twostep-sqlx` over their own sqlx
//! pool: the same tables, the same SQL ([`schema`]), so either reads and
//! updates what the other wrote.
//!
//! Every write is one conditional statement, so two servers, processes or
//! threads racing on one record cannot both win; a store creates its tables
//! when opened and migrates a database written by an older `twostep`, once,
//! however many servers start together. Both pass `twostep::testkit`, the
//! store contract, in this crate's tests.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use twostep::{Keyring, Mfa};
//! use twostep_sql::SqliteStore;
//! # let dir = std::env::temp_dir().join(format!("twostep-sql-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let store = SqliteStore::open(dir.join("mfa.sqlite3"))?;
//! let mfa = Mfa::new(store, Keyring::new(1, &[7; 32])); // the key from your secret manager
//! # let _ = mfa;
//! # std::fs::remove_dir_all(&dir)?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
pub mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use error::SqlStoreError;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
/// The PostgreSQL client [`PostgresStore::with_config`] takes a
/// configuration and a TLS connector of.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use tokio_postgres;
