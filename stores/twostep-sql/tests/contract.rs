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
#[cfg(feature = "postgres")]
use twostep_sql::tokio_postgres::NoTls;

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
    use twostep_sql::{PostgresOptions, PostgresStore};
    let store = PostgresStore::connect(&fresh_database("contract")).unwrap();
    testkit::check_all(&store).unwrap();
    // More writers than pooled connections wait for one, and lose nothing.
    let small = PostgresStore::with_config(
        fresh_database("small").parse().unwrap(),
        NoTls,
        PostgresOptions::new().max_connections(2),
    )
    .unwrap();
    testkit::no_lost_updates(&small, 8, 10).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_refuses_commits_that_are_not_durable_unless_told_by_name() {
    use twostep_sql::{PostgresStore, SqlStoreError};
    let params = fresh_database("durable");
    let name = params.rsplit("dbname=").next().unwrap().to_owned();
    let admin = |sql: &str| {
        let url = std::env::var("TWOSTEP_POSTGRES_URL").unwrap();
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin.batch_execute(sql).unwrap();
    };
    admin(&format!(
        "ALTER DATABASE {name} SET synchronous_commit = off"
    ));
    let refused = PostgresStore::connect(&params).unwrap_err();
    assert!(
        matches!(refused, SqlStoreError::CommitNotDurable(_)),
        "{refused:?}"
    );
    let said = refused.to_string();
    assert!(said.contains("synchronous_commit = off"), "{said}");
    assert!(
        said.contains("twostep.allow_non_durable_commit = on"),
        "{said}"
    );
    // `local` with no synchronous standby declared waits for the flush.
    admin(&format!(
        "ALTER DATABASE {name} SET synchronous_commit = local"
    ));
    PostgresStore::connect(&params).unwrap();
    // The operator accepts the risk by name.
    admin(&format!(
        "ALTER DATABASE {name} SET synchronous_commit = off"
    ));
    admin(&format!(
        "ALTER DATABASE {name} SET twostep.allow_non_durable_commit = on"
    ));
    PostgresStore::connect(&params).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_errors_say_what_the_server_said() {
    let url = std::env::var("TWOSTEP_POSTGRES_URL").unwrap();
    let missing = format!("{url} dbname=twostep_no_such_database");
    let said = twostep_sql::PostgresStore::connect(&missing)
        .unwrap_err()
        .to_string();
    assert!(
        said.contains("database \"twostep_no_such_database\" does not exist")
            && said.contains("3D000"),
        "{said}"
    );
}

#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_never_hands_out_a_connection_whose_backend_was_killed() {
    use twostep::store::{RecordKey, SaveOutcome};
    use twostep::Store;
    let name = format!("twostep-killed-{}", std::process::id());
    let mut config: twostep_sql::tokio_postgres::Config = fresh_database("killed").parse().unwrap();
    config.application_name(&name);
    // One connection, so the killed one is the one used next.
    let one = twostep_sql::PostgresOptions::new().max_connections(1);
    let store = twostep_sql::PostgresStore::with_config(config, NoTls, one).unwrap();
    let key = RecordKey::User("umar");
    assert!(matches!(
        store.save(key, None, b"1").unwrap(),
        SaveOutcome::Saved(_)
    ));
    let url = std::env::var("TWOSTEP_POSTGRES_URL").unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for round in 0..5 {
        // Waits up to 5 s for the backend to be gone.
        let killed = admin
            .query(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE application_name = $1",
                &[&name],
            )
            .unwrap()
            .iter()
            .filter(|row| row.get::<_, bool>(0))
            .count();
        assert_eq!(killed, 1, "round {round}");
        // The dead connection answers once, is dropped, and the load is
        // read again on a fresh one; the save after it finds a live one.
        let stored = store.load(key).unwrap().unwrap();
        let saved = store.save(key, Some(stored.version), b"next").unwrap();
        assert!(matches!(saved, SaveOutcome::Saved(_)), "round {round}");
    }
}

#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_pgbouncer,
    ignore = "needs PgBouncer in front of the test PostgreSQL: apt-get install pgbouncer, then eval \"$(tools/pg-test-cluster start)\"; CI does"
)]
fn postgres_keeps_the_contract_behind_pgbouncer_in_transaction_mode() {
    use twostep_sql::{PostgresOptions, PostgresStore};
    let bouncer = std::env::var("TWOSTEP_PGBOUNCER_URL").expect("no TWOSTEP_PGBOUNCER_URL");
    let through = |direct: &str| {
        let name = direct.rsplit("dbname=").next().unwrap();
        let config = format!("{bouncer} dbname={name}").parse().unwrap();
        PostgresStore::with_config(config, NoTls, PostgresOptions::new().transaction_pooler())
    };
    // 16 clients' connections share the pooler's 4 server connections:
    // no statement may depend on the server connection it lands on.
    let store = through(&fresh_database("bouncer")).unwrap();
    testkit::check_all(&store).unwrap();
    testkit::no_lost_updates(&store, 16, 10).unwrap();
    // A stricter default isolation, which the pooler's server connections
    // follow whatever a session set: a lost race is a serialization
    // failure, and it is a conflict, not an error.
    let strict = fresh_database("bouncer_rr");
    let name = strict.rsplit("dbname=").next().unwrap().to_owned();
    let url = std::env::var("TWOSTEP_POSTGRES_URL").unwrap();
    postgres::Client::connect(&url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
        ))
        .unwrap();
    let store = through(&strict).unwrap();
    testkit::no_lost_updates(&store, 16, 10).unwrap();
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

/// A database whose fence row names another timeline than the one it runs
/// on is what a promoted standby looks like to a store: the first load
/// raises the fence (when, by the database's clock) once for everyone, and
/// records carry it from then on.
#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_raises_the_failover_fence_on_a_new_timeline() {
    use twostep::store::RecordKey;
    use twostep::Store;
    use twostep_sql::PostgresStore;
    let params = fresh_database("fence");
    let key = RecordKey::User("fay");
    let before = PostgresStore::connect(&params).unwrap();
    let _ = before.save(key, None, b"1").unwrap();
    assert_eq!(before.load(key).unwrap().unwrap().lost_saves_before, None);

    let mut admin = postgres::Client::connect(&params, postgres::NoTls).unwrap();
    admin
        .batch_execute("UPDATE twostep_fence SET timeline = '00000000'")
        .unwrap();
    let promoted = PostgresStore::connect(&params).unwrap();
    let raised = promoted.load(key).unwrap().unwrap().lost_saves_before;
    let now: i64 = admin
        .query_one("SELECT extract(epoch FROM now())::bigint", &[])
        .unwrap()
        .get(0);
    let raised = raised.expect("the fence is raised");
    assert!((now as u64).abs_diff(raised) <= 5, "{raised} vs {now}");
    // Raised once: another server sees the same time, and so does the
    // table, now on the database's own timeline.
    let other = PostgresStore::connect(&params).unwrap();
    assert_eq!(
        other.load(key).unwrap().unwrap().lost_saves_before,
        Some(raised)
    );
    let row = admin
        .query_one(
            "SELECT timeline = left(pg_walfile_name(pg_current_wal_lsn()), 8), lost_saves_before \
             FROM twostep_fence",
            &[],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, Option<i64>>(1), Some(raised as i64));

    // The guide's runbook after a restore from a dump (the timeline number
    // stays): the operator raises the fence by hand, then restarts the
    // servers; a restarted server carries it.
    admin
        .batch_execute(
            "UPDATE twostep_fence SET lost_saves_before = extract(epoch FROM now())::bigint + 60",
        )
        .unwrap();
    let restarted = PostgresStore::connect(&params).unwrap();
    let by_hand = restarted.load(key).unwrap().unwrap().lost_saves_before;
    assert!(by_hand.is_some_and(|at| at >= raised + 60), "{by_hand:?}");
}

/// A call that gets no answer (here: its `UPDATE` waits for a row another
/// transaction holds) is an error once the call timeout passes, and its
/// connection is closed, never used again.
#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_calls_give_up_after_the_call_timeout() {
    use std::time::{Duration, Instant};
    use twostep::store::{RecordKey, SaveOutcome};
    use twostep::Store;
    use twostep_sql::{PostgresOptions, PostgresStore, SqlStoreError};
    let params = fresh_database("timeout");
    let options = PostgresOptions::new()
        .max_connections(1)
        .call_timeout(Duration::from_secs(2));
    let store = PostgresStore::with_config(params.parse().unwrap(), NoTls, options).unwrap();
    let key = RecordKey::User("tim");
    let SaveOutcome::Saved(version) = store.save(key, None, b"1").unwrap() else {
        panic!("not saved");
    };
    let mut holder = postgres::Client::connect(&params, postgres::NoTls).unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM twostep_records WHERE id = 'tim' FOR UPDATE",
        &[],
    )
    .unwrap();
    let started = Instant::now();
    let error = store.save(key, Some(version), b"2").unwrap_err();
    assert!(
        matches!(error, SqlStoreError::PostgresTimedOut(_)),
        "{error:?}"
    );
    // The deadline, not the lock, ended the wait (the lock is still held).
    assert!(started.elapsed() < Duration::from_secs(10));
    tx.rollback().unwrap();
    // The pool's one connection was closed: the next calls open another.
    // The abandoned UPDATE may still commit once the lock is free (a save
    // that overran may have happened): then the first try is a conflict.
    let saved = (0..3).any(|_| {
        let stored = store.load(key).unwrap().unwrap();
        matches!(
            store.save(key, Some(stored.version), b"3").unwrap(),
            SaveOutcome::Saved(_)
        )
    });
    assert!(saved);
}

/// Behind a pooler whose server connections are all taken, a call waits in
/// the pooler's queue (PgBouncer's own limit is 120 s): the call timeout
/// ends it.
#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_pgbouncer,
    ignore = "needs PgBouncer in front of the test PostgreSQL: apt-get install pgbouncer, then eval \"$(tools/pg-test-cluster start)\"; CI does"
)]
fn postgres_gives_up_waiting_for_an_exhausted_pooler() {
    use std::time::{Duration, Instant};
    use twostep::store::RecordKey;
    use twostep::Store;
    use twostep_sql::{PostgresOptions, PostgresStore, SqlStoreError};
    let bouncer = std::env::var("TWOSTEP_PGBOUNCER_URL").expect("no TWOSTEP_PGBOUNCER_URL");
    let direct = fresh_database("exhausted");
    let through = format!(
        "{bouncer} dbname={}",
        direct.rsplit("dbname=").next().unwrap()
    );
    let options = PostgresOptions::new()
        .transaction_pooler()
        .call_timeout(Duration::from_secs(2));
    let store = PostgresStore::with_config(through.parse().unwrap(), NoTls, options).unwrap();
    // The pooler lends this database 4 server connections: hold them all.
    let mut holders: Vec<postgres::Client> = (0..4)
        .map(|_| postgres::Client::connect(&through, postgres::NoTls).unwrap())
        .collect();
    for holder in &mut holders {
        holder.batch_execute("BEGIN; SELECT 1").unwrap();
    }
    let started = Instant::now();
    let error = store.load(RecordKey::User("ida")).unwrap_err();
    assert!(
        matches!(error, SqlStoreError::PostgresTimedOut(_)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    for holder in &mut holders {
        holder.batch_execute("COMMIT").unwrap();
    }
    assert!(store.load(RecordKey::User("ida")).unwrap().is_none());
}

/// A save planned on a record read on one timeline finds no row on
/// another (what a pool's fresh connection to a promoted standby would
/// meet): a conflict, so the service loads again and meets the fence.
#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_a_save_planned_on_another_timeline_finds_no_row() {
    use twostep::store::{RecordKey, SaveOutcome, Version};
    use twostep::Store;
    let store = twostep_sql::PostgresStore::connect(&fresh_database("timeline")).unwrap();
    let key = RecordKey::User("tia");
    let _ = store.save(key, None, b"1").unwrap();
    let read = store.load(key).unwrap().unwrap().version;
    let next_timeline = Version(read.0 + (1 << 40));
    assert_eq!(
        store.save(key, Some(next_timeline), b"2").unwrap(),
        SaveOutcome::Conflict
    );
    let SaveOutcome::Saved(saved) = store.save(key, Some(read), b"3").unwrap() else {
        panic!("the right timeline saves");
    };
    assert_eq!(store.load(key).unwrap().unwrap().version, saved);
}
