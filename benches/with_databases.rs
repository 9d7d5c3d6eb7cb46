#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benches fail loudly"
)]
//! The service on real databases against the databases' own floor, run
//! last (after `service` and `verify`, by name) because the servers'
//! background work after thousands of commits (checkpoints, vacuum) would
//! disturb the CPU-bound benches.
//!
//! Every store does one `SELECT` and one conditional `UPDATE` per verify;
//! each `*_raw` row is that pair issued directly, with the same statements
//! on the same table, the same connection settings (the same pool for the
//! sqlx stores) and a record-sized payload: what the database costs with no
//! `twostep` at all. Each service row comes right after its floor.
//!
//! - `service_verify/{sqlite_raw,sqlite}`: rusqlite on a file in the
//!   temporary directory (WAL, `synchronous = FULL`: each commit waits for
//!   the disk), and `SqliteStore` on it.
//! - `service_verify/{postgres_raw,postgres}`: the `postgres` crate's client
//!   on the server of `TWOSTEP_POSTGRES_URL` (see `tools/pg-test-cluster`;
//!   skipped without it), and `PostgresStore` on it;
//!   `service_verify/postgres_unnamed`: `PostgresOptions::transaction_pooler`
//!   on the same server, directly (every statement parsed again).
//! - `service_verify/{sqlx_sqlite_raw,sqlx_sqlite}` and
//!   `{sqlx_postgres_raw,sqlx_postgres}`: sqlx queries on a pool, and
//!   `AsyncMfa` over `SqlxSqliteStore` / `SqlxPgStore` on the same pool, on a
//!   current-thread tokio runtime.
//! - `service_verify_64_tasks/{sqlx_postgres_raw,sqlx_postgres}`: 64 tasks
//!   on a two-worker runtime, each on its own user and row, sharing one pool
//!   of 16 connections: the time per verify is the inverse of the combined
//!   throughput.
//!
//! Run: `cargo bench --all-features --bench with_databases`.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{AsyncBench, Bench};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

// The stores' own statements (twostep_sql::schema), and an insert of the
// raw loops' own row.
use twostep_sql::schema::postgres::{LOAD as PG_LOAD, UPDATE as PG_UPDATE};
use twostep_sql::schema::sqlite::{LOAD as SQLITE_LOAD, UPDATE as SQLITE_UPDATE};
const SQLITE_INSERT: &str =
    "INSERT INTO twostep_records (kind, id, version, bytes) VALUES ('user', ?1, 1, ?2)";
const PG_INSERT: &str =
    "INSERT INTO twostep_records (kind, id, version, bytes) VALUES ('user', $1, 1, $2)";

/// About the bench user's stored record (envelope and record).
const RECORD_LEN: usize = 233;
const TASKS: usize = 64;

/// The next payload of a raw loop: a record-sized blob whose last bytes
/// change, as a sign-in changes a record.
fn payload(round: u64) -> Vec<u8> {
    let mut bytes = vec![0x2a; RECORD_LEN];
    bytes[RECORD_LEN - 8..].copy_from_slice(&round.to_be_bytes());
    bytes
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("twostep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("TWOSTEP_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("PostgreSQL rows skipped: no TWOSTEP_POSTGRES_URL (see tools/pg-test-cluster)");
    }
    url
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The synchronous stores after their raw statements.
fn sync_stores(c: &mut Criterion) {
    let mut group = c.benchmark_group("service_verify");
    let dir = temp_dir();
    sqlite(&mut group, &dir.join("sync.db"));
    if let Some(url) = postgres_url() {
        postgres(&mut group, &url);
    }
    group.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn sqlite(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, path: &Path) {
    // The store creates and migrates the file; the raw connection is set up
    // as the store's own connections are.
    let bench = Bench::new(twostep_sql::SqliteStore::open(path).unwrap(), "user-0");
    let raw = rusqlite::Connection::open(path).unwrap();
    raw.busy_timeout(Duration::from_secs(5)).unwrap();
    raw.pragma_update(None, "synchronous", "FULL").unwrap();
    raw.execute(SQLITE_INSERT, ("raw", payload(0))).unwrap();
    let mut round = 0;
    group.bench_function("sqlite_raw", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                round += 1;
                let (version, bytes): (i64, Vec<u8>) = raw
                    .prepare_cached(SQLITE_LOAD)
                    .unwrap()
                    .query_row(("user", "raw"), |row| Ok((row.get(0)?, row.get(1)?)))
                    .unwrap();
                black_box(bytes);
                let updated = raw
                    .prepare_cached(SQLITE_UPDATE)
                    .unwrap()
                    .execute((payload(round), "user", "raw", version))
                    .unwrap();
                assert_eq!(updated, 1);
            }
            start.elapsed()
        })
    });
    group.bench_function("sqlite", |b| {
        b.iter_custom(|iters| {
            let (first, codes) = bench.codes(iters);
            bench.run(first, &codes)
        })
    });
}

fn postgres(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, url: &str) {
    let id = format!("bench-{}", std::process::id());
    let raw_id = format!("raw-{}", std::process::id());
    let bench = Bench::new(twostep_sql::PostgresStore::connect(url).unwrap(), &id);
    let mut raw = postgres::Client::connect(url, postgres::NoTls).unwrap();
    raw.execute(PG_INSERT, &[&raw_id, &payload(0)]).unwrap();
    let (load, update) = (
        raw.prepare(PG_LOAD).unwrap(),
        raw.prepare(PG_UPDATE).unwrap(),
    );
    let mut round = 0;
    group.bench_function("postgres_raw", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                round += 1;
                let row = raw.query_one(&load, &[&"user", &raw_id]).unwrap();
                let (version, bytes, timeline): (i64, Vec<u8>, &str) =
                    (row.get(0), row.get(1), row.get(2));
                black_box(bytes);
                let updated = raw
                    .execute(
                        &update,
                        &[&payload(round), &"user", &raw_id, &version, &timeline],
                    )
                    .unwrap();
                assert_eq!(updated, 1);
            }
            start.elapsed()
        })
    });
    group.bench_function("postgres", |b| {
        b.iter_custom(|iters| {
            let (first, codes) = bench.codes(iters);
            bench.run(first, &codes)
        })
    });
    // The same store with no statement prepared (for transaction poolers
    // that cannot keep them), here on a direct connection: what the
    // server's parsing of every statement costs.
    let unnamed = Bench::new(
        twostep_sql::PostgresStore::with_config(
            url.parse().unwrap(),
            twostep_sql::tokio_postgres::NoTls,
            twostep_sql::PostgresOptions::new().transaction_pooler(),
        )
        .unwrap(),
        &format!("unnamed-{}", std::process::id()),
    );
    group.bench_function("postgres_unnamed", |b| {
        b.iter_custom(|iters| {
            let (first, codes) = unnamed.codes(iters);
            unnamed.run(first, &codes)
        })
    });
}

/// One raw `SELECT` and conditional `UPDATE` of the row `$id` through
/// `$pool` (a macro: the two pools are different types).
macro_rules! raw_round {
    ($pool:expr, $load:expr, $update:expr, $id:expr, $round:expr) => {{
        use sqlx::Row;
        let row = sqlx::query($load)
            .bind("user")
            .bind($id)
            .fetch_one($pool)
            .await
            .unwrap();
        let version: i64 = row.try_get(0).unwrap();
        black_box(row.try_get::<Vec<u8>, _>(1).unwrap());
        let mut update = sqlx::query($update)
            .bind(payload($round))
            .bind("user")
            .bind($id)
            .bind(version);
        // PostgreSQL's statements carry the timeline from the load to the
        // update; SQLite's have none.
        if row.len() > 2 {
            update = update.bind(row.try_get::<String, _>(2).unwrap());
        }
        let done = update.execute($pool).await.unwrap();
        assert_eq!(done.rows_affected(), 1);
    }};
}

/// A raw loop and a service loop through one async store, on one runtime.
macro_rules! async_pair {
    ($group:expr, $rt:expr, $name:literal, $store:expr, $pool:expr, [$insert:expr, $load:expr, $update:expr]) => {{
        let (rt, pool) = (&$rt, $pool);
        let raw_id = format!("{}-raw-{}", $name, std::process::id());
        rt.block_on(
            sqlx::query($insert)
                .bind(&raw_id)
                .bind(payload(0))
                .execute(pool),
        )
        .unwrap();
        let mfa = twostep::AsyncMfa::new($store, twostep::Keyring::new(1, &[7; 32]));
        let bench = rt.block_on(AsyncBench::new(
            &mfa,
            &format!("{}-{}", $name, std::process::id()),
        ));
        let mut round = 0;
        $group.bench_function(concat!($name, "_raw"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        round += 1;
                        raw_round!(pool, $load, $update, &raw_id, round);
                    }
                    start.elapsed()
                })
            })
        });
        $group.bench_function($name, |b| {
            b.iter_custom(|iters| {
                let (first, codes) = bench.phone.codes(iters);
                rt.block_on(bench.run(first, &codes))
            })
        });
    }};
}

fn async_stores(c: &mut Criterion) {
    let mut group = c.benchmark_group("service_verify");
    let rt = current_thread();
    let dir = temp_dir();
    {
        let options = twostep_sqlx::SqlxSqliteStore::connect_options(dir.join("async.db"));
        let pool = rt
            .block_on(sqlx::SqlitePool::connect_with(options))
            .unwrap();
        let store = twostep_sqlx::SqlxSqliteStore::new(pool.clone());
        rt.block_on(store.migrate()).unwrap();
        async_pair!(
            group,
            rt,
            "sqlx_sqlite",
            store,
            &pool,
            [SQLITE_INSERT, SQLITE_LOAD, SQLITE_UPDATE]
        );
    }
    if let Some(url) = postgres_url() {
        let pool = rt
            .block_on(sqlx::PgPool::connect_with(common::pg_options(&url)))
            .unwrap();
        let store = twostep_sqlx::SqlxPgStore::new(pool.clone());
        rt.block_on(store.migrate()).unwrap();
        async_pair!(
            group,
            rt,
            "sqlx_postgres",
            store,
            &pool,
            [PG_INSERT, PG_LOAD, PG_UPDATE]
        );
    }
    group.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 64 tasks on PostgreSQL, each on its own user: raw statements, then the
/// service, through one pool.
fn concurrent_tasks(c: &mut Criterion) {
    let Some(url) = postgres_url() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = rt
        .block_on(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(16)
                .connect_with(common::pg_options(&url)),
        )
        .unwrap();
    let store = twostep_sqlx::SqlxPgStore::new(pool.clone());
    rt.block_on(store.migrate()).unwrap();
    let mfa = twostep::AsyncMfa::new(store, twostep::Keyring::new(1, &[7; 32]));
    let pid = std::process::id();
    let (benches, raw_ids) = rt.block_on(async {
        let (mut benches, mut raw_ids) = (Vec::new(), Vec::new());
        for task in 0..TASKS {
            benches.push(Arc::new(
                AsyncBench::new(&mfa, &format!("task-{pid}-{task}")).await,
            ));
            let raw_id = format!("raw-{pid}-{task}");
            sqlx::query(PG_INSERT)
                .bind(&raw_id)
                .bind(payload(0))
                .execute(&pool)
                .await
                .unwrap();
            raw_ids.push(Arc::new(raw_id));
        }
        (benches, raw_ids)
    });
    // The time of `per_task` rounds on every task, for `iters` of them.
    let per_verify = |elapsed: Duration, iters: u64, per_task: u64| {
        elapsed.mul_f64(iters as f64 / (per_task * TASKS as u64) as f64)
    };
    let mut group = c.benchmark_group("service_verify_64_tasks");
    let mut rounds = 0;
    group.bench_function("sqlx_postgres_raw", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(TASKS as u64);
            let first = rounds;
            rounds += per_task;
            let elapsed = rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = raw_ids
                    .iter()
                    .map(|id| {
                        let (pool, id) = (pool.clone(), Arc::clone(id));
                        tokio::spawn(async move {
                            for round in first..first + per_task {
                                raw_round!(&pool, PG_LOAD, PG_UPDATE, id.as_str(), round);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                start.elapsed()
            });
            per_verify(elapsed, iters, per_task)
        })
    });
    group.bench_function("sqlx_postgres", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(TASKS as u64);
            let work: Vec<_> = benches
                .iter()
                .map(|bench| (Arc::clone(bench), bench.phone.codes(per_task)))
                .collect();
            let elapsed = rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = work
                    .into_iter()
                    .map(|(bench, (first, codes))| {
                        tokio::spawn(async move { bench.run(first, &codes).await })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                start.elapsed()
            });
            per_verify(elapsed, iters, per_task)
        })
    });
    group.finish();
}

criterion_group!(databases, sync_stores, async_stores, concurrent_tasks);
criterion_main!(databases);
