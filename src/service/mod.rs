//! Layer 6: what a host calls. Load → transition → save-if-version → retry.
//!
//! - `mod.rs`: the service, its configuration and the driver every call
//!   goes through;
//! - `sign_in.rs`: codes, recovery codes, status, removal, resealing;
//! - `enrollment.rs`: the help page's enrollment screens and the stage query;
//! - `company.rs`: company accounts, the requirement and its preview;
//! - `error.rs`: `MfaError` and its sentences for people.

mod company;
mod enrollment;
mod error;
mod sign_in;
#[cfg(test)]
mod tests;

pub use error::MfaError;
pub use sign_in::{MfaStatus, ResealReport};

use crate::account::{Context, MfaRecord, Transition};
use crate::clock::{Clock, SystemClock};
use crate::envelope::{self, EnvelopeError};
use crate::event::{Actor, Event, EventSink, NoEvents};
use crate::key_cache::KeyCache;
use crate::otp::Window;
use crate::recovery::RecoveryMode;
use crate::seal::{Entropy, Keyring, RngEntropy};
use crate::store::{RecordKey, SaveOutcome, Store, Version};
use crate::throttle::ThrottlePolicy;

/// The MFA service over a [`Store`]: what a host calls with a user id and
/// what the person typed.
///
/// Each call loads the user's record, applies the change in memory, and saves
/// it only if the stored version is still the one loaded; on a conflict it
/// starts again from a fresh load, at most [`Mfa::with_max_attempts`] times.
/// A code is accepted only after the record remembering its step is saved,
/// so two servers given the same code at the same instant accept it once.
///
/// ```
/// use twostep::{Enrollment, Keyring, Mfa, MemoryStore, MfaError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # #[cfg(feature = "getrandom")] {
/// # let key_from_secret_manager = [7u8; 32];
/// let keyring = Keyring::new(1, &key_from_secret_manager); // never stored in the database
/// let mfa = Mfa::new(MemoryStore::new(), keyring);
/// let enrollment = Enrollment::builder("Acme", "alice").build_os()?;
/// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
/// # let typed = enrollment.totp().generate(now)?.expose().to_string();
/// mfa.bind("user-42", &enrollment, &typed)?;          // the first code from the app
/// // At each sign-in, after the password:
/// match mfa.verify("user-42", &typed) {
///     Ok(_) => { /* signed in */ }
///     Err(MfaError::Replayed { next_code_in }) => { /* "wait for the next code" */ }
///     Err(_) => { /* refuse */ }
/// }
/// # }
/// # Ok(()) }
/// ```
pub struct Mfa<S: Store> {
    store: S,
    keyring: Keyring,
    entropy: Box<dyn Entropy>,
    clock: Box<dyn Clock>,
    events: Box<dyn EventSink>,
    throttle: ThrottlePolicy,
    window: Window,
    recovery_mode: RecoveryMode,
    key_cache: KeyCache,
    enrollment_ttl: u64,
    recovery_retry: u64,
    read_legacy: bool,
    max_attempts: u32,
}

/// A record as loaded: the record, its stored version (`None`: not stored
/// yet) and the key its tag was made with (`None`: new, or legacy).
pub(crate) struct Loaded<R> {
    pub(crate) record: R,
    pub(crate) version: Option<Version>,
    pub(crate) tagged_by: Option<u32>,
}

impl<R> Loaded<R> {
    fn new(record: R) -> Self {
        Loaded {
            record,
            version: None,
            tagged_by: None,
        }
    }

    /// Stored, and tagged by another key than `current` (or not at all):
    /// saving it again moves it to the current key.
    pub(crate) fn tagged_by_old_key(&self, current: u32) -> bool {
        self.version.is_some() && self.tagged_by != Some(current)
    }
}

impl<S: Store> std::fmt::Debug for Mfa<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa")
            .field("keyring", &self.keyring)
            .field("throttle", &self.throttle)
            .field("window", &self.window)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "getrandom")]
impl Mfa<crate::MemoryStore> {
    /// A service over a new [`MemoryStore`](crate::MemoryStore) with a random
    /// keyring: records and key die with the process, which suits tests,
    /// examples and single-process tools. A real deployment gives its own
    /// store and a keyring kept outside the database ([`Mfa::new`]).
    ///
    /// # Errors
    /// [`SealError::Entropy`](crate::SealError::Entropy) if the operating system has no randomness.
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn in_memory() -> Result<Self, crate::SealError> {
        Ok(Mfa::new(crate::MemoryStore::new(), Keyring::generate_os()?))
    }
}

impl<S: Store> Mfa<S> {
    /// Conflict retries before [`MfaError::Contended`], by default.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 16;

    /// Users whose prepared keys are kept in memory, by default.
    pub const DEFAULT_KEY_CACHE: usize = 10_000;

    /// Seconds a pending enrollment waits for its first code, by default.
    pub const DEFAULT_ENROLLMENT_TTL: u64 = 10 * 60;

    /// Seconds a used single recovery code may be entered again to show its
    /// replacement once more, by default (see [`Mfa::with_recovery_retry`]).
    pub const DEFAULT_RECOVERY_RETRY: u64 = 10 * 60;

    /// Lets a pending enrollment wait `seconds` for its first code.
    pub fn with_enrollment_ttl(mut self, seconds: u64) -> Self {
        self.enrollment_ttl = seconds;
        self
    }

    /// For `seconds` after a sign-in with a single recovery code, and only
    /// until its replacement is acknowledged, the same code signs in again
    /// and shows the same replacement ([`RecoveryUsed::retried`](crate::RecoveryUsed)).
    ///
    /// This is what keeps a lost answer (a save that happened, but whose
    /// answer was an error or never reached the browser) from leaving the
    /// person with a spent code and a replacement nobody saw: their only way
    /// in when the phone is lost. The price: in that window the used code
    /// works once more, for whoever holds it. 0 turns the retry off (a used
    /// code never works again; a lost answer then needs an owner's reset).
    /// Sets of codes never retry: the other codes of the set remain.
    pub fn with_recovery_retry(mut self, seconds: u64) -> Self {
        self.recovery_retry = seconds;
        self
    }

    /// A service over `store`, sealing secrets with `keyring`, with the
    /// system clock, the operating system's generator (feature `getrandom`;
    /// otherwise give one with [`with_rng`](Mfa::with_rng)), no event sink,
    /// the default throttle and a ±1 window.
    ///
    /// Keep the keyring's key material outside the database that `store`
    /// writes to: see [`Keyring`].
    pub fn new(store: S, keyring: Keyring) -> Self {
        Mfa {
            store,
            keyring,
            #[cfg(feature = "getrandom")]
            entropy: Box::new(crate::seal::OsEntropy),
            #[cfg(not(feature = "getrandom"))]
            entropy: Box::new(crate::seal::NoEntropy),
            clock: Box::new(SystemClock),
            events: Box::new(NoEvents),
            throttle: ThrottlePolicy::DEFAULT,
            window: Window::DEFAULT,
            recovery_mode: RecoveryMode::Single,
            key_cache: KeyCache::new(Self::DEFAULT_KEY_CACHE),
            enrollment_ttl: Self::DEFAULT_ENROLLMENT_TTL,
            recovery_retry: Self::DEFAULT_RECOVERY_RETRY,
            read_legacy: false,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Reads records written before records were authenticated (user
    /// record formats 2 and 3, company format 128) instead of refusing them,
    /// and authenticates each at its next save; [`reseal_all`](Mfa::reseal_all)
    /// and [`reseal_company`](Mfa::reseal_company) do it eagerly. For a
    /// migration only: while it is on, anyone who can write the table can
    /// also write an unauthenticated record. Without it such a record is
    /// [`RecordError::NotAuthenticated`](crate::RecordError::NotAuthenticated).
    pub fn read_legacy_records(mut self) -> Self {
        self.read_legacy = true;
        self
    }

    /// Draws randomness (nonces, recovery codes) from `rng` instead of the
    /// operating system.
    pub fn with_rng(mut self, rng: impl rand_core::CryptoRng + Send + 'static) -> Self {
        self.entropy = Box::new(RngEntropy(std::sync::Mutex::new(rng)));
        self
    }

    /// Reads time from `clock` (e.g. a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Delivers audit events to `sink`.
    pub fn with_events(mut self, sink: impl EventSink + 'static) -> Self {
        self.events = Box::new(sink);
        self
    }

    /// Uses another failure budget.
    pub fn with_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = policy;
        self
    }

    /// Keeps the opened, prepared keys of about `users` recently checked
    /// users in memory (0: none), so that their next check opens no sealed
    /// secret. A cached key serves only the same user and the same sealing
    /// of their record. The keys are zeroized when evicted or dropped.
    pub fn with_key_cache(mut self, users: usize) -> Self {
        self.key_cache = KeyCache::new(users);
        self
    }

    /// Issues recovery codes this way from now on (default: a single
    /// rotating code). Codes already issued keep the mode they were issued in.
    pub fn with_recovery(mut self, mode: RecoveryMode) -> Self {
        self.recovery_mode = mode;
        self
    }

    /// Accepts codes from another window of steps.
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Gives up with [`MfaError::Contended`] after `attempts` conflicting
    /// saves in one call (at least 1). Each conflict means another request
    /// for the same user was saved, so `n` concurrent requests for one user
    /// never need more than `n` attempts.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// What a transition may use for `user` at `now`.
    fn context<'a>(&'a self, user: &'a str, now: u64) -> Context<'a> {
        Context {
            user,
            now,
            policy: &self.throttle,
            window: self.window,
            keyring: &self.keyring,
            entropy: &*self.entropy,
            recovery_mode: self.recovery_mode,
            key_cache: &self.key_cache,
            enrollment_ttl: self.enrollment_ttl,
            recovery_retry: self.recovery_retry,
        }
    }

    /// The user's record, its version, and the key its tag was made with
    /// (`None` for a record not yet stored, or read as legacy).
    fn load(&self, user: &str) -> Result<Loaded<MfaRecord>, MfaError<S::Error>> {
        let key = RecordKey::User(user);
        match self.store.load(key).map_err(MfaError::Store)? {
            None => Ok(Loaded::new(MfaRecord::default())),
            Some(stored) => {
                let opened = self.open(key, &stored.bytes)?;
                let record = MfaRecord::decode(opened.record).map_err(MfaError::CorruptRecord)?;
                Ok(Loaded {
                    record,
                    version: Some(stored.version),
                    tagged_by: opened.key_id,
                })
            }
        }
    }

    /// The record in `bytes` stored under `key`, if its tag is right.
    fn open<'b>(
        &self,
        key: RecordKey<'_>,
        bytes: &'b [u8],
    ) -> Result<envelope::Opened<'b>, MfaError<S::Error>> {
        envelope::open(&self.keyring, key.kind(), key.id(), bytes, self.read_legacy).map_err(
            |error| match error {
                EnvelopeError::Record(error) => MfaError::CorruptRecord(error),
                EnvelopeError::Seal(error) => MfaError::Seal(error),
            },
        )
    }

    /// Saves `record` under `key` at `version`, tagged under the current key.
    fn save(
        &self,
        key: RecordKey<'_>,
        version: Option<Version>,
        record: &[u8],
    ) -> Result<SaveOutcome, MfaError<S::Error>> {
        let bytes = envelope::seal(&self.keyring, key.kind(), key.id(), record);
        self.store
            .save(key, version, &bytes)
            .map_err(MfaError::Store)
    }

    /// Reads the user's record and answers from it with `read`, changing
    /// nothing.
    fn read<T>(
        &self,
        user: &str,
        read: impl FnOnce(&MfaRecord, &Context<'_>) -> Result<T, MfaError<S::Error>>,
    ) -> Result<T, MfaError<S::Error>> {
        let loaded = self.load(user)?;
        read(&loaded.record, &self.context(user, self.clock.now()))
    }

    /// Load → transition → save if changed and still at the loaded version →
    /// deliver events, as caused `by` → answer; on a conflict, again from a
    /// fresh load.
    fn update<T>(
        &self,
        user: &str,
        by: &Actor,
        mut transition: impl FnMut(&mut MfaRecord, &Context<'_>) -> Transition<T>,
    ) -> Result<T, MfaError<S::Error>> {
        self.update_loaded(user, by, |loaded, cx| transition(&mut loaded.record, cx))
    }

    /// [`update`](Self::update) with the whole loaded record: a transition
    /// that must know how the record was tagged (resealing).
    fn update_loaded<T>(
        &self,
        user: &str,
        by: &Actor,
        mut transition: impl FnMut(&mut Loaded<MfaRecord>, &Context<'_>) -> Transition<T>,
    ) -> Result<T, MfaError<S::Error>> {
        self.retry_on_conflict(|| {
            let cx = self.context(user, self.clock.now());
            let mut loaded = self.load(user)?;
            let result = transition(&mut loaded, &cx);
            if result.changed {
                let saved = self.save(
                    RecordKey::User(user),
                    loaded.version,
                    &loaded.record.encode(),
                )?;
                if saved == SaveOutcome::Conflict {
                    return Ok(None);
                }
            }
            for event in result.events() {
                self.events.record(user, cx.now, by, event);
            }
            result.outcome.map(Some).map_err(MfaError::from)
        })
    }

    /// Delivers one event at the clock's time.
    fn audit(&self, user: &str, by: &Actor, event: Event) {
        self.events.record(user, self.clock.now(), by, event);
    }

    /// Runs `attempt` until it is not answered `Conflict` (`Ok(None)`), at
    /// most [`with_max_attempts`](Mfa::with_max_attempts) times, then
    /// answers [`MfaError::Contended`]. The one retry loop of every
    /// compare-and-swap change, for user and company records alike.
    fn retry_on_conflict<T>(
        &self,
        mut attempt: impl FnMut() -> Result<Option<T>, MfaError<S::Error>>,
    ) -> Result<T, MfaError<S::Error>> {
        for _ in 0..self.max_attempts {
            if let Some(done) = attempt()? {
                return Ok(done);
            }
        }
        Err(MfaError::Contended)
    }
}
