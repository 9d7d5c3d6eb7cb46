//! [`AsyncMfa`]: the service for async hosts, every operation an `async
//! fn` over an [`AsyncStore`], each a call of the one service logic
//! (`core`) with the store as its [`Access`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use crate::account::{Acknowledged, Bound, Confirmed, EnrollmentCheck, RecoveryUsed, Screen};
use crate::codes::Verified;
use crate::keys::session_proof::MfaSession;
use crate::keys::Keyring;
use crate::material::enrollment_builder::{Enrollment, EnrollmentBuilder};
use crate::rules::company_policy::{
    CompanyPolicy, EnforcementPreview, Requirement, SignInRequirement,
};
use crate::rules::recovery_codes::RecoveryCode;
use crate::storage::{AsyncStore, RecordKey, SaveOutcome, Version, Versioned};

use super::action::{Action, Step};
use super::core::{Access, Core, MfaStatus, ResealReport};
use super::{Config, MfaError, Prepared};

/// The MFA service over an [`AsyncStore`], for async hosts (axum, actix,
/// anything on tokio): the operations of [`Mfa`](crate::Mfa), as `async fn`s, with the
/// same rules, answers and guarantees (they run the same code). The futures
/// are `Send`, so they can be awaited in handlers and `tokio::spawn`ed.
/// Cloning is cheap: put the service straight into the app's state. Over
/// the app's own sqlx pool: `SqlxSqliteStore`, `SqlxPgStore`
/// ([async hosts](crate::guide::async_hosts)).
///
/// A sign-in, in full: the owner activates MFA, then signs in again with a
/// code.
///
/// ```
/// # #[cfg(feature = "getrandom")] {
/// use twostep::{Action, AsyncMfa, Config, Keyring, MemoryStore, Screen};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # let key_from_your_secret_manager = [7u8; 32];
/// let keyring = Keyring::new(1, &key_from_your_secret_manager); // kept outside the database
/// let config = Config::default().with_issuer("Acme"); // the name authenticator apps list
/// let mfa = AsyncMfa::with_config(MemoryStore::new(), keyring, config);
/// mfa.create_company("acme", &["olivia"]).await?;
///
/// // After the password: twostep's part of the session, kept by the host.
/// let mut session = mfa.start_session("olivia").await?;
/// // Account info → Activate: the QR code, the code it shows, the tick.
/// let step = mfa.step("olivia", Some("acme"), &mut session, Action::SetUp { account: "olivia@acme.test" }).await?;
/// let Screen::ScanQr { enrollment, .. } = step.screen else { unreachable!() };
/// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
/// # let typed = enrollment.totp().generate(now)?.expose().to_string();
/// mfa.step("olivia", Some("acme"), &mut session, Action::Code(&typed)).await?;
/// let step = mfa.step("olivia", Some("acme"), &mut session, Action::Recorded { ticked: true }).await?;
/// assert!(step.passed_second_factor); // keep the changed session, renew its id
///
/// // Later, after the password: the code screen.
/// let session = mfa.start_session("olivia").await?;
/// match mfa.current_screen("olivia", Some("acme"), &session).await? {
///     Screen::EnterCode { .. } => { /* the code form: step(…, Action::Code(typed)) */ }
///     other => unreachable!("{other:?}"),
/// }
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(demo()).map_err(|e| e.to_string())?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsyncMfa<S: AsyncStore> {
    store: Arc<S>,
    core: Core,
}

impl<S: AsyncStore> AsyncMfa<S> {
    /// A service over `store`, sealing secrets with `keyring`, with the
    /// default [`Config`].
    ///
    /// Keep the keyring's key material outside the database that `store`
    /// writes to: see [`Keyring`].
    pub fn new(store: S, keyring: Keyring) -> Self {
        Self::with_config(store, keyring, Config::default())
    }

    /// A service over `store`, sealing secrets with `keyring`, as `config`
    /// says.
    pub fn with_config(store: S, keyring: Keyring, config: Config) -> Self {
        AsyncMfa {
            store: Arc::new(store),
            core: Core::new(keyring, config),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Decides a sign-in code typed in `session` on the record the host
    /// loaded itself (its `kind = "user"` row, or `None`), for a host that
    /// saves it in its own transaction (with its session row, say): the
    /// write comes from [`Prepared::write`], whether the code was accepted
    /// only from [`Prepared::written`] with what the write did, the answer
    /// and the events from [`Written::committed`](crate::store::Written::committed)
    /// after the commit. The same rules as [`verify`](Self::verify).
    ///
    /// # Errors
    /// [`MfaError::CorruptRecord`] or [`MfaError::Seal`] for a record that
    /// does not open; the decision's own answer comes later.
    pub fn prepare_verify(
        &self,
        user: &str,
        session: &MfaSession,
        stored: Option<&Versioned>,
        input: &str,
    ) -> Result<Prepared<Verified>, MfaError<Infallible>> {
        self.core.prepare_verify(user, session, stored, input)
    }

    /// [`prepare_verify`](Self::prepare_verify) for a recovery code: the
    /// same rules as [`use_recovery_code`](Self::use_recovery_code).
    ///
    /// # Errors
    /// As [`prepare_verify`](Self::prepare_verify).
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

    /// Reseals every listed user's record under the current key, e.g. all
    /// user ids from the host's table, to retire an old key without waiting
    /// for each user's next sign-in. Goes on past failures and reports them.
    pub async fn reseal_all(&self, users: &[&str]) -> ResealReport<S::Error> {
        self.core.reseal_all(&Async(&*self.store), users).await
    }

    /// Once the password is right: twostep's part of the new session, to
    /// keep in the host's session and hand back with every call for this
    /// person ([`MfaSession`]). It counts until the user's MFA changes.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if no randomness can be drawn, or an
    /// infrastructure error.
    pub async fn start_session(&self, user: &str) -> Result<MfaSession, MfaError<S::Error>> {
        self.core.start_session(&Async(&*self.store), user).await
    }

    /// Checks what the person typed in `session` against the user's factor
    /// and, if it is accepted, saves its step so that it can never be
    /// accepted again; then `session` has passed the second factor (keep
    /// the changed value, and renew the session's id).
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed),
    /// [`Replayed`](MfaError::Replayed), [`Throttled`](MfaError::Throttled),
    /// [`Locked`](MfaError::Locked) and [`NoFactor`](MfaError::NoFactor) are
    /// answers; [`SessionEnded`](MfaError::SessionEnded) for a session from
    /// before the user's MFA changed; [`Store`](MfaError::Store),
    /// [`Contended`](MfaError::Contended) and
    /// [`CorruptRecord`](MfaError::CorruptRecord) mean nothing was accepted.
    pub async fn verify(
        &self,
        user: &str,
        session: &mut MfaSession,
        input: &str,
    ) -> Result<Verified, MfaError<S::Error>> {
        self.core
            .verify(&Async(&*self.store), user, session, input)
            .await
    }

    /// Signs in with a recovery code instead of a one-time code, spending it
    /// once its record is saved (16 requests racing with one code: one
    /// spend); then `session` has passed the second factor. Attempts are
    /// never throttled (a code carries 125 bits) and never count against
    /// the one-time codes; a success ends a lockout. In single mode, show
    /// [`RecoveryUsed::new_code`] and then the tick,
    /// [`acknowledge_recovery`](Self::acknowledge_recovery); until the tick
    /// the replacement is kept to be shown again, and for
    /// [`Config::with_recovery_retry`] the used code
    /// signs in once more in this same session if the answer was lost
    /// ([`RecoveryUsed::retried`]).
    ///
    /// # Errors
    /// [`MfaError::Mismatch`] (also for a spent code, or a used code typed
    /// in another session), [`Malformed`](MfaError::Malformed),
    /// [`NoFactor`](MfaError::NoFactor), [`SessionEnded`](MfaError::SessionEnded),
    /// [`Seal`](MfaError::Seal) if the codes were hashed under a key no
    /// longer in the keyring, or an infrastructure error.
    pub async fn use_recovery_code(
        &self,
        user: &str,
        session: &mut MfaSession,
        input: &str,
    ) -> Result<RecoveryUsed, MfaError<S::Error>> {
        self.core
            .use_recovery_code(&Async(&*self.store), user, session, input)
            .await
    }

    /// Replaces all the user's recovery codes with new ones, for a session
    /// that passed the second factor within the sudo window
    /// ([`Config::with_sudo_window`]; OWASP: re-authenticate
    /// before changing authentication details). Old codes stop working at
    /// once; the new ones are kept to be shown again until
    /// [`acknowledge_recovery`](Self::acknowledge_recovery).
    ///
    /// # Errors
    /// [`MfaError::RecentSecondFactorRequired`] (pass a code with
    /// [`verify`](Self::verify), then again),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired),
    /// [`SessionEnded`](MfaError::SessionEnded),
    /// [`NoFactor`](MfaError::NoFactor), or an infrastructure error.
    pub async fn regenerate_recovery_codes(
        &self,
        user: &str,
        session: &MfaSession,
    ) -> Result<Vec<RecoveryCode>, MfaError<S::Error>> {
        self.core
            .regenerate_recovery_codes(&Async(&*self.store), user, session)
            .await
    }

    /// The user's MFA state now.
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub async fn status(&self, user: &str) -> Result<MfaStatus, MfaError<S::Error>> {
        self.core.status(&Async(&*self.store), user).await
    }

    /// The host removes the user's factor in its own name (an
    /// administrator's decision; audited with [`Actor::Host`](crate::event::Actor::Host)). It does not
    /// ask the user's companies: people use
    /// [`remove_own_factor`](Self::remove_own_factor), owners
    /// [`reset_user_mfa`](Self::reset_user_mfa).
    ///
    /// # Errors
    /// [`MfaError::NoFactor`] if there is none, or an infrastructure error.
    pub async fn remove_factor(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.core.remove_factor(&Async(&*self.store), user).await
    }

    /// The host clears the user's failure count in its own name, ending a
    /// lockout (audited with [`Actor::Host`](crate::event::Actor::Host)). Owners
    /// use [`unlock_member`](Self::unlock_member).
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub async fn unlock(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.core.unlock(&Async(&*self.store), user).await
    }

    /// Ends every session of `user` ("Sign out everywhere", a lost laptop):
    /// each [`MfaSession`] made before, on any device and whatever it
    /// passed, is over from now on ([`Screen::SignInAgain`],
    /// [`MfaError::SessionEnded`]), the one making the call too. Nothing
    /// else changes: the factor, the recovery codes and the failure count
    /// stay. The host keeps no list of sessions for this; it deletes the
    /// caller's own and sends the person to the password again.
    ///
    /// ```
    /// # #[cfg(feature = "getrandom")] {
    /// use twostep::{AsyncMfa, Screen};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let mfa = AsyncMfa::in_memory()?;
    /// let laptop = mfa.start_session("ada").await?;
    /// mfa.end_sessions("ada").await?; // "Sign out everywhere"
    /// assert!(matches!(mfa.current_screen("ada", None, &laptop).await?, Screen::SignInAgain));
    /// let phone = mfa.start_session("ada").await?; // the password again
    /// assert!(matches!(mfa.current_screen("ada", None, &phone).await?, Screen::Continue));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(demo()).map_err(|e| e.to_string())?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Only infrastructure errors.
    pub async fn end_sessions(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        self.core.end_sessions(&Async(&*self.store), user).await
    }

    /// Reseals what the user's record keeps sealed under the keyring's
    /// current key, if it is sealed under an older one; `Ok(true)` if it was.
    /// Checks do this on their own after a success; call this for every user
    /// to retire an old key eagerly.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if something does not open, or an infrastructure error.
    pub async fn reseal(&self, user: &str) -> Result<bool, MfaError<S::Error>> {
        self.core.reseal(&Async(&*self.store), user).await
    }

    /// Tags the company's record under the keyring's current key, if it is
    /// tagged under an older one (or, read as legacy, not at all); `Ok(true)`
    /// if it was. Every change to the company does this on its own.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`Seal`](MfaError::Seal) if its key is not
    /// in the keyring, or an infrastructure error.
    pub async fn reseal_company(&self, company: &str) -> Result<bool, MfaError<S::Error>> {
        self.core
            .reseal_company(&Async(&*self.store), company)
            .await
    }

    /// "Multi-Factor Authentication → Activate" (an owner) or "Company
    /// Account Verification → Verify identity" (a user): draws a new secret,
    /// stores it sealed as the user's enrollment with its names and `check`,
    /// and returns the [`Enrollment`] whose QR code, URI and key the product
    /// shows. Nothing is active yet.
    ///
    /// Always a fresh start: an earlier enrollment at any step, its wrong
    /// codes and its recovery codes are gone (a "Start again" button calls
    /// this too). To show the *same* QR code again after a reload or a
    /// wrong code, use [`current_screen`](Self::current_screen). The QR code
    /// waits [`Config::with_enrollment_ttl`] for its first
    /// code.
    ///
    /// ```
    /// # #[cfg(feature = "getrandom")] {
    /// use twostep::{AsyncMfa, Enrollment};
    /// use twostep::screen::{Confirmed, EnrollmentCheck};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let mfa = AsyncMfa::in_memory()?;
    /// let mut session = mfa.start_session("olivia").await?; // after the password
    /// // The owner's own "Activate": one code, as the help page asks.
    /// let builder = Enrollment::builder("Acme", "olivia@acme.test");
    /// let enrollment = mfa.begin_enrollment("olivia", &session, builder, EnrollmentCheck::OneCode).await?;
    /// # let typed = enrollment.totp().generate(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())?.expose().to_string();
    /// match mfa.confirm_enrollment("olivia", &session, &typed).await? {
    ///     Confirmed::RecordRecoveryCode { codes } => { /* show codes, the tick, Continue */ }
    ///     other => unreachable!("{other:?}"),
    /// }
    /// mfa.acknowledge_recovery("olivia", &mut session).await?; // "I have safely recorded this number" → Continue
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(demo()).map_err(|e| e.to_string())?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user has an active factor,
    /// [`MfaError::Enrollment`] for names that cannot go into a URI,
    /// [`SessionEnded`](MfaError::SessionEnded) for a session from before
    /// the user's MFA changed (after an owner's reset, the person signs in
    /// with the password again before enrolling), or an infrastructure error.
    pub async fn begin_enrollment(
        &self,
        user: &str,
        session: &MfaSession,
        builder: EnrollmentBuilder,
        check: EnrollmentCheck,
    ) -> Result<Enrollment, MfaError<S::Error>> {
        self.core
            .begin_enrollment(&Async(&*self.store), user, session, builder, check)
            .await
    }

    /// The QR screen's Continue: the first code from the person's app. On
    /// success its step is saved and what comes next returned:
    /// [`Confirmed::SecondCode`](crate::screen::Confirmed) for
    /// [`EnrollmentCheck::TwoCodes`], otherwise
    /// [`Confirmed::RecordRecoveryCode`](crate::screen::Confirmed) with the recovery
    /// codes, which stay retrievable ([`current_screen`](Self::current_screen))
    /// until the tick.
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
    pub async fn confirm_enrollment(
        &self,
        user: &str,
        session: &MfaSession,
        input: &str,
    ) -> Result<Confirmed, MfaError<S::Error>> {
        self.core
            .confirm_enrollment(&Async(&*self.store), user, session, input)
            .await
    }

    /// "Enter a one-time code from the authenticator app" → Continue: the
    /// second code of [`EnrollmentCheck::TwoCodes`], which must be of a later
    /// time step than the first. The same code again is
    /// [`MfaError::Replayed`] with the seconds until the next code (not
    /// counted); a wrong one is counted and leaves the step open. On success
    /// the recovery codes are issued: [`Confirmed::RecordRecoveryCode`](crate::screen::Confirmed).
    ///
    /// # Errors
    /// As [`confirm_enrollment`](Self::confirm_enrollment), and
    /// [`MfaError::Replayed`]; [`OutOfOrder`](MfaError::OutOfOrder) while the
    /// first code is still awaited or once the codes are done.
    pub async fn confirm_second_code(
        &self,
        user: &str,
        session: &MfaSession,
        input: &str,
    ) -> Result<Confirmed, MfaError<S::Error>> {
        self.core
            .confirm_second_code(&Async(&*self.store), user, session, input)
            .await
    }

    /// The person ticked "I have safely recorded this number" and pressed
    /// Continue: an enrollment whose codes checked out becomes the active
    /// factor ([`Acknowledged::FactorActivated`]: the person is in, and
    /// `session` has passed the second factor; every other session of the
    /// user is over), or replacement or regenerated recovery codes count as
    /// recorded (only in a session past the second factor: they are the
    /// factor holder's). The copy kept to show them again is removed for good.
    ///
    /// Call it only for a request with the tick: this call *is* the tick.
    ///
    /// # Errors
    /// [`MfaError::OutOfOrder`] while a code step is open,
    /// [`NothingToAcknowledge`](MfaError::NothingToAcknowledge),
    /// [`EnrollmentExpired`](MfaError::EnrollmentExpired),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired) for an
    /// active factor's codes in a password-only session,
    /// [`SessionEnded`](MfaError::SessionEnded), or an infrastructure error.
    pub async fn acknowledge_recovery(
        &self,
        user: &str,
        session: &mut MfaSession,
    ) -> Result<Acknowledged, MfaError<S::Error>> {
        self.core
            .acknowledge_recovery(&Async(&*self.store), user, session)
            .await
    }

    /// Which screen the person is on, from the stored state alone: what a
    /// host renders after the password, at every reload, in a second tab,
    /// after an error, or when the person comes back tomorrow. `session` is
    /// twostep's part of the person's session; `company` is the company
    /// account being reached, if any.
    ///
    /// In order: [`Screen::SignInAgain`] for a session from before the
    /// user's MFA changed (or not this user's); with an active factor, [`Screen::EnterCode`] until the
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
    pub async fn current_screen(
        &self,
        user: &str,
        company: Option<&str>,
        session: &MfaSession,
    ) -> Result<Screen, MfaError<S::Error>> {
        self.core
            .current_screen(&Async(&*self.store), user, company, session)
            .await
    }

    /// Binds the factor of `enrollment` to the user once `input`, the first
    /// code from the person's app, checks out: one call, no stored steps
    /// and no acknowledgement. The step of that code is saved as used, the
    /// secret sealed, and recovery codes issued: show
    /// [`Bound::recovery_codes`] now, they are never available again.
    /// Failures count against the user's throttle. Then `session` has
    /// passed the second factor; every other session of the user is over.
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user already has one,
    /// [`WeakSecret`](MfaError::WeakSecret) for a secret under 128 bits;
    /// otherwise as [`verify`](Self::verify).
    pub async fn bind(
        &self,
        user: &str,
        session: &mut MfaSession,
        enrollment: &Enrollment,
        input: &str,
    ) -> Result<Bound, MfaError<S::Error>> {
        self.core
            .bind(&Async(&*self.store), user, session, enrollment, input)
            .await
    }

    /// Creates a company account with these owners (1 to 255 user ids of 1
    /// to 255 bytes), not requiring MFA. The owners become its members.
    ///
    /// # Errors
    /// [`MfaError::InvalidCompany`], [`InvalidOwners`](MfaError::InvalidOwners),
    /// [`CompanyExists`](MfaError::CompanyExists), or an infrastructure error.
    pub async fn create_company(
        &self,
        company: &str,
        owners: &[&str],
    ) -> Result<(), MfaError<S::Error>> {
        self.core
            .create_company(&Async(&*self.store), company, owners)
            .await
    }

    /// The host reports that `user` joined `company`: from now on the
    /// company's requirement applies to them, and its owners may reset their
    /// MFA.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`TooManyCompanies`](MfaError::TooManyCompanies),
    /// or an infrastructure error.
    pub async fn add_member(&self, company: &str, user: &str) -> Result<(), MfaError<S::Error>> {
        self.core
            .add_member(&Async(&*self.store), company, user)
            .await
    }

    /// The host reports that `user` left `company`. Owners stay members.
    ///
    /// # Errors
    /// [`MfaError::NotMember`], [`OwnerStaysMember`](MfaError::OwnerStaysMember),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub async fn remove_member(&self, company: &str, user: &str) -> Result<(), MfaError<S::Error>> {
        self.core
            .remove_member(&Async(&*self.store), company, user)
            .await
    }

    /// The company's policy.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    pub async fn company_policy(&self, company: &str) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.core
            .company_policy(&Async(&*self.store), company)
            .await
    }

    /// "Force every user to use MFA before accessing the Company Account" →
    /// "Save changes" ([`Requirement::On`](crate::Requirement), or
    /// [`Off`](crate::Requirement)): only an owner, only in a session that
    /// passed the owner's second factor within the sudo window (OWASP ASVS:
    /// a fresh second factor before changing authentication settings), so
    /// right after activating their own MFA an owner saves with no new
    /// code, while an older session passes a code first. Switching on
    /// starts the grace period; saving "on" again while it is on keeps
    /// `since` and the deadline, and changes nothing. The change is saved
    /// with compare-and-swap and audited with the owner as user and actor.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`OwnMfaRequired`](MfaError::OwnMfaRequired)
    /// while the owner has no active factor,
    /// [`RecentSecondFactorRequired`](MfaError::RecentSecondFactorRequired),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired),
    /// [`SessionEnded`](MfaError::SessionEnded),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub async fn set_mfa_requirement(
        &self,
        company: &str,
        owner: &str,
        session: &MfaSession,
        requirement: Requirement,
    ) -> Result<CompanyPolicy, MfaError<S::Error>> {
        self.core
            .set_mfa_requirement(&Async(&*self.store), company, owner, session, requirement)
            .await
    }

    /// What the user must do after the password to reach `company` (or,
    /// with `None`, outside any company): nothing more, a second factor, or
    /// enrollment ("Company Account Verification"), possibly by a deadline.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] if the user is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub async fn sign_in_requirement(
        &self,
        user: &str,
        company: Option<&str>,
    ) -> Result<SignInRequirement, MfaError<S::Error>> {
        self.core
            .sign_in_requirement(&Async(&*self.store), user, company)
            .await
    }

    /// The user turns their own MFA off, in a session that passed the
    /// second factor within the sudo window. Refused while any company the
    /// user belongs to requires MFA. `session` goes on (without a factor);
    /// every other session of the user is over.
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`],
    /// [`RecentSecondFactorRequired`](MfaError::RecentSecondFactorRequired),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired),
    /// [`SessionEnded`](MfaError::SessionEnded),
    /// [`NoFactor`](MfaError::NoFactor), or an infrastructure error.
    pub async fn remove_own_factor(
        &self,
        user: &str,
        session: &mut MfaSession,
    ) -> Result<(), MfaError<S::Error>> {
        self.core
            .remove_own_factor(&Async(&*self.store), user, session)
            .await
    }

    /// An owner of `company`, in a session that passed their second factor
    /// within the sudo window, resets the MFA of one of its members: the
    /// member's factor and recovery codes are removed, every session of the
    /// member is over, and they sign in with their password again and
    /// enroll ([`Event::FactorReset`](crate::event::Event::FactorReset), the owner
    /// as actor).
    ///
    /// Refused for a user who is not a member of `company`, for any owner
    /// of it (a co-owner, or the owner themselves: use
    /// [`remove_own_factor`](Self::remove_own_factor)), for an owner of any
    /// other company, and for a member of another company that requires MFA
    /// and that this owner does not own: no owner can weaken another
    /// company's requirement.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`NotMember`](MfaError::NotMember),
    /// [`CannotResetOwner`](MfaError::CannotResetOwner),
    /// [`RequiredByCompany`](MfaError::RequiredByCompany), the errors of the
    /// owner's session (as [`set_mfa_requirement`](Self::set_mfa_requirement)),
    /// or an infrastructure error.
    pub async fn reset_user_mfa(
        &self,
        company: &str,
        owner: &str,
        session: &MfaSession,
        user: &str,
    ) -> Result<(), MfaError<S::Error>> {
        self.core
            .reset_user_mfa(&Async(&*self.store), company, owner, session, user)
            .await
    }

    /// An owner of `company`, in a session that passed their second factor
    /// within the sudo window, ends a member's lockout (after too many
    /// wrong codes): the member signs in with a code again, keeping their
    /// factor. Audited with the owner as actor. Unlike a reset, nobody can
    /// enroll another phone in the member's place.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`NotMember`](MfaError::NotMember), the
    /// errors of the owner's session (as
    /// [`set_mfa_requirement`](Self::set_mfa_requirement)), or an
    /// infrastructure error.
    pub async fn unlock_member(
        &self,
        company: &str,
        owner: &str,
        session: &MfaSession,
        user: &str,
    ) -> Result<(), MfaError<S::Error>> {
        self.core
            .unlock_member(&Async(&*self.store), company, owner, session, user)
            .await
    }

    /// Before "Save changes" of "Force every user to use MFA": who would be
    /// affected. Each member of `company` (its owners, and whom the host
    /// added with [`add_member`](Self::add_member)) comes back with their MFA
    /// state ([`MemberMfa`](crate::company::MemberMfa)), and
    /// [`EnforcementPreview::for_person`] says "3 of 12 users will be asked
    /// to set up MFA at their next sign-in." (once saved: "are asked").
    /// `unavailable` says why `owner` cannot change the setting, if they
    /// cannot (not an owner, or their own MFA is not active): the reason to
    /// show beside the checkbox.
    ///
    /// Reads one record per member; changes nothing.
    ///
    /// # Errors
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    pub async fn enforcement_preview(
        &self,
        company: &str,
        owner: &str,
    ) -> Result<EnforcementPreview, MfaError<S::Error>> {
        self.core
            .enforcement_preview(&Async(&*self.store), company, owner)
            .await
    }

    /// One call for every screen of the help page: the person's `action`
    /// ([`Action`], from the button they pressed and what they typed) is
    /// applied as the screen they are on asks, and the next screen comes
    /// back with the refusal, if any, in words that fit what was tried, and
    /// whether `session` just passed the second factor (then keep the
    /// changed value and renew the session's id). `company` is the company
    /// account being reached, as for [`current_screen`](Self::current_screen).
    ///
    /// A code goes to whichever screen asks for one (sign-in, the QR code,
    /// the second code, or, past the second factor, a fresh one for owner
    /// actions); [`Action::SetUp`] starts a setup asking two codes where the
    /// company requires MFA and one where the person chose it; "Not now"
    /// puts off a setup the person started themselves. One load and one save
    /// of the person's record (and the company's policy).
    ///
    /// ```
    /// # #[cfg(feature = "getrandom")] {
    /// use twostep::{Action, AsyncMfa, Config, ScreenKind};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let mfa = AsyncMfa::in_memory_with(Config::default().with_issuer("Acme"))?;
    /// let mut session = mfa.start_session("ada").await?;
    /// let step = mfa.step("ada", None, &mut session, Action::SetUp { account: "ada@acme.test" }).await?;
    /// assert_eq!(step.screen.kind(), ScreenKind::ScanQr);
    /// let step = mfa.step("ada", None, &mut session, Action::Code("000000")).await?;
    /// assert_eq!(step.refused.map(|m| m.id()), Some("code-wrong"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(demo()).map_err(|e| e.to_string())?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Only the infrastructure's, and [`MfaError::NotMember`] if the user is
    /// not a member of `company` (a host's mistake): refusals are answers,
    /// in [`Step::refused`](crate::Step).
    pub async fn step(
        &self,
        user: &str,
        company: Option<&str>,
        session: &mut MfaSession,
        action: Action<'_>,
    ) -> Result<Step, MfaError<S::Error>> {
        self.core
            .step(&Async(&*self.store), user, company, session, action)
            .await
    }

    /// "Not now": puts off a setup the person started themselves (its QR
    /// code, and any recovery code it issued, are gone), unless a company
    /// account of theirs requires MFA.
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`], [`NoEnrollment`](MfaError::NoEnrollment),
    /// [`FactorExists`](MfaError::FactorExists),
    /// [`SessionEnded`](MfaError::SessionEnded), or an infrastructure error.
    pub async fn cancel_enrollment(
        &self,
        user: &str,
        session: &MfaSession,
    ) -> Result<(), MfaError<S::Error>> {
        self.core
            .cancel_enrollment(&Async(&*self.store), user, session)
            .await
    }
}

#[cfg(feature = "getrandom")]
impl AsyncMfa<crate::MemoryStore> {
    /// A service over a new [`MemoryStore`](crate::MemoryStore) with a random keyring and the
    /// default [`Config`]: records and key die with the process, which
    /// suits tests, examples and single-process tools. A real deployment
    /// gives its own store and a keyring kept outside the database
    /// ([`new`](Self::new)).
    ///
    /// # Errors
    /// [`SealError::Entropy`](crate::SealError::Entropy) if the operating
    /// system has no randomness.
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn in_memory() -> Result<Self, crate::SealError> {
        Self::in_memory_with(Config::default())
    }

    /// [`in_memory`](Self::in_memory), as `config` says.
    ///
    /// # Errors
    /// As [`in_memory`](Self::in_memory).
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn in_memory_with(config: Config) -> Result<Self, crate::SealError> {
        Ok(Self::with_config(
            crate::MemoryStore::new(),
            Keyring::generate_os()?,
            config,
        ))
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

impl<S: AsyncStore> std::fmt::Debug for AsyncMfa<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncMfa")
            .field("keyring", &self.core.keyring)
            .field("config", &self.core.config)
            .finish_non_exhaustive()
    }
}

/// An [`AsyncStore`] as the logic's access: its futures awaited as they are.
struct Async<'a, S>(&'a S);

impl<S: AsyncStore> Access for Async<'_, S> {
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
