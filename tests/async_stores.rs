//! The async stores over the host's sqlx pools: the store contract (the
//! conformance kit's async form), the same tables as the sync stores (each
//! reads and updates what the other wrote), explicit migrations, many tasks
//! racing on one code, and the sync PostgreSQL store refusing, without a
//! panic, to run inside an async runtime.
#![cfg(all(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "testkit"
))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use common::{
    code_at, enrollment, migrated_sqlx_pg, migrated_sqlx_sqlite, pg_pool, postgres_url, sign_in,
    sign_in_async, sqlite_pool, TempDir,
};
use twostep::clock::ManualClock;
use twostep::{testkit, AsyncMfa, AsyncStore, Config, Keyring, MemoryStore, Mfa, MfaError};
use twostep_sql::schema::SchemaTooNew;
use twostep_sql::{PostgresStore, SqlStoreError, SqliteStore};
use twostep_sqlx::{SqlxPgStore, SqlxSqliteStore, SqlxStoreError};

const NOW: u64 = 1_700_000_000;

fn keyring() -> Keyring {
    Keyring::new(1, &[4; 32])
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// The contract, async, on the memory store (the SQL stores' crates run it
/// on theirs).
#[test]
fn the_memory_store_keeps_the_async_contract() {
    runtime().block_on(async {
        testkit::check_all_async(&MemoryStore::new()).await.unwrap();
    });
}

/// Writes through one kind of store, then the other, on one file or
/// database: each reads and updates what the other wrote.
fn sync_and_async_take_turns<S, A>(sync: S, asynchronous: A, rt: &tokio::runtime::Runtime)
where
    S: twostep::Store,
    A: AsyncStore,
{
    let clock = Arc::new(ManualClock::new(NOW));
    let config = Config::default().with_clock(clock.clone());
    let sync = Mfa::with_config(sync, keyring(), config.clone());
    let asynchronous = AsyncMfa::with_config(asynchronous, keyring(), config);
    let phone = enrollment(31);
    let mut session = sync.start_session("turns").unwrap();
    sync.bind("turns", &mut session, &phone, &code_at(&phone, NOW))
        .unwrap();
    for turn in 1..=6u64 {
        let now = NOW + 30 * turn;
        clock.set(now);
        let code = code_at(&phone, now);
        if turn % 2 == 0 {
            sign_in(&sync, "turns", &code).unwrap();
            let again = rt.block_on(sign_in_async(&asynchronous, "turns", &code));
            assert!(matches!(again, Err(MfaError::Replayed { .. })), "{again:?}");
        } else {
            rt.block_on(sign_in_async(&asynchronous, "turns", &code))
                .unwrap();
            assert!(matches!(
                sign_in(&sync, "turns", &code),
                Err(MfaError::Replayed { .. })
            ));
        }
    }
    let seen_sync = sync.status("turns").unwrap();
    let seen_async = rt.block_on(asynchronous.status("turns")).unwrap();
    assert_eq!(seen_sync, seen_async);
}

#[test]
fn sqlite_sync_and_async_stores_share_one_file() {
    let dir = TempDir::new("sqlx-turns");
    let path = dir.join("shared.db");
    let rt = runtime();
    // The async store migrates a new file; the sync one opens it as is.
    let store = rt.block_on(migrated_sqlx_sqlite(&path));
    let sync = SqliteStore::open(&path).unwrap();
    sync_and_async_take_turns(sync, store, &rt);
}

#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_sync_and_async_stores_share_one_database() {
    let url = postgres_url();
    let params = common::fresh_database(&url, "sqlx_turns");
    // The sync store migrates; the async one finds the schema current.
    let sync = PostgresStore::connect(&params).unwrap();
    let rt = runtime();
    let store = rt.block_on(migrated_sqlx_pg(&params));
    assert_eq!(rt.block_on(store.schema_version()).unwrap(), 3);
    sync_and_async_take_turns(sync, store, &rt);
}

/// Schema 1 (no `updated_at`), as the first twostep wrote it.
const SCHEMA_1: &str = "CREATE TABLE twostep_records (kind TEXT NOT NULL, id TEXT NOT NULL,
     version INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
     CREATE TABLE twostep_schema (version INTEGER NOT NULL);
     INSERT INTO twostep_schema (version) VALUES (1);
     INSERT INTO twostep_records VALUES ('user', 'old', 7, x'0102');";

#[test]
fn sqlx_sqlite_migrates_an_old_file_and_refuses_a_newer_or_journaled_one() {
    let dir = TempDir::new("sqlx-migrate");
    runtime().block_on(async {
        let old = SqlxSqliteStore::new(sqlite_pool(&dir.join("old.db")).await);
        sqlx::raw_sql(SCHEMA_1).execute(old.pool()).await.unwrap();
        old.migrate().await.unwrap();
        assert_eq!(old.schema_version().await.unwrap(), 3);
        let kept = AsyncStore::load(&old, twostep::store::RecordKey::User("old"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((kept.version.0, kept.bytes), (7, vec![1, 2]));

        let newer = SqlxSqliteStore::new(sqlite_pool(&dir.join("newer.db")).await);
        newer.migrate().await.unwrap();
        sqlx::raw_sql("UPDATE twostep_schema SET version = 4")
            .execute(newer.pool())
            .await
            .unwrap();
        assert!(matches!(
            newer.migrate().await,
            Err(SqlxStoreError::SchemaTooNew(SchemaTooNew {
                found: 4,
                supported: 3
            }))
        ));

        // A journal that is off, or in memory for a file: a crash could
        // lose a commit that was answered. Refused, naming the setting.
        for mode in [
            sqlx::sqlite::SqliteJournalMode::Off,
            sqlx::sqlite::SqliteJournalMode::Memory,
        ] {
            let options = SqlxSqliteStore::connect_options(dir.join("off.db")).journal_mode(mode);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let refused = SqlxSqliteStore::new(pool).migrate().await.unwrap_err();
            assert!(matches!(refused, SqlxStoreError::Unsafe(_)));
            assert!(refused
                .to_string()
                .contains("journal_mode(SqliteJournalMode::Wal)"));
        }
        // So is a commit that does not wait for the disk.
        let options = SqlxSqliteStore::connect_options(dir.join("normal.db"))
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let refused = SqlxSqliteStore::new(pool).migrate().await.unwrap_err();
        assert!(refused
            .to_string()
            .contains("synchronous(SqliteSynchronous::Full)"));
    });
}

/// A host's pool as it already is: the default journal, `sqlite::memory:`
/// in its tests. Both work; a private in-memory database per connection is
/// refused, naming the setting.
#[test]
fn sqlx_sqlite_works_on_a_hosts_default_pool_and_in_memory() {
    let dir = TempDir::new("sqlx-default");
    let rt = runtime();
    let url = format!("sqlite:{}?mode=rwc", dir.join("app.db").display());
    let pools = rt.block_on(async {
        let default_pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let memory_pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        [default_pool, memory_pool]
    });
    for pool in pools {
        let store = SqlxSqliteStore::new(pool);
        rt.block_on(store.migrate()).unwrap();
        tasks_race_on_one_code(store, &rt);
    }
    rt.block_on(async {
        let private = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .min_connections(2)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().in_memory(true))
            .await
            .unwrap();
        let refused = SqlxSqliteStore::new(private).migrate().await.unwrap_err();
        assert!(matches!(refused, SqlxStoreError::Unsafe(_)));
        assert!(refused.to_string().contains("sqlite::memory:"));
    });
}

#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn sqlx_postgres_migrates_once_when_servers_start_together() {
    let url = postgres_url();
    let params = common::fresh_database(&url, "sqlx_migrate");
    runtime().block_on(async {
        let mut servers = Vec::new();
        for _ in 0..6 {
            let store = SqlxPgStore::new(pg_pool(&params).await);
            servers.push(tokio::spawn(async move { store.migrate().await }));
        }
        for server in servers {
            server.await.unwrap().unwrap();
        }
        let store = SqlxPgStore::new(pg_pool(&params).await);
        assert_eq!(store.schema_version().await.unwrap(), 3);
    });
}

/// Many tasks on one code: one acceptance, the rest replays.
fn tasks_race_on_one_code<A: AsyncStore>(store: A, rt: &tokio::runtime::Runtime) {
    let clock = Arc::new(ManualClock::new(NOW));
    let mfa = AsyncMfa::with_config(
        store,
        keyring(),
        Config::default().with_clock(clock.clone()),
    );
    let phone = enrollment(32);
    rt.block_on(async {
        let mut session = mfa.start_session("racer").await?;
        mfa.bind("racer", &mut session, &phone, &code_at(&phone, NOW))
            .await
    })
    .unwrap();
    for round in 1..=20u64 {
        let now = NOW + 30 * round;
        clock.set(now);
        let code = code_at(&phone, now);
        let outcomes = rt.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (mfa, code) = (mfa.clone(), code.clone());
                    tokio::spawn(async move { sign_in_async(&mfa, "racer", &code).await })
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            outcomes
        });
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        let replayed = outcomes
            .iter()
            .filter(|o| matches!(o, Err(MfaError::Replayed { .. })))
            .count();
        assert_eq!((accepted, replayed), (1, 15), "round {round}: {outcomes:?}");
    }
}

#[test]
fn sqlx_sqlite_tasks_accept_a_code_once() {
    let dir = TempDir::new("sqlx-race");
    let rt = runtime();
    let store = rt.block_on(migrated_sqlx_sqlite(&dir.join("race.db")));
    tasks_race_on_one_code(store, &rt);
}

#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn sqlx_postgres_tasks_accept_a_code_once() {
    let url = postgres_url();
    let params = common::fresh_database(&url, "sqlx_race");
    let rt = runtime();
    let store = rt.block_on(migrated_sqlx_pg(&params));
    tasks_race_on_one_code(store, &rt);
}

/// The `postgres` crate panics on a thread that carries a tokio runtime;
/// the sync store answers a typed error instead, names the async store, and
/// a store dropped there closes its connections elsewhere.
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn the_sync_postgres_store_refuses_to_run_inside_a_runtime() {
    let url = postgres_url();
    let params = common::fresh_database(&url, "in_runtime");
    let store = Arc::new(PostgresStore::connect(&params).unwrap());
    let key = twostep::store::RecordKey::User("nobody");
    let rt = runtime();
    let inside = rt.block_on({
        let store = store.clone();
        async move { twostep::Store::load(&*store, key).map(|_| ()) }
    });
    assert!(
        matches!(inside, Err(SqlStoreError::InsideAsyncRuntime)),
        "{inside:?}"
    );
    assert!(inside.unwrap_err().to_string().contains("SqlxPgStore"));
    let (store_there, params_there) = (store.clone(), params.clone());
    let blocking = rt.block_on(async move {
        let (store, params) = (store_there, params_there);
        tokio::task::spawn_blocking(move || {
            let connect = PostgresStore::connect(&params).map(|_| ());
            let load = twostep::Store::load(&*store, twostep::store::RecordKey::User("nobody"))
                .map(|_| ());
            (connect, load)
        })
        .await
    });
    let (connect, load) = blocking.unwrap();
    assert!(matches!(connect, Err(SqlStoreError::InsideAsyncRuntime)));
    assert!(matches!(load, Err(SqlStoreError::InsideAsyncRuntime)));
    // Outside, it works; and the last handle dropped inside a runtime
    // neither panics nor aborts.
    assert!(twostep::Store::load(&*store, key).unwrap().is_none());
    rt.block_on(async move { drop(store) });
}
