//! The two drivers of the one service logic (`core`): [`Mfa`] over a
//! [`Store`], answering at once, and [`AsyncMfa`] over an [`AsyncStore`],
//! answering with futures. Their operations are generated from one list
//! (`operations.rs`), each a call of the same `Core` function with the
//! store behind an adapter, so the two cannot drift: same names, same
//! arguments, same answers, same rules; their configuration too
//! (`settings.rs`).

mod operations;
mod settings;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::store::{AsyncStore, RecordKey, SaveOutcome, Store, Version, Versioned};

use super::core::{Access, Core};

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

/// The MFA service over an [`AsyncStore`], for async hosts (axum, actix,
/// anything on tokio): the operations of [`Mfa`], as `async fn`s, with the
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
/// use twostep::{Action, AsyncMfa, Keyring, MemoryStore, Screen};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # let key_from_your_secret_manager = [7u8; 32];
/// let mfa = AsyncMfa::new(MemoryStore::new(), Keyring::new(1, &key_from_your_secret_manager))
///     .with_issuer("Acme");
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

/// An [`AsyncStore`] is the logic's access as it is.
impl<S: AsyncStore> Access for S {
    type Error = S::Error;

    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl Future<Output = Result<Option<Versioned>, S::Error>> + Send {
        AsyncStore::load(self, key)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl Future<Output = Result<SaveOutcome, S::Error>> + Send {
        AsyncStore::save(self, key, expected, bytes)
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
