//! The sans-IO path: the host loads the user's record itself, gets the
//! decision and the bytes to save, saves them in its own transaction (with
//! its session row, say), and only then gets the answer, by handing back
//! what the save did. An acceptance cannot be had before its save.

use std::convert::Infallible;

use crate::account::{Context, MfaRecord, Transition};
use crate::event::{Actor, Event};
use crate::otp::Verified;
use crate::store::{RecordKey, SaveOutcome, Version, Versioned};
use crate::RecoveryUsed;

use super::core::Core;
use super::MfaError;

/// A decision taken on a record the host loaded itself, waiting for the
/// host to save it: what [`Mfa::prepare_verify`](crate::Mfa::prepare_verify)
/// and [`Mfa::prepare_recovery_code`](crate::Mfa::prepare_recovery_code)
/// return.
///
/// The answer is given only by [`finish`](Prepared::finish), with what the
/// host's save did: an accepted code counts only once its step is saved,
/// exactly as through a [`Store`](crate::Store). Events are delivered then.
///
/// ```
/// # #[cfg(feature = "getrandom")] {
/// use twostep::{Mfa, MemoryStore, RecordKey, SaveOutcome, Store};
/// # let mfa = Mfa::in_memory()?;
/// # let store = MemoryStore::new();
/// // In the host's own transaction:
/// let stored = store.load(RecordKey::User("u"))?;                 // SELECT … FOR the row
/// let prepared = mfa.prepare_verify("u", stored.as_ref(), "123456")?;
/// let saved = match prepared.save() {
///     Some(save) => Some(store.save(save.key(), save.expected(), save.bytes())?), // UPDATE … WHERE version = …
///     None => None,                                                // nothing to write
/// };
/// if prepared.accepts() { /* insert the session row */ }
/// // … commit; if the commit fails, the save did not happen: pass None …
/// match prepared.finish(saved) {
///     Ok(verified) => { /* signed in */ }
///     Err(refused) => { /* the answer for the person: refused.for_person() */ }
/// }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is accepted until finish() is given the save's result"]
pub struct Prepared<T> {
    core: Core,
    user: String,
    by: Actor,
    now: u64,
    save: Option<(Option<Version>, Vec<u8>)>,
    outcome: Result<T, MfaError<Infallible>>,
    events: Vec<Event>,
}

/// The write a [`Prepared`] decision needs: the bytes, under the user's
/// key, if the stored version is still the expected one (one conditional
/// `UPDATE … WHERE version = expected`, or an `INSERT` when `expected` is
/// `None`).
#[derive(Debug)]
pub struct Save<'p> {
    user: &'p str,
    expected: Option<Version>,
    bytes: &'p [u8],
}

impl Save<'_> {
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
    /// Whether the decision is an acceptance, once saved: a host writes its
    /// session row in the same transaction only then. The accepted value
    /// itself comes only from [`finish`](Self::finish).
    pub fn accepts(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The write to make in the host's transaction, if the decision changed
    /// the record (a refusal can change it too: a counted failure).
    pub fn save(&self) -> Option<Save<'_>> {
        self.save.as_ref().map(|(expected, bytes)| Save {
            user: &self.user,
            expected: *expected,
            bytes,
        })
    }

    /// The answer, given what the host's save did (`None` when
    /// [`save`](Self::save) asked for none). A decision that needed a save
    /// answers only after `Saved`; after `Conflict` (another request wrote
    /// the record first) or without a save it answers
    /// [`MfaError::Contended`]: load the record again and decide again.
    ///
    /// # Errors
    /// The decision's refusal, or [`MfaError::Contended`] as above.
    pub fn finish(self, saved: Option<SaveOutcome>) -> Result<T, MfaError<Infallible>> {
        let written = matches!(saved, Some(SaveOutcome::Saved(_)));
        if self.save.is_some() && !written {
            return Err(MfaError::Contended);
        }
        for event in self.events {
            self.core
                .events
                .record(&self.user, self.now, &self.by, event);
        }
        self.outcome
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Prepared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("user", &self.user)
            .field("save", &self.save.as_ref().map(|(v, b)| (v, b.len())))
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A transition on the record the host loaded, prepared for its save.
    fn prepare<T>(
        &self,
        user: &str,
        stored: Option<&Versioned>,
        transition: impl FnOnce(&mut MfaRecord, &Context<'_>) -> Transition<T>,
    ) -> Result<Prepared<T>, MfaError<Infallible>> {
        let now = self.clock.now();
        let applied = self.apply(user, stored, now, |loaded, cx| {
            transition(&mut loaded.record, cx)
        })?;
        let result = applied.result;
        let save = applied.sealed.map(|sealed| (applied.version, sealed));
        Ok(Prepared {
            core: self.clone(),
            user: user.to_owned(),
            by: Actor::User,
            now,
            save,
            events: result.events().collect(),
            outcome: result.outcome.map_err(MfaError::from),
        })
    }

    pub(crate) fn prepare_verify(
        &self,
        user: &str,
        stored: Option<&Versioned>,
        input: &str,
    ) -> Result<Prepared<Verified>, MfaError<Infallible>> {
        self.prepare(user, stored, |record, cx| record.verify(cx, input))
    }

    pub(crate) fn prepare_recovery_code(
        &self,
        user: &str,
        stored: Option<&Versioned>,
        input: &str,
    ) -> Result<Prepared<RecoveryUsed>, MfaError<Infallible>> {
        self.prepare(user, stored, |record, cx| {
            record.use_recovery_code(cx, input)
        })
    }
}
