//! [`Mfa`]: the service for synchronous hosts, over a [`Store`], each
//! method the blocking form of [`AsyncMfa`]'s: the same logic (`core`) with
//! a store whose answers are ready at once, polled once.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::account::{Acknowledged, Bound, Confirmed, EnrollmentCheck, RecoveryUsed, Screen};
use crate::codes::Verified;
use crate::keys::session_proof::MfaSession;
use crate::keys::Keyring;
use crate::material::enrollment_builder::{Enrollment, EnrollmentBuilder};
use crate::rules::company_policy::{
    CompanyPolicy, EnforcementPreview, Requirement, SignInRequirement,
};
use crate::rules::recovery_codes::RecoveryCode;
use crate::storage::{RecordKey, SaveOutcome, Store, Version, Versioned};

use super::action::{Action, Step};
use super::core::{Access, Core, MfaStatus, ResealReport};
#[cfg(doc)]
use super::AsyncMfa;
use super::{Config, MfaError, Prepared};

/// The MFA service over a [`Store`]: what a host calls with a user id and
/// what the person typed.
///
/// Each call loads the user's record, applies the change in memory, and saves
/// it only if the stored version is still the one loaded; on a conflict it
/// starts again from a fresh load, at most [`Config::with_max_attempts`] times.
/// A code is accepted only after the record remembering its step is saved,
/// so two servers given the same code at the same instant accept it once.
///
/// Each method is the blocking form of [`AsyncMfa`]'s, documented there:
/// both run the same code (`service/core`), so their rules and answers are
/// the same. Cloning is cheap (the store and the rest are shared), so one
/// service can serve every thread.
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
/// let mut session = mfa.start_session("user-42")?;   // after the password
/// mfa.bind("user-42", &mut session, &enrollment, &typed)?; // the first code from the app
/// // At each later sign-in, after the password:
/// let mut session = mfa.start_session("user-42")?;
/// match mfa.verify("user-42", &mut session, &typed) {
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

impl<S: Store> Mfa<S> {
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
        Mfa {
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

    /// [`AsyncMfa::prepare_verify`], which touches no store: the decision
    /// for a host that saves in its own transaction.
    ///
    /// # Errors
    /// As [`AsyncMfa::prepare_verify`].
    pub fn prepare_verify(
        &self,
        user: &str,
        session: &MfaSession,
        stored: Option<&Versioned>,
        input: &str,
    ) -> Result<Prepared<Verified>, MfaError<Infallible>> {
        self.core.prepare_verify(user, session, stored, input)
    }

    /// [`AsyncMfa::prepare_recovery_code`], which touches no store.
    ///
    /// # Errors
    /// As [`AsyncMfa::prepare_recovery_code`].
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

    /// The blocking form of [`AsyncMfa::reseal_all`].
    pub fn reseal_all(&self, users: &[&str]) -> ResealReport<S::Error> {
        block_on(self.core.reseal_all(&Blocking(&*self.store), users))
    }

    /// The blocking form of [`AsyncMfa::start_session`].
    ///
    /// # Errors
    /// As [`AsyncMfa::start_session`].
    pub fn start_session(&self, user: &str) -> Result<MfaSession, MfaError<S::Error>> {
        block_on(self.core.start_session(&Blocking(&*self.store), user))
    }

    /// The blocking form of [`AsyncMfa::verify`].
    ///
    /// # Errors
    /// As [`AsyncMfa::verify`].
    pub fn verify(
        &self,
        user: &str,
        session: &mut MfaSession,
        input: &str,
    ) -> Result<Verified, MfaError<S::Error>> {
        block_on(
            self.core
                .verify(&Blocking(&*self.store), user, session, input),
        )
    }

    /// The blocking form of [`AsyncMfa::use_recovery_code`].
    ///
    /// # Errors
    /// As [`AsyncMfa::use_recovery_code`].
    pub fn use_recovery_code(
        &self,
        user: &str,
        session: &mut MfaSession,
        input: &str,
    ) -> Result<RecoveryUsed, MfaError<S::Error>> {
        block_on(
            self.core
                .use_recovery_code(&Blocking(&*self.store), user, session, input),
        )
    }

    /// The blocking form of [`AsyncMfa::regenerate_recovery_codes`].
    ///
    /// # Errors
    /// As [`AsyncMfa::regenerate_recovery_codes`].
    pub fn regenerate_recovery_codes(
        &self,
        user: &str,
        session: &MfaSession,
    ) -> Result<Vec<RecoveryCode>, MfaError<S::Error>> {
        block_on(
            self.core
                .regenerate_recovery_codes(&Blocking(&*self.store), user, session),
        )
    }

    /// The blocking form of [`AsyncMfa::status`].
    ///
    /// # Errors
    /// As [`AsyncMfa::status`].
    pub fn status(&self, user: &str) -> Result<MfaStatus, MfaError<S::Error>> {
        block_on(self.core.status(&Blocking(&*self.store), user))
    }

    /// The blocking form of [`AsyncMfa::remove_factor`].
    ///
    /// # Errors
    /// As [`AsyncMfa::remove_factor`].
    pub fn remove_factor(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        block_on(self.core.remove_factor(&Blocking(&*self.store), user))
    }

    /// The blocking form of [`AsyncMfa::end_sessions`]: "Sign out
    /// everywhere".
    ///
    /// # Errors
    /// As [`AsyncMfa::end_sessions`].
    pub fn end_sessions(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        block_on(self.core.end_sessions(&Blocking(&*self.store), user))
    }

    /// The blocking form of [`AsyncMfa::unlock`].
    ///
    /// # Errors
    /// As [`AsyncMfa::unlock`].
    pub fn unlock(&self, user: &str) -> Result<(), MfaError<S::Error>> {
        block_on(self.core.unlock(&Blocking(&*self.store), user))
    }

    /// The blocking form of [`AsyncMfa::reseal`].
    ///
    /// # Errors
    /// As [`AsyncMfa::reseal`].
    pub fn reseal(&self, user: &str) -> Result<bool, MfaError<S::Error>> {
        block_on(self.core.reseal(&Blocking(&*self.store), user))
    }

    /// The blocking form of [`AsyncMfa::reseal_company`].
    ///
    /// # Errors
    /// As [`AsyncMfa::reseal_company`].
    pub fn reseal_company(&self, company: &str) -> Result<bool, MfaError<S::Error>> {
        block_on(self.core.reseal_company(&Blocking(&*self.store), company))
    }

    /// The blocking form of [`AsyncMfa::begin_enrollment`].
    ///
    /// # Errors
    /// As [`AsyncMfa::begin_enrollment`].
    pub fn begin_enrollment(
        &self,
        user: &str,
        session: &MfaSession,
        builder: EnrollmentBuilder,
        check: EnrollmentCheck,
    ) -> Result<Enrollment, MfaError<S::Error>> {
        block_on(
            self.core
                .begin_enrollment(&Blocking(&*self.store), user, session, builder, check),
        )
    }

    /// The blocking form of [`AsyncMfa::confirm_enrollment`].
    ///
    /// # Errors
    /// As [`AsyncMfa::confirm_enrollment`].
    pub fn confirm_enrollment(
        &self,
        user: &str,
        session: &MfaSession,
        input: &str,
    ) -> Result<Confirmed, MfaError<S::Error>> {
        block_on(
            self.core
                .confirm_enrollment(&Blocking(&*self.store), user, session, input),
        )
    }

    /// The blocking form of [`AsyncMfa::confirm_second_code`].
    ///
    /// # Errors
    /// As [`AsyncMfa::confirm_second_code`].
    pub fn confirm_second_code(
        &self,
        user: &str,
        session: &MfaSession,
        input: &str,
    ) -> Result<Confirmed, MfaError<S::Error>> {
        block_on(
            self.core
                .confirm_second_code(&Blocking(&*self.store), user, session, input),
        )
    }

    /// The blocking form of [`AsyncMfa::acknowledge_recovery`].
    ///
    /// # Errors
    /// As [`AsyncMfa::acknowledge_recovery`].
    pub fn acknowledge_recovery(
        &self,
        user: &str,
        session: &mut MfaSession,
    ) -> Result<Acknowledged, MfaError<S::Error>> {
        block_on(
            self.core
                .acknowledge_recovery(&Blocking(&*self.store), user, session),
        )
    }

    /// The blocking form of [`AsyncMfa::current_screen`].
    ///
    /// # Errors
    /// As [`AsyncMfa::current_screen`].
    pub fn current_screen(
        &self,
        user: &str,
        company: Option<&str>,
        session: &MfaSession,
    ) -> Result<Screen, MfaError<S::Error>> {
        block_on(
            self.core
                .current_screen(&Blocking(&*self.store), user, company, session),
        )
    }

    /// The blocking form of [`AsyncMfa::bind`].
    ///
    /// # Errors
    /// As [`AsyncMfa::bind`].
    pub fn bind(
        &self,
        user: &str,
        session: &mut MfaSession,
        enrollment: &Enrollment,
        input: &str,
    ) -> Result<Bound, MfaError<S::Error>> {
        block_on(
            self.core
                .bind(&Blocking(&*self.store), user, session, enrollment, input),
        )
    }

    /// The blocking form of [`AsyncMfa::create_company`].
    ///
    /// # Errors
    /// As [`AsyncMfa::create_company`].
    pub fn create_company(&self, company: &str, owners: &[&str]) -> Result<(), MfaError<S::Error>> {
        block_on(
            self.core
                .create_company(&Blocking(&*self.store), company, owners),
        )
    }

    /// The blocking form of [`AsyncMfa::add_member`].
    ///
    /// # Errors
    /// As [`AsyncMfa::add_member`].
    pub fn add_member(&self, company: &str, user: &str) -> Result<(), MfaError<S::Error>> {
        block_on(self.core.add_member(&Blocking(&*self.store), company, user))
    }

    /// The blocking form of [`AsyncMfa::remove_member`].
    ///
    /// # Errors
    /// As [`AsyncMfa::remove_member`].
    pub fn remove_member(&self, company: &str, user: &str) -> Result<(), MfaError<S::Error>> {
        block_on(
            self.core
                .remove_member(&Blocking(&*self.store), company, user),
        )
    }

    /// The blocking form of [`AsyncMfa::company_policy`].
    ///
    /// # Errors
    /// As [`AsyncMfa::company_policy`].
    pub fn company_policy(&self, company: &str) -> Result<CompanyPolicy, MfaError<S::Error>> {
        block_on(self.core.company_policy(&Blocking(&*self.store), company))
    }

    /// The blocking form of [`AsyncMfa::set_mfa_requirement`].
    ///
    /// # Errors
    /// As [`AsyncMfa::set_mfa_requirement`].
    pub fn set_mfa_requirement(
        &self,
        company: &str,
        owner: &str,
        session: &MfaSession,
        requirement: Requirement,
    ) -> Result<CompanyPolicy, MfaError<S::Error>> {
        block_on(self.core.set_mfa_requirement(
            &Blocking(&*self.store),
            company,
            owner,
            session,
            requirement,
        ))
    }

    /// The blocking form of [`AsyncMfa::sign_in_requirement`].
    ///
    /// # Errors
    /// As [`AsyncMfa::sign_in_requirement`].
    pub fn sign_in_requirement(
        &self,
        user: &str,
        company: Option<&str>,
    ) -> Result<SignInRequirement, MfaError<S::Error>> {
        block_on(
            self.core
                .sign_in_requirement(&Blocking(&*self.store), user, company),
        )
    }

    /// The blocking form of [`AsyncMfa::remove_own_factor`].
    ///
    /// # Errors
    /// As [`AsyncMfa::remove_own_factor`].
    pub fn remove_own_factor(
        &self,
        user: &str,
        session: &mut MfaSession,
    ) -> Result<(), MfaError<S::Error>> {
        block_on(
            self.core
                .remove_own_factor(&Blocking(&*self.store), user, session),
        )
    }

    /// The blocking form of [`AsyncMfa::reset_user_mfa`].
    ///
    /// # Errors
    /// As [`AsyncMfa::reset_user_mfa`].
    pub fn reset_user_mfa(
        &self,
        company: &str,
        owner: &str,
        session: &MfaSession,
        user: &str,
    ) -> Result<(), MfaError<S::Error>> {
        block_on(
            self.core
                .reset_user_mfa(&Blocking(&*self.store), company, owner, session, user),
        )
    }

    /// The blocking form of [`AsyncMfa::unlock_member`].
    ///
    /// # Errors
    /// As [`AsyncMfa::unlock_member`].
    pub fn unlock_member(
        &self,
        company: &str,
        owner: &str,
        session: &MfaSession,
        user: &str,
    ) -> Result<(), MfaError<S::Error>> {
        block_on(
            self.core
                .unlock_member(&Blocking(&*self.store), company, owner, session, user),
        )
    }

    /// The blocking form of [`AsyncMfa::enforcement_preview`].
    ///
    /// # Errors
    /// As [`AsyncMfa::enforcement_preview`].
    pub fn enforcement_preview(
        &self,
        company: &str,
        owner: &str,
    ) -> Result<EnforcementPreview, MfaError<S::Error>> {
        block_on(
            self.core
                .enforcement_preview(&Blocking(&*self.store), company, owner),
        )
    }

    /// The blocking form of [`AsyncMfa::step`].
    ///
    /// # Errors
    /// As [`AsyncMfa::step`].
    pub fn step(
        &self,
        user: &str,
        company: Option<&str>,
        session: &mut MfaSession,
        action: Action<'_>,
    ) -> Result<Step, MfaError<S::Error>> {
        block_on(
            self.core
                .step(&Blocking(&*self.store), user, company, session, action),
        )
    }

    /// The blocking form of [`AsyncMfa::cancel_enrollment`].
    ///
    /// # Errors
    /// As [`AsyncMfa::cancel_enrollment`].
    pub fn cancel_enrollment(
        &self,
        user: &str,
        session: &MfaSession,
    ) -> Result<(), MfaError<S::Error>> {
        block_on(
            self.core
                .cancel_enrollment(&Blocking(&*self.store), user, session),
        )
    }
}

#[cfg(feature = "getrandom")]
impl Mfa<crate::MemoryStore> {
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

impl<S: Store> Clone for Mfa<S> {
    fn clone(&self) -> Self {
        Mfa {
            store: Arc::clone(&self.store),
            core: self.core.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for Mfa<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa")
            .field("keyring", &self.core.keyring)
            .field("config", &self.core.config)
            .finish_non_exhaustive()
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
