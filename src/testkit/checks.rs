//! The checks, each once, over [`Kit`]: a store's two calls and a race.
//! Documented where they are exported (`mod.rs`).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{ContractViolation, Kit, DEFAULT_WRITERS, LARGE_RECORD};
use crate::storage::{RecordKey, SaveOutcome, Version, Versioned};

pub(super) async fn check_all<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    unknown_records(kit).await?;
    create_and_load(kit).await?;
    versioned_save(kit).await?;
    stale_version_conflicts(kit).await?;
    kinds_kept_apart(kit).await?;
    ids_and_bytes_kept_exactly(kit).await?;
    large_records(kit).await?;
    concurrent_creates(kit, DEFAULT_WRITERS).await?;
    concurrent_saves_of_one_version(kit, DEFAULT_WRITERS).await?;
    no_lost_updates(kit, DEFAULT_WRITERS, 25).await
}

pub(super) async fn unknown_records<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    let check = "unknown_records";
    let id = fresh_id("unknown");
    for key in [RecordKey::User(&id), RecordKey::Company(&id)] {
        expect_record(check, kit, key, None).await?;
        let outcome = save(check, kit, key, Some(Version(1)), b"x").await?;
        expect(check, outcome == SaveOutcome::Conflict, || {
            format!("a save expecting version 1 of an unknown {key:?} answered {outcome:?}")
        })?;
        expect_record(check, kit, key, None).await?;
    }
    Ok(())
}

pub(super) async fn create_and_load<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    let check = "create_and_load";
    let id = fresh_id("create");
    let key = RecordKey::User(&id);
    let version = saved(check, kit, key, None, b"first").await?;
    expect_record(check, kit, key, Some((version, b"first"))).await?;
    let again = save(check, kit, key, None, b"second").await?;
    expect(check, again == SaveOutcome::Conflict, || {
        format!("creating an existing record answered {again:?}")
    })?;
    expect_record(check, kit, key, Some((version, b"first"))).await
}

pub(super) async fn versioned_save<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    let check = "versioned_save";
    let id = fresh_id("versions");
    let key = RecordKey::User(&id);
    let mut seen = HashSet::new();
    let mut version = saved(check, kit, key, None, b"0").await?;
    seen.insert(version);
    for i in 1..=5u8 {
        let bytes = [b'0' + i];
        version = saved(check, kit, key, Some(version), &bytes).await?;
        expect(check, seen.insert(version), || {
            format!("save {i} gave {version:?} again")
        })?;
        expect_record(check, kit, key, Some((version, &bytes))).await?;
    }
    Ok(())
}

pub(super) async fn stale_version_conflicts<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    let check = "stale_version_conflicts";
    let id = fresh_id("stale");
    let key = RecordKey::User(&id);
    let first = saved(check, kit, key, None, b"one").await?;
    let second = saved(check, kit, key, Some(first), b"two").await?;
    let stale = save(check, kit, key, Some(first), b"stale").await?;
    expect(check, stale == SaveOutcome::Conflict, || {
        format!("a save at the replaced version {first:?} answered {stale:?}")
    })?;
    expect_record(check, kit, key, Some((second, b"two"))).await
}

pub(super) async fn kinds_kept_apart<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    let check = "kinds_kept_apart";
    let id = fresh_id("kinds");
    let (user, company) = (RecordKey::User(&id), RecordKey::Company(&id));
    let user_version = saved(check, kit, user, None, b"user").await?;
    expect_record(check, kit, company, None).await?;
    let company_version = saved(check, kit, company, None, b"company").await?;
    let company_version = saved(check, kit, company, Some(company_version), b"company 2").await?;
    expect_record(check, kit, user, Some((user_version, b"user"))).await?;
    let user_version = saved(check, kit, user, Some(user_version), b"user 2").await?;
    expect_record(check, kit, company, Some((company_version, b"company 2"))).await?;
    expect_record(check, kit, user, Some((user_version, b"user 2"))).await
}

pub(super) async fn ids_and_bytes_kept_exactly<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
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
        let version = saved(check, kit, RecordKey::User(id), None, &bytes).await?;
        written.push((id, version, bytes));
    }
    for (id, version, bytes) in &written {
        expect_record(check, kit, RecordKey::User(id), Some((*version, bytes))).await?;
    }
    let empty_id = fresh_id("empty");
    let key = RecordKey::User(&empty_id);
    let version = saved(check, kit, key, None, b"").await?;
    expect_record(check, kit, key, Some((version, b""))).await
}

pub(super) async fn large_records<K: Kit>(kit: &K) -> Result<(), ContractViolation> {
    let check = "large_records";
    let id = fresh_id("large");
    let key = RecordKey::User(&id);
    let bytes: Vec<u8> = (0..LARGE_RECORD)
        .map(|i| (i.wrapping_mul(31) % 251) as u8)
        .collect();
    let version = saved(check, kit, key, None, &bytes).await?;
    expect_record(check, kit, key, Some((version, &bytes))).await
}

pub(super) async fn concurrent_creates<K: Kit>(
    kit: &K,
    writers: usize,
) -> Result<(), ContractViolation> {
    let check = "concurrent_creates";
    let writers = writers.max(1);
    let id = fresh_id("creates");
    let key = RecordKey::User(&id);
    let outcomes = kit
        .race(check, writers, |writer| async move {
            let outcome = save(check, kit, key, None, &writer_bytes(writer)).await?;
            Ok((writer, outcome))
        })
        .await?;
    one_winner(check, kit, key, &outcomes).await
}

pub(super) async fn concurrent_saves_of_one_version<K: Kit>(
    kit: &K,
    writers: usize,
) -> Result<(), ContractViolation> {
    let check = "concurrent_saves_of_one_version";
    let writers = writers.max(1);
    let id = fresh_id("one-version");
    let key = RecordKey::User(&id);
    let version = saved(check, kit, key, None, b"start").await?;
    let outcomes = kit
        .race(check, writers, |writer| async move {
            let outcome = save(check, kit, key, Some(version), &writer_bytes(writer)).await?;
            Ok((writer, outcome))
        })
        .await?;
    one_winner(check, kit, key, &outcomes).await
}

pub(super) async fn no_lost_updates<K: Kit>(
    kit: &K,
    writers: usize,
    rounds: u64,
) -> Result<(), ContractViolation> {
    let check = "no_lost_updates";
    let writers = writers.max(1);
    let id = fresh_id("counter");
    let key = RecordKey::User(&id);
    saved(check, kit, key, None, &0u64.to_be_bytes()).await?;
    let versions = Mutex::new(Vec::new());
    let versions = &versions;
    kit.race(check, writers, |_| async move {
        for _ in 0..rounds {
            let version = increment(check, kit, key).await?;
            versions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(version);
        }
        Ok(())
    })
    .await?;
    let total = rounds.saturating_mul(writers as u64);
    let stored = load(check, kit, key).await?.map(|r| counter(&r));
    expect(check, stored == Some(Some(total)), || {
        format!(
            "{writers} writers × {rounds} increments left the counter at {stored:?}, not {total}"
        )
    })?;
    let versions = versions.lock().unwrap_or_else(|e| e.into_inner());
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
/// that always conflicts is reported rather than spun on forever); the
/// version it was saved at.
async fn increment<K: Kit>(
    check: &'static str,
    kit: &K,
    key: RecordKey<'_>,
) -> Result<Version, ContractViolation> {
    for _ in 0..100_000 {
        let record = load(check, kit, key)
            .await?
            .ok_or_else(|| broken(check, "the counter record disappeared".into()))?;
        let value = counter(&record).ok_or_else(|| {
            broken(
                check,
                format!("the counter came back as {:?}", record.bytes),
            )
        })?;
        let next = value.wrapping_add(1).to_be_bytes();
        if let SaveOutcome::Saved(version) =
            save(check, kit, key, Some(record.version), &next).await?
        {
            return Ok(version);
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
async fn one_winner<K: Kit>(
    check: &'static str,
    kit: &K,
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
            let bytes = writer_bytes(*writer);
            expect_record(check, kit, key, Some((*version, &bytes))).await
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

pub(super) fn broken(check: &'static str, what: String) -> ContractViolation {
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

async fn load<K: Kit>(
    check: &'static str,
    kit: &K,
    key: RecordKey<'_>,
) -> Result<Option<Versioned>, ContractViolation> {
    kit.load(key)
        .await
        .map_err(|source| ContractViolation::Store { check, source })
}

async fn save<K: Kit>(
    check: &'static str,
    kit: &K,
    key: RecordKey<'_>,
    expected: Option<Version>,
    bytes: &[u8],
) -> Result<SaveOutcome, ContractViolation> {
    kit.save(key, expected, bytes)
        .await
        .map_err(|source| ContractViolation::Store { check, source })
}

/// A save that must succeed; its new version.
async fn saved<K: Kit>(
    check: &'static str,
    kit: &K,
    key: RecordKey<'_>,
    expected: Option<Version>,
    bytes: &[u8],
) -> Result<Version, ContractViolation> {
    match save(check, kit, key, expected, bytes).await? {
        SaveOutcome::Saved(version) => Ok(version),
        SaveOutcome::Conflict => Err(broken(
            check,
            format!("saving {key:?} expecting {expected:?} conflicted with no other writer"),
        )),
    }
}

/// The record under `key` is exactly `want` (version and bytes), or absent.
async fn expect_record<K: Kit>(
    check: &'static str,
    kit: &K,
    key: RecordKey<'_>,
    want: Option<(Version, &[u8])>,
) -> Result<(), ContractViolation> {
    let got = load(check, kit, key).await?;
    let got_ref = got.as_ref().map(|r| (r.version, r.bytes.as_slice()));
    expect(check, got_ref == want, || {
        format!(
            "{key:?} loaded as {:?}, expected {:?}",
            got_ref.map(|(v, b)| (v, b.len())),
            want.map(|(v, b)| (v, b.len()))
        )
    })
}
