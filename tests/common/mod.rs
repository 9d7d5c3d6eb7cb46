//! Helpers shared by the integration tests: a seeded factor and the
//! authenticator app that shows its codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    dead_code,
    reason = "test helpers; not every test uses each"
)]

use rand_chacha::rand_core::SeedableRng;
use twostep::otp::Verified;
use twostep::{AsyncMfa, AsyncStore, Enrollment, Mfa, MfaError, Store};

/// A factor with a secret drawn from a seeded generator.
pub fn enrollment(seed: u64) -> Enrollment {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Enrollment::builder("Acme", "user").build(&mut rng).unwrap()
}

/// What the person's authenticator app shows at `now`.
pub fn code_at(enrollment: &Enrollment, now: u64) -> String {
    enrollment
        .totp()
        .generate(now)
        .unwrap()
        .expose()
        .to_string()
}

/// A sign-in: the password (a new session), then `code`.
pub fn sign_in<S: Store>(
    mfa: &Mfa<S>,
    user: &str,
    code: &str,
) -> Result<Verified, MfaError<S::Error>> {
    let mut session = mfa.start_session(user)?;
    mfa.verify(user, &mut session, code)
}

/// [`sign_in`] through an [`AsyncMfa`].
pub async fn sign_in_async<S: AsyncStore>(
    mfa: &AsyncMfa<S>,
    user: &str,
    code: &str,
) -> Result<Verified, MfaError<S::Error>> {
    let mut session = mfa.start_session(user).await?;
    mfa.verify(user, &mut session, code).await
}

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("twostep-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL the tests use (`TWOSTEP_POSTGRES_URL`, as printed by
/// `tools/pg-test-cluster start`). Tests that call it are marked
/// `cfg_attr(no_postgres, ignore = …)`: `build.rs` sets `no_postgres`
/// without a server, so they are reported as ignored, with the reason —
/// except in CI (`TWOSTEP_REQUIRE_POSTGRES`), where they run and fail.
pub fn postgres_url() -> String {
    std::env::var("TWOSTEP_POSTGRES_URL").expect(
        "no TWOSTEP_POSTGRES_URL: start a server with `eval \"$(tools/pg-test-cluster start)\"`",
    )
}

/// A fresh, empty database on the test server, and the parameters to reach
/// it: `url` with `dbname=` appended, so `TWOSTEP_POSTGRES_URL` must be in
/// `key=value` form (as `tools/pg-test-cluster` prints it). The databases
/// stay until the throw-away cluster goes.
#[cfg(feature = "postgres")]
pub fn fresh_database(url: &str, label: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "twostep_{label}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    format!("{url} dbname={name}")
}

#[cfg(feature = "sqlx-postgres")]
mod pg_options;
#[cfg(feature = "sqlx-postgres")]
pub use pg_options::pg_options;

/// A sqlx pool on the SQLite file at `path`, opened as the crate advises.
#[cfg(feature = "sqlx-sqlite")]
pub async fn sqlite_pool(path: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(twostep_sqlx::SqlxSqliteStore::connect_options(path))
        .await
        .unwrap()
}

/// A sqlx pool on the PostgreSQL database `params` names.
#[cfg(feature = "sqlx-postgres")]
pub async fn pg_pool(params: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(pg_options(params))
        .await
        .unwrap()
}

/// An async store on the SQLite file at `path`, its table migrated.
#[cfg(feature = "sqlx-sqlite")]
pub async fn migrated_sqlx_sqlite(path: &std::path::Path) -> twostep_sqlx::SqlxSqliteStore {
    let store = twostep_sqlx::SqlxSqliteStore::new(sqlite_pool(path).await);
    store.migrate().await.unwrap();
    store
}

/// An async store on the PostgreSQL database `params` names, migrated.
#[cfg(feature = "sqlx-postgres")]
pub async fn migrated_sqlx_pg(params: &str) -> twostep_sqlx::SqlxPgStore {
    let store = twostep_sqlx::SqlxPgStore::new(pg_pool(params).await);
    store.migrate().await.unwrap();
    store
}
