//! The store contract (`twostep::testkit`) on this crate's stores: what
//! proves a store to the core. PostgreSQL needs the test server
//! (`eval "$(tools/pg-test-cluster start)"` at the repository's root); CI
//! starts one, and there the test runs or fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use twostep::testkit;

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_keeps_the_contract() {
    let dir = std::env::temp_dir().join(format!("twostep-sql-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = twostep_sql::SqliteStore::open(dir.join("mfa.db")).unwrap();
    testkit::check_all(&store).unwrap();
    // A second pool on the same file is the same store.
    let other = twostep_sql::SqliteStore::open(dir.join("mfa.db")).unwrap();
    testkit::no_lost_updates(&other, 8, 10).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_keeps_the_contract() {
    use twostep_sql::PostgresStore;
    let store = PostgresStore::connect(&fresh_database("contract")).unwrap();
    testkit::check_all(&store).unwrap();
    // More writers than pooled connections wait for one, and lose nothing.
    let small = PostgresStore::with_connect(2, {
        let config: postgres::Config = fresh_database("small").parse().unwrap();
        move || config.connect(postgres::NoTls)
    })
    .unwrap();
    testkit::no_lost_updates(&small, 8, 10).unwrap();
}

/// A new, empty database on the test server (`TWOSTEP_POSTGRES_URL` in
/// `key=value` form, as `tools/pg-test-cluster` prints it).
#[cfg(feature = "postgres")]
fn fresh_database(label: &str) -> String {
    let url = std::env::var("TWOSTEP_POSTGRES_URL").expect("no TWOSTEP_POSTGRES_URL");
    let name = format!("twostep_sql_{label}_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // Two statements: neither may run inside a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    format!("{url} dbname={name}")
}
