//! Sessions: tower-sessions' layer, its records kept in the app's own
//! database (the one twostep's records are in), so two processes behind
//! one address share them. Only a person who passed the password has one:
//! the sign-in page sets no cookie and stores nothing.
//!
//! The table is written here, not taken from tower-sessions-sqlx-store: its
//! latest release (0.15) is built on sqlx 0.8 and tower-sessions-core 0.14,
//! and one program cannot link the SQLite of two sqlx versions.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, SqlitePool};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Error as SessionError, Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::Session;
use tower_sessions_core::ExpiredDeletion;
use twostep::MfaSession;

use crate::pages::Notice;
use crate::{redirect, server_error, App};

/// A session ends after this long without a request (seconds).
pub const IDLE_LIFETIME: u64 = 30 * 60;
/// ... and this long after the password, whatever happens (seconds).
pub const ABSOLUTE_LIFETIME: u64 = 12 * 60 * 60;
/// How stale "last seen" may get before it is written again (seconds): a
/// write per minute of activity, not per request.
const SEEN_PRECISION: u64 = 60;

const SIGNED_IN: &str = "signed_in";
const NOTICE: &str = "notice";

/// What the session holds once the password is right.
#[derive(Clone, Serialize, Deserialize)]
struct SignedIn {
    user: String,
    /// twostep's part of the session: what it says the person passed,
    /// checked by twostep at every call.
    mfa: MfaSession,
    /// When the password was right, and the last request (the app's clock).
    since: u64,
    seen: u64,
}

/// Someone who passed the password, in a session that has not expired;
/// else the handler is not reached and the browser goes to the sign-in page.
pub struct Person {
    /// Their session.
    pub session: Session,
    /// twostep's user id (the email).
    pub user: String,
    /// twostep's part of their session.
    pub mfa: MfaSession,
    since: u64,
}

impl Person {
    /// Starts the session of `user`, who just gave the right password: a
    /// new session id (one planted before is worth nothing after).
    pub async fn sign_in(
        session: &Session,
        user: String,
        mfa: MfaSession,
        now: u64,
    ) -> Result<(), SessionError> {
        session.cycle_id().await?;
        let signed_in = SignedIn {
            user,
            mfa,
            since: now,
            seen: now,
        };
        session.insert(SIGNED_IN, signed_in).await
    }

    /// Keeps `mfa`, renewed by a second factor, under a new session id:
    /// the session now holds more.
    pub async fn renew(&mut self, mfa: MfaSession, now: u64) -> Result<(), SessionError> {
        self.mfa = mfa;
        self.session.cycle_id().await?;
        self.store(now).await
    }

    /// Keeps the answer to a form for the page the browser is sent to next
    /// (Post/Redirect/Get: a reload shows the page, never sends again).
    pub async fn flash(&self, notice: Notice) -> Result<(), SessionError> {
        self.session.insert(NOTICE, notice).await
    }

    /// The answer kept for this page, once.
    pub async fn take_notice(&self) -> Option<Notice> {
        self.session.remove::<Notice>(NOTICE).await.ok().flatten()
    }

    /// Ends the session: deleted from the database, the cookie removed.
    pub async fn sign_out(&self) -> Result<(), SessionError> {
        self.session.flush().await
    }

    async fn store(&self, now: u64) -> Result<(), SessionError> {
        let signed_in = SignedIn {
            user: self.user.clone(),
            mfa: self.mfa.clone(),
            since: self.since,
            seen: now,
        };
        self.session.insert(SIGNED_IN, signed_in).await
    }
}

/// The signed-in person of the request, if any (expired sessions end here).
pub async fn signed_in(parts: &mut Parts, app: &App) -> Result<Option<Person>, Response> {
    let session = Session::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let Some(signed_in) = session
        .get::<SignedIn>(SIGNED_IN)
        .await
        .map_err(|e| server_error(&e))?
    else {
        return Ok(None);
    };
    let now = app.now();
    let idle = now.saturating_sub(signed_in.seen);
    let age = now.saturating_sub(signed_in.since);
    if idle >= IDLE_LIFETIME || age >= ABSOLUTE_LIFETIME {
        session.flush().await.map_err(|e| server_error(&e))?;
        return Ok(None);
    }
    let person = Person {
        session,
        user: signed_in.user,
        mfa: signed_in.mfa,
        since: signed_in.since,
    };
    if idle >= SEEN_PRECISION {
        person.store(now).await.map_err(|e| server_error(&e))?;
    }
    Ok(Some(person))
}

impl FromRequestParts<Arc<App>> for Person {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Person, Response> {
        signed_in(parts, app)
            .await?
            .ok_or_else(|| redirect("/signin"))
    }
}

/// tower-sessions' records in the app's database: one row per session,
/// its data as JSON, its expiry in Unix seconds.
#[derive(Clone, Debug)]
pub enum SessionTable {
    /// In SQLite.
    Sqlite(SqlitePool),
    /// In PostgreSQL.
    Postgres(PgPool),
}

impl SessionTable {
    /// Creates the table if it is not there.
    ///
    /// # Errors
    /// If the database refuses.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        // The same statement in both dialects.
        let create = "CREATE TABLE IF NOT EXISTS webapp_sessions (\
                      id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, expires BIGINT NOT NULL)";
        match self {
            SessionTable::Sqlite(pool) => sqlx::query(create).execute(pool).await.map(drop),
            SessionTable::Postgres(pool) => sqlx::query(create).execute(pool).await.map(drop),
        }
    }

    /// Writes `record`, inserting it only if `only_new` (else 0 rows: a
    /// collision of ids).
    async fn write(&self, record: &Record, only_new: bool) -> session_store::Result<u64> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let (id, expires) = (record.id.to_string(), record.expiry_date.unix_timestamp());
        let done = match self {
            SessionTable::Sqlite(pool) => {
                let sql = if only_new {
                    SQLITE_INSERT
                } else {
                    SQLITE_UPSERT
                };
                let query = sqlx::query(sql).bind(id).bind(data).bind(expires);
                query.execute(pool).await.map(|done| done.rows_affected())
            }
            SessionTable::Postgres(pool) => {
                let sql = if only_new { PG_INSERT } else { PG_UPSERT };
                let query = sqlx::query(sql).bind(id).bind(data).bind(expires);
                query.execute(pool).await.map(|done| done.rows_affected())
            }
        };
        done.map_err(backend)
    }
}

const SQLITE_INSERT: &str =
    "INSERT INTO webapp_sessions (id, data, expires) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING";
const SQLITE_UPSERT: &str = "INSERT INTO webapp_sessions (id, data, expires) VALUES (?, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires";
const PG_INSERT: &str = "INSERT INTO webapp_sessions (id, data, expires) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO NOTHING";
const PG_UPSERT: &str = "INSERT INTO webapp_sessions (id, data, expires) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires";

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl SessionStore for SessionTable {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // 128 random bits collide in theory only; draw again if they do.
        while self.write(record, true).await? == 0 {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let id_text = id.to_string();
        let row: Option<(String, i64)> = match self {
            SessionTable::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT data, expires FROM webapp_sessions WHERE id = ? AND expires > ?",
                )
                .bind(id_text)
                .bind(now_unix())
                .fetch_optional(pool)
                .await
            }
            SessionTable::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT data, expires FROM webapp_sessions WHERE id = $1 AND expires > $2",
                )
                .bind(id_text)
                .bind(now_unix())
                .fetch_optional(pool)
                .await
            }
        }
        .map_err(backend)?;
        let Some((data, expires)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let id = id.to_string();
        match self {
            SessionTable::Sqlite(pool) => sqlx::query("DELETE FROM webapp_sessions WHERE id = ?")
                .bind(id)
                .execute(pool)
                .await
                .map(drop),
            SessionTable::Postgres(pool) => {
                sqlx::query("DELETE FROM webapp_sessions WHERE id = $1")
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(drop)
            }
        }
        .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for SessionTable {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SessionTable::Sqlite(pool) => {
                sqlx::query("DELETE FROM webapp_sessions WHERE expires <= ?")
                    .bind(now_unix())
                    .execute(pool)
                    .await
                    .map(drop)
            }
            SessionTable::Postgres(pool) => {
                sqlx::query("DELETE FROM webapp_sessions WHERE expires <= $1")
                    .bind(now_unix())
                    .execute(pool)
                    .await
                    .map(drop)
            }
        }
        .map_err(backend)
    }
}
