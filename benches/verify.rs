#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests and benches fail loudly"
)]
//! The hot path: verify with a ±1 window, against the limit and the peers,
//! side by side in one run.
//!
//! - `twostep`: `Totp::verify` (prepared midstates, constant-time scan).
//! - `hmac_prepared`: the loop a user would write with RustCrypto: an `Hmac`
//!   keyed once and cloned per step.
//! - `totp_rs`: totp-rs 6 `check` with skew 1 (parses the token, re-keys HMAC
//!   per step).
//! - `libreauth`: libreauth 0.18 `TOTP::is_valid` with tolerance 1 (built
//!   once for the instant; re-keys HMAC per step, stops at the first match).
//! - `totp_lite`: totp-lite 2 has no verify; the loop a user writes with
//!   it: `totp_custom` for each step of the window, compared as strings.
//!
//! Run: `cargo bench --bench verify`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;
use twostep::otp::{Algorithm, Code, Digits, Secret, Totp, TotpParams, Window};

const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"12345678901234567890123456789012345678901234567890123456789012345";

/// One HOTP value the plain RustCrypto way: the keyed `Hmac` cloned.
fn hotp_prepared<M: Mac + Clone>(mac: &M, step: u64) -> u32 {
    let mut m = mac.clone();
    m.update(&step.to_be_bytes());
    let out = m.finalize().into_bytes();
    let offset = usize::from(out[out.len() - 1] & 0x0f);
    u32::from_be_bytes([
        out[offset] & 0x7f,
        out[offset + 1],
        out[offset + 2],
        out[offset + 3],
    ]) % 1_000_000
}

/// The plain RustCrypto loop: HMAC keyed once, cloned per step, every step
/// compared (no early exit, like twostep).
fn hmac_prepared<M: Mac + Clone>(mac: &M, now: u64, expected: u32) -> Option<u64> {
    let current = now / 30;
    let mut found = None;
    for step in current - 1..=current + 1 {
        if bool::from(hotp_prepared(mac, step).ct_eq(&expected)) {
            found = Some(step);
        }
    }
    found
}

/// Runs `$body` with `$mac`, an `Hmac` of `$algorithm`'s hash keyed once.
macro_rules! with_prepared_mac {
    ($algorithm:expr, $key:expr, |$mac:ident| $body:expr) => {
        match $algorithm {
            Algorithm::Sha1 => {
                let $mac = Hmac::<sha1::Sha1>::new_from_slice($key).unwrap();
                $body
            }
            Algorithm::Sha256 => {
                let $mac = Hmac::<sha2::Sha256>::new_from_slice($key).unwrap();
                $body
            }
            _ => {
                let $mac = Hmac::<sha2::Sha512>::new_from_slice($key).unwrap();
                $body
            }
        }
    };
}

fn seed(algorithm: Algorithm) -> &'static [u8] {
    match algorithm {
        Algorithm::Sha1 => &SECRET[..20],
        Algorithm::Sha256 => &SECRET[..32],
        _ => &SECRET[..64],
    }
}

fn group(c: &mut Criterion, name: &str, algorithm: Algorithm, matching: bool) {
    let secret = Secret::from_bytes(seed(algorithm)).unwrap();
    let totp = Totp::new(&secret, TotpParams::default().with_algorithm(algorithm));
    let right = totp.generate(NOW).unwrap().expose().to_string();
    // A wrong code: one that matches no step of the ±1 window.
    let wrong = (0..1_000_000u32)
        .map(|v| format!("{v:06}"))
        .find(|s| {
            let code = Code::parse(s, Digits::SIX).unwrap();
            totp.verify(NOW, &code, Window::DEFAULT, None).is_err()
        })
        .unwrap();
    let typed = if matching { right } else { wrong };
    let expected: u32 = typed.parse().unwrap();
    let totp_rs = totp_rs::Builder::new()
        .with_algorithm(match algorithm {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            _ => totp_rs::Algorithm::SHA512,
        })
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(seed(algorithm).to_vec())
        .build()
        .unwrap();

    let mut group = c.benchmark_group(name);
    group.bench_function("twostep", |b| {
        b.iter(|| {
            let code = Code::parse(black_box(&typed), Digits::SIX).unwrap();
            black_box(totp.verify(black_box(NOW), &code, Window::DEFAULT, None)).ok()
        })
    });
    with_prepared_mac!(algorithm, seed(algorithm), |mac| {
        group.bench_function("hmac_prepared", |b| {
            b.iter(|| hmac_prepared(&mac, black_box(NOW), black_box(expected)))
        })
    });
    group.bench_function("totp_rs", |b| {
        b.iter(|| totp_rs.check(black_box(&typed), black_box(NOW)))
    });
    let libreauth = libreauth::oath::TOTPBuilder::new()
        .key(seed(algorithm))
        .hash_function(match algorithm {
            Algorithm::Sha1 => libreauth::hash::HashFunction::Sha1,
            Algorithm::Sha256 => libreauth::hash::HashFunction::Sha256,
            _ => libreauth::hash::HashFunction::Sha512,
        })
        .timestamp(i64::try_from(NOW).unwrap())
        .tolerance(1)
        .finalize()
        .unwrap();
    // Every peer must answer as twostep does, or the row measures nothing.
    assert_eq!(libreauth.is_valid(&typed), matching);
    assert_eq!(totp_rs.check(&typed, NOW).is_some(), matching);
    group.bench_function("libreauth", |b| {
        b.iter(|| libreauth.is_valid(black_box(&typed)))
    });
    let lite: TotpLite = match algorithm {
        Algorithm::Sha1 => totp_lite::totp_custom::<totp_lite::Sha1>,
        Algorithm::Sha256 => totp_lite::totp_custom::<totp_lite::Sha256>,
        _ => totp_lite::totp_custom::<totp_lite::Sha512>,
    };
    assert_eq!(
        totp_lite_check(lite, seed(algorithm), NOW, &typed),
        matching
    );
    group.bench_function("totp_lite", |b| {
        b.iter(|| totp_lite_check(lite, seed(algorithm), black_box(NOW), &typed))
    });
    group.finish();
}

/// totp-lite's `totp_custom(step, digits, secret, time)` for one hash.
type TotpLite = fn(u64, u32, &[u8], u64) -> String;

/// What a totp-lite user writes to verify with a ±1 window.
fn totp_lite_check(lite: TotpLite, secret: &[u8], now: u64, typed: &str) -> bool {
    [now - 30, now, now + 30]
        .iter()
        .any(|&t| lite(30, 6, secret, t) == typed)
}

/// Cost against window size: k steps each way (2k+1 steps, all computed);
/// it should grow linearly in the number of steps.
fn window_sizes(c: &mut Criterion) {
    let secret = Secret::from_bytes(seed(Algorithm::Sha1)).unwrap();
    let totp = Totp::new(&secret, TotpParams::default());
    let code = Code::parse("000000", Digits::SIX).unwrap();
    let mut group = c.benchmark_group("verify_window_sha1");
    for k in 0..=5u64 {
        let window = Window::new(k, k).unwrap();
        group.bench_function(format!("pm{k}"), |b| {
            b.iter(|| black_box(totp.verify(black_box(NOW), &code, window, None)).ok())
        });
    }
    group.finish();
}

/// Producing the code an app shows, per algorithm, against one step of the
/// plain RustCrypto loop.
fn generate(c: &mut Criterion) {
    for (name, algorithm) in [
        ("generate_sha1", Algorithm::Sha1),
        ("generate_sha256", Algorithm::Sha256),
        ("generate_sha512", Algorithm::Sha512),
    ] {
        let secret = Secret::from_bytes(seed(algorithm)).unwrap();
        let totp = Totp::new(&secret, TotpParams::default().with_algorithm(algorithm));
        let mut group = c.benchmark_group(name);
        group.bench_function("twostep", |b| {
            b.iter(|| black_box(totp.generate(black_box(NOW)).unwrap()))
        });
        with_prepared_mac!(algorithm, seed(algorithm), |mac| {
            group.bench_function("hmac_prepared", |b| {
                b.iter(|| hotp_prepared(&mac, black_box(NOW) / 30))
            })
        });
        group.finish();
    }
}

fn benches(c: &mut Criterion) {
    group(c, "verify_w1_nomatch_sha1", Algorithm::Sha1, false);
    group(c, "verify_w1_nomatch_sha256", Algorithm::Sha256, false);
    group(c, "verify_w1_nomatch_sha512", Algorithm::Sha512, false);
    group(c, "verify_w1_match_sha1", Algorithm::Sha1, true);
}

criterion_group!(verify, benches, window_sizes, generate);
criterion_main!(verify);
