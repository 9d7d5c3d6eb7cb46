//! How a service behaves: one plain value, built once, given to
//! [`AsyncMfa::with_config`](crate::AsyncMfa::with_config) or
//! [`Mfa::with_config`](crate::Mfa::with_config).

use std::sync::{Arc, Mutex};

use crate::codes::Window;
use crate::keys::{Entropy, RngEntropy};
use crate::rules::events::{EventSink, NoEvents};
use crate::rules::recovery_codes::RecoveryMode;
use crate::rules::throttle::ThrottlePolicy;
use crate::service::clock::{Clock, SystemClock};

/// A service's settings, each with a public default: start from
/// [`Config::default`] and change what differs.
///
/// ```
/// use std::sync::Arc;
/// use twostep::{AsyncMfa, Config, Keyring, MemoryStore};
/// use twostep::clock::ManualClock;
/// let clock = Arc::new(ManualClock::new(1_800_000_000));
/// let config = Config::default()
///     .with_issuer("Acme")        // the product's name in new QR codes
///     .with_sudo_window(5 * 60)   // owner actions within 5 minutes of a code
///     .with_clock(clock.clone()); // tests move time themselves
/// let mfa = AsyncMfa::with_config(MemoryStore::new(), Keyring::new(1, &[7; 32]), config);
/// assert_eq!(mfa.config().issuer(), "Acme");
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) issuer: String,
    pub(crate) throttle: ThrottlePolicy,
    pub(crate) window: Window,
    pub(crate) recovery_mode: RecoveryMode,
    pub(crate) enrollment_ttl: u64,
    pub(crate) recovery_retry: u64,
    pub(crate) sudo_window: u64,
    pub(crate) max_attempts: u32,
    pub(crate) key_cache_users: usize,
    pub(crate) read_legacy: bool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) entropy: Arc<dyn Entropy>,
}

impl Config {
    /// Seconds a new QR code waits for its first code: 10 minutes.
    pub const DEFAULT_ENROLLMENT_TTL: u64 = 10 * 60;
    /// Seconds a used single recovery code may sign in again in the session
    /// that used it: 10 minutes.
    pub const DEFAULT_RECOVERY_RETRY: u64 = 10 * 60;
    /// Seconds after the second factor in which owner actions and changes
    /// to one's own MFA need no new code: 10 minutes.
    pub const DEFAULT_SUDO_WINDOW: u64 = 10 * 60;
    /// Conflicting saves in one call before [`MfaError::Contended`](crate::MfaError::Contended): 16.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 16;
    /// Users whose prepared keys are remembered: 10,000.
    pub const DEFAULT_KEY_CACHE_USERS: usize = 10_000;

    /// Names new QR codes made by [`step`](crate::AsyncMfa::step) with
    /// `issuer` (your product's name, as the person's authenticator app
    /// lists it beside their account name). Default: none, and
    /// [`Action::SetUp`](crate::Action::SetUp) is refused until it is set.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The issuer new QR codes name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Uses another failure budget. Default: [`ThrottlePolicy::DEFAULT`]
    /// (3 free attempts, then 15 s doubling to 15 min, locked after 10).
    pub fn with_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = policy;
        self
    }

    /// Accepts codes from another window of steps. Default:
    /// [`Window::DEFAULT`] (one step each side).
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Issues recovery codes this way from now on. Default: a single
    /// rotating code. Codes already issued keep the mode they were issued in.
    pub fn with_recovery(mut self, mode: RecoveryMode) -> Self {
        self.recovery_mode = mode;
        self
    }

    /// Lets a new QR code wait `seconds` for its first code
    /// ([`DEFAULT_ENROLLMENT_TTL`](Self::DEFAULT_ENROLLMENT_TTL)).
    pub fn with_enrollment_ttl(mut self, seconds: u64) -> Self {
        self.enrollment_ttl = seconds;
        self
    }

    /// For `seconds` after a sign-in with a single recovery code
    /// ([`DEFAULT_RECOVERY_RETRY`](Self::DEFAULT_RECOVERY_RETRY)), and only
    /// until its replacement is acknowledged, the same code signs in again
    /// and shows the same replacement ([`RecoveryUsed::retried`](crate::screen::RecoveryUsed)).
    ///
    /// This keeps a lost answer (a save that happened, but whose answer was
    /// an error or never reached the browser) from leaving the person with
    /// a spent code and a replacement nobody saw. The retry works once, and
    /// only in the session that used the code: the same code typed anywhere
    /// else is refused, and the failure count is left as it is. 0 turns the
    /// retry off (a lost answer then needs an owner's reset). Sets of codes
    /// never retry: the other codes of the set remain.
    pub fn with_recovery_retry(mut self, seconds: u64) -> Self {
        self.recovery_retry = seconds;
        self
    }

    /// For `seconds` after a session passes the second factor
    /// ([`DEFAULT_SUDO_WINDOW`](Self::DEFAULT_SUDO_WINDOW)), owner actions
    /// and changes to one's own MFA take that session as proof and ask for
    /// no new code, as GitHub's "sudo mode": an owner saves "Force every
    /// user to use MFA" right after activating their own, while an older
    /// session must pass a code again
    /// ([`MfaError::RecentSecondFactorRequired`](crate::MfaError::RecentSecondFactorRequired)).
    pub fn with_sudo_window(mut self, seconds: u64) -> Self {
        self.sudo_window = seconds;
        self
    }

    /// Gives up with [`MfaError::Contended`](crate::MfaError::Contended)
    /// after `attempts` conflicting saves in one call (at least 1;
    /// [`DEFAULT_MAX_ATTEMPTS`](Self::DEFAULT_MAX_ATTEMPTS)). Each conflict
    /// means another request for the same user was saved, so `n` concurrent
    /// requests for one user never need more than `n` attempts.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Remembers the prepared keys of up to `users` recently checked users
    /// (0: none; [`DEFAULT_KEY_CACHE_USERS`](Self::DEFAULT_KEY_CACHE_USERS)),
    /// so that their next check opens no sealed secret: about 3 % of a
    /// verify on SQLite (`benches/README.md`). A key serves only the same
    /// user and the same sealing of their factor; keys are zeroized when
    /// evicted or dropped. Each service made with this config has its own.
    pub fn with_key_cache(mut self, users: usize) -> Self {
        self.key_cache_users = users;
        self
    }

    /// Reads records written before records were authenticated (user
    /// record formats 2 and 3, company format 128) instead of refusing
    /// them, and authenticates each at its next save; `reseal_all` and
    /// `reseal_company` do it eagerly. For a migration only: while it is
    /// on, anyone who can write the table can also write an
    /// unauthenticated record. Default: off, and such a record is
    /// [`RecordError::NotAuthenticated`](crate::store::RecordError::NotAuthenticated).
    pub fn read_legacy_records(mut self) -> Self {
        self.read_legacy = true;
        self
    }

    /// Reads time from `clock` (a [`ManualClock`](crate::clock::ManualClock) in
    /// tests). Default: the system clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Delivers audit events to `sink`. Default: none.
    pub fn with_events(mut self, sink: impl EventSink + 'static) -> Self {
        self.events = Arc::new(sink);
        self
    }

    /// Draws randomness (secrets, nonces, recovery codes) from `rng`.
    /// Default: the operating system (feature `getrandom`; without it, give
    /// one here, or every draw fails with
    /// [`SealError::Entropy`](crate::SealError::Entropy)).
    pub fn with_rng(mut self, rng: impl rand_core::CryptoRng + Send + 'static) -> Self {
        self.entropy = Arc::new(RngEntropy(Mutex::new(rng)));
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: String::new(),
            throttle: ThrottlePolicy::DEFAULT,
            window: Window::DEFAULT,
            recovery_mode: RecoveryMode::Single,
            enrollment_ttl: Self::DEFAULT_ENROLLMENT_TTL,
            recovery_retry: Self::DEFAULT_RECOVERY_RETRY,
            sudo_window: Self::DEFAULT_SUDO_WINDOW,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            key_cache_users: Self::DEFAULT_KEY_CACHE_USERS,
            read_legacy: false,
            clock: Arc::new(SystemClock),
            events: Arc::new(NoEvents),
            #[cfg(feature = "getrandom")]
            entropy: Arc::new(crate::keys::OsEntropy),
            #[cfg(not(feature = "getrandom"))]
            entropy: Arc::new(crate::keys::NoEntropy),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("throttle", &self.throttle)
            .field("window", &self.window)
            .field("recovery_mode", &self.recovery_mode)
            .field("enrollment_ttl", &self.enrollment_ttl)
            .field("recovery_retry", &self.recovery_retry)
            .field("sudo_window", &self.sudo_window)
            .field("max_attempts", &self.max_attempts)
            .field("key_cache_users", &self.key_cache_users)
            .field("read_legacy", &self.read_legacy)
            .finish_non_exhaustive()
    }
}
