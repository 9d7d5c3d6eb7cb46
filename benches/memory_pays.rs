#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benches fail loudly"
)]
//! What the per-process memory (prepared keys, remembered record bytes, tag
//! midstates, decoded records) saves on each store, paired: on every store,
//! one service with the memory (the default) and one without
//! (`with_key_cache(0)`), each on its own user, take turns in blocks of
//! `BLOCK` verifies, `ROUNDS` times; each row gives both medians per verify
//! and the median of the per-round differences.
//!
//! Run: `cargo bench -p twostep-benches --all-features --bench memory_pays`
//! (PostgreSQL rows need `TWOSTEP_POSTGRES_URL`, see `tools/pg-test-cluster`).

mod common;

use std::time::Duration;

use common::{AsyncBench, Bench};
use twostep::{AsyncMfa, AsyncStore, Config, Keyring, Mfa, Store};

const ROUNDS: usize = 101;
const BLOCK: u64 = 100;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn report(name: &str, on: &[Duration], off: &[Duration]) {
    let per = |d: &Duration| d.as_secs_f64() * 1e6 / BLOCK as f64;
    let on_us: Vec<f64> = on.iter().map(per).collect();
    let off_us: Vec<f64> = off.iter().map(per).collect();
    let saved: Vec<f64> = on_us.iter().zip(&off_us).map(|(a, b)| b - a).collect();
    let n = saved.len() as f64;
    let mean = saved.iter().sum::<f64>() / n;
    let se = (saved.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
    let (m_on, m_off, m_saved) = (median(on_us), median(off_us), median(saved));
    println!(
        "{name:<14} with memory {m_on:>9.2} µs  without {m_off:>9.2} µs  saves: median {m_saved:>6.2} µs ({:>5.2} %), mean {mean:>6.2} ± {:.2} µs (95 %: {:>5.2} % to {:>5.2} %)",
        100.0 * m_saved / m_off,
        1.96 * se,
        100.0 * (mean - 1.96 * se) / m_off,
        100.0 * (mean + 1.96 * se) / m_off,
    );
}

fn sync_pair<S: Store + Clone>(name: &str, store: S) {
    let on = Bench::new(store.clone(), &format!("{name}-on-{}", std::process::id()));
    let mut off = Bench::new(store, &format!("{name}-off-{}", std::process::id()));
    off.mfa = Mfa::with_config(
        off.mfa.store().clone(),
        Keyring::new(1, &[7; 32]),
        Config::default()
            .with_clock(off.clock.clone())
            .with_key_cache(0),
    );
    let (mut t_on, mut t_off) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let run = |bench: &Bench<S>| {
            let (first, codes) = bench.codes(BLOCK);
            bench.run(first, &codes)
        };
        // Alternate which goes first, so drift over time falls on both.
        if round % 2 == 0 {
            t_on.push(run(&on));
            t_off.push(run(&off));
        } else {
            t_off.push(run(&off));
            t_on.push(run(&on));
        }
    }
    report(name, &t_on, &t_off);
}

async fn async_pair<S: AsyncStore + Clone>(name: &str, store: S) {
    let mfa = AsyncMfa::new(store, Keyring::new(1, &[7; 32]));
    let on = AsyncBench::new(&mfa, &format!("{name}-on-{}", std::process::id())).await;
    let mut off = AsyncBench::new(&mfa, &format!("{name}-off-{}", std::process::id())).await;
    off.mfa = AsyncMfa::with_config(
        off.mfa.store().clone(),
        Keyring::new(1, &[7; 32]),
        Config::default()
            .with_clock(off.clock.clone())
            .with_key_cache(0),
    );
    let (mut t_on, mut t_off) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let first_on = round % 2 == 0;
        for which in [first_on, !first_on] {
            let bench = if which { &on } else { &off };
            let (first, codes) = bench.phone.codes(BLOCK);
            let took = bench.run(first, &codes).await;
            if which {
                t_on.push(took)
            } else {
                t_off.push(took)
            }
        }
    }
    report(name, &t_on, &t_off);
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let _ = Mfa::new(twostep::MemoryStore::new(), Keyring::new(1, &[7; 32]));
    sync_pair("memory", std::sync::Arc::new(twostep::MemoryStore::new()));
    let dir = std::env::temp_dir().join(format!("twostep-memory-pays-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    sync_pair(
        "sqlite",
        std::sync::Arc::new(twostep_sql::SqliteStore::open(dir.join("sync.db")).unwrap()),
    );
    let url = std::env::var("TWOSTEP_POSTGRES_URL").ok();
    if let Some(url) = &url {
        sync_pair(
            "postgres",
            std::sync::Arc::new(twostep_sql::PostgresStore::connect(url).unwrap()),
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        async_pair(
            "memory_async",
            std::sync::Arc::new(twostep::MemoryStore::new()),
        )
        .await;
        let options = twostep_sqlx::SqlxSqliteStore::connect_options(dir.join("async.db"));
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let store = twostep_sqlx::SqlxSqliteStore::new(pool);
        store.migrate().await.unwrap();
        async_pair("sqlx_sqlite", std::sync::Arc::new(store)).await;
        if let Some(url) = &url {
            let pool = sqlx::PgPool::connect_with(common::pg_options(url))
                .await
                .unwrap();
            let store = twostep_sqlx::SqlxPgStore::new(pool);
            store.migrate().await.unwrap();
            async_pair("sqlx_postgres", std::sync::Arc::new(store)).await;
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
