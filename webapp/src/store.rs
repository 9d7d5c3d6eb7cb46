//! The records' store: SQLite by default, PostgreSQL on request, both over
//! a pool the app owns (a host passes the one it already has). The
//! sessions' table is in the same database.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::SqlitePoolOptions;
use std::str::FromStr;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::AsyncStore;
use twostep_sqlx::SqlxStoreError;
use twostep_sqlx::{SqlxPgStore, SqlxSqliteStore};

use crate::session::SessionTable;

/// Where the app keeps twostep's records.
#[derive(Clone, Debug)]
pub enum Database {
    /// An SQLite file, created if missing.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://user@host:port/db`, `?host=/socket/dir`
    /// for a Unix socket). To any host but this machine (a Unix socket or
    /// loopback) only over TLS with the server's certificate verified
    /// (`sslmode=verify-full`, set if the URL leaves it at its default;
    /// `sslrootcert=` names a private CA): a man in the middle could
    /// otherwise answer with an older, authentic record.
    Postgres(String),
    /// A PostgreSQL URL taken as it is, in plain text to any host if it
    /// says so: only inside a network you trust to the last switch.
    PostgresPlaintext(String),
}

/// The connection options of `url`: TLS with the certificate verified
/// unless the server is on this machine or `plaintext_ok`.
///
/// # Errors
/// If the URL does not parse, or asks for less than a verified
/// certificate (`sslmode=disable`, `allow`, `require` or `verify-ca`) to
/// another machine without `plaintext_ok`.
pub fn postgres_options(url: &str, plaintext_ok: bool) -> Result<PgConnectOptions, SqlxStoreError> {
    let options = PgConnectOptions::from_str(url)?;
    let host = options.get_host();
    let local = options.get_socket().is_some()
        || host.starts_with('/')
        || ["localhost", "127.0.0.1", "::1", "[::1]"].contains(&host);
    if local || plaintext_ok {
        return Ok(options);
    }
    match options.get_ssl_mode() {
        PgSslMode::VerifyFull => Ok(options),
        // sqlx's default (from `PGSSLMODE` or none): made strict.
        PgSslMode::Prefer => Ok(options.ssl_mode(PgSslMode::VerifyFull)),
        _ => Err(SqlxStoreError::Unsafe(
            "PostgreSQL on another machine needs sslmode=verify-full (or --postgres-plaintext to accept plain text)",
        )),
    }
}

/// One of the two sqlx stores, chosen at start: an [`AsyncStore`] that
/// forwards to it.
#[derive(Clone, Debug)]
pub enum AppStore {
    /// Records in SQLite.
    Sqlite(SqlxSqliteStore),
    /// Records in PostgreSQL.
    Postgres(SqlxPgStore),
}

impl AppStore {
    /// Connects a pool to `database` and migrates twostep's table.
    ///
    /// # Errors
    /// If the database cannot be reached or migrated.
    pub async fn open(database: &Database) -> Result<AppStore, SqlxStoreError> {
        Ok(match database {
            Database::Sqlite(path) => {
                let pool = SqlitePoolOptions::new()
                    .connect_with(SqlxSqliteStore::connect_options(path))
                    .await?;
                let store = SqlxSqliteStore::new(pool);
                store.migrate().await?;
                AppStore::Sqlite(store)
            }
            Database::Postgres(url) | Database::PostgresPlaintext(url) => {
                let plaintext_ok = matches!(database, Database::PostgresPlaintext(_));
                let options = postgres_options(url, plaintext_ok)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?;
                let store = SqlxPgStore::new(pool);
                store.migrate().await?;
                AppStore::Postgres(store)
            }
        })
    }

    /// The sessions' table, in the same database (created if missing).
    ///
    /// # Errors
    /// If the database refuses.
    pub async fn sessions(&self) -> Result<SessionTable, SqlxStoreError> {
        let table = match self {
            AppStore::Sqlite(store) => SessionTable::Sqlite(store.pool().clone()),
            AppStore::Postgres(store) => SessionTable::Postgres(store.pool().clone()),
        };
        table.migrate().await?;
        Ok(table)
    }
}

impl AsyncStore for AppStore {
    type Error = SqlxStoreError;

    async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlxStoreError> {
        match self {
            AppStore::Sqlite(store) => store.load(key).await,
            AppStore::Postgres(store) => store.load(key).await,
        }
    }

    async fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlxStoreError> {
        match self {
            AppStore::Sqlite(store) => store.save(key, expected, bytes).await,
            AppStore::Postgres(store) => store.save(key, expected, bytes).await,
        }
    }
}
