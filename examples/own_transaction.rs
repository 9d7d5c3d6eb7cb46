//! Saving twostep's record in your own transaction, beside your session
//! row: the sign-in code and the session commit together or not at all, and
//! the code counts as accepted only once the commit went through.
//!
//! Run: `cargo run --features sqlx-sqlite --example own_transaction`

use std::error::Error;
use std::sync::Arc;

use sqlx::SqlitePool;
use twostep::{AsyncMfa, Clock, Enrollment, Keyring, ManualClock, RecordKey, SqlxSqliteStore};

/// One sign-in: load the record in the transaction, let twostep decide,
/// write its bytes and the session row, commit, and only then ask for the
/// answer with what the write did.
async fn sign_in(
    mfa: &AsyncMfa<SqlxSqliteStore>,
    pool: &SqlitePool,
    user: &str,
    code: &str,
    session: &str,
    fail_before_commit: bool,
) -> Result<String, Box<dyn Error>> {
    let mut tx = pool.begin().await?;
    let stored = SqlxSqliteStore::load_in(&mut *tx, RecordKey::User(user)).await?;
    let prepared = mfa.prepare_verify(user, stored.as_ref(), code)?;
    let saved = match prepared.save() {
        Some(save) => {
            let outcome =
                SqlxSqliteStore::save_in(&mut *tx, save.key(), save.expected(), save.bytes())
                    .await?;
            Some(outcome)
        }
        None => None,
    };
    if prepared.accepts() {
        sqlx::query("INSERT INTO sessions (id, user_id) VALUES (?1, ?2)")
            .bind(session)
            .bind(user)
            .execute(&mut *tx)
            .await?;
    }
    let committed = if fail_before_commit {
        tx.rollback().await?;
        false
    } else {
        tx.commit().await.is_ok()
    };
    // What the write did, as far as the database is concerned.
    let saved = saved.filter(|_| committed);
    Ok(match prepared.finish(saved) {
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
    sqlx::raw_sql("CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL)")
        .execute(&pool)
        .await?;

    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let mfa = AsyncMfa::new(store, Keyring::generate_os()?).with_clock(clock.clone());
    let phone = Enrollment::builder("Acme", "ada@example.com").build_os()?;
    let code = |clock: &ManualClock| -> Result<String, Box<dyn Error>> {
        Ok(phone.totp().generate(clock.now())?.expose().to_string())
    };
    mfa.bind("ada", &phone, &code(&clock)?).await?;
    clock.advance(30);

    let first = code(&clock)?;
    println!("1. The transaction fails before its commit:");
    let answer = sign_in(&mfa, &pool, "ada", &first, "s-1", true).await?;
    println!("   {answer}; sessions: {}", sessions(&pool).await?);
    let rolled_back = answer.starts_with("refused") && sessions(&pool).await? == 0;
    println!("2. The same code, and this time the commit goes through:");
    let answer = sign_in(&mfa, &pool, "ada", &first, "s-2", false).await?;
    println!("   {answer}; sessions: {}", sessions(&pool).await?);
    let committed = answer.starts_with("signed in") && sessions(&pool).await? == 1;
    println!("3. The same code once more:");
    let answer = sign_in(&mfa, &pool, "ada", &first, "s-3", false).await?;
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
