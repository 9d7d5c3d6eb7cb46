//! The promises across processes, on real databases: 2 OS processes × 8
//! threads submit one code (or one recovery code) at the same instant →
//! exactly one acceptance in total; and a process killed (SIGKILL) in the
//! middle of a burst loses nothing it reported.
//!
//! The processes are this test binary re-executed, running the ignored test
//! `child` with its orders in environment variables and a "go" line on
//! stdin that releases all threads of both processes together. The races
//! also run with the children on the async stores (sqlx pools, 8 tokio
//! tasks each) over a database the parent wrote with the sync store.
#![cfg(any(feature = "sqlite", feature = "postgres"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Barrier};

use common::{code_at, enrollment};
use twostep::clock::ManualClock;
use twostep::recovery::{RecoveryMode, SetSize};
use twostep::{Config, Keyring, Mfa, MfaError, Store};

const NOW: u64 = 1_700_000_000;
const THREADS: usize = 8;
const PROCESSES: usize = 2;
/// Lines a child writes for the parent carry this (the test harness
/// writes its own text too).
const TAG: &str = "twostep-child:";

fn keyring() -> Keyring {
    Keyring::new(1, &[9; 32])
}

/// Where the records are: the same for parent and children; `sqlx`: the
/// children race through the async store on the same tables.
#[derive(Clone)]
enum Db {
    #[cfg(feature = "sqlite")]
    Sqlite(std::path::PathBuf, bool),
    #[cfg(feature = "postgres")]
    Postgres(String, bool),
}

impl Db {
    fn to_env(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(path, sqlx) => format!("sqlite:{sqlx}:{}", path.display()),
            #[cfg(feature = "postgres")]
            Db::Postgres(params, sqlx) => format!("postgres:{sqlx}:{params}"),
        }
    }

    fn from_env(s: &str) -> Db {
        let (kind, rest) = s.split_once(':').unwrap();
        let (sqlx, place) = rest.split_once(':').unwrap();
        let sqlx = sqlx == "true";
        match kind {
            #[cfg(feature = "sqlite")]
            "sqlite" => Db::Sqlite(place.into(), sqlx),
            #[cfg(feature = "postgres")]
            "postgres" => Db::Postgres(place.into(), sqlx),
            _ => panic!("unknown store {s}"),
        }
    }

    fn sqlx(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_, sqlx) => *sqlx,
            #[cfg(feature = "postgres")]
            Db::Postgres(_, sqlx) => *sqlx,
        }
    }

    /// Runs `f` with an `Mfa` on this database (a new connection/pool:
    /// what a restarted server gets).
    fn with<R>(&self, clock: Arc<ManualClock>, f: impl FnOnce(&dyn Service) -> R) -> R {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(path, _) => f(&mfa(twostep_sql::SqliteStore::open(path).unwrap(), clock)),
            #[cfg(feature = "postgres")]
            Db::Postgres(params, _) => f(&mfa(
                twostep_sql::PostgresStore::connect(params).unwrap(),
                clock,
            )),
        }
    }
}

fn mfa<S: Store>(store: S, clock: Arc<ManualClock>) -> Mfa<S> {
    Mfa::with_config(
        store,
        keyring(),
        Config::default()
            .with_clock(clock)
            .with_recovery(RecoveryMode::Set(SetSize::new(16).unwrap())),
    )
}

/// The calls the tests make, with the store's error type erased.
trait Service: Sync {
    fn bind(&self, user: &str, now: u64) -> Vec<String>;
    fn verify(&self, user: &str, code: &str) -> Result<u64, String>;
    fn recover(&self, user: &str, code: &str) -> Result<(), String>;
    fn unlock(&self, user: &str);
}

impl<S: Store> Service for Mfa<S> {
    fn bind(&self, user: &str, now: u64) -> Vec<String> {
        let factor = enrollment(seed(user));
        let mut session = self.start_session(user).unwrap();
        let bound = Mfa::bind(self, user, &mut session, &factor, &code_at(&factor, now)).unwrap();
        bound
            .recovery_codes
            .iter()
            .map(|c| c.expose_str().to_owned())
            .collect()
    }
    fn verify(&self, user: &str, code: &str) -> Result<u64, String> {
        common::sign_in(self, user, code)
            .map(|v| v.step)
            .map_err(|e| name(&e))
    }
    fn recover(&self, user: &str, code: &str) -> Result<(), String> {
        self.start_session(user)
            .and_then(|mut session| self.use_recovery_code(user, &mut session, code))
            .map(|_| ())
            .map_err(|e| name(&e))
    }
    fn unlock(&self, user: &str) {
        Mfa::unlock(self, user).unwrap();
    }
}

/// The error's variant, without its fields.
fn name<E: std::fmt::Debug>(e: &MfaError<E>) -> String {
    let debug = format!("{e:?}");
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Each user's factor comes from a seed derived from its name, so that
/// parent and children compute the same codes.
fn seed(user: &str) -> u64 {
    user.bytes()
        .fold(17, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
}

/// The re-executed side. Ignored in normal runs; the parent runs it with
/// `--ignored --exact child`.
#[test]
#[ignore = "run by the multi-process tests in a child process"]
fn child() {
    let Ok(db) = std::env::var("TWOSTEP_CHILD_DB") else {
        eprintln!("child: only run by the multi-process tests");
        return;
    };
    let db = Db::from_env(&db);
    let order = std::env::var("TWOSTEP_CHILD_ORDER").unwrap();
    let user = std::env::var("TWOSTEP_CHILD_USER").unwrap();
    let input = std::env::var("TWOSTEP_CHILD_INPUT").unwrap_or_default();
    let clock = Arc::new(ManualClock::new(NOW));
    if db.sqlx() {
        #[cfg(all(
            feature = "sqlite",
            feature = "postgres",
            feature = "sqlx-sqlite",
            feature = "sqlx-postgres"
        ))]
        return async_child::race(&db, &order, &user, &input);
    }
    db.with(clock.clone(), |mfa| match order.as_str() {
        "race-code" | "race-recovery" => {
            let start = Barrier::new(THREADS + 1);
            let outcomes = std::thread::scope(|s| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            if order == "race-code" {
                                mfa.verify(&user, &input).map(|_| ())
                            } else {
                                mfa.recover(&user, &input)
                            }
                        })
                    })
                    .collect();
                say("ready");
                let mut go = String::new();
                std::io::stdin().read_line(&mut go).unwrap();
                start.wait();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            });
            for outcome in outcomes {
                say(&format!(
                    "outcome {}",
                    outcome.err().unwrap_or_else(|| "accepted".into())
                ));
            }
        }
        "burst" => {
            // Verify the code of each next step, and spend one recovery
            // code after each, reporting every success only once it is
            // saved; until killed.
            let codes: Vec<&str> = input.split(',').collect();
            let factor = enrollment(seed(&user));
            for i in 1u64.. {
                let now = NOW + 30 * i;
                clock.set(now);
                if mfa.verify(&user, &code_at(&factor, now)).is_ok() {
                    say(&format!("accepted {now}"));
                }
                if let Some(code) = codes.get(usize::try_from(i).unwrap() - 1) {
                    if mfa.recover(&user, code).is_ok() {
                        say(&format!("spent {code}"));
                    }
                }
            }
        }
        other => panic!("unknown order {other}"),
    });
}

/// A child racing through the async stores: 8 tokio tasks, released by the
/// same "go" line.
#[cfg(all(
    feature = "sqlite",
    feature = "postgres",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres"
))]
mod async_child {
    use super::*;
    use twostep::recovery::{RecoveryMode, SetSize};
    use twostep::{AsyncMfa, AsyncStore};

    pub(super) fn race(db: &Db, order: &str, user: &str, input: &str) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            match db {
                Db::Sqlite(path, _) => {
                    let store = twostep_sqlx::SqlxSqliteStore::new(common::sqlite_pool(path).await);
                    tasks(store, order, user, input).await;
                }
                Db::Postgres(params, _) => {
                    let store = twostep_sqlx::SqlxPgStore::new(common::pg_pool(params).await);
                    tasks(store, order, user, input).await;
                }
            }
        });
    }

    async fn tasks<S: AsyncStore>(store: S, order: &str, user: &str, input: &str) {
        let mfa = AsyncMfa::with_config(
            store,
            keyring(),
            Config::default()
                .with_clock(ManualClock::new(NOW + 30))
                .with_recovery(RecoveryMode::Set(SetSize::new(16).unwrap())),
        );
        let start = Arc::new(tokio::sync::Barrier::new(THREADS + 1));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (mfa, start) = (mfa.clone(), start.clone());
                let (order, user, input) = (order.to_owned(), user.to_owned(), input.to_owned());
                tokio::spawn(async move {
                    start.wait().await;
                    let outcome = match mfa.start_session(&user).await {
                        Ok(mut session) if order == "race-code" => {
                            mfa.verify(&user, &mut session, &input).await.map(|_| ())
                        }
                        Ok(mut session) => mfa
                            .use_recovery_code(&user, &mut session, &input)
                            .await
                            .map(|_| ()),
                        Err(e) => Err(e),
                    };
                    outcome.map_err(|e| name(&e))
                })
            })
            .collect();
        say("ready");
        tokio::task::spawn_blocking(|| {
            let mut go = String::new();
            std::io::stdin().read_line(&mut go).unwrap();
        })
        .await
        .unwrap();
        start.wait().await;
        for handle in handles {
            let outcome = handle.await.unwrap();
            say(&format!(
                "outcome {}",
                outcome.err().unwrap_or_else(|| "accepted".into())
            ));
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{TAG} {line}").unwrap();
    out.flush().unwrap();
}

/// Starts this binary as a child with these orders.
fn spawn(db: &Db, order: &str, user: &str, input: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TWOSTEP_CHILD_DB", db.to_env())
        .env("TWOSTEP_CHILD_ORDER", order)
        .env("TWOSTEP_CHILD_USER", user)
        .env("TWOSTEP_CHILD_INPUT", input)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// The child's next tagged line, or `None` at its end.
fn next_line(out: &mut BufReader<ChildStdout>) -> Option<String> {
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        // The harness may have written "test child ... " before the tag.
        if let Some((_, rest)) = line.trim_end().split_once(TAG) {
            return Some(rest.trim().to_owned());
        }
    }
}

/// 2 processes × 8 threads submit `input` for `user` at once; the
/// outcomes of all 16.
fn race(db: &Db, order: &str, user: &str, input: &str) -> Vec<String> {
    let mut children: Vec<_> = (0..PROCESSES)
        .map(|_| spawn(db, order, user, input))
        .collect();
    for (_, out) in &mut children {
        assert_eq!(next_line(out).as_deref(), Some("ready"));
    }
    // Both processes are ready, their threads waiting: release them all.
    for (child, _) in &mut children {
        child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    }
    let mut outcomes = Vec::new();
    for (mut child, mut out) in children {
        while let Some(line) = next_line(&mut out) {
            outcomes.push(line.strip_prefix("outcome ").unwrap().to_owned());
        }
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(outcomes.len(), PROCESSES * THREADS);
    outcomes
}

fn races_accept_once(db: &Db) {
    let clock = Arc::new(ManualClock::new(NOW));
    for round in 0..3 {
        let user = format!("racer-{round}");
        let recovery = db.with(clock.clone(), |mfa| mfa.bind(&user, NOW));
        // A fresh code, one step after the one bind used.
        let code = code_at(&enrollment(seed(&user)), NOW + 30);
        clock.set(NOW + 30);

        let outcomes = race(db, "race-code", &user, &code);
        let accepted = outcomes.iter().filter(|o| *o == "accepted").count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes.iter().all(|o| o == "accepted" || o == "Replayed"),
            "round {round}: {outcomes:?}"
        );

        let outcomes = race(db, "race-recovery", &user, &recovery[0]);
        let accepted = outcomes.iter().filter(|o| *o == "accepted").count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        // The losers found it spent (a wrong code, counted) or were
        // throttled by those failures; none hit a store error.
        assert!(
            outcomes
                .iter()
                .all(|o| ["accepted", "Mismatch", "Throttled"].contains(&o.as_str())),
            "round {round}: {outcomes:?}"
        );
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_two_processes_accept_a_code_once() {
    let dir = common::TempDir::new("race-sqlite");
    races_accept_once(&Db::Sqlite(dir.join("mfa.db"), false));
}

#[cfg(feature = "postgres")]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_two_processes_accept_a_code_once() {
    let url = common::postgres_url();
    races_accept_once(&Db::Postgres(common::fresh_database(&url, "race"), false));
}

#[cfg(all(
    feature = "sqlite",
    feature = "postgres",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres"
))]
#[test]
fn sqlite_two_async_processes_accept_a_code_once() {
    let dir = common::TempDir::new("race-sqlx-sqlite");
    races_accept_once(&Db::Sqlite(dir.join("mfa.db"), true));
}

#[cfg(all(
    feature = "postgres",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres"
))]
#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn postgres_two_async_processes_accept_a_code_once() {
    let url = common::postgres_url();
    races_accept_once(&Db::Postgres(
        common::fresh_database(&url, "race_sqlx"),
        true,
    ));
}

/// SIGKILL in the middle of a burst, four times: after each restart, no
/// step the killed process reported accepted is accepted again, and no
/// recovery code it reported spent works.
#[cfg(feature = "sqlite")]
#[test]
fn sqlite_loses_nothing_reported_when_killed() {
    let dir = common::TempDir::new("crash-sqlite");
    let db = Db::Sqlite(dir.join("mfa.db"), false);
    let clock = Arc::new(ManualClock::new(NOW));
    for (round, kill_after) in [3usize, 8, 17, 26].into_iter().enumerate() {
        let user = format!("burst-{round}");
        clock.set(NOW);
        let codes = db.with(clock.clone(), |mfa| mfa.bind(&user, NOW));
        let (mut child, mut out) = spawn(&db, "burst", &user, &codes.join(","));
        let mut reported = Vec::new();
        while reported.len() < kill_after {
            reported.push(next_line(&mut out).expect("the burst ended early"));
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no flush, mid-write
        child.wait().unwrap();
        // Lines written before the kill landed are reports too.
        while let Some(line) = next_line(&mut out) {
            reported.push(line);
        }

        let factor = enrollment(seed(&user));
        let (mut steps, mut spent) = (0, 0);
        db.with(clock.clone(), |mfa| {
            for line in &reported {
                if let Some(at) = line.strip_prefix("accepted ") {
                    let at: u64 = at.parse().unwrap();
                    clock.set(at);
                    let again = mfa.verify(&user, &code_at(&factor, at));
                    assert_eq!(again, Err("Replayed".into()), "round {round}: step at {at}");
                    steps += 1;
                } else if let Some(code) = line.strip_prefix("spent ") {
                    let again = mfa.recover(&user, code);
                    assert_eq!(again, Err("Mismatch".into()), "round {round}: {code}");
                    mfa.unlock(&user);
                    spent += 1;
                } else {
                    panic!("unexpected line {line}");
                }
            }
            // The record is whole and usable: a new step is accepted.
            let later = NOW + 30 * 1000;
            clock.set(later);
            assert!(mfa.verify(&user, &code_at(&factor, later)).is_ok());
        });
        assert!(steps > 0 && spent > 0, "round {round}: {reported:?}");
    }
}
