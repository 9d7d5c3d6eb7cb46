//! The configuration both drivers share, and the sans-IO entry points: each
//! written once, for [`Mfa`] and [`AsyncMfa`].

use std::convert::Infallible;
use std::sync::Arc;

use crate::clock::Clock;
use crate::event::EventSink;
use crate::key_cache::KeyCache;
use crate::otp::{Verified, Window};
use crate::recovery::RecoveryMode;
use crate::seal::{Keyring, RngEntropy};
use crate::service::core::Core;
use crate::service::{MfaError, Prepared};
use crate::session::MfaSession;
use crate::store::{AsyncStore, Store, Versioned};
use crate::throttle::ThrottlePolicy;
use crate::RecoveryUsed;

use super::{AsyncMfa, Mfa};

macro_rules! settings {
    ($driver:ident, $store:ident) => {
        impl<S: $store> $driver<S> {
            /// A service over `store`, sealing secrets with `keyring`, with the
            /// system clock, the operating system's generator (feature
            /// `getrandom`; otherwise give one with `with_rng`), no event sink,
            /// the default throttle and a ±1 window.
            ///
            /// Keep the keyring's key material outside the database that
            /// `store` writes to: see [`Keyring`].
            pub fn new(store: S, keyring: Keyring) -> Self {
                $driver {
                    store: Arc::new(store),
                    core: Core::new(keyring),
                }
            }

            /// The store.
            pub fn store(&self) -> &S {
                &self.store
            }

            /// Decides a sign-in code typed in `session` on the record the
            /// host loaded itself (its `kind = "user"` row, or `None`), for a
            /// host that saves it in its own transaction (with its session
            /// row, say): the write comes from [`Prepared::write`], whether
            /// the code was accepted only from [`Prepared::written`] with
            /// what the write did, the answer and the events from
            /// [`Written::committed`](crate::Written::committed) after the
            /// commit. The same rules as `verify`.
            ///
            /// # Errors
            /// [`MfaError::CorruptRecord`] or [`MfaError::Seal`] for a record
            /// that does not open; the decision's own answer comes later.
            pub fn prepare_verify(
                &self,
                user: &str,
                session: &MfaSession,
                stored: Option<&Versioned>,
                input: &str,
            ) -> Result<Prepared<Verified>, MfaError<Infallible>> {
                self.core.prepare_verify(user, session, stored, input)
            }

            /// [`prepare_verify`](Self::prepare_verify) for a recovery code:
            /// the same rules as `use_recovery_code`.
            ///
            /// # Errors
            /// As `prepare_verify`.
            pub fn prepare_recovery_code(
                &self,
                user: &str,
                session: &MfaSession,
                stored: Option<&Versioned>,
                input: &str,
            ) -> Result<Prepared<RecoveryUsed>, MfaError<Infallible>> {
                self.core
                    .prepare_recovery_code(user, session, stored, input)
            }

            /// Lets a pending enrollment wait `seconds` for its first code
            /// (default 10 minutes).
            pub fn with_enrollment_ttl(mut self, seconds: u64) -> Self {
                self.core.enrollment_ttl = seconds;
                self
            }

            /// For `seconds` after a sign-in with a single recovery code
            /// (default 10 minutes), and only until its replacement is
            /// acknowledged, the same code signs in again and shows the same
            /// replacement ([`RecoveryUsed::retried`]).
            ///
            /// This is what keeps a lost answer (a save that happened, but
            /// whose answer was an error or never reached the browser) from
            /// leaving the person with a spent code and a replacement nobody
            /// saw: their only way in when the phone is lost. The retry
            /// works once, and only in the session that used the code (its
            /// [`MfaSession`]): the same code typed anywhere else, by someone
            /// who saw it over a shoulder, is refused, and the failure count
            /// is left as it is. 0 turns the retry off (a used code never
            /// works again; a lost answer then needs an owner's reset). Sets
            /// of codes never retry: the other codes of the set remain.
            pub fn with_recovery_retry(mut self, seconds: u64) -> Self {
                self.core.recovery_retry = seconds;
                self
            }

            /// For `seconds` after a session passes the second factor
            /// (default 10 minutes), owner actions and changes to one's own
            /// MFA take that session as proof and ask for no new code, as
            /// GitHub's "sudo mode": an owner saves "Force every user to use
            /// MFA" right after activating their own, while an older session
            /// must pass a code again ([`MfaError::RecentSecondFactorRequired`](crate::MfaError::RecentSecondFactorRequired)).
            pub fn with_sudo_window(mut self, seconds: u64) -> Self {
                self.core.sudo_window = seconds;
                self
            }

            /// Names new QR codes made by [`step`](Self::step) with `issuer`
            /// (your product's name, as the person's authenticator app lists
            /// it beside their account name). Required before
            /// [`Action::SetUp`](crate::Action::SetUp).
            pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
                self.core.issuer = issuer.into();
                self
            }

            /// Reads records written before records were authenticated (user
            /// record formats 2 and 3, company format 128) instead of refusing
            /// them, and authenticates each at its next save; `reseal_all` and
            /// `reseal_company` do it eagerly. For a migration only: while it
            /// is on, anyone who can write the table can also write an
            /// unauthenticated record. Without it such a record is
            /// [`RecordError::NotAuthenticated`](crate::RecordError::NotAuthenticated).
            pub fn read_legacy_records(mut self) -> Self {
                self.core.read_legacy = true;
                self
            }

            /// Draws randomness (nonces, recovery codes) from `rng` instead of
            /// the operating system.
            pub fn with_rng(mut self, rng: impl rand_core::CryptoRng + Send + 'static) -> Self {
                self.core.entropy = Arc::new(RngEntropy(std::sync::Mutex::new(rng)));
                self
            }

            /// Reads time from `clock` (e.g. a [`ManualClock`](crate::ManualClock) in tests).
            pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
                self.core.clock = Arc::new(clock);
                self
            }

            /// Delivers audit events to `sink`.
            pub fn with_events(mut self, sink: impl EventSink + 'static) -> Self {
                self.core.events = Arc::new(sink);
                self
            }

            /// Uses another failure budget.
            pub fn with_throttle(mut self, policy: ThrottlePolicy) -> Self {
                self.core.throttle = policy;
                self
            }

            /// Remembers the prepared keys of up to `users` recently checked
            /// users (0: none; default 10,000), so that their next check opens
            /// no sealed secret: about 3 % of a verify on SQLite
            /// (`benches/README.md`). A key serves only the same user and the
            /// same sealing of their factor; keys are zeroized when evicted or
            /// dropped. Clones share the memory; this gives a service its own.
            pub fn with_key_cache(mut self, users: usize) -> Self {
                self.core.key_cache = Arc::new(KeyCache::new(users));
                self
            }

            /// Issues recovery codes this way from now on (default: a single
            /// rotating code). Codes already issued keep the mode they were
            /// issued in.
            pub fn with_recovery(mut self, mode: RecoveryMode) -> Self {
                self.core.recovery_mode = mode;
                self
            }

            /// Accepts codes from another window of steps.
            pub fn with_window(mut self, window: Window) -> Self {
                self.core.window = window;
                self
            }

            /// Gives up with [`MfaError::Contended`] after `attempts`
            /// conflicting saves in one call (at least 1; default 16). Each
            /// conflict means another request for the same user was saved, so
            /// `n` concurrent requests for one user never need more than `n`
            /// attempts.
            pub fn with_max_attempts(mut self, attempts: u32) -> Self {
                self.core.max_attempts = attempts.max(1);
                self
            }
        }

        impl<S: $store> std::fmt::Debug for $driver<S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($driver))
                    .field("keyring", &self.core.keyring)
                    .field("throttle", &self.core.throttle)
                    .field("window", &self.core.window)
                    .field("max_attempts", &self.core.max_attempts)
                    .finish_non_exhaustive()
            }
        }

        #[cfg(feature = "getrandom")]
        impl $driver<crate::MemoryStore> {
            /// A service over a new [`MemoryStore`](crate::MemoryStore) with a
            /// random keyring: records and key die with the process, which
            /// suits tests, examples and single-process tools. A real
            /// deployment gives its own store and a keyring kept outside the
            /// database (`new`).
            ///
            /// # Errors
            /// [`SealError::Entropy`](crate::SealError::Entropy) if the
            /// operating system has no randomness.
            #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
            pub fn in_memory() -> Result<Self, crate::SealError> {
                Ok(Self::new(
                    crate::MemoryStore::new(),
                    Keyring::generate_os()?,
                ))
            }
        }
    };
}

settings!(Mfa, Store);
settings!(AsyncMfa, AsyncStore);
