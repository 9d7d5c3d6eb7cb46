//! What the service benches share: one user's service on a store, with
//! valid codes made before timing starts.
#![allow(dead_code, reason = "each bench uses part of it")]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::Mutex;

use twostep::clock::{Clock, ManualClock};
use twostep::otp::{Secret, Totp, TotpParams};
use twostep::{AsyncMfa, AsyncStore, Config, Enrollment, Keyring, Mfa, MfaSession, Store};

#[cfg(feature = "sqlx-postgres")]
#[path = "../../tests/common/pg_options.rs"]
mod pg_options;
#[cfg(feature = "sqlx-postgres")]
#[allow(unused_imports, reason = "each bench uses part of it")]
pub use pg_options::pg_options;

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

/// One user's phone: the secret's codes for the steps to come.
pub struct Phone {
    pub enrollment: Enrollment,
    pub totp: Totp,
    next_step: AtomicU64,
}

impl Phone {
    pub const FIRST_STEP: u64 = 1_700_000_000 / PERIOD;

    pub fn new(user: &str) -> Phone {
        let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        Phone {
            enrollment: Enrollment::builder("Acme", user)
                .with_secret(secret.clone())
                .unwrap(),
            totp: Totp::new(&secret, TotpParams::default()),
            next_step: AtomicU64::new(Self::FIRST_STEP + 1),
        }
    }

    /// The code for binding, at the first step.
    pub fn first_code(&self) -> String {
        self.totp
            .generate_at_step(Self::FIRST_STEP)
            .expose()
            .to_string()
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
}

/// One user's service, with its own clock so each thread moves its own time.
pub struct Bench<S: Store> {
    pub mfa: Mfa<S>,
    pub clock: Arc<PaddedClock>,
    pub phone: Phone,
    pub user: String,
    /// The user's session, signed in once: each verify is a sign-in's
    /// second factor in it.
    pub session: Mutex<MfaSession>,
}

impl<S: Store> Bench<S> {
    pub fn new(store: S, user: &str) -> Bench<S> {
        let phone = Phone::new(user);
        let clock = Arc::new(PaddedClock(ManualClock::new(Phone::FIRST_STEP * PERIOD)));
        let mfa = Mfa::with_config(
            store,
            Keyring::new(1, &[7; 32]),
            Config::default().with_clock(clock.clone()),
        );
        let mut session = mfa.start_session(user).unwrap();
        mfa.bind(user, &mut session, &phone.enrollment, &phone.first_code())
            .unwrap();
        Bench {
            mfa,
            clock,
            phone,
            user: user.to_owned(),
            session: Mutex::new(session),
        }
    }

    /// `iters` valid codes for the next steps, made before timing starts.
    pub fn codes(&self, iters: u64) -> (u64, Vec<[u8; 6]>) {
        self.phone.codes(iters)
    }

    /// Verifies each code at its own step; the time of the loop alone.
    pub fn run(&self, first: u64, codes: &[[u8; 6]]) -> Duration {
        let mut session = self.session.lock().unwrap();
        let start = Instant::now();
        for (step, code) in (first..).zip(codes) {
            self.clock.0.set(step * PERIOD);
            let typed = std::str::from_utf8(code).unwrap();
            black_box(
                self.mfa
                    .verify(&self.user, &mut session, black_box(typed))
                    .unwrap(),
            );
        }
        start.elapsed()
    }
}

/// [`Bench`] for an [`AsyncMfa`].
pub struct AsyncBench<S: AsyncStore> {
    pub mfa: AsyncMfa<S>,
    pub clock: Arc<PaddedClock>,
    pub phone: Phone,
    pub user: String,
    pub session: tokio::sync::Mutex<MfaSession>,
}

impl<S: AsyncStore + Clone> AsyncBench<S> {
    /// `user`'s service on `mfa`'s store and memory, with its own clock.
    pub async fn new(mfa: &AsyncMfa<S>, user: &str) -> AsyncBench<S> {
        let phone = Phone::new(user);
        let clock = Arc::new(PaddedClock(ManualClock::new(Phone::FIRST_STEP * PERIOD)));
        // The same store and keyring, this bench's own clock.
        let mfa = AsyncMfa::with_config(
            mfa.store().clone(),
            Keyring::new(1, &[7; 32]),
            Config::default().with_clock(clock.clone()),
        );
        let mut session = mfa.start_session(user).await.unwrap();
        mfa.bind(user, &mut session, &phone.enrollment, &phone.first_code())
            .await
            .unwrap();
        AsyncBench {
            mfa,
            clock,
            phone,
            user: user.to_owned(),
            session: tokio::sync::Mutex::new(session),
        }
    }

    /// [`Bench::run`], awaiting each verify.
    pub async fn run(&self, first: u64, codes: &[[u8; 6]]) -> Duration {
        let mut session = self.session.lock().await;
        let start = Instant::now();
        for (step, code) in (first..).zip(codes) {
            self.clock.0.set(step * PERIOD);
            let typed = std::str::from_utf8(code).unwrap();
            black_box(
                self.mfa
                    .verify(&self.user, &mut session, black_box(typed))
                    .await
                    .unwrap(),
            );
        }
        start.elapsed()
    }
}
