//! The two drivers of the one service logic (`core`): [`Mfa`] over a
//! [`Store`], answering at once, and [`AsyncMfa`] over an [`AsyncStore`],
//! answering with futures. Their operations are generated from one list
//! (`operations!` below), each a call of the same `Core` function with the
//! store behind an adapter, so the two cannot drift: same names, same
//! arguments, same answers, same rules.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::account::{Acknowledged, EnrollmentCheck, Passed, Screen};
use crate::clock::Clock;
use crate::enrollment::{Enrollment, EnrollmentBuilder};
use crate::event::EventSink;
use crate::key_cache::KeyCache;
use crate::otp::{Verified, Window};
use crate::policy::{CompanyPolicy, EnforcementPreview, SignInRequirement};
use crate::recovery::{RecoveryCode, RecoveryMode};
use crate::seal::{Keyring, RngEntropy};
use crate::store::{AsyncStore, RecordKey, SaveOutcome, Store, Version, Versioned};
use crate::throttle::ThrottlePolicy;
use crate::{Bound, RecoveryUsed};

use super::core::{Access, Core, MfaStatus, ResealReport};
use super::{MfaError, Prepared};

/// The MFA service over a [`Store`]: what a host calls with a user id and
/// what the person typed.
///
/// Each call loads the user's record, applies the change in memory, and saves
/// it only if the stored version is still the one loaded; on a conflict it
/// starts again from a fresh load, at most [`Mfa::with_max_attempts`] times.
/// A code is accepted only after the record remembering its step is saved,
/// so two servers given the same code at the same instant accept it once.
///
/// Cloning is cheap (the store and the rest are shared), so one service can
/// serve every thread. Async hosts use [`AsyncMfa`], the same service over
/// an [`AsyncStore`].
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
    store: Arc<S>,
    core: Core,
}

/// The MFA service over an [`AsyncStore`], for async hosts (axum, actix,
/// anything on tokio): the operations of [`Mfa`], as `async fn`s, with the
/// same rules, answers and guarantees (they run the same code). The futures
/// are `Send`, so they can be awaited in handlers and `tokio::spawn`ed.
/// Cloning is cheap: put the service straight into the app's state.
///
/// ```
/// # #[cfg(feature = "getrandom")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use twostep::{AsyncMfa, Keyring, MemoryStore, Passed, Screen};
/// let mfa = AsyncMfa::new(MemoryStore::new(), Keyring::new(1, &[7; 32]));
/// match mfa.current_screen("user-42", None, Passed::Password).await? {
///     Screen::EnterCode { .. } => { /* the code form */ }
///     _ => { /* … */ }
/// }
/// # Ok(()) }
/// ```
pub struct AsyncMfa<S: AsyncStore> {
    store: Arc<S>,
    core: Core,
}

impl<S: Store> Clone for Mfa<S> {
    fn clone(&self) -> Self {
        Mfa {
            store: Arc::clone(&self.store),
            core: self.core.clone(),
        }
    }
}

impl<S: AsyncStore> Clone for AsyncMfa<S> {
    fn clone(&self) -> Self {
        AsyncMfa {
            store: Arc::clone(&self.store),
            core: self.core.clone(),
        }
    }
}

/// A [`Store`] as the logic's access: every answer ready at once.
struct Blocking<'a, S>(&'a S);

impl<S: Store> Access for Blocking<'_, S> {
    type Error = S::Error;

    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl Future<Output = Result<Option<Versioned>, S::Error>> + Send {
        std::future::ready(self.0.load(key))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl Future<Output = Result<SaveOutcome, S::Error>> + Send {
        std::future::ready(self.0.save(key, expected, bytes))
    }
}

/// An [`AsyncStore`] as the logic's access.
struct Awaiting<'a, S>(&'a S);

impl<S: AsyncStore> Access for Awaiting<'_, S> {
    type Error = S::Error;

    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl Future<Output = Result<Option<Versioned>, S::Error>> + Send {
        self.0.load(key)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl Future<Output = Result<SaveOutcome, S::Error>> + Send {
        self.0.save(key, expected, bytes)
    }
}

/// Runs the logic over a [`Blocking`] store. Every future it awaits is
/// ready when made, so the first poll finishes it; the loop only keeps the
/// function total.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// The configuration both drivers share, written once.
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

            /// Decides a sign-in code on the record the host loaded itself
            /// (its `kind = "user"` row, or `None`), in its own transaction:
            /// the write to make comes from [`Prepared::save`], the answer
            /// only from [`Prepared::finish`] with what the write did. The
            /// same rules as `verify`; for a host that keeps its sessions in
            /// the same database and saves both in one transaction.
            ///
            /// # Errors
            /// [`MfaError::CorruptRecord`] or [`MfaError::Seal`] for a record
            /// that does not open; the decision's own answer comes from
            /// `finish`.
            pub fn prepare_verify(
                &self,
                user: &str,
                stored: Option<&Versioned>,
                input: &str,
            ) -> Result<Prepared<Verified>, MfaError<Infallible>> {
                self.core.prepare_verify(user, stored, input)
            }

            /// [`prepare_verify`](Self::prepare_verify) for a recovery code:
            /// the same rules as `use_recovery_code`.
            ///
            /// # Errors
            /// As `prepare_verify`.
            pub fn prepare_recovery_code(
                &self,
                user: &str,
                stored: Option<&Versioned>,
                input: &str,
            ) -> Result<Prepared<RecoveryUsed>, MfaError<Infallible>> {
                self.core.prepare_recovery_code(user, stored, input)
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
            /// saw: their only way in when the phone is lost. The price: in
            /// that window the used code works once more, for whoever holds
            /// it. 0 turns the retry off (a used code never works again; a
            /// lost answer then needs an owner's reset). Sets of codes never
            /// retry: the other codes of the set remain.
            pub fn with_recovery_retry(mut self, seconds: u64) -> Self {
                self.core.recovery_retry = seconds;
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

            /// Keeps the opened, prepared keys of about `users` recently
            /// checked users in memory (0: none; default 10,000), so that their
            /// next check opens no sealed secret. A cached key serves only the
            /// same user and the same sealing of their record. The keys are
            /// zeroized when evicted or dropped.
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

/// Each operation once: the sync driver's method with its documentation,
/// and the async driver's, both calling the same `Core` function.
macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty;
    )*) => {
        impl<S: Store> Mfa<S> {
            $(
                $(#[$doc])*
                pub fn $name(&self, $($arg: $ty),*) -> Result<$out, MfaError<S::Error>> {
                    block_on(self.core.$name(&Blocking(&*self.store), $($arg),*))
                }
            )*
        }

        impl<S: AsyncStore> AsyncMfa<S> {
            $(
                #[doc = concat!(
                    "[`Mfa::", stringify!($name), "`] for async hosts: the same rules, ",
                    "answers and errors (the same code runs)."
                )]
                ///
                /// # Errors
                #[doc = concat!("As [`Mfa::", stringify!($name), "`].")]
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, MfaError<S::Error>> {
                    self.core.$name(&Awaiting(&*self.store), $($arg),*).await
                }
            )*
        }
    };
}

operations! {
    /// Checks what the person typed against the user's factor and, if it is
    /// accepted, saves its step so that it can never be accepted again.
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed),
    /// [`Replayed`](MfaError::Replayed), [`Throttled`](MfaError::Throttled),
    /// [`Locked`](MfaError::Locked) and [`NoFactor`](MfaError::NoFactor) are
    /// answers; [`Store`](MfaError::Store), [`Contended`](MfaError::Contended)
    /// and [`CorruptRecord`](MfaError::CorruptRecord) mean nothing was accepted.
    fn verify(user: &str, input: &str) -> Verified;

    /// Signs in with a recovery code instead of a one-time code, spending it
    /// once its record is saved (16 requests racing with one code: one
    /// spend). Attempts count against the same throttle; a success ends a
    /// lockout. In single mode, show [`RecoveryUsed::new_code`] and then the
    /// tick, [`acknowledge_recovery`](Mfa::acknowledge_recovery); until the
    /// tick the replacement is kept to be shown again, and for
    /// [`with_recovery_retry`](Mfa::with_recovery_retry) the used code shows
    /// it again if the answer was lost ([`RecoveryUsed::retried`]).
    ///
    /// # Errors
    /// [`MfaError::Mismatch`] (also for a spent code),
    /// [`Malformed`](MfaError::Malformed), [`Throttled`](MfaError::Throttled),
    /// [`NoFactor`](MfaError::NoFactor), [`Seal`](MfaError::Seal) if the
    /// codes were hashed under a key no longer in the keyring, or an
    /// infrastructure error.
    fn use_recovery_code(user: &str, input: &str) -> RecoveryUsed;

    /// Replaces all the user's recovery codes with new ones. It takes a
    /// current one-time code and checks it in the same step, so it cannot be
    /// reached without passing MFA again (OWASP: re-authenticate before
    /// changing authentication details). Old codes stop working at once; the
    /// new ones are kept to be shown again until
    /// [`acknowledge_recovery`](Mfa::acknowledge_recovery).
    ///
    /// # Errors
    /// As [`Mfa::verify`] for `otp_input`.
    fn regenerate_recovery_codes(user: &str, otp_input: &str) -> Vec<RecoveryCode>;

    /// The user's MFA state now.
    ///
    /// # Errors
    /// Only infrastructure errors.
    fn status(user: &str) -> MfaStatus;

    /// The host removes the user's factor in its own name (an
    /// administrator's decision; audited with [`Actor::Host`](crate::Actor::Host)). It does not
    /// ask the user's companies: people use
    /// [`remove_own_factor`](Mfa::remove_own_factor), owners
    /// [`reset_user_mfa`](Mfa::reset_user_mfa).
    ///
    /// # Errors
    /// [`MfaError::NoFactor`] if there is none, or an infrastructure error.
    fn remove_factor(user: &str) -> ();

    /// Clears the user's failure count, ending a lockout (audited with
    /// [`Actor::Host`](crate::Actor::Host)).
    ///
    /// # Errors
    /// Only infrastructure errors.
    fn unlock(user: &str) -> ();

    /// Reseals what the user's record keeps sealed under the keyring's
    /// current key, if it is sealed under an older one; `Ok(true)` if it was.
    /// Checks do this on their own after a success; call this for every user
    /// to retire an old key eagerly.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if something does not open, or an infrastructure error.
    fn reseal(user: &str) -> bool;

    /// Tags the company's record under the keyring's current key, if it is
    /// tagged under an older one (or, read as legacy, not at all); `Ok(true)`
    /// if it was. Every change to the company does this on its own.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`Seal`](MfaError::Seal) if its key is not
    /// in the keyring, or an infrastructure error.
    fn reseal_company(company: &str) -> bool;

    /// "Multi-Factor Authentication → Activate" (an owner) or "Company
    /// Account Verification → Verify identity" (a user): draws a new secret,
    /// stores it sealed as the user's enrollment with its names and `check`,
    /// and returns the [`Enrollment`] whose QR code, URI and key the product
    /// shows. Nothing is active yet.
    ///
    /// Always a fresh start: an earlier enrollment at any step, its wrong
    /// codes and its recovery codes are gone (a "Start again" button calls
    /// this too). To show the *same* QR code again after a reload or a
    /// wrong code, use [`current_screen`](Mfa::current_screen). The QR code
    /// waits [`with_enrollment_ttl`](Mfa::with_enrollment_ttl) for its first
    /// code.
    ///
    /// ```
    /// # #[cfg(feature = "getrandom")] {
    /// use twostep::{Enrollment, EnrollmentCheck, Mfa, Screen};
    /// let mfa = Mfa::in_memory()?;
    /// // The owner's own "Activate": one code, as the help page asks.
    /// let enrollment = mfa.begin_enrollment("olivia", Enrollment::builder("Acme", "olivia@acme.test"), EnrollmentCheck::OneCode)?;
    /// # let typed = enrollment.totp().generate(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())?.expose().to_string();
    /// match mfa.confirm_enrollment("olivia", &typed)? {
    ///     Screen::RecordRecoveryCode { codes } => { /* show codes, the tick, Continue */ }
    ///     other => unreachable!("{other:?}"),
    /// }
    /// mfa.acknowledge_recovery("olivia")?; // "I have safely recorded this number" → Continue
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user has an active factor,
    /// [`MfaError::Enrollment`] for names that cannot go into a URI, or an
    /// infrastructure error.
    fn begin_enrollment(user: &str, builder: EnrollmentBuilder, check: EnrollmentCheck) -> Enrollment;

    /// The QR screen's Continue: the first code from the person's app. On
    /// success its step is saved and the next screen returned:
    /// [`Screen::SecondCode`] for [`EnrollmentCheck::TwoCodes`], otherwise
    /// [`Screen::RecordRecoveryCode`] with the recovery codes, which stay
    /// retrievable ([`current_screen`](Mfa::current_screen)) until the tick.
    /// A wrong code leaves the step open and counts against the enrollment
    /// (not the factor): throttled, and at the lockout the enrollment is void.
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed) and
    /// [`Throttled`](MfaError::Throttled) leave the step open;
    /// [`EnrollmentLocked`](MfaError::EnrollmentLocked),
    /// [`EnrollmentExpired`](MfaError::EnrollmentExpired) and
    /// [`NoEnrollment`](MfaError::NoEnrollment) mean begin again;
    /// [`OutOfOrder`](MfaError::OutOfOrder) when another step is open;
    /// [`FactorExists`](MfaError::FactorExists); or an infrastructure error.
    fn confirm_enrollment(user: &str, input: &str) -> Screen;

    /// "Enter a one-time code from the authenticator app" → Continue: the
    /// second code of [`EnrollmentCheck::TwoCodes`], which must be of a later
    /// time step than the first. The same code again is
    /// [`MfaError::Replayed`] with the seconds until the next code (not
    /// counted); a wrong one is counted and leaves the step open. On success
    /// the recovery codes are issued: [`Screen::RecordRecoveryCode`].
    ///
    /// # Errors
    /// As [`confirm_enrollment`](Mfa::confirm_enrollment), and
    /// [`MfaError::Replayed`]; [`OutOfOrder`](MfaError::OutOfOrder) while the
    /// first code is still awaited or once the codes are done.
    fn confirm_second_code(user: &str, input: &str) -> Screen;

    /// The person ticked "I have safely recorded this number" and pressed
    /// Continue: an enrollment whose codes checked out becomes the active
    /// factor ([`Acknowledged::FactorActivated`]: the person is in), or
    /// replacement or regenerated recovery codes count as recorded. The
    /// copy kept to show them again is removed for good.
    ///
    /// Call it only for a request with the tick: this call *is* the tick.
    ///
    /// # Errors
    /// [`MfaError::OutOfOrder`] while a code step is open,
    /// [`NothingToAcknowledge`](MfaError::NothingToAcknowledge),
    /// [`EnrollmentExpired`](MfaError::EnrollmentExpired), or an
    /// infrastructure error.
    fn acknowledge_recovery(user: &str) -> Acknowledged;

    /// Which screen the person is on, from the stored state alone: what a
    /// host renders after the password, at every reload, in a second tab,
    /// after an error, or when the person comes back tomorrow. `passed` is
    /// how far this session got (the host's session keeps that, and nothing
    /// secret). `company` is the company account being reached, if any.
    ///
    /// In order: with an active factor, [`Screen::EnterCode`] until the
    /// second factor is passed, then any unacknowledged recovery code
    /// ([`Screen::RecordRecoveryCode`]) or [`Screen::Continue`]; without one,
    /// the open step of an enrollment in progress ([`Screen::ScanQr`] with
    /// the same QR code, [`Screen::SecondCode`], [`Screen::RecordRecoveryCode`]
    /// with the same codes), else [`Screen::CompanyAccountVerification`]
    /// when the company requires MFA, else [`Screen::Continue`].
    ///
    /// Before a factor is active, the password is the account's only
    /// protection, so an enrollment's screens (its QR code, its recovery
    /// codes before the tick) are shown to whoever has it, as enrolling at
    /// sign-in must. Codes kept for an active factor's holder are shown only
    /// after the second factor.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] if the user is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), [`Seal`](MfaError::Seal) if kept
    /// codes or secrets do not open with the keyring, or an infrastructure
    /// error.
    fn current_screen(user: &str, company: Option<&str>, passed: Passed) -> Screen;

    /// Binds the factor of `enrollment` to the user once `input`, the first
    /// code from the person's app, checks out: one call, no stored steps
    /// and no acknowledgement. The step of that code is saved as used, the
    /// secret sealed, and recovery codes issued: show
    /// [`Bound::recovery_codes`] now, they are never available again.
    /// Failures count against the user's throttle.
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user already has one,
    /// [`WeakSecret`](MfaError::WeakSecret) for a secret under 128 bits;
    /// otherwise as [`Mfa::verify`].
    fn bind(user: &str, enrollment: &Enrollment, input: &str) -> Bound;

    /// Creates a company account with these owners (1 to 255 user ids of 1
    /// to 255 bytes), not requiring MFA. The owners become its members.
    ///
    /// # Errors
    /// [`MfaError::InvalidCompany`], [`InvalidOwners`](MfaError::InvalidOwners),
    /// [`CompanyExists`](MfaError::CompanyExists), or an infrastructure error.
    fn create_company(company: &str, owners: &[&str]) -> ();

    /// The host reports that `user` joined `company`: from now on the
    /// company's requirement applies to them, and its owners may reset their
    /// MFA.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`TooManyCompanies`](MfaError::TooManyCompanies),
    /// or an infrastructure error.
    fn add_member(company: &str, user: &str) -> ();

    /// The host reports that `user` left `company`. Owners stay members.
    ///
    /// # Errors
    /// [`MfaError::NotMember`], [`OwnerStaysMember`](MfaError::OwnerStaysMember),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn remove_member(company: &str, user: &str) -> ();

    /// The company's policy.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    fn company_policy(company: &str) -> CompanyPolicy;

    /// "Force every user to use MFA before accessing the Company Account" →
    /// "Save changes" (or switching it off): only an owner, only with their
    /// current one-time code, checked in this call (OWASP ASVS: a fresh
    /// second factor before changing authentication settings). Switching on
    /// starts the grace period; saving "on" again while it is on keeps
    /// `since` and the deadline, and changes nothing. The change is saved
    /// with compare-and-swap and audited with the owner as user and actor.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`OwnMfaRequired`](MfaError::OwnMfaRequired)
    /// while the owner has no active factor, the errors of the owner's
    /// check (as [`Mfa::verify`]), [`NoCompany`](MfaError::NoCompany), or an
    /// infrastructure error.
    fn set_mfa_requirement(company: &str, owner: &str, owner_otp: &str, require: bool, grace_period: u64) -> CompanyPolicy;

    /// What the user must do after the password to reach `company` (or,
    /// with `None`, outside any company): nothing more, a second factor, or
    /// enrollment ("Company Account Verification"), possibly by a deadline.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] if the user is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn sign_in_requirement(user: &str, company: Option<&str>) -> SignInRequirement;

    /// The user turns their own MFA off, proving it with a current code.
    /// Refused while any company the user belongs to requires MFA.
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`], and as [`Mfa::verify`].
    fn remove_own_factor(user: &str, otp_input: &str) -> ();

    /// An owner of `company` resets the MFA of one of its members, after
    /// passing their own check in the same call: the member's factor and
    /// recovery codes are removed and they enroll again at the next sign-in
    /// ([`Event::FactorReset`](crate::Event::FactorReset), the owner as actor).
    ///
    /// Refused for a user who is not a member of `company`, for any owner
    /// of it (a co-owner, or the owner themselves: use
    /// [`remove_own_factor`](Mfa::remove_own_factor)), for an owner of any
    /// other company, and for a member of another company that requires MFA
    /// and that this owner does not own: no owner can weaken another
    /// company's requirement.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`NotMember`](MfaError::NotMember),
    /// [`CannotResetOwner`](MfaError::CannotResetOwner),
    /// [`RequiredByCompany`](MfaError::RequiredByCompany), errors of the
    /// owner's check (as [`Mfa::verify`]), or an infrastructure error.
    fn reset_user_mfa(company: &str, owner: &str, owner_otp: &str, user: &str) -> ();

    /// Before "Save changes" of "Force every user to use MFA": who would be
    /// affected. `members` are the company's user ids (the host knows them);
    /// each comes back with its MFA state ([`MemberMfa`](crate::MemberMfa)),
    /// and [`EnforcementPreview::for_person`] says "3 of 12 users will be
    /// asked to set up MFA at their next sign-in." `unavailable` says why
    /// `owner` cannot change the setting, if they cannot (not an owner, or
    /// their own MFA is not active): the reason to show beside the checkbox.
    ///
    /// Reads one record per member; changes nothing.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] for an id that is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn enforcement_preview(company: &str, owner: &str, members: &[&str]) -> EnforcementPreview;
}

impl<S: Store> Mfa<S> {
    /// Reseals every listed user's record under the current key, e.g. all
    /// user ids from the host's table, to retire an old key without waiting
    /// for each user's next sign-in. Goes on past failures and reports them.
    pub fn reseal_all(&self, users: &[&str]) -> ResealReport<S::Error> {
        block_on(self.core.reseal_all(&Blocking(&*self.store), users))
    }
}

impl<S: AsyncStore> AsyncMfa<S> {
    /// [`Mfa::reseal_all`] for async hosts.
    pub async fn reseal_all(&self, users: &[&str]) -> ResealReport<S::Error> {
        self.core.reseal_all(&Awaiting(&*self.store), users).await
    }
}
