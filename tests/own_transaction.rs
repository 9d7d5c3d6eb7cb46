//! The sans-IO path: the host loads and writes the record itself, in its
//! own transaction, learns whether the code was accepted only by handing
//! back what its write did, and gets the answer and the events only once
//! it says the transaction committed.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use common::{code_at, enrollment};
use twostep::clock::ManualClock;
use twostep::event::{CollectingSink, Event};
use twostep::store::{RecordKey, SaveOutcome, Version};
use twostep::{Config, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Store};

const NOW: u64 = 1_700_000_000;

struct Host {
    mfa: Mfa<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    sink: Arc<CollectingSink>,
    session: MfaSession,
}

fn host() -> (Host, twostep::Enrollment) {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(CollectingSink::new());
    let mfa = Mfa::with_config(
        store.clone(),
        Keyring::new(1, &[8; 32]),
        Config::default()
            .with_clock(ManualClock::new(NOW + 30))
            .with_events(sink.clone()),
    );
    let phone = enrollment(40);
    let mut session = mfa.start_session("u").unwrap();
    mfa.bind("u", &mut session, &phone, &code_at(&phone, NOW + 30))
        .unwrap();
    let session = mfa.start_session("u").unwrap();
    sink.take();
    (
        Host {
            mfa,
            store,
            sink,
            session,
        },
        phone,
    )
}

impl Host {
    /// One attempt: the record as stored now, the decision, the write done
    /// by `write` (which says what the database did), and whether a session
    /// row would be written; then the commit and the answer.
    fn attempt(
        &self,
        input: &str,
        write: impl FnOnce(RecordKey<'_>, Option<Version>, &[u8]) -> Option<SaveOutcome>,
    ) -> (bool, Result<u64, MfaError<std::convert::Infallible>>) {
        let stored = self.store.load(RecordKey::User("u")).unwrap();
        let prepared = self
            .mfa
            .prepare_verify("u", &self.session, stored.as_ref(), input)
            .unwrap();
        let outcome = prepared
            .write()
            .and_then(|w| write(w.key(), w.expected(), w.bytes()));
        let written = prepared.written(outcome);
        let session_row = written.session().is_some();
        (session_row, written.committed().map(|v| v.step))
    }

    fn really_save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Option<SaveOutcome> {
        Some(self.store.save(key, expected, bytes).unwrap())
    }
}

#[test]
fn a_code_is_accepted_only_once_its_write_is_reported() {
    let (host, phone) = host();
    let code = code_at(&phone, NOW + 60);
    // The host's write did not happen (rolled back): nothing accepted, no
    // session row, nothing audited; the code is still good.
    let (row, rolled_back) = host.attempt(&code, |_, _, _| None);
    assert!(!row);
    assert!(matches!(rolled_back, Err(MfaError::Contended)));
    assert!(host.sink.take().is_empty());
    // Another request wrote first: no acceptance either.
    let (row, raced) = host.attempt(&code, |_, _, _| Some(SaveOutcome::Conflict));
    assert!(!row);
    assert!(matches!(raced, Err(MfaError::Contended)));
    // Written: accepted, a session row, and audited once committed.
    let (row, accepted) = host.attempt(&code, |k, v, b| host.really_save(k, v, b));
    assert!(row && accepted.is_ok());
    assert!(matches!(
        host.sink.take()[..],
        [twostep::event::RecordedEvent {
            event: Event::Verified { .. },
            ..
        }]
    ));
    // The same code again needs no write, and is a replay.
    let (row, again) = host.attempt(&code, |_, _, _| panic!("a replay writes nothing"));
    assert!(!row);
    assert!(matches!(again, Err(MfaError::Replayed { .. })));
    // Through the ordinary path too.
    let mut session = host.session.clone();
    assert!(matches!(
        host.mfa.verify("u", &mut session, &code),
        Err(MfaError::Replayed { .. })
    ));
}

#[test]
fn a_wrong_code_is_counted_through_the_hosts_write_and_events_wait_for_the_commit() {
    let (host, _) = host();
    let stored = host.store.load(RecordKey::User("u")).unwrap();
    let prepared = host
        .mfa
        .prepare_verify("u", &host.session, stored.as_ref(), "000000")
        .unwrap();
    let write = prepared
        .write()
        .expect("a failure is counted in the record");
    let saved = host
        .store
        .save(write.key(), write.expected(), write.bytes())
        .unwrap();
    let written = prepared.written(Some(saved));
    assert!(written.session().is_none());
    assert!(host.sink.take().is_empty(), "not before the commit");
    assert!(matches!(written.committed(), Err(MfaError::Mismatch)));
    assert!(matches!(
        host.sink.take()[..],
        [twostep::event::RecordedEvent {
            event: Event::Rejected { .. },
            ..
        }]
    ));
    assert_eq!(host.mfa.status("u").unwrap().failures, 1);
    // A commit that failed: dropped, no event.
    let stored = host.store.load(RecordKey::User("u")).unwrap();
    let prepared = host
        .mfa
        .prepare_verify("u", &host.session, stored.as_ref(), "000001")
        .unwrap();
    drop(prepared.written(Some(SaveOutcome::Saved(Version(99)))));
    assert!(host.sink.take().is_empty());
}

#[test]
fn a_record_that_does_not_open_is_refused_before_anything_is_decided() {
    let (host, phone) = host();
    let mut stored = host.store.load(RecordKey::User("u")).unwrap().unwrap();
    let last = stored.bytes.len() - 1;
    stored.bytes[last] ^= 1;
    assert!(matches!(
        host.mfa.prepare_verify(
            "u",
            &host.session,
            Some(&stored),
            &code_at(&phone, NOW + 60)
        ),
        Err(MfaError::CorruptRecord(_))
    ));
}

/// Review finding: two requests with one code, each in its own transaction
/// on a real database, the host writing its session row when the decision
/// said "accepted" before the write's outcome was known: 2 sessions for 1
/// code on PostgreSQL at READ COMMITTED. Now a session row can only be
/// written from the write's outcome: exactly one.
#[cfg(any(feature = "sqlx-postgres", feature = "sqlx-sqlite"))]
mod two_transactions {
    use super::*;
    use twostep::AsyncMfa;

    /// Runs two requests with `code` against `pool`: request A loads and
    /// writes first, request B loads the same version before A commits,
    /// writes (on PostgreSQL its UPDATE waits for A's row lock), and both
    /// write their session row as the crate tells them to. The number of
    /// session rows committed.
    macro_rules! race {
        ($pool:expr, $store:ty, $mfa:expr, $session:expr, $code:expr, $insert:expr, $count:expr) => {{
            let (pool, mfa, session, code) = ($pool, $mfa, $session, $code);
            let mut a = pool.begin().await.unwrap();
            let mut b = pool.begin().await.unwrap();
            let key = RecordKey::User("u");
            let stored_a = <$store>::load_in(&mut *a, key).await.unwrap();
            let stored_b = <$store>::load_in(&mut *b, key).await.unwrap();
            assert_eq!(stored_a, stored_b, "both read the same version");
            let prepared_a = mfa
                .prepare_verify("u", session, stored_a.as_ref(), code)
                .unwrap();
            let prepared_b = mfa
                .prepare_verify("u", session, stored_b.as_ref(), code)
                .unwrap();
            let write = prepared_a.write().unwrap();
            let outcome_a =
                <$store>::save_in(&mut *a, write.key(), write.expected(), write.bytes())
                    .await
                    .unwrap();
            let written_a = prepared_a.written(Some(outcome_a));
            if let Some(session) = written_a.session() {
                sqlx::query($insert)
                    .bind(session.to_token())
                    .execute(&mut *a)
                    .await
                    .unwrap();
            }
            // B writes while A is still open: on PostgreSQL its UPDATE
            // blocks until A commits, then finds the version moved; on
            // SQLite the database is locked for B until A commits.
            let b_done = tokio::spawn(async move {
                let write = prepared_b.write().unwrap();
                let outcome =
                    <$store>::save_in(&mut *b, write.key(), write.expected(), write.bytes()).await;
                (b, prepared_b, outcome)
            });
            tokio::task::yield_now().await;
            a.commit().await.unwrap();
            assert!(written_a.committed().is_ok());
            let (mut b, prepared_b, outcome_b) = b_done.await.unwrap();
            let written_b = prepared_b.written(outcome_b.ok());
            if let Some(session) = written_b.session() {
                sqlx::query($insert)
                    .bind(session.to_token())
                    .execute(&mut *b)
                    .await
                    .unwrap();
            }
            let _ = b.commit().await;
            assert!(matches!(written_b.committed(), Err(MfaError::Contended)));
            let rows: i64 = sqlx::query_scalar($count).fetch_one(pool).await.unwrap();
            rows
        }};
    }

    async fn bound<S: twostep::AsyncStore>(store: S) -> (AsyncMfa<S>, MfaSession, String) {
        let clock = std::sync::Arc::new(ManualClock::new(NOW + 30));
        let mfa = AsyncMfa::with_config(
            store,
            Keyring::new(1, &[8; 32]),
            Config::default().with_clock(clock.clone()),
        );
        let phone = enrollment(41);
        let mut session = mfa.start_session("u").await.unwrap();
        mfa.bind("u", &mut session, &phone, &code_at(&phone, NOW + 30))
            .await
            .unwrap();
        clock.advance(30);
        let session = mfa.start_session("u").await.unwrap();
        (mfa, session, code_at(&phone, NOW + 60))
    }

    #[cfg(feature = "sqlx-postgres")]
    #[cfg_attr(
        no_postgres,
        ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\""
    )]
    #[test]
    fn on_postgres_two_transactions_with_one_code_commit_one_session() {
        // The database is made with the synchronous client, outside the runtime.
        let params = common::fresh_database(&common::postgres_url(), "own_tx");
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = common::migrated_sqlx_pg(&params).await;
            let pool = store.pool().clone();
            sqlx::query("CREATE TABLE sessions (token TEXT NOT NULL)")
                .execute(&pool)
                .await
                .unwrap();
            let (mfa, session, code) = bound(store).await;
            let rows = race!(
                &pool,
                twostep_sqlx::SqlxPgStore,
                &mfa,
                &session,
                &code,
                "INSERT INTO sessions (token) VALUES ($1)",
                "SELECT count(*) FROM sessions"
            );
            assert_eq!(rows, 1, "one code, one session");
        });
    }

    #[cfg(feature = "sqlx-sqlite")]
    #[test]
    fn on_sqlite_two_transactions_with_one_code_commit_one_session() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let dir = common::TempDir::new("own-tx");
            let store = common::migrated_sqlx_sqlite(&dir.join("own.db")).await;
            let pool = store.pool().clone();
            sqlx::query("CREATE TABLE sessions (token TEXT NOT NULL)")
                .execute(&pool)
                .await
                .unwrap();
            let (mfa, session, code) = bound(store).await;
            let rows = race!(
                &pool,
                twostep_sqlx::SqlxSqliteStore,
                &mfa,
                &session,
                &code,
                "INSERT INTO sessions (token) VALUES (?1)",
                "SELECT count(*) FROM sessions"
            );
            assert_eq!(rows, 1, "one code, one session");
        });
    }
}
