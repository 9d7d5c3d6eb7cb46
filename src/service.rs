//! Layer 6: what a host calls. Load → transition → save-if-version → retry.

use crate::account::{Bound, Context, MfaRecord, RecoveryUsed, Refusal, Transition};
use crate::clock::{Clock, SystemClock};
use crate::codec::RecordError;
use crate::enrollment::Enrollment;
use crate::event::{EventSink, NoEvents};
use crate::key_cache::KeyCache;
use crate::otp::{Verified, Window};
use crate::policy::{CompanyPolicy, SignInRequirement};
use crate::recovery::{RecoveryCode, RecoveryMode};
use crate::seal::{Entropy, Keyring, RngEntropy, SealError};
use crate::store::{RecordKey, SaveOutcome, Store};
use crate::throttle::{Gate, ThrottlePolicy};

/// Why the service did not accept, or could not answer. `E` is the store's
/// own error type.
///
/// Every variant but [`Store`](MfaError::Store), [`Contended`](MfaError::Contended)
/// and [`CorruptRecord`](MfaError::CorruptRecord) is an answer about the
/// person's input; those three are the infrastructure failing, and are never
/// an acceptance.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError<E> {
    /// The user has no active factor.
    #[error("no active MFA factor")]
    NoFactor,
    /// The user already has a factor; remove it before binding another.
    #[error("an MFA factor is already active")]
    FactorExists,
    /// The input is not a code of the right length. Counted as a failure.
    #[error("malformed code")]
    Malformed,
    /// The code is wrong. Counted as a failure.
    #[error("code mismatch")]
    Mismatch,
    /// The code is right but already used (RFC 6238 §5.2). Not counted: a
    /// double submission must not lock anyone out.
    #[error("code already used; next code in {next_code_in} s")]
    Replayed {
        /// Seconds until the app shows a code that can be accepted.
        next_code_in: u64,
    },
    /// Too many recent failures: try again in `retry_after` seconds. No code
    /// was checked.
    #[error("too many failed attempts; retry in {retry_after} s")]
    Throttled {
        /// Seconds until the next check is allowed.
        retry_after: u64,
    },
    /// Locked after too many failures, until an owner unlocks the factor or
    /// a recovery code is used. No one-time code was checked.
    #[error("locked after too many failed attempts")]
    Locked,
    /// The server's clock is before the factor's T0.
    #[error("the server clock is before the factor's T0")]
    BeforeT0,
    /// The stored secret does not open with the keyring (a missing or wrong
    /// key, or a record copied from another user), or no randomness could be
    /// drawn to seal one. Nothing was accepted.
    #[error("sealed secret: {0}")]
    Seal(#[source] SealError),
    /// No enrollment was begun (or it was replaced or completed).
    #[error("no enrollment in progress")]
    NoEnrollment,
    /// The pending enrollment is older than its time to live: begin again.
    #[error("the enrollment expired; begin again")]
    EnrollmentExpired,
    /// The enrollment was already confirmed; its recovery codes cannot be
    /// shown again. Acknowledge them, or begin again.
    #[error("the enrollment is already confirmed")]
    AlreadyConfirmed,
    /// Nothing waits for "I have safely recorded this number".
    #[error("nothing to acknowledge")]
    NothingToAcknowledge,
    /// The enrollment's issuer or account name cannot go into a URI.
    #[error(transparent)]
    Enrollment(crate::enrollment::EnrollmentError),
    /// No company account with that id.
    #[error("no such company account")]
    NoCompany,
    /// Owners must be 1 to 255 user ids, each 1 to 255 bytes long.
    #[error("a company needs 1 to 255 owners with ids of 1 to 255 bytes")]
    InvalidOwners,
    /// A company account with that id exists already.
    #[error("the company account exists already")]
    CompanyExists,
    /// Only an owner of the company account may do this.
    #[error("only an owner of the company account may do this")]
    NotOwner,
    /// Activate your own MFA first: only an owner whose own MFA is active
    /// may change the company's MFA requirement.
    #[error("activate your own MFA first")]
    OwnMfaRequired,
    /// The company requires MFA, so it cannot be removed.
    #[error("the company account requires MFA")]
    RequiredByCompany,
    /// Other requests for the same user kept changing the record; nothing was
    /// accepted. Retrying later is safe.
    #[error("too much contention on the user's record")]
    Contended,
    /// The stored record could not be read. Nothing was accepted.
    #[error("stored MFA record is unreadable: {0}")]
    CorruptRecord(#[source] RecordError),
    /// The store failed. Nothing was accepted (if a write happened, the code
    /// is now a replay).
    #[error("store error: {0}")]
    Store(#[source] E),
}

impl<E> From<Refusal> for MfaError<E> {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoFactor => MfaError::NoFactor,
            Refusal::FactorExists => MfaError::FactorExists,
            Refusal::Malformed => MfaError::Malformed,
            Refusal::Mismatch => MfaError::Mismatch,
            Refusal::Replayed { next_code_in } => MfaError::Replayed { next_code_in },
            Refusal::Throttled { retry_after } => MfaError::Throttled { retry_after },
            Refusal::Locked => MfaError::Locked,
            Refusal::BeforeT0 => MfaError::BeforeT0,
            Refusal::Seal(error) => MfaError::Seal(error),
            Refusal::NoEnrollment => MfaError::NoEnrollment,
            Refusal::EnrollmentExpired => MfaError::EnrollmentExpired,
            Refusal::AlreadyConfirmed => MfaError::AlreadyConfirmed,
            Refusal::NothingToAcknowledge => MfaError::NothingToAcknowledge,
        }
    }
}

/// What [`Mfa::reseal_all`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct ResealReport<E> {
    /// Users whose secret moved to the current key.
    pub resealed: usize,
    /// Users already on the current key, or without a factor.
    pub current: usize,
    /// Users whose recovery codes are hashed under an older key's pepper:
    /// hashes cannot be moved without the codes, so keep the old key until
    /// these users regenerate their codes (or use them).
    pub recovery_on_old_key: Vec<String>,
    /// Users whose secret could not be resealed, and why (e.g. a key missing
    /// from the keyring): the old key must stay until these are solved.
    pub failed: Vec<(String, MfaError<E>)>,
}

/// What is known about a user's MFA, read without changing anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaStatus {
    /// When the active factor was bound, or `None` without one.
    pub factor_bound_at: Option<u64>,
    /// An enrollment is pending or confirmed but not yet acknowledged.
    pub enrollment_in_progress: bool,
    /// A recovery code was shown and not yet acknowledged.
    pub recovery_unacknowledged: bool,
    /// Consecutive failed checks.
    pub failures: u32,
    /// Whether a check may be made now.
    pub gate: Gate,
}

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
    max_attempts: u32,
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
    /// [`SealError::Entropy`] if the operating system has no randomness.
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn in_memory() -> Result<Self, SealError> {
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

    /// Lets a pending enrollment wait `seconds` for its first code.
    pub fn with_enrollment_ttl(mut self, seconds: u64) -> Self {
        self.enrollment_ttl = seconds;
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
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
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

    /// Checks what the person typed against the user's factor and, if it is
    /// accepted, saves its step so that it can never be accepted again.
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed),
    /// [`Replayed`](MfaError::Replayed), [`Throttled`](MfaError::Throttled),
    /// [`Locked`](MfaError::Locked) and [`NoFactor`](MfaError::NoFactor) are
    /// answers; [`Store`](MfaError::Store), [`Contended`](MfaError::Contended)
    /// and [`CorruptRecord`](MfaError::CorruptRecord) mean nothing was accepted.
    pub fn verify(&self, user: &str, input: &str) -> Result<Verified, MfaError<S::Error>> {
        self.update(user, |record, cx| record.verify(cx, input))
    }

    /// Reseals the user's secret under the keyring's current key, if it is
    /// sealed under an older one; `Ok(true)` if it was. Checks do this on
    /// their own after a success; call this for every user to retire an old
    /// key eagerly.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if the secret does not open, or an infrastructure error.
    pub fn reseal(&self, user: &str) -> Result<bool, MfaError<S::Error>> {
        self.update(user, |record, cx| record.reseal(cx))
            .map(|resealed| resealed.changed)
    }

    /// Binds the factor of `enrollment` to the user once `input`, the first
    /// code from the person's app, checks out. The step of that code is saved
    /// as used, the secret sealed, and recovery codes issued: show
    /// [`Bound::recovery_codes`] now, they are never available again.
    /// Failures count against the user's throttle.
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user already has one; otherwise as
    /// [`Mfa::verify`].
    pub fn bind(
        &self,
        user: &str,
        enrollment: &Enrollment,
        input: &str,
    ) -> Result<Bound, MfaError<S::Error>> {
        let (secret, params) = (enrollment.secret(), *enrollment.params());
        self.update(user, |record, cx| record.bind(cx, secret, params, input))
    }

    /// Reseals every listed user's secret under the current key, e.g. all
    /// user ids from the host's table, to retire an old key without waiting
    /// for each user's next sign-in. Goes on past failures and reports them.
    pub fn reseal_all<'u>(
        &self,
        users: impl IntoIterator<Item = &'u str>,
    ) -> ResealReport<S::Error> {
        let mut report = ResealReport {
            resealed: 0,
            current: 0,
            recovery_on_old_key: Vec::new(),
            failed: Vec::new(),
        };
        for user in users {
            match self.update(user, |record, cx| record.reseal(cx)) {
                Ok(resealed) => {
                    if resealed.changed {
                        report.resealed += 1;
                    } else {
                        report.current += 1;
                    }
                    if resealed.recovery_on_old_key {
                        report.recovery_on_old_key.push(user.to_owned());
                    }
                }
                Err(error) => report.failed.push((user.to_owned(), error)),
            }
        }
        report
    }

    /// Signs in with a recovery code instead of a one-time code, spending it
    /// once its record is saved (16 requests racing with one code: one
    /// success). Attempts count against the same throttle; a success ends a
    /// lockout. In single mode, show [`RecoveryUsed::new_code`] at once.
    ///
    /// # Errors
    /// [`MfaError::Mismatch`] (also for a spent code),
    /// [`Malformed`](MfaError::Malformed), [`Throttled`](MfaError::Throttled),
    /// [`NoFactor`](MfaError::NoFactor), [`Seal`](MfaError::Seal) if the
    /// codes were hashed under a key no longer in the keyring, or an
    /// infrastructure error.
    pub fn use_recovery_code(
        &self,
        user: &str,
        input: &str,
    ) -> Result<RecoveryUsed, MfaError<S::Error>> {
        self.update(user, |record, cx| record.use_recovery_code(cx, input))
    }

    /// Replaces all the user's recovery codes with new ones. It takes a
    /// current one-time code and checks it in the same step, so it cannot be
    /// reached without passing MFA again (OWASP: re-authenticate before
    /// changing authentication details). Old codes stop working at once.
    ///
    /// # Errors
    /// As [`Mfa::verify`] for `otp_input`.
    pub fn regenerate_recovery_codes(
        &self,
        user: &str,
        otp_input: &str,
    ) -> Result<Vec<RecoveryCode>, MfaError<S::Error>> {
        self.update(user, |record, cx| record.regenerate_recovery(cx, otp_input))
    }

    /// "Multi-Factor Authentication → Activate": draws a new secret, stores
    /// it sealed as the user's pending enrollment (replacing any earlier one;
    /// it expires after [`with_enrollment_ttl`](Mfa::with_enrollment_ttl)),
    /// and returns the [`Enrollment`] whose QR code, URI and secret the
    /// product shows. Nothing is active yet.
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user has an active factor,
    /// [`MfaError::Enrollment`] for names that cannot go into a URI, or an
    /// infrastructure error.
    pub fn begin_enrollment(
        &self,
        user: &str,
        builder: crate::EnrollmentBuilder,
    ) -> Result<Enrollment, MfaError<S::Error>> {
        let mut bytes = zeroize::Zeroizing::new([0u8; crate::Secret::DEFAULT_LEN]);
        self.entropy.fill(&mut *bytes).map_err(MfaError::Seal)?;
        let secret = crate::Secret::from_bytes(&*bytes)
            .map_err(|e| MfaError::Enrollment(crate::enrollment::EnrollmentError::Secret(e)))?;
        let enrollment = builder.with_secret(secret).map_err(MfaError::Enrollment)?;
        let params = *enrollment.params();
        self.update(user, |record, cx| {
            record.begin_enrollment(cx, enrollment.secret(), params)
        })?;
        Ok(enrollment)
    }

    /// The person typed the code their app shows for the pending enrollment.
    /// On success the code's step is saved as used and the recovery codes to
    /// show are returned — here only, never again. The factor is active only
    /// after [`acknowledge_recovery`](Mfa::acknowledge_recovery). A wrong code
    /// leaves the enrollment pending and counts against the throttle.
    ///
    /// # Errors
    /// [`MfaError::NoEnrollment`], [`EnrollmentExpired`](MfaError::EnrollmentExpired),
    /// [`AlreadyConfirmed`](MfaError::AlreadyConfirmed), and as [`Mfa::verify`].
    pub fn confirm_enrollment(
        &self,
        user: &str,
        input: &str,
    ) -> Result<Vec<RecoveryCode>, MfaError<S::Error>> {
        self.update(user, |record, cx| record.confirm_enrollment(cx, input))
    }

    /// The person ticked "I have safely recorded this number": a confirmed
    /// enrollment becomes the active factor, or a replacement recovery code
    /// counts as recorded.
    ///
    /// # Errors
    /// [`MfaError::NothingToAcknowledge`], or an infrastructure error.
    pub fn acknowledge_recovery(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.update(user, |record, cx| record.acknowledge_recovery(cx))
    }

    /// Creates a company account with these owners (1 to 255 user ids of 1
    /// to 255 bytes), not requiring MFA.
    ///
    /// # Errors
    /// [`MfaError::InvalidOwners`], [`MfaError::CompanyExists`], or an
    /// infrastructure error.
    pub fn create_company(&self, company: &str, owners: &[&str]) -> Result<(), MfaError<S::Error>> {
        if owners.is_empty()
            || owners.len() > 255
            || owners.iter().any(|o| o.is_empty() || o.len() > 255)
        {
            return Err(MfaError::InvalidOwners);
        }
        let policy = CompanyPolicy::new(owners, self.clock.now());
        match self
            .store
            .save(RecordKey::Company(company), None, &policy.encode())
            .map_err(MfaError::Store)?
        {
            SaveOutcome::Saved(_) => Ok(()),
            SaveOutcome::Conflict => Err(MfaError::CompanyExists),
        }
    }

    /// The company's policy.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub fn company_policy(&self, company: &str) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.load_company(company).map(|(policy, _)| policy)
    }

    fn load_company(
        &self,
        company: &str,
    ) -> Result<(CompanyPolicy, crate::store::Version), MfaError<S::Error>> {
        let stored = self
            .store
            .load(RecordKey::Company(company))
            .map_err(MfaError::Store)?
            .ok_or(MfaError::NoCompany)?;
        let policy = CompanyPolicy::decode(&stored.bytes).map_err(MfaError::CorruptRecord)?;
        Ok((policy.with_version(stored.version.0), stored.version))
    }

    /// "Force every user to use MFA before accessing the Company Account" →
    /// "Save changes" (or switch it off): allowed only to an owner whose own
    /// MFA is active. The policy is saved with compare-and-swap, its "since"
    /// set to now, and the change delivered as an event with the owner as
    /// the user.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`OwnMfaRequired`](MfaError::OwnMfaRequired),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub fn set_mfa_requirement(
        &self,
        company: &str,
        by: &str,
        require: bool,
        grace_period: u64,
    ) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.retry_on_conflict(|| {
            let now = self.clock.now();
            let (mut policy, version) = self.load_company(company)?;
            if !policy.is_owner(by) {
                return Err(MfaError::NotOwner);
            }
            if self.load(by)?.0.factor.is_none() {
                return Err(MfaError::OwnMfaRequired);
            }
            policy.set_requirement(require, grace_period, now);
            let saved = self
                .store
                .save(RecordKey::Company(company), Some(version), &policy.encode())
                .map_err(MfaError::Store)?;
            let SaveOutcome::Saved(version) = saved else {
                return Ok(None);
            };
            let policy = policy.with_version(version.0);
            let event = crate::Event::CompanyPolicyChanged {
                company: company.to_owned(),
                require_mfa: policy.requires_mfa(),
                grace_period: policy.grace_period(),
            };
            self.events.record(by, now, event);
            Ok(Some(policy))
        })
    }

    /// What the user must do after the password to reach `company` (or,
    /// with `None`, outside any company): nothing more, a second factor, or
    /// enrollment ("Company Account Verification"), possibly by a deadline.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub fn sign_in_requirement(
        &self,
        user: &str,
        company: Option<&str>,
    ) -> Result<SignInRequirement, MfaError<S::Error>> {
        let policy = company.map(|c| self.company_policy(c)).transpose()?;
        let (record, _) = self.load(user)?;
        Ok(crate::policy::evaluate(
            policy.as_ref(),
            record.factor.is_some(),
            self.clock.now(),
        ))
    }

    /// The user turns their own MFA off, proving it with a current code.
    /// Refused while `company` requires MFA (an owner cannot remove their own
    /// MFA while the company requires it).
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`], and as [`Mfa::verify`].
    pub fn remove_own_factor(
        &self,
        user: &str,
        company: Option<&str>,
        otp_input: &str,
    ) -> Result<(), MfaError<S::Error>> {
        if let Some(company) = company {
            if self.company_policy(company)?.requires_mfa() {
                return Err(MfaError::RequiredByCompany);
            }
        }
        self.update(user, |record, cx| record.remove_after_check(cx, otp_input))
    }

    /// An owner resets another user's MFA after passing their own check in
    /// the same call. The host MUST check that `user` belongs to `company`:
    /// `twostep` does not know the members. the user's factor and recovery codes are removed, the
    /// user must enroll at the next sign-in, and the user's audit trail gets
    /// [`Event::FactorReset`](crate::Event::FactorReset).
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], errors of the owner's check (as
    /// [`Mfa::verify`]), or an infrastructure error.
    pub fn reset_user_mfa(
        &self,
        company: &str,
        owner: &str,
        owner_otp: &str,
        user: &str,
    ) -> Result<(), MfaError<S::Error>> {
        let policy = self.company_policy(company)?;
        if !policy.is_owner(owner) {
            return Err(MfaError::NotOwner);
        }
        // Resetting oneself would bypass `remove_own_factor`'s refusal.
        if owner == user && policy.requires_mfa() {
            return Err(MfaError::RequiredByCompany);
        }
        self.verify(owner, owner_otp)?;
        self.update(user, |record, _| record.reset_by(owner))
    }

    /// Removes the user's factor. The host decides who may do this (the
    /// user after a fresh check, or an owner).
    ///
    /// # Errors
    /// [`MfaError::NoFactor`] if there is none, or an infrastructure error.
    pub fn remove_factor(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.update(user, |record, _| record.remove_factor())
    }

    /// Clears the user's failure count, ending a lockout.
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub fn unlock(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.update(user, |record, _| record.unlock())
    }

    /// The user's MFA state now.
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub fn status(&self, user: &str) -> Result<MfaStatus, MfaError<S::Error>> {
        let now = self.clock.now();
        let (record, _) = self.load(user)?;
        Ok(MfaStatus {
            factor_bound_at: record.factor.as_ref().map(|f| f.bound_at),
            enrollment_in_progress: record.enrollment.is_some(),
            recovery_unacknowledged: record.recovery_unacknowledged,
            failures: record.failures,
            gate: self
                .throttle
                .gate(record.failures, record.last_failure_at, now),
        })
    }

    fn load(
        &self,
        user: &str,
    ) -> Result<(MfaRecord, Option<crate::store::Version>), MfaError<S::Error>> {
        match self
            .store
            .load(RecordKey::User(user))
            .map_err(MfaError::Store)?
        {
            None => Ok((MfaRecord::default(), None)),
            Some(stored) => {
                let record = MfaRecord::decode(&stored.bytes).map_err(MfaError::CorruptRecord)?;
                Ok((record, Some(stored.version)))
            }
        }
    }

    /// Load → transition → save if changed and still at the loaded version →
    /// deliver events → answer; on a conflict, again from a fresh load.
    fn update<T>(
        &self,
        user: &str,
        mut transition: impl FnMut(&mut MfaRecord, &Context<'_>) -> Transition<T>,
    ) -> Result<T, MfaError<S::Error>> {
        self.retry_on_conflict(|| {
            let cx = Context {
                user,
                now: self.clock.now(),
                policy: &self.throttle,
                window: self.window,
                keyring: &self.keyring,
                entropy: &*self.entropy,
                recovery_mode: self.recovery_mode,
                key_cache: &self.key_cache,
                enrollment_ttl: self.enrollment_ttl,
            };
            let (mut record, version) = self.load(user)?;
            let result = transition(&mut record, &cx);
            if result.changed {
                let bytes = record.encode();
                let saved = self
                    .store
                    .save(RecordKey::User(user), version, &bytes)
                    .map_err(MfaError::Store)?;
                if saved == SaveOutcome::Conflict {
                    return Ok(None);
                }
            }
            for event in result.events() {
                self.events.record(user, cx.now, event);
            }
            result.outcome.map(Some).map_err(MfaError::from)
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::KEYS_PREPARED;
    use crate::{CollectingSink, Event, ManualClock, MemoryStore, Secret};
    use std::sync::Arc;

    const T0: u64 = 1_700_000_020; // 20 s before the next step

    fn setup() -> (
        Mfa<MemoryStore>,
        Arc<ManualClock>,
        Arc<CollectingSink>,
        Enrollment,
    ) {
        let clock = Arc::new(ManualClock::new(T0));
        let sink = Arc::new(CollectingSink::new());
        let mfa = Mfa::new(MemoryStore::new(), crate::Keyring::new(1, &[7; 32]))
            .with_clock(clock.clone())
            .with_events(sink.clone());
        let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        let enrollment = Enrollment::builder("Acme", "alice")
            .with_secret(secret)
            .unwrap();
        (mfa, clock, sink, enrollment)
    }

    fn code_at(enrollment: &Enrollment, now: u64) -> String {
        enrollment
            .totp()
            .generate(now)
            .unwrap()
            .expose()
            .to_string()
    }

    fn prepared() -> u64 {
        KEYS_PREPARED.with(|n| n.get())
    }

    #[test]
    fn throttle_follows_the_schedule_and_refuses_without_hmac() {
        let (mfa, clock, sink, enrollment) = setup();
        mfa.bind("u", &enrollment, &code_at(&enrollment, T0))
            .unwrap();
        sink.take();
        let wrong = "000000";
        assert!(enrollment
            .totp()
            .verify(
                T0 + 10_000,
                &crate::Code::parse(wrong, crate::Digits::SIX).unwrap(),
                Window::new(10, 10).unwrap(),
                None
            )
            .is_err());

        // Three free failures.
        for failures in 1..=3 {
            assert!(matches!(mfa.verify("u", wrong), Err(MfaError::Mismatch)));
            assert_eq!(mfa.status("u").unwrap().failures, failures);
        }
        // Then 15 s, 30 s, 1, 2, 4, 8 and 15 min, then the lockout.
        for (delay, failures) in [
            (15, 4),
            (30, 5),
            (60, 6),
            (120, 7),
            (240, 8),
            (480, 9),
            (900, 10),
        ] {
            let before = prepared();
            assert!(matches!(
                mfa.verify("u", wrong),
                Err(MfaError::Throttled { retry_after }) if retry_after == delay
            ));
            clock.advance(delay - 1);
            assert!(matches!(
                mfa.verify("u", wrong),
                Err(MfaError::Throttled { retry_after: 1 })
            ));
            assert_eq!(prepared(), before, "a throttled check computed an HMAC");
            clock.advance(1);
            assert!(matches!(mfa.verify("u", wrong), Err(MfaError::Mismatch)));
            assert_eq!(mfa.status("u").unwrap().failures, failures);
        }
        // Locked: even the right code is refused, with no HMAC, at any time.
        clock.advance(1_000_000);
        let before = prepared();
        let right = code_at(&enrollment, clock.now());
        assert!(matches!(mfa.verify("u", &right), Err(MfaError::Locked)));
        assert_eq!(prepared(), before);
        assert_eq!(mfa.status("u").unwrap().gate, Gate::Locked);

        let events = sink.take();
        let locked: Vec<_> = events
            .iter()
            .filter(|e| matches!(e.event, Event::Locked { failures: 10 }))
            .collect();
        assert_eq!(locked.len(), 1);
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e.event, Event::Rejected { .. }))
                .count(),
            10
        );

        // An owner unlocks; the right code works and resets the count.
        mfa.unlock("u").unwrap();
        assert_eq!(mfa.verify("u", &right).unwrap().drift, 0);
        assert_eq!(mfa.status("u").unwrap().failures, 0);
        let events = sink.take();
        assert!(matches!(events[0].event, Event::Unlocked));
        assert!(matches!(
            events.last().unwrap().event,
            Event::Verified { .. }
        ));
    }

    #[test]
    fn replays_and_clock_errors_are_not_counted() {
        let (mfa, clock, sink, enrollment) = setup();
        let first = code_at(&enrollment, T0);
        mfa.bind("u", &enrollment, &first).unwrap();
        for _ in 0..20 {
            assert!(matches!(
                mfa.verify("u", &first),
                Err(MfaError::Replayed { next_code_in: 20 })
            ));
        }
        assert_eq!(mfa.status("u").unwrap().failures, 0);
        clock.advance(20);
        mfa.verify("u", &code_at(&enrollment, T0 + 20)).unwrap();
        let events: Vec<_> = sink.take().into_iter().map(|e| e.event).collect();
        assert_eq!(
            events
                .iter()
                .filter(|e| **e == Event::ReplayRejected)
                .count(),
            20
        );
        assert!(matches!(events[0], Event::FactorBound));
    }

    #[test]
    fn malformed_input_counts_as_a_failure() {
        let (mfa, _, sink, enrollment) = setup();
        mfa.bind("u", &enrollment, &code_at(&enrollment, T0))
            .unwrap();
        sink.take();
        assert!(matches!(mfa.verify("u", "12345"), Err(MfaError::Malformed)));
        assert_eq!(mfa.status("u").unwrap().failures, 1);
        assert_eq!(
            sink.take()[0].event,
            Event::Rejected {
                reason: crate::RejectReason::Malformed,
                failures: 1
            }
        );
    }

    #[test]
    fn bind_remove_and_no_factor() {
        let (mfa, clock, sink, enrollment) = setup();
        assert!(matches!(mfa.verify("u", "123456"), Err(MfaError::NoFactor)));
        assert!(
            mfa.store().load(RecordKey::User("u")).unwrap().is_none(),
            "nothing written"
        );
        assert!(matches!(
            mfa.bind("u", &enrollment, "000000"),
            Err(MfaError::Mismatch)
        ));
        assert_eq!(mfa.status("u").unwrap().failures, 1);
        mfa.bind("u", &enrollment, &code_at(&enrollment, T0))
            .unwrap();
        assert_eq!(mfa.status("u").unwrap().factor_bound_at, Some(T0));
        clock.advance(30);
        assert!(matches!(
            mfa.bind("u", &enrollment, &code_at(&enrollment, T0 + 30)),
            Err(MfaError::FactorExists)
        ));
        mfa.remove_factor("u").unwrap();
        assert!(matches!(
            mfa.verify("u", &code_at(&enrollment, T0 + 30)),
            Err(MfaError::NoFactor)
        ));
        assert!(matches!(mfa.remove_factor("u"), Err(MfaError::NoFactor)));
        let kinds: Vec<_> = sink.take().into_iter().map(|e| e.event).collect();
        assert!(kinds.contains(&Event::FactorBound) && kinds.contains(&Event::FactorRemoved));
    }
}
