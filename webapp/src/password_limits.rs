//! How often a password may be tried, per account and per client: governor's
//! keyed rate limiters (GCRA) on the app's clock, so tests move time.
//!
//! twostep throttles the second factor; the password is the host's, and so
//! is its throttle. In memory: with two processes an attacker gets each
//! process's allowance (twice the rate), still ~3,000 guesses a day per
//! account rather than millions.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use twostep::clock::Clock;

/// The allowances: a burst, then one attempt per period.
#[derive(Clone, Copy, Debug)]
pub struct PasswordLimits {
    /// Per account (the email as typed, in lower case).
    pub per_account: Quota,
    /// Per client address.
    pub per_client: Quota,
}

impl Default for PasswordLimits {
    /// Per account 5 at once, then one a minute; per client 30 at once
    /// (an office behind one address), then one every 2 seconds.
    fn default() -> Self {
        PasswordLimits {
            per_account: Quota::per_minute(NonZeroU32::MIN).allow_burst(at_least_one(5)),
            per_client: Quota::per_minute(at_least_one(30)),
        }
    }
}

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// The app's clock for governor (whole seconds are precise enough for
/// allowances of seconds and minutes).
#[derive(Clone)]
struct AppClock(Arc<dyn Clock>);

impl GovernorClock for AppClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(Duration::from_secs(self.0.now()))
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, AppClock, NoOpMiddleware<Nanos>>;

pub(crate) struct PasswordThrottle {
    accounts: Keyed<String>,
    clients: Keyed<IpAddr>,
    clock: AppClock,
    /// The longest wait either allowance can ask for (seconds).
    longest_wait: u64,
}

impl PasswordThrottle {
    pub(crate) fn new(limits: PasswordLimits, clock: Arc<dyn Clock>) -> PasswordThrottle {
        let clock = AppClock(clock);
        let period = |quota: Quota| quota.replenish_interval().as_secs().max(1);
        let longest_wait = period(limits.per_account).max(period(limits.per_client));
        PasswordThrottle {
            accounts: RateLimiter::new(
                limits.per_account,
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clients: RateLimiter::new(
                limits.per_client,
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clock,
            longest_wait,
        }
    }

    /// Whether a wait of `seconds` is one this throttle could have asked
    /// for (the sign-in page takes the wait from its address, which anyone
    /// can write).
    pub(crate) fn could_ask_for(&self, seconds: u64) -> bool {
        seconds <= self.longest_wait
    }

    /// Takes one attempt from the client's and the account's allowance, or
    /// says how many seconds to wait (rounded up).
    pub(crate) fn attempt(&self, client: IpAddr, email: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let wait = |refused: governor::NotUntil<Nanos>| {
            let wait = refused.wait_time_from(now);
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        };
        self.clients.check_key(&client).map_err(wait)?;
        self.accounts.check_key(&email.to_lowercase()).map_err(wait)
    }

    /// Forgets the keys whose allowance is whole again (else every email
    /// ever typed would stay in memory).
    pub(crate) fn forget_full(&self) {
        self.accounts.retain_recent();
        self.clients.retain_recent();
    }
}
