//! The store contract as functions: run them against your own store in your
//! own tests (feature `testkit`), a [`Store`] with [`check_all`], an
//! [`AsyncStore`] with [`check_all_async`].
//!
//! Every promise `twostep` makes across servers — a code accepted once, a
//! recovery code spent once, an exact failure count — rests on the store's
//! compare-and-swap. These checks exercise it the way the service does, with
//! real concurrency (threads for a `Store`, concurrent futures for an
//! `AsyncStore`, which race at the database), and answer with a
//! [`ContractViolation`] naming what broke. They write only records under
//! fresh ids starting with `twostep-testkit-`, so they can run against a
//! database that holds other data (a test database, not production: the
//! records are left behind). Each check is written once and runs the same
//! way for both kinds of store.
//!
//! ```
//! use twostep::{testkit, MemoryStore};
//!
//! // In a host's test suite, with its own store instead:
//! testkit::check_all(&MemoryStore::new())?;
//! # Ok::<(), testkit::ContractViolation>(())
//! ```

mod checks;

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::Barrier;
use std::task::Poll;

use crate::service::block_on;
use crate::storage::{AsyncStore, RecordKey, SaveOutcome, Store, Version, Versioned};

/// What broke, and in which check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractViolation {
    /// The store answered with an error where the contract expects an answer.
    #[error("{check}: the store failed: {source}")]
    Store {
        /// The check that was running.
        check: &'static str,
        /// The store's own error.
        source: Box<dyn Error + Send + Sync>,
    },
    /// The store answered, wrongly.
    #[error("{check}: {what}")]
    Broken {
        /// The check that was running.
        check: &'static str,
        /// What was expected and what came back.
        what: String,
    },
}

/// The writers [`check_all`] races against each other.
pub const DEFAULT_WRITERS: usize = 8;

/// The size of the record [`large_records`] writes: four times more than
/// any record `twostep` writes (they stay under 4 KiB).
pub const LARGE_RECORD: usize = 16 * 1024;

type BoxError = Box<dyn Error + Send + Sync>;

/// What the checks need of a store, sync or async: its two calls, and a way
/// to run writers at the same instant.
trait Kit: Sync {
    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl Future<Output = Result<Option<Versioned>, BoxError>> + Send;

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl Future<Output = Result<SaveOutcome, BoxError>> + Send;

    /// Runs `work` for `writers` writers at once; their results in writer
    /// order.
    fn race<'k, T: Send + 'k, F: Future<Output = Result<T, ContractViolation>> + Send + 'k>(
        &'k self,
        check: &'static str,
        writers: usize,
        work: impl Fn(usize) -> F + Sync + 'k,
    ) -> impl Future<Output = Result<Vec<T>, ContractViolation>> + Send + 'k;
}

/// A [`Store`]: its answers are ready at once; writers are threads.
struct Threads<'s, S>(&'s S);

impl<S: Store> Kit for Threads<'_, S> {
    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl Future<Output = Result<Option<Versioned>, BoxError>> + Send {
        std::future::ready(self.0.load(key).map_err(|e| Box::new(e) as BoxError))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl Future<Output = Result<SaveOutcome, BoxError>> + Send {
        let saved = self.0.save(key, expected, bytes);
        std::future::ready(saved.map_err(|e| Box::new(e) as BoxError))
    }

    fn race<'k, T: Send + 'k, F: Future<Output = Result<T, ContractViolation>> + Send + 'k>(
        &'k self,
        check: &'static str,
        writers: usize,
        work: impl Fn(usize) -> F + Sync + 'k,
    ) -> impl Future<Output = Result<Vec<T>, ContractViolation>> + Send + 'k {
        let start = Barrier::new(writers);
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..writers)
                .map(|writer| {
                    let (start, work) = (&start, &work);
                    scope.spawn(move || {
                        start.wait();
                        block_on(work(writer))
                    })
                })
                .collect();
            // Join every thread before looking at any result, so that a
            // panic in one becomes a violation rather than a panic of the
            // scope.
            let joined: Vec<_> = handles.into_iter().map(|handle| handle.join()).collect();
            joined
                .into_iter()
                .map(|joined| {
                    joined.unwrap_or_else(|_| {
                        Err(checks::broken(check, "a store call panicked".into()))
                    })
                })
                .collect()
        });
        std::future::ready(results)
    }
}

/// An [`AsyncStore`]: writers are futures polled together, so their calls
/// are in flight at the database at once.
struct Futures<'s, S>(&'s S);

impl<S: AsyncStore> Kit for Futures<'_, S> {
    async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, BoxError> {
        self.0.load(key).await.map_err(|e| Box::new(e) as BoxError)
    }

    async fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, BoxError> {
        self.0
            .save(key, expected, bytes)
            .await
            .map_err(|e| Box::new(e) as BoxError)
    }

    fn race<'k, T: Send + 'k, F: Future<Output = Result<T, ContractViolation>> + Send + 'k>(
        &'k self,
        _: &'static str,
        writers: usize,
        work: impl Fn(usize) -> F + Sync + 'k,
    ) -> impl Future<Output = Result<Vec<T>, ContractViolation>> + Send + 'k {
        let mut pending: Vec<Pin<Box<F>>> = (0..writers).map(|w| Box::pin(work(w))).collect();
        let mut done: Vec<Option<Result<T, ContractViolation>>> =
            (0..writers).map(|_| None).collect();
        async move {
            std::future::poll_fn(|cx| {
                let mut waiting = false;
                for (future, result) in pending.iter_mut().zip(done.iter_mut()) {
                    if result.is_none() {
                        match future.as_mut().poll(cx) {
                            Poll::Ready(output) => *result = Some(output),
                            Poll::Pending => waiting = true,
                        }
                    }
                }
                if waiting {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            done.into_iter().flatten().collect()
        }
    }
}

/// Runs every check below, in order, stopping at the first violation.
///
/// # Errors
/// The first [`ContractViolation`] found.
pub fn check_all<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::check_all(&Threads(store)))
}

/// [`check_all`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn check_all_async<S: AsyncStore>(store: &S) -> Result<(), ContractViolation> {
    checks::check_all(&Futures(store)).await
}

/// A record never saved loads as `None`, and a save expecting a version of
/// it conflicts instead of creating it.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn unknown_records<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::unknown_records(&Threads(store)))
}

/// [`unknown_records`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn unknown_records_async<S: AsyncStore>(store: &S) -> Result<(), ContractViolation> {
    checks::unknown_records(&Futures(store)).await
}

/// A record created with `expected = None` loads back with the version
/// `Saved` gave; creating it again conflicts and changes nothing.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn create_and_load<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::create_and_load(&Threads(store)))
}

/// [`create_and_load`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn create_and_load_async<S: AsyncStore>(store: &S) -> Result<(), ContractViolation> {
    checks::create_and_load(&Futures(store)).await
}

/// A save at the loaded version writes and gives a version the record
/// never had before, and the next load returns it (read your writes).
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn versioned_save<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::versioned_save(&Threads(store)))
}

/// [`versioned_save`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn versioned_save_async<S: AsyncStore>(store: &S) -> Result<(), ContractViolation> {
    checks::versioned_save(&Futures(store)).await
}

/// A save expecting a version that is no longer stored conflicts and
/// writes nothing.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn stale_version_conflicts<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::stale_version_conflicts(&Threads(store)))
}

/// [`stale_version_conflicts`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn stale_version_conflicts_async<S: AsyncStore>(
    store: &S,
) -> Result<(), ContractViolation> {
    checks::stale_version_conflicts(&Futures(store)).await
}

/// A user and a company with the same id are two records: writing one
/// changes neither the bytes nor the version of the other.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn kinds_kept_apart<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::kinds_kept_apart(&Threads(store)))
}

/// [`kinds_kept_apart`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn kinds_kept_apart_async<S: AsyncStore>(store: &S) -> Result<(), ContractViolation> {
    checks::kinds_kept_apart(&Futures(store)).await
}

/// Ids are kept exactly (quotes, `%`, `_`, backslashes, non-ASCII, 255
/// bytes; ids differing only in case or trailing spaces are different
/// records) and so are bytes (every byte value, NUL included, and an empty
/// record).
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn ids_and_bytes_kept_exactly<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::ids_and_bytes_kept_exactly(&Threads(store)))
}

/// [`ids_and_bytes_kept_exactly`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn ids_and_bytes_kept_exactly_async<S: AsyncStore>(
    store: &S,
) -> Result<(), ContractViolation> {
    checks::ids_and_bytes_kept_exactly(&Futures(store)).await
}

/// A record of [`LARGE_RECORD`] bytes comes back whole.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn large_records<S: Store>(store: &S) -> Result<(), ContractViolation> {
    block_on(checks::large_records(&Threads(store)))
}

/// [`large_records`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn large_records_async<S: AsyncStore>(store: &S) -> Result<(), ContractViolation> {
    checks::large_records(&Futures(store)).await
}

/// `writers` (at least 1) create the same record at the same instant:
/// exactly one is `Saved`, and the record holds its bytes.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn concurrent_creates<S: Store>(store: &S, writers: usize) -> Result<(), ContractViolation> {
    block_on(checks::concurrent_creates(&Threads(store), writers))
}

/// [`concurrent_creates`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn concurrent_creates_async<S: AsyncStore>(
    store: &S,
    writers: usize,
) -> Result<(), ContractViolation> {
    checks::concurrent_creates(&Futures(store), writers).await
}

/// `writers` (at least 1) save over the same loaded version at the same
/// instant — what happens when one code reaches several servers: exactly
/// one is `Saved`.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn concurrent_saves_of_one_version<S: Store>(
    store: &S,
    writers: usize,
) -> Result<(), ContractViolation> {
    block_on(checks::concurrent_saves_of_one_version(
        &Threads(store),
        writers,
    ))
}

/// [`concurrent_saves_of_one_version`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn concurrent_saves_of_one_version_async<S: AsyncStore>(
    store: &S,
    writers: usize,
) -> Result<(), ContractViolation> {
    checks::concurrent_saves_of_one_version(&Futures(store), writers).await
}

/// `writers` (at least 1) each add 1 to a counter `rounds` times with
/// load → save-at-version, retrying on conflict: no increment is lost and
/// no version is given twice.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn no_lost_updates<S: Store>(
    store: &S,
    writers: usize,
    rounds: u64,
) -> Result<(), ContractViolation> {
    block_on(checks::no_lost_updates(&Threads(store), writers, rounds))
}

/// [`no_lost_updates`] for an [`AsyncStore`].
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub async fn no_lost_updates_async<S: AsyncStore>(
    store: &S,
    writers: usize,
    rounds: u64,
) -> Result<(), ContractViolation> {
    checks::no_lost_updates(&Futures(store), writers, rounds).await
}
