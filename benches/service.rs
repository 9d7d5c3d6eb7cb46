#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benches fail loudly"
)]
//! The full service path on `MemoryStore` against the bare verify, and two
//! threads on distinct users against one.
//!
//! - `service_verify/memory_store`: `Mfa::verify` of a valid, fresh code in
//!   a session: load, check the record's tag and decode it, check the
//!   session, throttle check, verify (the prepared key remembered), encode,
//!   tag, compare-and-swap save, the session's new tag.
//! - `service_verify/{sqlite,postgres}`: in `benches/with_databases.rs`.
//! - `service_verify/twostep`: `Totp::verify` of a valid code alone.
//! - `service_verify/two_servers`: the same, with two services (each with
//!   its own prepared keys) taking turns on one store: every record loaded
//!   was written by the other server, as behind a load balancer.
//! - `service_verify/record_tags`: the record authentication of a verify
//!   alone: two HMAC-SHA-256 of the bench user's record with a prepared key
//!   (check the loaded tag, tag the saved one).
//! - `service_verify_threads/{one_thread,two_threads}`: time per service
//!   verify, one thread on one user, or two threads each on its own user.
//!
//! - `recovery_verify/{single,set16}`: `Mfa::use_recovery_code` of a valid
//!   code: a single rotating code (spend, draw and hash its replacement), or
//!   one code of a set of 16 (all 16 hashed and compared, one spent).
//!
//! Run: `cargo bench --all-features --bench service`.

mod common;

use common::{Bench, PERIOD};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::otp::{Code, Secret, Window};
use twostep::recovery::{RecoveryMode, SetSize};
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa, Store};

fn service_verify(c: &mut Criterion) {
    let store = Arc::new(MemoryStore::new());
    let bench = Bench::new(store.clone(), "user-0");
    let mut group = c.benchmark_group("service_verify");
    group.bench_function("memory_store", |b| {
        b.iter_custom(|iters| {
            let (first, codes) = bench.codes(iters);
            bench.run(first, &codes)
        })
    });
    // A second server on the same store, with its own memory: each takes
    // every other verify, so every load is a record the other one wrote.
    let other_server = Mfa::with_config(
        store.clone(),
        Keyring::new(1, &[7; 32]),
        Config::default().with_clock(bench.clock.clone()),
    );
    group.bench_function("two_servers", |b| {
        b.iter_custom(|iters| {
            let (first, codes) = bench.codes(iters);
            let start = Instant::now();
            for (step, code) in (first..).zip(&codes) {
                bench.clock.0.set(step * PERIOD);
                let server = if step % 2 == 0 {
                    &bench.mfa
                } else {
                    &other_server
                };
                let typed = std::str::from_utf8(code).unwrap();
                let mut session = bench.session.lock().unwrap();
                black_box(
                    server
                        .verify(&bench.user, &mut session, black_box(typed))
                        .unwrap(),
                );
            }
            start.elapsed()
        })
    });
    // The record authentication of a verify that remembers nothing (as on
    // `two_servers`): check the loaded record's tag and tag the saved one,
    // two HMAC-SHA-256 with a prepared key over the bench user's record.
    let stored = store
        .load(twostep::store::RecordKey::User("user-0"))
        .unwrap()
        .unwrap()
        .bytes;
    // "2a", version, key id, key check, tag: the record follows.
    let record = stored[43..].to_vec();
    let prepared = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&[9; 32]).unwrap();
    group.bench_function("record_tags", |b| {
        b.iter(|| {
            for _ in 0..2 {
                let mut mac = prepared.clone();
                for part in [&b"user"[..], b"user-0"] {
                    hmac::Mac::update(&mut mac, &(part.len() as u64).to_be_bytes());
                    hmac::Mac::update(&mut mac, part);
                }
                hmac::Mac::update(&mut mac, black_box(&record));
                black_box(hmac::Mac::finalize(mac));
            }
        })
    });
    let now = 1_700_000_000;
    let totp = &bench.phone.totp;
    let code = totp.generate(now).unwrap().expose().to_string();
    group.bench_function("twostep", |b| {
        b.iter(|| {
            let code = Code::parse(black_box(&code), totp.params().digits()).unwrap();
            black_box(totp.verify(black_box(now), &code, Window::DEFAULT, None)).unwrap()
        })
    });
    group.finish();

    let users = [
        Bench::new(store.clone(), "user-1"),
        Bench::new(store, "user-2"),
    ];
    let mut group = c.benchmark_group("service_verify_threads");
    // Both measured the same way, on spawned threads released by a barrier,
    // each thread verifying for its own user; the time per verify is the
    // inverse of the combined throughput.
    for (name, threads) in [("one_thread", 1), ("two_threads", 2)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let share = iters.div_ceil(threads as u64);
                let work = users[..threads]
                    .iter()
                    .map(|u| (u, u.codes(share)))
                    .collect();
                on_threads(work, |(user, (first, codes))| user.run(first, &codes))
            })
        });
    }
    group.finish();

    // The machine's own ceiling, measured the same way: the bare verify
    // (no store, no record) on one thread and on two. On this VM's two
    // vCPUs it varies from run to run as much as the service's ratio.
    let mut group = c.benchmark_group("verify_threads");
    let code = Code::parse(&code, totp.params().digits()).unwrap();
    for (name, threads) in [("one_thread", 1), ("two_threads", 2)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let share = iters.div_ceil(threads as u64);
                on_threads(vec![share; threads], |share| {
                    let start = Instant::now();
                    for _ in 0..share {
                        black_box(totp.verify(black_box(now), &code, Window::DEFAULT, None))
                            .unwrap();
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

/// Runs `run` on each piece of `work` on its own thread, all released
/// together by a barrier, and returns the time of the slowest.
fn on_threads<W: Send>(work: Vec<W>, run: impl Fn(W) -> Duration + Sync) -> Duration {
    let barrier = Barrier::new(work.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|piece| {
                let (barrier, run) = (&barrier, &run);
                s.spawn(move || {
                    barrier.wait();
                    run(piece)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

fn recovery_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("recovery_verify");
    for (name, mode) in [
        ("single", RecoveryMode::Single),
        ("set16", RecoveryMode::Set(SetSize::new(16).unwrap())),
    ] {
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        // One session for the whole run: each regeneration takes the
        // second factor it passed when the factor was bound.
        let mfa = Mfa::with_config(
            MemoryStore::new(),
            Keyring::new(1, &[7; 32]),
            Config::default()
                .with_clock(clock.clone())
                .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(1))
                .with_recovery(mode)
                .with_sudo_window(u64::MAX),
        );
        let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        let enrollment = Enrollment::builder("Acme", "r")
            .with_secret(secret)
            .unwrap();
        let otp = |clock: &ManualClock| {
            enrollment
                .totp()
                .generate(clock.now())
                .unwrap()
                .expose()
                .to_string()
        };
        let mut session = mfa.start_session("r").unwrap();
        let mut codes = mfa
            .bind("r", &mut session, &enrollment, &otp(&clock))
            .unwrap()
            .recovery_codes;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    if codes.is_empty() {
                        // A fresh set, outside the timing.
                        clock.advance(30);
                        codes = mfa.regenerate_recovery_codes("r", &session).unwrap();
                    }
                    let code = codes.pop().unwrap();
                    let start = Instant::now();
                    let used = black_box(
                        mfa.use_recovery_code("r", &mut session, code.expose_str())
                            .unwrap(),
                    );
                    spent += start.elapsed();
                    codes.extend(used.new_code);
                }
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(service, service_verify, recovery_verify);
criterion_main!(service);
