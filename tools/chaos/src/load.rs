//! The load: two application servers, each with its own store and pool,
//! signing many people in at once, every acknowledged acceptance and every
//! acknowledged save written down, so that what the database kept can be
//! checked afterwards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use twostep::clock::{ManualClock, SystemClock};
use twostep::otp::Secret;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::{
    AsyncMfa, AsyncStore, Config, Enrollment, Keyring, Mfa, MfaError, MfaSession, Store,
};
use twostep_sql::{PostgresOptions, PostgresStore};
use twostep_sqlx::SqlxPgStore;

/// Which store the servers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `twostep_sql::PostgresStore`, blocking, its own pool.
    Sync,
    /// `twostep_sql::PostgresStore` with `PostgresOptions::transaction_pooler`, behind
    /// PgBouncer in transaction mode.
    SyncPooler,
    /// `twostep_sqlx::SqlxPgStore` on a sqlx pool, from async tasks.
    Sqlx,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sync => "PostgresStore",
            StoreKind::SyncPooler => "PostgresStore via PgBouncer (transaction mode)",
            StoreKind::Sqlx => "SqlxPgStore",
        }
    }
}

/// A save the store answered `Saved`: which record, at which version,
/// with which bytes (their SHA-256).
pub struct Saved {
    pub id: String,
    pub version: i64,
    pub digest: Vec<u8>,
}

/// A store that writes down every acknowledged save and, without the
/// fence, forgets what the database says about lost saves (the stores as
/// they were before it).
pub struct Traced<S> {
    inner: S,
    fence: bool,
    pub saved: Mutex<Vec<Saved>>,
}

impl<S> Traced<S> {
    fn new(inner: S, fence: bool) -> Self {
        Traced {
            inner,
            fence,
            saved: Mutex::new(Vec::new()),
        }
    }

    fn loaded(&self, mut record: Option<Versioned>) -> Option<Versioned> {
        if let Some(record) = record.as_mut().filter(|_| !self.fence) {
            record.lost_saves_before = None;
        }
        record
    }

    fn note(&self, key: RecordKey<'_>, outcome: &SaveOutcome, bytes: &[u8]) {
        if let SaveOutcome::Saved(Version(version)) = outcome {
            let saved = Saved {
                id: key.id().to_owned(),
                // The version column (a PostgreSQL store keeps the timeline
                // above its 40 bits).
                version: (*version & ((1 << 40) - 1)) as i64,
                digest: Sha256::digest(bytes).to_vec(),
            };
            self.saved
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(saved);
        }
    }
}

impl<S: Store> Store for Traced<S> {
    type Error = S::Error;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, S::Error> {
        Ok(self.loaded(self.inner.load(key)?))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, S::Error> {
        let outcome = self.inner.save(key, expected, bytes)?;
        self.note(key, &outcome, bytes);
        Ok(outcome)
    }
}

impl<S: AsyncStore> AsyncStore for Traced<S> {
    type Error = S::Error;

    async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, S::Error> {
        Ok(self.loaded(self.inner.load(key).await?))
    }

    async fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, S::Error> {
        let outcome = self.inner.save(key, expected, bytes).await?;
        self.note(key, &outcome, bytes);
        Ok(outcome)
    }
}

/// What a code typed at a server came to.
pub enum Answer {
    Accepted(u64),
    Replayed,
    /// No step of the window matches: the code is too old by now.
    Expired,
    Error(String),
}

fn answer<E: std::fmt::Display + std::fmt::Debug>(
    result: Result<twostep::otp::Verified, MfaError<E>>,
) -> Answer {
    match result {
        Ok(verified) => Answer::Accepted(verified.step),
        Err(MfaError::Replayed { .. }) => Answer::Replayed,
        Err(MfaError::Mismatch) => Answer::Expired,
        Err(other) => Answer::Error(error_kind(other)),
    }
}

/// An error's kind: its text, with numbers of three digits or more
/// (pids, ports) as `#`; SQLSTATEs stay.
fn kind(text: &str) -> String {
    let text: String = text.chars().take(120).collect();
    let mut out = String::new();
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() >= 3 { "#" } else { &digits });
        digits.clear();
        out.push(c);
    }
    out.trim_end().to_owned()
}

fn error_kind<E: std::fmt::Display + std::fmt::Debug>(error: MfaError<E>) -> String {
    match error {
        MfaError::Store(e) => kind(&e.to_string()),
        other => format!("{other:?}").chars().take(40).collect(),
    }
}

/// One application server.
enum Driver {
    Sync(Mfa<Arc<Traced<PostgresStore>>>),
    Sqlx(AsyncMfa<Arc<Traced<SqlxPgStore>>>, tokio::runtime::Handle),
}

pub struct AppServer {
    driver: Driver,
    sessions: Vec<Mutex<Option<MfaSession>>>,
    pools: Option<sqlx::PgPool>,
}

pub fn sqlx_options_for(params: &str) -> sqlx::postgres::PgConnectOptions {
    let mut options = sqlx::postgres::PgConnectOptions::new();
    for pair in params.split_whitespace() {
        if let Some((key, value)) = pair.split_once('=') {
            options = match key {
                "host" => options.socket(value),
                "port" => options.port(value.parse().unwrap_or(5432)),
                "user" => options.username(value),
                "dbname" => options.database(value),
                _ => options,
            };
        }
    }
    options
}

fn keyring() -> Keyring {
    Keyring::new(1, &[42; 32])
}

impl AppServer {
    /// A server over a store of `kind` with its own pool of 8, connecting
    /// with `params` (for `PostgresStore`, the primary and the standby with
    /// `target_session_attrs=read-write`, so that it follows a failover);
    /// with the failover fence or without.
    pub fn new(
        kind: StoreKind,
        params: &str,
        fence: bool,
        users: usize,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<AppServer, String> {
        let config = Config::default().with_clock(Arc::new(SystemClock));
        let (driver, pools) = match kind {
            StoreKind::Sync | StoreKind::SyncPooler => {
                let mut pg: twostep_sql::tokio_postgres::Config =
                    params.parse().map_err(|e| format!("{e}"))?;
                pg.connect_timeout(Duration::from_secs(2));
                let mut options = PostgresOptions::new().max_connections(8);
                if kind == StoreKind::SyncPooler {
                    options = options.transaction_pooler();
                }
                let store =
                    PostgresStore::with_config(pg, twostep_sql::tokio_postgres::NoTls, options)
                        .map_err(|e| e.to_string())?;
                let store = Arc::new(Traced::new(store, fence));
                (
                    Driver::Sync(Mfa::with_config(store, keyring(), config)),
                    None,
                )
            }
            StoreKind::Sqlx => {
                let pool = runtime
                    .block_on(
                        sqlx::postgres::PgPoolOptions::new()
                            .max_connections(8)
                            .acquire_timeout(Duration::from_secs(5))
                            .connect_with(sqlx_options_for(params)),
                    )
                    .map_err(|e| e.to_string())?;
                let store = SqlxPgStore::new(pool.clone());
                runtime
                    .block_on(store.migrate())
                    .map_err(|e| e.to_string())?;
                let store = Arc::new(Traced::new(store, fence));
                let mfa = AsyncMfa::with_config(store, keyring(), config);
                (Driver::Sqlx(mfa, runtime.handle().clone()), Some(pool))
            }
        };
        Ok(AppServer {
            driver,
            sessions: (0..users).map(|_| Mutex::new(None)).collect(),
            pools,
        })
    }

    /// Follows a failover: new connections go to `params`.
    pub fn retarget(&self, params: &str) {
        if let Some(pool) = &self.pools {
            pool.set_connect_options(sqlx_options_for(params));
        }
    }

    /// The acknowledged saves.
    pub fn saved(&self) -> Vec<Saved> {
        let saved = match &self.driver {
            Driver::Sync(mfa) => {
                std::mem::take(&mut *mfa.store().saved.lock().unwrap_or_else(|e| e.into_inner()))
            }
            Driver::Sqlx(mfa, _) => {
                std::mem::take(&mut *mfa.store().saved.lock().unwrap_or_else(|e| e.into_inner()))
            }
        };
        saved
    }

    /// `user` types `code` at this server, signing in with a session of
    /// its own.
    pub fn verify(&self, user: usize, code: &str) -> Answer {
        let name = user_name(user);
        let Some(slot) = self.sessions.get(user) else {
            return Answer::Error("no such user".into());
        };
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let started = match &self.driver {
                Driver::Sync(mfa) => mfa.start_session(&name).map_err(error_kind),
                Driver::Sqlx(mfa, rt) => rt.block_on(mfa.start_session(&name)).map_err(error_kind),
            };
            match started {
                Ok(session) => *slot = Some(session),
                Err(e) => return Answer::Error(e),
            }
        }
        let Some(session) = slot.as_mut() else {
            return Answer::Error("no session".into());
        };
        match &self.driver {
            Driver::Sync(mfa) => answer(mfa.verify(&name, session, code)),
            Driver::Sqlx(mfa, rt) => answer(rt.block_on(mfa.verify(&name, session, code))),
        }
    }
}

pub fn user_name(user: usize) -> String {
    format!("u{user}")
}

/// The phone of `user`: a secret of its own, known to the test.
pub fn phone(user: usize) -> Result<Enrollment, String> {
    let mut bytes = [7u8; 20];
    bytes[..8].copy_from_slice(&(user as u64).to_be_bytes());
    let secret = Secret::from_bytes(&bytes).map_err(|e| e.to_string())?;
    Enrollment::builder("Chaos", user_name(user))
        .with_secret(secret)
        .map_err(|e| e.to_string())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Binds every user's phone with a code of the step before `start`'s, so
/// that the load can use the codes of `start`'s step and the next.
pub fn enroll(params: &str, phones: &[Enrollment], start: u64) -> Result<(), String> {
    let store = PostgresStore::connect(params).map_err(|e| e.to_string())?;
    let earlier = start.saturating_sub(30);
    let mfa = Mfa::with_config(
        store,
        keyring(),
        Config::default().with_clock(Arc::new(ManualClock::new(earlier))),
    );
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let user = next.fetch_add(1, Ordering::Relaxed);
                let Some(phone) = phones.get(user) else { break };
                let name = user_name(user);
                let code = phone
                    .totp()
                    .generate(earlier)
                    .map(|c| c.expose().to_string());
                let bound = code.map_err(|e| e.to_string()).and_then(|code| {
                    let mut session = mfa.start_session(&name).map_err(|e| e.to_string())?;
                    mfa.bind(&name, &mut session, phone, &code)
                        .map_err(|e| e.to_string())
                });
                if let Err(e) = bound {
                    *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                }
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(format!("enrolling: {e}")),
        None => Ok(()),
    }
}

/// An acknowledged acceptance.
#[derive(Clone, Copy)]
pub struct Ack {
    pub user: usize,
    pub step: u64,
    /// Which server, and when (since the load began).
    pub server: usize,
    pub at: Duration,
}

/// What the load saw.
#[derive(Default)]
pub struct Log {
    pub acks: Mutex<Vec<Ack>>,
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// Times (since the load began) of errors, and of answers from the
    /// database (an acceptance or a replay refused).
    pub error_times: Mutex<Vec<Duration>>,
    pub answer_times: Mutex<Vec<Duration>>,
}

/// Signs people in through `servers` until `stop`: each server's 8
/// threads walk the users in the same order (so the servers often race
/// for one person), each typing the code of the next step not yet used,
/// from `first_step` up to the step after the current one.
pub fn run(
    servers: &[Arc<AppServer>],
    phones: &Arc<Vec<Enrollment>>,
    first_step: u64,
    stop: &Arc<AtomicBool>,
    log: &Arc<Log>,
    began: Instant,
) -> Vec<std::thread::JoinHandle<()>> {
    let next: Arc<Vec<AtomicU64>> =
        Arc::new(phones.iter().map(|_| AtomicU64::new(first_step)).collect());
    let mut threads = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        let cursor = Arc::new(AtomicUsize::new(0));
        for _ in 0..8 {
            let (server, phones, next, stop, log, cursor) = (
                server.clone(),
                phones.clone(),
                next.clone(),
                stop.clone(),
                log.clone(),
                cursor.clone(),
            );
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let user = cursor.fetch_add(1, Ordering::Relaxed) % phones.len();
                    let (Some(phone), Some(next)) = (phones.get(user), next.get(user)) else {
                        break;
                    };
                    let step = next.load(Ordering::Relaxed);
                    if step > now() / 30 + 1 {
                        std::thread::yield_now();
                        continue;
                    }
                    let code = phone.totp().generate_at_step(step).expose().to_string();
                    let answer = server.verify(user, &code);
                    if !matches!(answer, Answer::Error(_)) {
                        log.answer_times
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(began.elapsed());
                    }
                    match answer {
                        Answer::Accepted(step) => {
                            next.fetch_max(step + 1, Ordering::Relaxed);
                            log.acks
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(Ack {
                                    user,
                                    step,
                                    server: index,
                                    at: began.elapsed(),
                                });
                        }
                        Answer::Replayed | Answer::Expired => {
                            next.fetch_max(step + 1, Ordering::Relaxed);
                        }
                        Answer::Error(kind) => {
                            *log.errors
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .entry(kind)
                                .or_default() += 1;
                            log.error_times
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(began.elapsed());
                        }
                    }
                }
            }));
        }
    }
    threads
}
