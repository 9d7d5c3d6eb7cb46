//! The sans-IO path: the host loads the user's record itself, gets the
//! decision and the bytes to write, writes them in its own transaction
//! (with its session row, say), and only then learns whether the code was
//! accepted, by handing back what the write did; the events wait for the
//! host's word that the transaction committed.
//!
//! Three types, one per moment, so the order cannot be written wrong:
//! [`Prepared`] (decided, not written: no answer can be read from it),
//! [`Written`] (the write's outcome known: the session value to store
//! exists only for an acceptance whose write succeeded), and the answer,
//! from [`Written::committed`].

use std::convert::Infallible;

use crate::account::{Context, MfaRecord, Transition};
use crate::codes::Verified;
use crate::keys::session_proof::MfaSession;
use crate::rules::events::{Actor, Event};
use crate::screen::RecoveryUsed;
use crate::storage::{RecordKey, SaveOutcome, Version, Versioned};

use super::core::Core;
use super::MfaError;

/// A decision taken on a record the host loaded itself, waiting for the
/// host to write it: what [`Mfa::prepare_verify`](crate::Mfa::prepare_verify)
/// and [`Mfa::prepare_recovery_code`](crate::Mfa::prepare_recovery_code)
/// return.
///
/// It tells nothing of the answer. Write [`write`](Prepared::write) in your
/// transaction, then hand its outcome to [`written`](Prepared::written):
/// only then is it known whether the code was accepted, because a second
/// request with the same code may have written first (on PostgreSQL at
/// READ COMMITTED its `UPDATE … WHERE version = …` waits for the first
/// transaction and then changes no row).
///
/// ```
/// # #[cfg(feature = "getrandom")] {
/// use twostep::{Mfa, MemoryStore, Store};
/// use twostep::store::RecordKey;
/// # let mfa = Mfa::in_memory()?;
/// # let store = MemoryStore::new();
/// # let session = mfa.start_session("u")?;
/// // In the host's own transaction:
/// let stored = store.load(RecordKey::User("u"))?;                      // SELECT the row
/// let prepared = mfa.prepare_verify("u", &session, stored.as_ref(), "123456")?;
/// let outcome = match prepared.write() {
///     Some(write) => Some(store.save(write.key(), write.expected(), write.bytes())?), // UPDATE … WHERE version = …
///     None => None,                                                     // nothing to write
/// };
/// let written = prepared.written(outcome);
/// if let Some(session) = written.session() {
///     /* accepted and written: INSERT the session row holding `session` */
/// }
/// /* COMMIT, whatever the answer: a refused code may have counted a failure */
/// match written.committed() {                                           // after the COMMIT succeeded
///     Ok(verified) => { /* signed in */ }
///     Err(refused) => { /* refused.for_person() */ }
/// }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is decided until written() is given the write's outcome"]
pub struct Prepared<T> {
    core: Core,
    user: String,
    now: u64,
    write: Option<(Option<Version>, Vec<u8>)>,
    outcome: Result<(T, MfaSession), MfaError<Infallible>>,
    events: Vec<Event>,
}

/// The write a [`Prepared`] decision needs: the bytes, under the user's
/// key, if the stored version is still the expected one (one conditional
/// `UPDATE … WHERE version = expected`, or an `INSERT` when `expected` is
/// `None`).
#[derive(Debug)]
pub struct Write<'p> {
    user: &'p str,
    expected: Option<Version>,
    bytes: &'p [u8],
}

impl Write<'_> {
    /// The record to write.
    pub fn key(&self) -> RecordKey<'_> {
        RecordKey::User(self.user)
    }

    /// The version the stored record must still have (`None`: there must
    /// be none).
    pub fn expected(&self) -> Option<Version> {
        self.expected
    }

    /// The bytes to write.
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }
}

impl<T> Prepared<T> {
    /// The write to make in the host's transaction, if the decision changed
    /// the record (a refusal can change it too: a counted failure).
    pub fn write(&self) -> Option<Write<'_>> {
        self.write.as_ref().map(|(expected, bytes)| Write {
            user: &self.user,
            expected: *expected,
            bytes,
        })
    }

    /// The decision, given what the host's write did (`None` when
    /// [`write`](Self::write) asked for none). A decision that needed a
    /// write stands only after `Saved`; after `Conflict` (another request
    /// wrote the record first), or without the write, it is
    /// [`MfaError::Contended`]: load the record again and decide again.
    pub fn written(self, outcome: Option<SaveOutcome>) -> Written<T> {
        let stands = self.write.is_none() || matches!(outcome, Some(SaveOutcome::Saved(_)));
        let (answer, events) = if stands {
            (self.outcome, self.events)
        } else {
            (Err(MfaError::Contended), Vec::new())
        };
        Written {
            core: self.core,
            user: self.user,
            now: self.now,
            answer,
            events,
        }
    }
}

/// A decision whose write is done, in a transaction the host has yet to
/// commit: [`session`](Written::session) is what to store with the
/// session row, [`committed`](Written::committed) the answer once the
/// commit succeeded. If the commit fails, drop it: nothing was accepted and
/// no event is delivered.
#[must_use = "the answer and the events come from committed()"]
pub struct Written<T> {
    core: Core,
    user: String,
    now: u64,
    answer: Result<(T, MfaSession), MfaError<Infallible>>,
    events: Vec<Event>,
}

impl<T> Written<T> {
    /// The person's session as it is after an accepted code, to write with
    /// the host's session row in the same transaction; `None` unless the
    /// code was accepted and its write succeeded.
    pub fn session(&self) -> Option<&MfaSession> {
        self.answer.as_ref().ok().map(|(_, session)| session)
    }

    /// The answer, once the host's transaction committed: the events are
    /// delivered now.
    ///
    /// # Errors
    /// The decision's refusal, or [`MfaError::Contended`] when another
    /// request wrote the record first.
    pub fn committed(self) -> Result<T, MfaError<Infallible>> {
        for event in self.events {
            self.core
                .config
                .events
                .record(&self.user, self.now, &Actor::User, event);
        }
        self.answer.map(|(value, _)| value)
    }
}

impl<T> std::fmt::Debug for Prepared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("user", &self.user)
            .field("write", &self.write.as_ref().map(|(v, b)| (v, b.len())))
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Written<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Written")
            .field("user", &self.user)
            .field("accepted", &self.answer.is_ok())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A transition on the record the host loaded, prepared for its write.
    fn prepare<T>(
        &self,
        user: &str,
        stored: Option<&Versioned>,
        transition: impl FnOnce(&mut MfaRecord, &Context<'_>) -> Transition<(T, MfaSession)>,
    ) -> Result<Prepared<T>, MfaError<Infallible>> {
        let now = self.config.clock.now();
        let applied = self.apply(user, stored, now, |loaded, cx| {
            transition(&mut loaded.record, cx)
        })?;
        let result = applied.result;
        Ok(Prepared {
            core: self.clone(),
            user: user.to_owned(),
            now,
            write: applied.sealed.map(|sealed| (applied.version, sealed)),
            events: result.events().collect(),
            outcome: result.outcome.map_err(MfaError::from),
        })
    }

    pub(crate) fn prepare_verify(
        &self,
        user: &str,
        session: &MfaSession,
        stored: Option<&Versioned>,
        input: &str,
    ) -> Result<Prepared<Verified>, MfaError<Infallible>> {
        self.prepare(user, stored, |record, cx| {
            record.verify_in(cx, session, input)
        })
    }

    pub(crate) fn prepare_recovery_code(
        &self,
        user: &str,
        session: &MfaSession,
        stored: Option<&Versioned>,
        input: &str,
    ) -> Result<Prepared<RecoveryUsed>, MfaError<Infallible>> {
        self.prepare(user, stored, |record, cx| {
            record.recovery_code_in(cx, session, input)
        })
    }
}
