//! What the service benches share: one user's service on a store, with
//! valid codes made before timing starts.
#![allow(dead_code, reason = "each bench uses part of it")]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use twostep::{Clock, Enrollment, Keyring, ManualClock, Mfa, Secret, Store, Totp, TotpParams};

pub const PERIOD: u64 = 30;

/// A manual clock on its own cache lines: each thread sets its clock before
/// every verify, and two clocks allocated side by side would otherwise
/// share a line between the threads (a bench artifact: a host's
/// `SystemClock` is never written).
#[repr(align(128))]
pub struct PaddedClock(pub ManualClock);

impl Clock for PaddedClock {
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// One user's service, with its own clock so each thread moves its own time.
pub struct Bench<S: Store> {
    pub mfa: Mfa<S>,
    pub clock: Arc<PaddedClock>,
    pub totp: Totp,
    pub user: String,
    next_step: AtomicU64,
}

impl<S: Store> Bench<S> {
    pub fn new(store: S, user: &str) -> Bench<S> {
        let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        let enrollment = Enrollment::builder("Acme", user)
            .with_secret(secret.clone())
            .unwrap();
        let first_step = 1_700_000_000 / PERIOD;
        let clock = Arc::new(PaddedClock(ManualClock::new(first_step * PERIOD)));
        let mfa = Mfa::new(store, Keyring::new(1, &[7; 32])).with_clock(clock.clone());
        let code = enrollment
            .totp()
            .generate_at_step(first_step)
            .expose()
            .to_string();
        mfa.bind(user, &enrollment, &code).unwrap();
        Bench {
            mfa,
            clock,
            totp: Totp::new(&secret, TotpParams::default()),
            user: user.to_owned(),
            next_step: AtomicU64::new(first_step + 1),
        }
    }

    /// `iters` valid codes for the next steps, made before timing starts.
    pub fn codes(&self, iters: u64) -> (u64, Vec<[u8; 6]>) {
        let first = self.next_step.fetch_add(iters, Ordering::Relaxed);
        let codes = (first..first + iters)
            .map(|step| {
                let mut digits = [0u8; 6];
                let text = self.totp.generate_at_step(step).expose().to_string();
                digits.copy_from_slice(text.as_bytes());
                digits
            })
            .collect();
        (first, codes)
    }

    /// Verifies each code at its own step; the time of the loop alone.
    pub fn run(&self, first: u64, codes: &[[u8; 6]]) -> Duration {
        let start = Instant::now();
        for (step, code) in (first..).zip(codes) {
            self.clock.0.set(step * PERIOD);
            let typed = std::str::from_utf8(code).unwrap();
            black_box(self.mfa.verify(&self.user, black_box(typed)).unwrap());
        }
        start.elapsed()
    }
}
