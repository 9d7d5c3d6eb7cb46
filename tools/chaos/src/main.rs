//! One-time use on PostgreSQL as it is deployed, under load: restarts,
//! backends killed mid-commit, synchronous and asynchronous replication
//! with failover (the standby lagging), and a database that would not
//! make commits durable. Each scenario runs on throw-away clusters it
//! makes, with both PostgreSQL stores, and prints what counts:
//!
//! - **accepted twice**: a code accepted, acknowledged, and accepted again
//!   (during the load, or when every acknowledged code is typed once more
//!   after the event);
//! - **acknowledged, lost**: saves the store answered `Saved` that the
//!   database no longer has (a trigger writes every save to a history
//!   table, in the same transaction);
//! - errors by kind, and the time from the first error to the next
//!   acceptance.
//!
//! ```text
//! cargo run -p twostep-chaos              # every scenario
//! cargo run -p twostep-chaos -- async     # those whose name has "async"
//! ```
//!
//! Exits non-zero if a scenario breaks what the guide "PostgreSQL in
//! production" promises, or if the "before" run (the fence off) of the
//! lagging failover did not accept a code twice (then it proved nothing).

mod cluster;
mod load;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::{pg, Bouncer, Server};
use load::{AppServer, Log, StoreKind};

/// People signing in at once: enough that a 300 ms lag holds hundreds of
/// acceptances.
const USERS: usize = 3_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    RestartFast,
    RestartImmediate,
    KillBackends,
    SyncFailover,
    AsyncFailoverLagging,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::RestartFast => "restart -m fast",
            Event::RestartImmediate => "restart -m immediate",
            Event::KillBackends => "backends killed in UPDATE/COMMIT",
            Event::SyncFailover => "sync standby, failover",
            Event::AsyncFailoverLagging => "async standby lagging 300 ms, failover",
        }
    }
}

struct Report {
    acks: usize,
    twice: usize,
    resubmitted: usize,
    lost: usize,
    saves: usize,
    errors: BTreeMap<String, u64>,
    recovery: Option<Duration>,
    note: String,
}

fn sleep_ms(ms: u64) {
    // Chaos runs on the wall clock: the database's failures take real time.
    std::thread::sleep(Duration::from_millis(ms));
}

const HISTORY: &str = "
    CREATE TABLE chaos_history (id text NOT NULL, version bigint NOT NULL, digest bytea NOT NULL);
    CREATE FUNCTION chaos_trace() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO chaos_history VALUES (NEW.id, NEW.version, sha256(NEW.bytes));
        RETURN NEW;
    END $$;
    CREATE TRIGGER chaos_trace AFTER INSERT OR UPDATE ON twostep_records
        FOR EACH ROW EXECUTE FUNCTION chaos_trace();";

fn scenario(event: Event, kind: StoreKind, fence: bool) -> Result<Report, String> {
    let sync = event == Event::SyncFailover;
    let settings: &[&str] = if sync {
        &["synchronous_standby_names = 'standby'"]
    } else {
        &[]
    };
    let primary = Server::primary("primary", settings)?;
    let standby = match event {
        Event::SyncFailover | Event::AsyncFailoverLagging => {
            Some(Server::standby(&primary, "standby")?)
        }
        _ => None,
    };
    let bouncer = match kind {
        StoreKind::SyncPooler => Some(Bouncer::start(&primary)?),
        _ => None,
    };
    // Where the servers connect: PostgresStore names both servers and asks
    // for the writable one (libpq's multi-host form), so it follows a
    // failover by itself; sqlx's pool is pointed at the new primary, as a
    // virtual IP or a DNS name would be; behind the pooler, the pooler is.
    let params = match (kind, &bouncer, &standby) {
        (StoreKind::SyncPooler, Some(bouncer), _) => bouncer.params(),
        (StoreKind::Sync, _, Some(standby)) => format!(
            "host={},{} port={},{} user=postgres dbname=postgres target_session_attrs=read-write",
            primary.dir.display(),
            standby.dir.display(),
            primary.port,
            standby.port
        ),
        _ => primary.params(),
    };
    // The schema, then the history trigger on it.
    drop(twostep_sql::PostgresStore::connect(&primary.params()).map_err(|e| e.to_string())?);
    primary.admin()?.batch_execute(HISTORY).map_err(pg)?;

    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let phones: Arc<Vec<_>> = Arc::new((0..USERS).map(load::phone).collect::<Result<_, _>>()?);
    load::enroll(&primary.params(), &phones, start)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let servers = [
        Arc::new(AppServer::new(kind, &params, fence, USERS, &runtime)?),
        Arc::new(AppServer::new(kind, &params, fence, USERS, &runtime)?),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Log::default());
    let began = Instant::now();
    let threads = load::run(&servers, &phones, start / 30, &stop, &log, began);

    sleep_ms(600);
    let event_at = began.elapsed();
    let event = cause(
        event,
        &primary,
        standby.as_ref(),
        bouncer.as_ref(),
        &servers,
    );
    let event_done = began.elapsed();
    if event.is_ok() {
        sleep_ms(1_000);
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let mut note = event?;

    // Every acknowledged code, typed once more at the first server.
    let acks = log.acks.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut seen = HashSet::new();
    let mut twice = 0;
    for ack in &acks {
        if !seen.insert((ack.user, ack.step)) {
            twice += 1;
            if !fence {
                continue;
            }
            let first = acks
                .iter()
                .find(|a| (a.user, a.step) == (ack.user, ack.step));
            eprintln!(
                "chaos: user {} step {} accepted at server {} at {:?} and again at server {} at {:?} (event at {event_at:?})",
                ack.user,
                ack.step,
                first.map_or(9, |a| a.server),
                first.map(|a| a.at),
                ack.server,
                ack.at
            );
        }
    }
    // Typed again: answered by the database (an error is tried again, for
    // 5 s) and not too old by now.
    let mut resubmitted = 0;
    for &(user, step) in &seen {
        let Some(phone) = phones.get(user) else {
            continue;
        };
        let code = phone.totp().generate_at_step(step).expose().to_string();
        let mut answer = servers[0].verify(user, &code);
        for _ in 0..50 {
            if !matches!(answer, load::Answer::Error(_)) {
                break;
            }
            sleep_ms(100);
            answer = servers[0].verify(user, &code);
        }
        match answer {
            load::Answer::Accepted(_) => {
                twice += 1;
                if fence {
                    eprintln!("chaos: user {user} step {step} accepted again when typed again");
                }
            }
            load::Answer::Replayed => {}
            load::Answer::Expired | load::Answer::Error(_) => continue,
        }
        resubmitted += 1;
    }

    // Acknowledged saves the database no longer has.
    let mut admin = match &standby {
        Some(standby) => standby.admin()?,
        None => primary.admin()?,
    };
    let kept: HashSet<(String, i64, Vec<u8>)> = admin
        .query("SELECT id, version, digest FROM chaos_history", &[])
        .map_err(|e| e.to_string())?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let saved: Vec<_> = servers.iter().flat_map(|s| s.saved()).collect();
    let lost = saved
        .iter()
        .filter(|s| !kept.contains(&(s.id.clone(), s.version, s.digest.clone())))
        .count();

    let error_times = log
        .error_times
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let answer_times = log
        .answer_times
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    // From the first error to the first answer after the last one.
    let recovery = error_times
        .iter()
        .filter(|t| **t >= event_at)
        .min()
        .map(|first| {
            let last = error_times.iter().max().copied().unwrap_or(*first);
            let next = answer_times
                .iter()
                .filter(|t| **t > last)
                .min()
                .copied()
                .unwrap_or(last);
            next.saturating_sub(*first)
        });
    if note.is_empty() {
        note = format!("event took {} ms", (event_done - event_at).as_millis());
    }
    let errors = log.errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(Report {
        acks: acks.len(),
        twice,
        resubmitted,
        lost,
        saves: saved.len(),
        errors,
        recovery,
        note,
    })
}

/// Brings `event` about while the load runs; a note on it.
fn cause(
    event: Event,
    primary: &Server,
    standby: Option<&Server>,
    bouncer: Option<&Bouncer>,
    servers: &[Arc<AppServer>],
) -> Result<String, String> {
    let mut note = String::new();
    match event {
        Event::RestartFast => primary.restart("fast")?,
        Event::RestartImmediate => primary.restart("immediate")?,
        Event::KillBackends => {
            let mut admin = primary.admin()?;
            let mut killed = 0;
            let until = Instant::now() + Duration::from_millis(1_500);
            while Instant::now() < until {
                let rows = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE state = 'active' AND pid <> pg_backend_pid() \
                         AND query LIKE 'UPDATE twostep_records%'",
                        &[],
                    )
                    .map_err(pg)?;
                killed += rows.iter().filter(|r| r.get::<_, bool>(0)).count();
                sleep_ms(2);
            }
            note = format!("{killed} backends killed");
        }
        Event::SyncFailover | Event::AsyncFailoverLagging => {
            let standby = standby.ok_or("no standby")?;
            if event == Event::AsyncFailoverLagging {
                // The standby stops receiving: the walsender is frozen while
                // the primary goes on acknowledging, then the primary dies.
                let pid: i32 = primary
                    .admin()?
                    .query_one("SELECT pid FROM pg_stat_replication", &[])
                    .map_err(|e| e.to_string())?
                    .get(0);
                cluster::signal(pid, "STOP")?;
                sleep_ms(300);
            }
            primary.kill();
            standby.promote()?;
            // The pooler, or sqlx's pool, is pointed at the new primary.
            if let Some(bouncer) = bouncer {
                bouncer.point_at(standby)?;
            }
            for server in servers {
                server.retarget(&standby.params());
            }
        }
    }
    Ok(note)
}

/// `synchronous_commit = off` on the database: both stores refuse it.
fn commit_off() -> Result<String, String> {
    let primary = Server::primary("commit-off", &["synchronous_commit = off"])?;
    let sync = match twostep_sql::PostgresStore::connect(&primary.params()) {
        Err(twostep_sql::SqlStoreError::CommitNotDurable(_)) => "refused",
        Err(e) => return Err(format!("PostgresStore: {e}")),
        Ok(_) => return Err("PostgresStore accepted synchronous_commit = off".into()),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let refused = runtime.block_on(async {
        let pool = sqlx::PgPool::connect_with(load::sqlx_options_for(&primary.params()))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(twostep_sqlx::SqlxPgStore::new(pool).migrate().await)
    })?;
    match refused {
        Err(twostep_sqlx::SqlxStoreError::CommitNotDurable(_)) => {
            Ok(format!("PostgresStore {sync}, SqlxPgStore refused"))
        }
        other => Err(format!("SqlxPgStore: {other:?}")),
    }
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let events = [
        Event::RestartFast,
        Event::RestartImmediate,
        Event::KillBackends,
        Event::SyncFailover,
        Event::AsyncFailoverLagging,
    ];
    let mut failed = Vec::new();
    println!("| scenario | store | fence | acceptances | accepted twice | acknowledged saves lost / saves | errors by kind | first error to next answer | |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for event in events {
        for kind in [StoreKind::Sync, StoreKind::Sqlx, StoreKind::SyncPooler] {
            // Behind the pooler: a restart, and the lagging failover (its
            // clients' connections outlive the old primary).
            if kind == StoreKind::SyncPooler
                && !matches!(event, Event::RestartImmediate | Event::AsyncFailoverLagging)
            {
                continue;
            }
            let fences: &[bool] = if event == Event::AsyncFailoverLagging {
                &[false, true]
            } else {
                &[true]
            };
            for &fence in fences {
                let label = format!("{} {kind:?} fence={fence}", event.name());
                if !label.contains(&filter) {
                    continue;
                }
                match scenario(event, kind, fence) {
                    Ok(r) => {
                        let errors: Vec<String> =
                            r.errors.iter().map(|(k, n)| format!("{n}× {k}")).collect();
                        let recovery = r
                            .recovery
                            .map_or("no errors".into(), |d| format!("{} ms", d.as_millis()));
                        println!(
                            "| {} | {} | {} | {} | {} (of {} typed again) | {} / {} | {} | {recovery} | {} |",
                            event.name(),
                            kind.name(),
                            if fence { "on" } else { "off" },
                            r.acks,
                            r.twice,
                            r.resubmitted,
                            r.lost,
                            r.saves,
                            if errors.is_empty() { "none".into() } else { errors.join("; ") },
                            r.note
                        );
                        let may_lose = event == Event::AsyncFailoverLagging;
                        if fence && (r.twice > 0 || (r.lost > 0 && !may_lose)) {
                            failed.push(format!(
                                "{label}: {} accepted twice, {} lost",
                                r.twice, r.lost
                            ));
                        }
                        if !fence && r.twice == 0 {
                            failed.push(format!("{label}: accepted nothing twice without the fence ({} lost): the scenario proved nothing", r.lost));
                        }
                        if r.acks == 0 {
                            failed.push(format!("{label}: no acceptance at all"));
                        }
                    }
                    Err(e) => failed.push(format!("{label}: {e}")),
                }
            }
        }
    }
    if "synchronous_commit = off".contains(&filter) || filter.is_empty() {
        match commit_off() {
            Ok(text) => println!("| synchronous_commit = off | both | | | | | {text} | | |"),
            Err(e) => failed.push(format!("synchronous_commit = off: {e}")),
        }
    }
    if !failed.is_empty() {
        for f in &failed {
            eprintln!("chaos: FAILED {f}");
        }
        std::process::exit(1);
    }
}
