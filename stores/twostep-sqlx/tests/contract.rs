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
#[tokio::test]
async fn sqlite_keeps_the_contract() {
    use twostep_sqlx::SqlxSqliteStore;
    let dir = std::env::temp_dir().join(format!("twostep-sqlx-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(SqlxSqliteStore::connect_options(dir.join("mfa.db")))
        .await
        .unwrap();
    let store = SqlxSqliteStore::new(pool);
    store.migrate().await.unwrap();
    testkit::check_all_async(&store).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
async fn postgres_keeps_the_contract() {
    use twostep_sqlx::SqlxPgStore;
    let (database, _) = fresh_database("contract").await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(database)
        .await
        .unwrap();
    let store = SqlxPgStore::new(pool);
    store.migrate().await.unwrap();
    testkit::check_all_async(&store).await.unwrap();
    // More writers than the pool's 8 connections.
    testkit::no_lost_updates_async(&store, 16, 10)
        .await
        .unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
async fn postgres_migrate_refuses_commits_that_are_not_durable_unless_told_by_name() {
    use twostep_sqlx::{SqlxPgStore, SqlxStoreError};
    let (database, admin) = fresh_database("durable").await;
    let name = database.get_database().unwrap().to_owned();
    let off = format!("ALTER DATABASE {name} SET synchronous_commit = off");
    sqlx::raw_sql(sqlx::AssertSqlSafe(off))
        .execute(&admin)
        .await
        .unwrap();
    let store = |_: ()| async {
        let pool = sqlx::PgPool::connect_with(database.clone()).await.unwrap();
        SqlxPgStore::new(pool)
    };
    let refused = store(()).await.migrate().await.unwrap_err();
    assert!(
        matches!(refused, SqlxStoreError::CommitNotDurable(_)),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("synchronous_commit = off"));
    let opt_out = format!("ALTER DATABASE {name} SET twostep.allow_non_durable_commit = on");
    sqlx::raw_sql(sqlx::AssertSqlSafe(opt_out))
        .execute(&admin)
        .await
        .unwrap();
    store(()).await.migrate().await.unwrap();
}

/// A new, empty database on the test server: the options that reach it,
/// and a pool on the server's own database to administer it.
#[cfg(feature = "postgres")]
async fn fresh_database(label: &str) -> (sqlx::postgres::PgConnectOptions, sqlx::PgPool) {
    let params = std::env::var("TWOSTEP_POSTGRES_URL").expect("no TWOSTEP_POSTGRES_URL");
    let admin = sqlx::PgPool::connect_with(options(&params)).await.unwrap();
    let name = format!("twostep_sqlx_{label}_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    (options(&params).database(&name), admin)
}

/// The test server's `key=value` parameters as sqlx options.
#[cfg(feature = "postgres")]
fn options(params: &str) -> sqlx::postgres::PgConnectOptions {
    let mut options = sqlx::postgres::PgConnectOptions::new();
    for pair in params.split_whitespace() {
        let (key, value) = pair.split_once('=').unwrap();
        options = match key {
            "host" if value.starts_with('/') => options.socket(value),
            "host" => options.host(value),
            "port" => options.port(value.parse().unwrap()),
            "user" => options.username(value),
            "dbname" => options.database(value),
            _ => options,
        };
    }
    options
}

/// As `twostep-sql`'s test: a fence row on another timeline (a promoted
/// standby) is raised once, by the first load, and carried by every record
/// loaded after, also in the host's own transaction.
#[cfg(feature = "postgres")]
#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
async fn postgres_raises_the_failover_fence_on_a_new_timeline() {
    use twostep::store::RecordKey;
    use twostep::AsyncStore;
    use twostep_sqlx::SqlxPgStore;
    let (database, _) = fresh_database("fence").await;
    let pool = sqlx::PgPool::connect_with(database).await.unwrap();
    let key = RecordKey::User("fay");
    let before = SqlxPgStore::new(pool.clone());
    before.migrate().await.unwrap();
    let _ = before.save(key, None, b"1").await.unwrap();
    assert_eq!(
        before.load(key).await.unwrap().unwrap().lost_saves_before,
        None
    );

    sqlx::raw_sql("UPDATE twostep_fence SET timeline = '00000000'")
        .execute(&pool)
        .await
        .unwrap();
    let promoted = SqlxPgStore::new(pool.clone());
    let raised = promoted.load(key).await.unwrap().unwrap().lost_saves_before;
    let (now,): (i64,) = sqlx::query_as("SELECT extract(epoch FROM now())::bigint")
        .fetch_one(&pool)
        .await
        .unwrap();
    let raised = raised.expect("the fence is raised");
    assert!((now as u64).abs_diff(raised) <= 5, "{raised} vs {now}");
    let mut tx = pool.begin().await.unwrap();
    let in_tx = SqlxPgStore::load_in(&mut tx, key).await.unwrap().unwrap();
    assert_eq!(in_tx.lost_saves_before, Some(raised));
    tx.commit().await.unwrap();
}
