//! Layer 6: where records live. A small trait with one rule — versioned
//! compare-and-swap — that makes the replay guard, the failure count and
//! spent recovery codes atomic on any backend.

mod lock_shards;
mod memory;

pub use memory::MemoryStore;

/// Which record: a user's MFA record, or a company's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKey<'a> {
    /// The MFA record of the user with this id.
    User(&'a str),
    /// The MFA policy of the company account with this id.
    Company(&'a str),
}

impl<'a> RecordKey<'a> {
    /// A short, stable name of the record's kind (`"user"`), for a key
    /// column or prefix. Records of different kinds MUST be kept apart even
    /// when their ids are equal.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordKey::User(_) => "user",
            RecordKey::Company(_) => "company",
        }
    }

    /// The id within its kind.
    pub fn id(&self) -> &'a str {
        match self {
            RecordKey::User(id) | RecordKey::Company(id) => id,
        }
    }
}

/// The version of a stored record. Any save gives a new one; the service
/// only ever compares versions for equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(pub u64);

/// A record as stored, with its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// The version the store holds.
    pub version: Version,
    /// The record's bytes, exactly as last saved.
    pub bytes: Vec<u8>,
    /// Set by a store that knows the database may have lost saves it had
    /// acknowledged, made before this time (Unix seconds): a failover to
    /// a standby that had not received them, a restored backup. The
    /// service then counts every code those saves could have accepted as
    /// used (a person waits for a later code), so none is accepted twice.
    /// `None` for a store that cannot lose an acknowledged save.
    pub lost_saves_before: Option<u64>,
}

impl Versioned {
    /// A record as stored, at `version`, from a store that cannot lose an
    /// acknowledged save.
    pub fn new(version: Version, bytes: Vec<u8>) -> Self {
        Versioned {
            version,
            bytes,
            lost_saves_before: None,
        }
    }
}

/// The answer to a save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a Conflict means nothing was written"]
pub enum SaveOutcome {
    /// Written and durable, now at this version.
    Saved(Version),
    /// Not written: the stored version is not the expected one (or a record
    /// exists where none was expected).
    Conflict,
}

/// Storage for MFA records, implemented by the host (or use [`MemoryStore`]).
///
/// Records are opaque bytes, written and read by `twostep` alone; a table with
/// a key (kind and id), a version number and a blob is enough.
///
/// # What an implementation MUST guarantee
///
/// - **Atomic check-and-write.** [`save`](Store::save) writes only if the
///   stored version is still `expected` (or, for `expected == None`, only if
///   no record exists), and the check and the write are one atomic step with
///   respect to every other `save` of the same key, from any thread, process
///   or machine. In SQL: `UPDATE … SET bytes = ?, version = version + 1
///   WHERE kind = ? AND id = ? AND version = ?` and checking that one row
///   changed, or an `INSERT` that fails on an existing key.
/// - **A new version on every write.** A saved record never again has a
///   version it had before (a counter incremented on each save is enough).
/// - **Durable before `Saved`.** Answer `Saved` only once the write would
///   survive a crash; the service tells the person their code was accepted
///   only after that.
/// - **Read your writes.** [`load`](Store::load) returns the latest saved
///   record (no stale replica): a stale read is caught by the version check,
///   but costs a retry.
/// - **Errors are errors.** Report a failure as `Err`, never as `Saved`. If a
///   write may have happened but the answer was lost, return `Err`: the
///   service then reports an error, never an acceptance, and the saved step
///   makes the same code a replay afterwards.
///
/// The service calls `load` then `save` once per check, retrying from a fresh
/// `load` on [`SaveOutcome::Conflict`].
pub trait Store: Send + Sync {
    /// The backend's own error, returned to the host inside
    /// [`MfaError::Store`](crate::MfaError::Store).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The record under `key` with its version, or `None` if there is none.
    ///
    /// # Errors
    /// The backend's error if it cannot answer.
    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Self::Error>;

    /// Writes `bytes` under `key` if the stored version is `expected`
    /// (`None`: if there is no record yet).
    ///
    /// # Errors
    /// The backend's error if it cannot answer; then nothing may be assumed
    /// about whether the write happened.
    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Self::Error>;
}

/// Storage for MFA records for async hosts, the async twin of [`Store`]:
/// the same two calls, the same guarantees (read [`Store`]'s list: atomic
/// check-and-write, a new version on every write, durable before `Saved`,
/// read your writes, errors are errors), answered with futures that are
/// `Send`, so an [`AsyncMfa`](crate::AsyncMfa) works in axum handlers and
/// `tokio::spawn`.
///
/// Implement it with `async fn` over the host's own pool. The crate ships
/// it for [`MemoryStore`]; the crate `twostep-sqlx` for sqlx pools.
pub trait AsyncStore: Send + Sync + 'static {
    /// The backend's own error, returned to the host inside
    /// [`MfaError::Store`](crate::MfaError::Store).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The record under `key` with its version, or `None` if there is none.
    ///
    /// # Errors
    /// The backend's error if it cannot answer.
    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl std::future::Future<Output = Result<Option<Versioned>, Self::Error>> + Send;

    /// Writes `bytes` under `key` if the stored version is `expected`
    /// (`None`: if there is no record yet).
    ///
    /// # Errors
    /// The backend's error if it cannot answer; then nothing may be assumed
    /// about whether the write happened.
    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = Result<SaveOutcome, Self::Error>> + Send;
}

impl<T: AsyncStore> AsyncStore for std::sync::Arc<T> {
    type Error = T::Error;

    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl std::future::Future<Output = Result<Option<Versioned>, Self::Error>> + Send {
        (**self).load(key)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = Result<SaveOutcome, Self::Error>> + Send {
        (**self).save(key, expected, bytes)
    }
}

impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    type Error = T::Error;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Self::Error> {
        (**self).load(key)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Self::Error> {
        (**self).save(key, expected, bytes)
    }
}
