//! The [`Store`] contract as functions: run them against your own store in
//! your own tests (feature `testkit`).
//!
//! Every promise `twostep` makes across servers — a code accepted once, a
//! recovery code spent once, an exact failure count — rests on the store's
//! compare-and-swap. These checks exercise it the way the service does, with
//! real threads, and answer with a [`ContractViolation`] naming what broke.
//! They write only records under fresh ids starting with `twostep-testkit-`,
//! so they can run against a database that holds other data (a test
//! database, not production: the records are left behind).
//!
//! ```
//! use twostep::{testkit, MemoryStore};
//!
//! // In a host's test suite, with its own store instead:
//! testkit::check_all(&MemoryStore::new())?;
//! # Ok::<(), testkit::ContractViolation>(())
//! ```

use std::collections::HashSet;
use std::error::Error;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};

use crate::store::{RecordKey, SaveOutcome, Store, Version, Versioned};

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

/// The threads [`check_all`] races against each other.
pub const DEFAULT_WRITERS: usize = 8;

/// The size of the record [`large_records`] writes: four times more than
/// any record `twostep` writes (they stay under 4 KiB).
pub const LARGE_RECORD: usize = 16 * 1024;

/// Runs every check below, in order, stopping at the first violation.
///
/// # Errors
/// The first [`ContractViolation`] found.
pub fn check_all<S: Store>(store: &S) -> Result<(), ContractViolation> {
    unknown_records(store)?;
    create_and_load(store)?;
    versioned_save(store)?;
    stale_version_conflicts(store)?;
    kinds_kept_apart(store)?;
    ids_and_bytes_kept_exactly(store)?;
    large_records(store)?;
    concurrent_creates(store, DEFAULT_WRITERS)?;
    concurrent_saves_of_one_version(store, DEFAULT_WRITERS)?;
    no_lost_updates(store, DEFAULT_WRITERS, 25)
}

/// A record never saved loads as `None`, and a save expecting a version of
/// it conflicts instead of creating it.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn unknown_records<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "unknown_records";
    let id = fresh_id("unknown");
    for key in [RecordKey::User(&id), RecordKey::Company(&id)] {
        expect_record(check, store, key, None)?;
        let outcome = save(check, store, key, Some(Version(1)), b"x")?;
        expect(check, outcome == SaveOutcome::Conflict, || {
            format!("saving {key:?} at version 1 when none exists gave {outcome:?}")
        })?;
        expect_record(check, store, key, None)?;
    }
    Ok(())
}

/// A record created with `expected = None` loads back with the version
/// `Saved` gave; creating it again conflicts and changes nothing.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn create_and_load<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "create_and_load";
    let id = fresh_id("create");
    let key = RecordKey::User(&id);
    let version = saved(check, store, key, None, b"first")?;
    expect_record(check, store, key, Some((version, b"first")))?;
    let again = save(check, store, key, None, b"second")?;
    expect(check, again == SaveOutcome::Conflict, || {
        format!("creating an existing record gave {again:?}")
    })?;
    expect_record(check, store, key, Some((version, b"first")))
}

/// A save at the loaded version writes and gives a version the record
/// never had before, and the next load returns it (read your writes).
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn versioned_save<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "versioned_save";
    let id = fresh_id("versioned");
    let key = RecordKey::User(&id);
    let mut seen = HashSet::new();
    let mut version = saved(check, store, key, None, b"0")?;
    seen.insert(version);
    for round in 1..=5u8 {
        let bytes = [round];
        version = saved(check, store, key, Some(version), &bytes)?;
        expect(check, seen.insert(version), || {
            format!("save {round} gave {version:?}, a version the record already had")
        })?;
        expect_record(check, store, key, Some((version, &bytes)))?;
    }
    Ok(())
}

/// A save expecting a version that is no longer stored conflicts and
/// writes nothing.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn stale_version_conflicts<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "stale_version_conflicts";
    let id = fresh_id("stale");
    let key = RecordKey::User(&id);
    let first = saved(check, store, key, None, b"one")?;
    let second = saved(check, store, key, Some(first), b"two")?;
    let stale = save(check, store, key, Some(first), b"stale")?;
    expect(check, stale == SaveOutcome::Conflict, || {
        format!("a save expecting the replaced {first:?} gave {stale:?}")
    })?;
    expect_record(check, store, key, Some((second, b"two")))
}

/// A user and a company with the same id are two records: writing one
/// changes neither the bytes nor the version of the other.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn kinds_kept_apart<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "kinds_kept_apart";
    let id = fresh_id("kinds");
    let user = RecordKey::User(&id);
    let company = RecordKey::Company(&id);
    let user_version = saved(check, store, user, None, b"user")?;
    expect_record(check, store, company, None)?;
    let company_version = saved(check, store, company, None, b"company")?;
    let company_version = saved(check, store, company, Some(company_version), b"company 2")?;
    expect_record(check, store, user, Some((user_version, b"user")))?;
    let user_version = saved(check, store, user, Some(user_version), b"user 2")?;
    expect_record(check, store, company, Some((company_version, b"company 2")))?;
    expect_record(check, store, user, Some((user_version, b"user 2")))
}

/// Ids are kept exactly (quotes, `%`, `_`, backslashes, non-ASCII, 255
/// bytes; ids differing only in case or trailing spaces are different
/// records) and so are bytes (every byte value, NUL included, and an empty
/// record).
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn ids_and_bytes_kept_exactly<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "ids_and_bytes_kept_exactly";
    let base = fresh_id("ids");
    let long = format!("{base}-{}", "é".repeat(127));
    let long: String = long
        .char_indices()
        .take_while(|(i, c)| i + c.len_utf8() <= 255)
        .map(|(_, c)| c)
        .collect();
    let ids = [
        format!("{base}-O'Brien \"x\"; --"),
        format!("{base}-100%_\\"),
        format!("{base}-Zoë 東京"),
        format!("{base}-case"),
        format!("{base}-CASE"),
        format!("{base}-case "),
        long,
    ];
    let all_bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let mut written = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mut bytes = all_bytes.clone();
        bytes.extend_from_slice(id.as_bytes());
        bytes.push(u8::try_from(i).unwrap_or(u8::MAX));
        let version = saved(check, store, RecordKey::User(id), None, &bytes)?;
        written.push((id, version, bytes));
    }
    for (id, version, bytes) in &written {
        expect_record(check, store, RecordKey::User(id), Some((*version, bytes)))?;
    }
    let empty_id = fresh_id("empty");
    let key = RecordKey::User(&empty_id);
    let version = saved(check, store, key, None, b"")?;
    expect_record(check, store, key, Some((version, b"")))
}

/// A record of [`LARGE_RECORD`] bytes comes back whole.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn large_records<S: Store>(store: &S) -> Result<(), ContractViolation> {
    let check = "large_records";
    let id = fresh_id("large");
    let key = RecordKey::User(&id);
    let bytes: Vec<u8> = (0..LARGE_RECORD)
        .map(|i| (i.wrapping_mul(31) % 251) as u8)
        .collect();
    let version = saved(check, store, key, None, &bytes)?;
    expect_record(check, store, key, Some((version, &bytes)))
}

/// `writers` threads (at least 1) create the same record at the same instant: exactly
/// one is `Saved`, and the record holds its bytes.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn concurrent_creates<S: Store>(store: &S, writers: usize) -> Result<(), ContractViolation> {
    let writers = writers.max(1);
    let check = "concurrent_creates";
    let id = fresh_id("creates");
    let key = RecordKey::User(&id);
    let outcomes = race(check, writers, |writer| {
        save(check, store, key, None, &writer_bytes(writer)).map(|o| (writer, o))
    })?;
    one_winner(check, store, key, &outcomes)
}

/// `writers` threads (at least 1) save over the same loaded version at the same
/// instant — what happens when one code reaches several servers: exactly
/// one is `Saved`.
///
/// # Errors
/// A [`ContractViolation`] naming what the store did instead.
pub fn concurrent_saves_of_one_version<S: Store>(
    store: &S,
    writers: usize,
) -> Result<(), ContractViolation> {
    let check = "concurrent_saves_of_one_version";
    let writers = writers.max(1);
    let id = fresh_id("one-version");
    let key = RecordKey::User(&id);
    let version = saved(check, store, key, None, b"start")?;
    let outcomes = race(check, writers, |writer| {
        save(check, store, key, Some(version), &writer_bytes(writer)).map(|o| (writer, o))
    })?;
    one_winner(check, store, key, &outcomes)
}

/// `writers` threads (at least 1) each add 1 to a counter `rounds` times with
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
    let check = "no_lost_updates";
    let writers = writers.max(1);
    let id = fresh_id("counter");
    let key = RecordKey::User(&id);
    saved(check, store, key, None, &0u64.to_be_bytes())?;
    let versions = Mutex::new(Vec::new());
    race(check, writers, |_| {
        for _ in 0..rounds {
            increment(check, store, key, &versions)?;
        }
        Ok(())
    })?;
    let total = rounds.saturating_mul(writers as u64);
    let stored = load(check, store, key)?.map(|r| counter(&r));
    expect(check, stored == Some(Some(total)), || {
        format!(
            "{writers} writers × {rounds} increments left the counter at {stored:?}, not {total}"
        )
    })?;
    let versions = versions.into_inner().unwrap_or_else(|e| e.into_inner());
    let distinct: HashSet<&Version> = versions.iter().collect();
    expect(check, distinct.len() == versions.len(), || {
        format!(
            "{} saves were given only {} distinct versions",
            versions.len(),
            distinct.len()
        )
    })
}

/// One increment of the counter, retried on conflict (bounded, so a store
/// that always conflicts is reported rather than spun on forever).
fn increment<S: Store>(
    check: &'static str,
    store: &S,
    key: RecordKey<'_>,
    versions: &Mutex<Vec<Version>>,
) -> Result<(), ContractViolation> {
    for _ in 0..100_000 {
        let record = load(check, store, key)?
            .ok_or_else(|| broken(check, "the counter record disappeared".into()))?;
        let value = counter(&record).ok_or_else(|| {
            broken(
                check,
                format!("the counter came back as {:?}", record.bytes),
            )
        })?;
        let next = value.wrapping_add(1).to_be_bytes();
        if let SaveOutcome::Saved(version) = save(check, store, key, Some(record.version), &next)? {
            versions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(version);
            return Ok(());
        }
    }
    Err(broken(
        check,
        "100,000 conflicts in a row on one increment".into(),
    ))
}

fn counter(record: &Versioned) -> Option<u64> {
    Some(u64::from_be_bytes(record.bytes.as_slice().try_into().ok()?))
}

fn writer_bytes(writer: usize) -> Vec<u8> {
    format!("writer {writer}").into_bytes()
}

/// Exactly one of `outcomes` is `Saved`, and the record is the winner's.
fn one_winner<S: Store>(
    check: &'static str,
    store: &S,
    key: RecordKey<'_>,
    outcomes: &[(usize, SaveOutcome)],
) -> Result<(), ContractViolation> {
    let winners: Vec<(usize, Version)> = outcomes
        .iter()
        .filter_map(|(writer, outcome)| match outcome {
            SaveOutcome::Saved(version) => Some((*writer, *version)),
            SaveOutcome::Conflict => None,
        })
        .collect();
    match winners.as_slice() {
        [(writer, version)] => {
            expect_record(check, store, key, Some((*version, &writer_bytes(*writer))))
        }
        _ => Err(broken(
            check,
            format!(
                "{} of {} racing saves were Saved; exactly one must be",
                winners.len(),
                outcomes.len()
            ),
        )),
    }
}

/// Runs `work` on `threads` threads released at one instant; the results
/// in thread order, or the first violation.
fn race<T: Send>(
    check: &'static str,
    threads: usize,
    work: impl Fn(usize) -> Result<T, ContractViolation> + Sync,
) -> Result<Vec<T>, ContractViolation> {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|writer| {
                let (start, work) = (&start, &work);
                scope.spawn(move || {
                    start.wait();
                    work(writer)
                })
            })
            .collect();
        // Join every thread before looking at any result, so that a panic
        // in one becomes a violation rather than a panic of the scope.
        let joined: Vec<_> = handles.into_iter().map(|handle| handle.join()).collect();
        joined
            .into_iter()
            .map(|joined| {
                joined.unwrap_or_else(|_| Err(broken(check, "a store call panicked".into())))
            })
            .collect()
    })
}

/// A fresh id no earlier run used: the process, a counter and a random
/// number (std's per-process random hash keys).
fn fresh_id(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one(n);
    format!(
        "twostep-testkit-{label}-{}-{n}-{random:016x}",
        std::process::id()
    )
}

fn broken(check: &'static str, what: String) -> ContractViolation {
    ContractViolation::Broken { check, what }
}

fn expect(
    check: &'static str,
    holds: bool,
    what: impl FnOnce() -> String,
) -> Result<(), ContractViolation> {
    if holds {
        Ok(())
    } else {
        Err(broken(check, what()))
    }
}

fn load<S: Store>(
    check: &'static str,
    store: &S,
    key: RecordKey<'_>,
) -> Result<Option<Versioned>, ContractViolation> {
    store.load(key).map_err(|e| ContractViolation::Store {
        check,
        source: Box::new(e),
    })
}

fn save<S: Store>(
    check: &'static str,
    store: &S,
    key: RecordKey<'_>,
    expected: Option<Version>,
    bytes: &[u8],
) -> Result<SaveOutcome, ContractViolation> {
    store
        .save(key, expected, bytes)
        .map_err(|e| ContractViolation::Store {
            check,
            source: Box::new(e),
        })
}

/// A save that must succeed; its new version.
fn saved<S: Store>(
    check: &'static str,
    store: &S,
    key: RecordKey<'_>,
    expected: Option<Version>,
    bytes: &[u8],
) -> Result<Version, ContractViolation> {
    match save(check, store, key, expected, bytes)? {
        SaveOutcome::Saved(version) => Ok(version),
        SaveOutcome::Conflict => Err(broken(
            check,
            format!("saving {key:?} expecting {expected:?} conflicted with no other writer"),
        )),
    }
}

/// The record under `key` is exactly `want` (version and bytes), or absent.
fn expect_record<S: Store>(
    check: &'static str,
    store: &S,
    key: RecordKey<'_>,
    want: Option<(Version, &[u8])>,
) -> Result<(), ContractViolation> {
    let got = load(check, store, key)?;
    let got_ref = got.as_ref().map(|r| (r.version, r.bytes.as_slice()));
    expect(check, got_ref == want, || {
        format!(
            "{key:?} loaded as {:?}, expected {:?}",
            got_ref.map(|(v, b)| (v, b.len())),
            want.map(|(v, b)| (v, b.len()))
        )
    })
}
