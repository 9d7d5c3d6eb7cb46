//! The one copy of the service's logic, shared by the synchronous and the
//! asynchronous driver.
//!
//! Every operation is an `async fn` over [`Access`], the two calls a store
//! makes: the async driver awaits it over an
//! [`AsyncStore`](crate::AsyncStore); the sync driver runs it over a
//! [`Store`](crate::Store) whose answers are ready at once, so one poll
//! finishes it. The rules themselves are the record transitions of layer 4;
//! what lives here is the order of loads and saves around them:
//! load → check the tag → decode → transition → encode → tag →
//! save-if-version → deliver events → answer, again on a conflict.
//!
//! - `sign_in_calls.rs`: codes, recovery codes, status, removal, resealing;
//! - `enrollment_calls.rs`: the help page's enrollment screens and the screen query;
//! - `company_calls.rs`: company accounts, membership, the requirement, its preview;
//! - `step_calls.rs`: the one step call.

mod company_calls;
mod enrollment_calls;
mod sign_in_calls;
mod step_calls;

use std::future::Future;
use std::sync::Arc;

pub use sign_in_calls::{MfaStatus, ResealReport};

use crate::account::{Context, MfaRecord, Transition};
use crate::keys::key_cache::KeyCache;
use crate::keys::record_tag::{self as envelope, EnvelopeError};
use crate::keys::Keyring;
use crate::rules::events::{Actor, Event};
use crate::storage::{RecordKey, SaveOutcome, Version, Versioned};

use super::{Config, MfaError};

/// The two calls the logic makes of a store, sync or async.
pub(crate) trait Access: Sync {
    type Error;

    fn load(
        &self,
        key: RecordKey<'_>,
    ) -> impl Future<Output = Result<Option<Versioned>, Self::Error>> + Send;

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> impl Future<Output = Result<SaveOutcome, Self::Error>> + Send;
}

/// Everything a service holds but its store: the keyring, the settings,
/// the prepared keys it remembers. Cheap to clone (shared parts behind
/// `Arc`), so a service is too.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) config: Config,
    pub(crate) key_cache: Arc<KeyCache>,
}

/// A transition applied to a user's record: its result, the version it
/// was loaded at, and the record sealed for saving if it changed.
pub(crate) struct Applied<T> {
    pub(crate) result: Transition<T>,
    pub(crate) version: Option<Version>,
    pub(crate) sealed: Option<Vec<u8>>,
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

impl Core {
    pub(crate) fn new(keyring: Keyring, config: Config) -> Core {
        Core {
            keyring: Arc::new(keyring),
            key_cache: Arc::new(KeyCache::new(config.key_cache_users)),
            config,
        }
    }

    /// What a transition may use for `user` at `now`.
    pub(super) fn context<'a>(&'a self, user: &'a str, now: u64) -> Context<'a> {
        Context {
            user,
            now,
            policy: &self.config.throttle,
            window: self.config.window,
            keyring: &self.keyring,
            entropy: &*self.config.entropy,
            recovery_mode: self.config.recovery_mode,
            keys: &self.key_cache,
            enrollment_ttl: self.config.enrollment_ttl,
            recovery_retry: self.config.recovery_retry,
            sudo_window: self.config.sudo_window,
        }
    }

    /// The user's record, its version, and the key its tag was made with.
    pub(crate) async fn load<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<Loaded<MfaRecord>, MfaError<A::Error>> {
        let key = RecordKey::User(user);
        match access.load(key).await.map_err(MfaError::Store)? {
            Some(stored) => self.open_user(user, &stored),
            None => Ok(Loaded::new(MfaRecord::default())),
        }
    }

    /// The synchronous heart of every change to a user's record: open the
    /// `stored` record (or start empty), run `transition` at `now`, seal the
    /// record if it changed.
    pub(crate) fn apply<T, E>(
        &self,
        user: &str,
        stored: Option<&Versioned>,
        now: u64,
        transition: impl FnOnce(&mut Loaded<MfaRecord>, &Context<'_>) -> Transition<T>,
    ) -> Result<Applied<T>, MfaError<E>> {
        let mut loaded = match stored {
            Some(stored) => self.open_user(user, stored)?,
            None => Loaded::new(MfaRecord::default()),
        };
        let result = transition(&mut loaded, &self.context(user, now));
        let sealed = result.changed.then(|| self.seal_user(user, &loaded.record));
        Ok(Applied {
            result,
            version: loaded.version,
            sealed,
        })
    }

    /// A user's stored record, out of its envelope and decoded.
    pub(crate) fn open_user<E>(
        &self,
        user: &str,
        stored: &Versioned,
    ) -> Result<Loaded<MfaRecord>, MfaError<E>> {
        let opened = self.open(RecordKey::User(user), &stored.bytes)?;
        let mut record = MfaRecord::decode(opened.record).map_err(MfaError::CorruptRecord)?;
        if let Some(lost_before) = stored.lost_saves_before {
            record.fence(lost_before, self.config.window);
        }
        Ok(Loaded {
            record,
            version: Some(stored.version),
            tagged_by: opened.key_id,
        })
    }

    /// The record in `bytes` stored under `key`, if its tag is right.
    pub(crate) fn open<'b, E>(
        &self,
        key: RecordKey<'_>,
        bytes: &'b [u8],
    ) -> Result<envelope::Opened<'b>, MfaError<E>> {
        let (kind, id) = (key.kind(), key.id());
        envelope::open(&self.keyring, kind, id, bytes, self.config.read_legacy).map_err(|error| {
            match error {
                EnvelopeError::Record(error) => MfaError::CorruptRecord(error),
                EnvelopeError::Seal(error) => MfaError::Seal(error),
            }
        })
    }

    /// `record`, stored under `key`, in its envelope under the current key.
    pub(crate) fn seal(&self, key: RecordKey<'_>, record: &[u8]) -> Vec<u8> {
        envelope::seal(&self.keyring, key.kind(), key.id(), record)
    }

    /// `user`'s record in its envelope under the current key.
    fn seal_user(&self, user: &str, record: &MfaRecord) -> Vec<u8> {
        let kind = RecordKey::User(user).kind();
        let mut bytes = record.encode_into(Vec::new(), envelope::HEADER_LEN);
        envelope::seal_in_place(&self.keyring, kind, user, &mut bytes);
        bytes
    }

    /// Saves `record` under `key` at `version`, tagged under the current key.
    pub(crate) async fn save<A: Access>(
        &self,
        access: &A,
        key: RecordKey<'_>,
        version: Option<Version>,
        record: &[u8],
    ) -> Result<SaveOutcome, MfaError<A::Error>> {
        self.save_sealed(access, key, version, &self.seal(key, record))
            .await
    }

    /// Saves `sealed` under `key` if the stored version is still `version`.
    async fn save_sealed<A: Access>(
        &self,
        access: &A,
        key: RecordKey<'_>,
        version: Option<Version>,
        sealed: &[u8],
    ) -> Result<SaveOutcome, MfaError<A::Error>> {
        access
            .save(key, version, sealed)
            .await
            .map_err(MfaError::Store)
    }

    /// Reads the user's record and answers from it with `read`, changing
    /// nothing.
    pub(crate) async fn read<A: Access, T>(
        &self,
        access: &A,
        user: &str,
        read: impl FnOnce(&MfaRecord, &Context<'_>) -> Result<T, MfaError<A::Error>>,
    ) -> Result<T, MfaError<A::Error>> {
        let loaded = self.load(access, user).await?;
        read(&loaded.record, &self.context(user, self.config.clock.now()))
    }

    /// Load → transition → save if changed and still at the loaded version →
    /// deliver events, as caused `by` → answer; on a conflict, again from a
    /// fresh load, at most `max_attempts` times.
    pub(crate) async fn update<A: Access, T>(
        &self,
        access: &A,
        user: &str,
        by: &Actor,
        mut transition: impl FnMut(&mut MfaRecord, &Context<'_>) -> Transition<T> + Send,
    ) -> Result<T, MfaError<A::Error>> {
        self.update_loaded(access, user, by, |loaded, cx| {
            transition(&mut loaded.record, cx)
        })
        .await
    }

    /// [`update`](Self::update) with the whole loaded record: a transition
    /// that must know how the record was tagged (resealing).
    pub(crate) async fn update_loaded<A: Access, T>(
        &self,
        access: &A,
        user: &str,
        by: &Actor,
        mut transition: impl FnMut(&mut Loaded<MfaRecord>, &Context<'_>) -> Transition<T> + Send,
    ) -> Result<T, MfaError<A::Error>> {
        for _ in 0..self.config.max_attempts {
            let key = RecordKey::User(user);
            let stored = access.load(key).await.map_err(MfaError::Store)?;
            let now = self.config.clock.now();
            let applied = self.apply(user, stored.as_ref(), now, &mut transition)?;
            if let Some(sealed) = &applied.sealed {
                if self
                    .save_sealed(access, key, applied.version, sealed)
                    .await?
                    == SaveOutcome::Conflict
                {
                    continue;
                }
            }
            let result = applied.result;
            for event in result.events() {
                self.config.events.record(user, now, by, event);
            }
            return result.outcome.map_err(MfaError::from);
        }
        Err(MfaError::Contended)
    }

    /// Delivers one event at the clock's time.
    pub(crate) fn audit(&self, user: &str, by: &Actor, event: Event) {
        self.config
            .events
            .record(user, self.config.clock.now(), by, event);
    }
}
