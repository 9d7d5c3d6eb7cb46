//! The `Store` contract (the `testkit` checks) on every store the crate
//! ships, the SQL stores' schema migrations, and the round trips one
//! verification costs.
#![cfg(feature = "testkit")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{code_at, enrollment};
use twostep::clock::ManualClock;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::{testkit, Config, MemoryStore, Mfa, Store};

#[test]
fn memory_store_keeps_the_contract() {
    testkit::check_all(&MemoryStore::new()).unwrap();
}

/// The kit must catch the classic mistakes, or its passing says nothing.
#[test]
fn the_kit_catches_broken_stores() {
    /// Saves without looking at the version: the lost update.
    struct Blind(MemoryStore);
    impl Store for Blind {
        type Error = std::convert::Infallible;
        fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Self::Error> {
            self.0.load(key)
        }
        fn save(
            &self,
            key: RecordKey<'_>,
            _expected: Option<Version>,
            bytes: &[u8],
        ) -> Result<SaveOutcome, Self::Error> {
            let current = self.0.load(key)?.map(|r| r.version);
            self.0.save(key, current, bytes)
        }
    }
    /// Keeps users and companies in one map.
    struct Mixed(MemoryStore);
    impl Store for Mixed {
        type Error = std::convert::Infallible;
        fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Self::Error> {
            self.0.load(RecordKey::User(key.id()))
        }
        fn save(
            &self,
            key: RecordKey<'_>,
            expected: Option<Version>,
            bytes: &[u8],
        ) -> Result<SaveOutcome, Self::Error> {
            self.0.save(RecordKey::User(key.id()), expected, bytes)
        }
    }
    let blind = Blind(MemoryStore::new());
    assert!(testkit::check_all(&blind).is_err());
    for (check, found) in [
        ("unknown_records", testkit::unknown_records(&blind)),
        (
            "stale_version_conflicts",
            testkit::stale_version_conflicts(&blind),
        ),
        (
            "concurrent_saves_of_one_version",
            testkit::concurrent_saves_of_one_version(&blind, 8),
        ),
    ] {
        let err = found.unwrap_err().to_string();
        assert!(err.starts_with(check), "{check}: {err}");
    }
    let mixed = Mixed(MemoryStore::new());
    let err = testkit::kinds_kept_apart(&mixed).unwrap_err().to_string();
    assert!(err.starts_with("kinds_kept_apart"), "{err}");
}

/// Counts the calls the service makes.
struct Counting {
    inner: MemoryStore,
    loads: AtomicUsize,
    saves: AtomicUsize,
}

impl Store for Counting {
    type Error = std::convert::Infallible;
    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Self::Error> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key)
    }
    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Self::Error> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(key, expected, bytes)
    }
}

/// One verification is one read and one conditional write — on any store,
/// since each SQL store turns a call into one statement.
#[test]
fn a_verification_is_one_load_and_one_save() {
    let store = Arc::new(Counting {
        inner: MemoryStore::new(),
        loads: AtomicUsize::new(0),
        saves: AtomicUsize::new(0),
    });
    let now = 1_700_000_000;
    let clock = Arc::new(ManualClock::new(now));
    let mfa = Mfa::with_config(
        store.clone(),
        twostep::Keyring::new(1, &[1; 32]),
        Config::default().with_clock(clock.clone()),
    );
    let factor = enrollment(1);
    mfa.bind(
        "ann",
        &mut mfa.start_session("ann").unwrap(),
        &factor,
        &code_at(&factor, now),
    )
    .unwrap();
    let mut session = mfa.start_session("ann").unwrap();
    for round in 1..=5 {
        clock.advance(30);
        let before = (
            store.loads.load(Ordering::SeqCst),
            store.saves.load(Ordering::SeqCst),
        );
        mfa.verify("ann", &mut session, &code_at(&factor, now + 30 * round))
            .unwrap();
        let after = (
            store.loads.load(Ordering::SeqCst),
            store.saves.load(Ordering::SeqCst),
        );
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1, 1),
            "round {round}"
        );
    }
}

/// After migrating from schema 1, the row written then (`ann`, version 7,
/// bytes 1 2) keeps its version and bytes, and saves on from there. (The
/// version column is the low 40 bits: a PostgreSQL store keeps the
/// timeline above them.)
fn assert_schema_1_row_kept<S: Store>(store: &S)
where
    S::Error: std::fmt::Debug,
{
    let column = |version: Version| version.0 & ((1 << 40) - 1);
    let ann = store.load(RecordKey::User("ann")).unwrap().unwrap();
    assert_eq!(
        (column(ann.version), ann.bytes.as_slice()),
        (7, &[1u8, 2][..])
    );
    let SaveOutcome::Saved(next) = store
        .save(RecordKey::User("ann"), Some(ann.version), b"new")
        .unwrap()
    else {
        panic!("not saved");
    };
    assert_eq!(column(next), 8);
    assert_eq!(
        store.load(RecordKey::User("ann")).unwrap().unwrap().version,
        next
    );
}

/// The error of opening a database a schema-4 `twostep` migrated.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn assert_schema_4_refused(err: &twostep_sql::SqlStoreError) {
    assert!(
        matches!(
            err,
            twostep_sql::SqlStoreError::SchemaTooNew(twostep_sql::schema::SchemaTooNew {
                found: 4,
                supported: 3
            })
        ),
        "{err:?}"
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::common::TempDir;
    use super::{assert_schema_1_row_kept, assert_schema_4_refused};
    use twostep::store::{RecordKey, Version};
    use twostep::{testkit, Store};
    use twostep_sql::{SqlStoreError, SqliteStore};

    /// Two stores (two pools of connections) on one file are one store.
    #[test]
    fn two_stores_on_one_file_keep_the_contract_together() {
        let dir = TempDir::new("sqlite-two");
        let a = SqliteStore::open(dir.join("mfa.db")).unwrap();
        let b = SqliteStore::open(dir.join("mfa.db")).unwrap();
        let id = "shared";
        let v1 = match a.save(RecordKey::User(id), None, b"a").unwrap() {
            twostep::store::SaveOutcome::Saved(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(b.load(RecordKey::User(id)).unwrap().unwrap().bytes, b"a");
        assert!(matches!(
            b.save(RecordKey::User(id), Some(v1), b"b").unwrap(),
            twostep::store::SaveOutcome::Saved(_)
        ));
        assert_eq!(
            a.save(RecordKey::User(id), Some(v1), b"stale").unwrap(),
            twostep::store::SaveOutcome::Conflict
        );
        // Racing writers split over both stores.
        let both = Both(a, b);
        testkit::no_lost_updates(&both, 8, 25).unwrap();
        testkit::concurrent_saves_of_one_version(&both, 8).unwrap();
    }

    /// Alternates calls between two stores on one file.
    struct Both(SqliteStore, SqliteStore);
    impl Store for Both {
        type Error = SqlStoreError;
        fn load(
            &self,
            key: RecordKey<'_>,
        ) -> Result<Option<twostep::store::Versioned>, SqlStoreError> {
            if pick() {
                self.0.load(key)
            } else {
                self.1.load(key)
            }
        }
        fn save(
            &self,
            key: RecordKey<'_>,
            expected: Option<Version>,
            bytes: &[u8],
        ) -> Result<twostep::store::SaveOutcome, SqlStoreError> {
            if pick() {
                self.0.save(key, expected, bytes)
            } else {
                self.1.save(key, expected, bytes)
            }
        }
    }
    fn pick() -> bool {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        N.fetch_add(1, Ordering::Relaxed).is_multiple_of(2)
    }

    /// Servers starting together on a new file: every open succeeds (the
    /// switch to WAL and the migration wait for each other), once.
    #[test]
    fn concurrent_opens_of_a_new_file_all_succeed() {
        for round in 0..5 {
            let dir = TempDir::new("sqlite-opens");
            let path = dir.join("new.db");
            let start = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                let opens: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            SqliteStore::open(&path)
                        })
                    })
                    .collect();
                for open in opens {
                    let store = open
                        .join()
                        .unwrap()
                        .unwrap_or_else(|e| panic!("round {round}: {e}"));
                    assert_eq!(store.schema_version().unwrap(), 3);
                }
            });
            let check = rusqlite::Connection::open(&path).unwrap();
            let mode: String = check
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }

    /// A file written by schema 1 (no `updated_at`) is migrated on open;
    /// its records keep their bytes and versions and stay writable.
    #[test]
    fn migrates_a_schema_1_file() {
        let dir = TempDir::new("sqlite-migrate");
        let path = dir.join("old.db");
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE twostep_schema (version INTEGER NOT NULL);
                 INSERT INTO twostep_schema VALUES (1);
                 CREATE TABLE twostep_records (kind TEXT NOT NULL, id TEXT NOT NULL,
                     version INTEGER NOT NULL, bytes BLOB NOT NULL,
                     PRIMARY KEY (kind, id)) WITHOUT ROWID;
                 INSERT INTO twostep_records VALUES ('user', 'ann', 7, x'0102');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        assert_schema_1_row_kept(&store);
        let check = rusqlite::Connection::open(&path).unwrap();
        let updated_at: i64 = check
            .query_row(
                "SELECT updated_at FROM twostep_records WHERE id = 'ann'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(updated_at > 1_700_000_000, "updated_at = {updated_at}");
        // Opening again changes nothing.
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(
            again.load(RecordKey::User("ann")).unwrap().unwrap().version,
            Version(8)
        );
    }

    #[test]
    fn refuses_a_file_from_a_newer_twostep() {
        let dir = TempDir::new("sqlite-newer");
        let path = dir.join("new.db");
        drop(SqliteStore::open(&path).unwrap());
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("UPDATE twostep_schema SET version = 4", [])
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert_schema_4_refused(&err);
    }

    #[test]
    fn an_in_memory_database_is_refused() {
        // Each pooled connection would get its own empty database.
        let err = SqliteStore::open(":memory:").unwrap_err();
        assert!(
            matches!(err, SqlStoreError::NoWal(ref mode) if mode == "memory"),
            "{err:?}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        let dir = TempDir::new("sqlite-garbage");
        let path = dir.join("garbage.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, SqlStoreError::Sqlite(_)), "{err:?}");
    }
}

#[cfg(feature = "postgres")]
mod postgres_store {
    use super::common::{fresh_database, postgres_url};
    use super::{assert_schema_1_row_kept, assert_schema_4_refused};
    use twostep::testkit;
    use twostep_sql::{PostgresStore, SqlStoreError};

    /// No server needed: the refusal comes before any connection.
    #[test]
    fn plain_text_to_another_machine_is_refused() {
        for params in [
            "host=db.example.com user=app dbname=app",
            "host=10.0.0.5 user=app",
            "postgresql://app@db.example.com/app",
            "host=localhost hostaddr=192.0.2.7 user=app",
            "host=/run/postgresql,db.example.com user=app",
        ] {
            assert!(
                matches!(
                    PostgresStore::connect(params),
                    Err(SqlStoreError::PlaintextToRemoteHost(_))
                ),
                "{params}"
            );
        }
    }

    #[test]
    #[cfg_attr(
        no_postgres,
        ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
    )]
    fn migrates_a_schema_1_database_and_refuses_a_newer_one() {
        let url = postgres_url();
        let params = fresh_database(&url, "migrate");
        let mut old = postgres::Client::connect(&params, postgres::NoTls).unwrap();
        old.batch_execute(
            "CREATE TABLE twostep_schema (version bigint NOT NULL);
             INSERT INTO twostep_schema VALUES (1);
             CREATE TABLE twostep_records (kind text NOT NULL, id text NOT NULL,
                 version bigint NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (kind, id));
             INSERT INTO twostep_records VALUES ('user', 'ann', 7, '\\x0102');",
        )
        .unwrap();
        let store = PostgresStore::connect(&params).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        assert_schema_1_row_kept(&store);
        let recent: bool = old
            .query_one(
                "SELECT updated_at > now() - interval '1 hour' FROM twostep_records WHERE id = 'ann'",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(recent);
        old.execute("UPDATE twostep_schema SET version = 4", &[])
            .unwrap();
        let err = PostgresStore::connect(&params).unwrap_err();
        assert_schema_4_refused(&err);
    }

    /// Servers starting at once migrate once, without errors, and racing
    /// saves conflict rather than fail — even where the database's default
    /// isolation is `REPEATABLE READ`.
    #[test]
    #[cfg_attr(
        no_postgres,
        ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
    )]
    fn concurrent_first_connects_migrate_once() {
        let url = postgres_url();
        let params = fresh_database(&url, "firsts");
        let name = params.rsplit("dbname=").next().unwrap();
        postgres::Client::connect(&url, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
            ))
            .unwrap();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| PostgresStore::connect(&params).map(|_| ())))
                .collect();
            for h in handles {
                h.join().unwrap().unwrap();
            }
        });
        // Every connect above succeeded (none hit "already exists").
        let store = PostgresStore::connect(&params).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        testkit::concurrent_saves_of_one_version(&store, 8).unwrap();
        testkit::no_lost_updates(&store, 8, 10).unwrap();
    }

    #[test]
    fn an_unreachable_server_is_an_error() {
        let err = PostgresStore::connect("host=/nonexistent-dir port=1 user=x connect_timeout=1")
            .unwrap_err();
        assert!(matches!(err, SqlStoreError::Postgres(_)), "{err:?}");
    }
}
