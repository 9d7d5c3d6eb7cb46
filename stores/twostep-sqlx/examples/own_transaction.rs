//! Saving twostep's record in your own transaction, beside your session
//! row: the sign-in code and the session commit together or not at all.
//! Whether the code was accepted is known only from what the write did (a
//! second request with the same code may have written first), so the
//! session row is written from that alone; the answer and the audit events
//! come once the commit went through.
//!
//! Run: `cargo run -p twostep-sqlx --features sqlite --example own_transaction`

use std::error::Error;
use std::sync::Arc;

use sqlx::SqlitePool;
use twostep::clock::{Clock, ManualClock};
use twostep::store::RecordKey;
use twostep::{AsyncMfa, Config, Enrollment, Keyring, MfaSession};
use twostep_sqlx::SqlxSqliteStore;

/// One sign-in's second factor, in `session` (from the password): load the
/// record in the transaction, let twostep decide, write its bytes, write the
/// session row only if the written decision carries a session, commit, and
/// only then take the answer.
async fn sign_in(
    mfa: &AsyncMfa<SqlxSqliteStore>,
    pool: &SqlitePool,
    user: &str,
    session: &MfaSession,
    code: &str,
    fail_before_commit: bool,
) -> Result<String, Box<dyn Error>> {
    let mut tx = pool.begin().await?;
    let stored = SqlxSqliteStore::load_in(&mut *tx, RecordKey::User(user)).await?;
    let prepared = mfa.prepare_verify(user, session, stored.as_ref(), code)?;
    let outcome = match prepared.write() {
        Some(w) => {
            Some(SqlxSqliteStore::save_in(&mut *tx, w.key(), w.expected(), w.bytes()).await?)
        }
        None => None,
    };
    let written = prepared.written(outcome);
    if let Some(passed) = written.session() {
        sqlx::query("INSERT INTO sessions (token, user_id) VALUES (?1, ?2)")
            .bind(passed.to_token())
            .bind(user)
            .execute(&mut *tx)
            .await?;
    }
    if fail_before_commit {
        tx.rollback().await?;
        return Ok("refused: the transaction rolled back".into());
    }
    tx.commit().await?;
    Ok(match written.committed() {
        Ok(verified) => format!("signed in at step {}", verified.step),
        Err(refused) => format!("refused: {}", refused.for_person()),
    })
}

async fn sessions(pool: &SqlitePool) -> Result<i64, Box<dyn Error>> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(pool)
        .await?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("twostep-own-tx-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let pool =
        SqlitePool::connect_with(SqlxSqliteStore::connect_options(dir.join("app.db"))).await?;
    let store = SqlxSqliteStore::new(pool.clone());
    store.migrate().await?;
    sqlx::raw_sql("CREATE TABLE sessions (token TEXT PRIMARY KEY, user_id TEXT NOT NULL)")
        .execute(&pool)
        .await?;

    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let mfa = AsyncMfa::with_config(
        store,
        Keyring::generate_os()?,
        Config::default().with_clock(clock.clone()),
    );
    let phone = Enrollment::builder("Acme", "ada@example.com").build_os()?;
    let code = |clock: &ManualClock| -> Result<String, Box<dyn Error>> {
        Ok(phone.totp().generate(clock.now())?.expose().to_string())
    };
    let mut enrolling = mfa.start_session("ada").await?;
    mfa.bind("ada", &mut enrolling, &phone, &code(&clock)?)
        .await?;
    clock.advance(30);

    // A later sign-in: the password, then a code.
    let session = mfa.start_session("ada").await?;
    let first = code(&clock)?;
    println!("1. The transaction fails before its commit:");
    let answer = sign_in(&mfa, &pool, "ada", &session, &first, true).await?;
    println!("   {answer}; sessions: {}", sessions(&pool).await?);
    let rolled_back = answer.starts_with("refused") && sessions(&pool).await? == 0;
    println!("2. The same code, and this time the commit goes through:");
    let answer = sign_in(&mfa, &pool, "ada", &session, &first, false).await?;
    println!("   {answer}; sessions: {}", sessions(&pool).await?);
    let committed = answer.starts_with("signed in") && sessions(&pool).await? == 1;
    println!("3. The same code once more:");
    let answer = sign_in(&mfa, &pool, "ada", &session, &first, false).await?;
    println!("   {answer}; sessions: {}", sessions(&pool).await?);
    let replayed = answer.starts_with("refused") && sessions(&pool).await? == 1;

    pool.close().await;
    std::fs::remove_dir_all(&dir)?;
    if rolled_back && committed && replayed {
        Ok(())
    } else {
        Err("the transaction and the answers disagree".into())
    }
}
