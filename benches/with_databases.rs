#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benches fail loudly"
)]
//! The service on real databases, run last (after `service` and `verify`,
//! by name) because the servers' background work after thousands of
//! commits (checkpoints, vacuum) would disturb the CPU-bound benches.
//!
//! - `service_verify/{sqlite,postgres}`: `Mfa::verify` of a valid, fresh
//!   code on `SqliteStore` (a file in the temporary directory; WAL,
//!   `synchronous = FULL`, so each save waits for the disk) and
//!   `PostgresStore` (the server of `TWOSTEP_POSTGRES_URL`, see
//!   `tools/pg-test-cluster`; skipped without it): one `SELECT` and one
//!   conditional `UPDATE` per verify.
//!
//! Run: `cargo bench --all-features --bench with_databases`.

mod common;

use common::Bench;
use criterion::{criterion_group, criterion_main, Criterion};

fn service_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("service_verify");
    #[cfg(feature = "sqlite")]
    {
        let dir = std::env::temp_dir().join(format!("twostep-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sqlite = Bench::new(
            twostep::SqliteStore::open(dir.join("bench.db")).unwrap(),
            "user-0",
        );
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                let (first, codes) = sqlite.codes(iters);
                sqlite.run(first, &codes)
            })
        });
        drop(sqlite);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    #[cfg(feature = "postgres")]
    match std::env::var("TWOSTEP_POSTGRES_URL") {
        Ok(url) => {
            let postgres = Bench::new(
                twostep::PostgresStore::connect(&url).unwrap(),
                &format!("bench-{}", std::process::id()),
            );
            group.bench_function("postgres", |b| {
                b.iter_custom(|iters| {
                    let (first, codes) = postgres.codes(iters);
                    postgres.run(first, &codes)
                })
            });
        }
        Err(_) => eprintln!(
            "service_verify/postgres skipped: no TWOSTEP_POSTGRES_URL (see tools/pg-test-cluster)"
        ),
    }
    group.finish();
}

criterion_group!(databases, service_verify);
criterion_main!(databases);
