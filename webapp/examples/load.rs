//! A bounded load test on loopback: `--people` (200) simulated people sign
//! in with password and one-time code, `--rounds` (3) times each, all at
//! once, through the web app's real HTTP handlers (everyone's password
//! step, then everyone's code step); then each tries their last code again. Prints sign-ins per second, p50/p99 latencies, errors,
//! and fails unless every code was accepted exactly once.
//!
//! `cargo run --release -p twostep-webapp --example load -- [--people N]
//! [--rounds N] [--postgres URL]` (an SQLite file in a temporary directory
//! otherwise). The app's clock moves 30 s between rounds, so each round
//! has new codes; the password hash (Argon2id, OWASP's 19 MiB × 2) is most
//! of a sign-in's cost, and the code step is timed on its own too.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::Quota;
use twostep::clock::{Clock, ManualClock, SystemClock};
use twostep::{AsyncMfa, Enrollment, Keyring};
use twostep_webapp::{router, AppStore, Config, Database, Directory, PasswordLimits, Role, Seed};

#[path = "../tests/support/http.rs"]
mod http;

use http::{Answer, Client, Failure};

/// The first screen: the form and the password. Returns the connection,
/// now on the code screen's session, and the time it took.
async fn password_step(
    addr: std::net::SocketAddr,
    email: String,
    password: String,
) -> Result<(Client, Duration), Failure> {
    let start = Instant::now();
    let mut client = Client::connect(addr).await?;
    let signed = client
        .send(
            "POST",
            "/signin",
            &[("email", &email), ("password", &password)],
        )
        .await?;
    if signed.location != "/mfa" {
        return Err(format!("password refused for {email}: {}", signed.status).into());
    }
    Ok((client, start.elapsed()))
}

/// The second: the code screen and the code. Returns the answer to the code
/// and the time it took.
async fn code_step(mut client: Client, code: String) -> Result<(Answer, Duration), Failure> {
    let start = Instant::now();
    client.send("GET", "/mfa", &[]).await?;
    let answer = client.send("POST", "/mfa/code", &[("code", &code)]).await?;
    Ok((answer, start.elapsed()))
}

/// The password steps' times, each code's answer with the code, and how
/// long the code steps took together.
type Round = (
    Vec<Duration>,
    Vec<(Result<(Answer, Duration), Failure>, String)>,
    Duration,
);

/// Everyone at once through both steps with `codes`; the code step starts
/// when every password is checked, so each step is timed on its own.
async fn round(
    addr: std::net::SocketAddr,
    people: &[(String, String)],
    codes: Vec<String>,
) -> Result<Round, Failure> {
    let passwords: Vec<_> = people
        .iter()
        .map(|(email, password)| tokio::spawn(password_step(addr, email.clone(), password.clone())))
        .collect();
    let (mut clients, mut times) = (Vec::new(), Vec::new());
    for task in passwords {
        let (client, took) = task.await??;
        clients.push(client);
        times.push(took);
    }
    let code_phase = Instant::now();
    let answers: Vec<_> = clients
        .into_iter()
        .zip(&codes)
        .map(|(client, code)| tokio::spawn(code_step(client, code.clone())))
        .collect();
    let mut results = Vec::new();
    for (task, code) in answers.into_iter().zip(codes) {
        results.push((task.await?, code));
    }
    Ok((times, results, code_phase.elapsed()))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let (mut people, mut rounds, mut database) = (200usize, 3usize, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--people" => people = value.parse()?,
            "--rounds" => rounds = value.parse()?,
            "--postgres" => database = Some(Database::Postgres(value)),
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    let dir = std::env::temp_dir().join(format!("twostep-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = database.unwrap_or_else(|| Database::Sqlite(dir.join("load.sqlite3")));
    let backend = match database {
        Database::Sqlite(_) => "SQLite",
        Database::Postgres(_) | Database::PostgresPlaintext(_) => "PostgreSQL",
    };

    // People new to this database (a PostgreSQL one may hold earlier runs).
    let run = SystemClock.now();
    let emails: Vec<String> = (0..people)
        .map(|i| format!("load-{run}-{i}@acme.test"))
        .collect();
    let passwords: Vec<String> = (0..people).map(|i| format!("load-password-{i}")).collect();
    let seeds: Vec<Seed<'_>> = emails
        .iter()
        .zip(&passwords)
        .map(|(email, password)| Seed {
            email,
            name: email,
            role: Role::User,
            password,
        })
        .chain([Seed {
            email: "olivia@acme.test",
            name: "Olivia Owner",
            role: Role::Owner,
            password: "-",
        }])
        .collect();
    let seeding = Instant::now();
    let directory = Directory::new("acme", "Acme", &seeds)?;
    println!(
        "{people} people's passwords hashed in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let clock = Arc::new(ManualClock::new(run));
    let keyring = Keyring::new(1, &[42; 32]);
    let store = AppStore::open(&database).await?;
    // Each person's phone, bound directly through the service.
    let mfa = AsyncMfa::with_config(
        store.clone(),
        keyring.clone(),
        twostep::Config::default().with_clock(clock.clone()),
    );
    let mut phones = Vec::with_capacity(people);
    for email in &emails {
        let enrollment = Enrollment::builder("Acme", email).build_os()?;
        let code = enrollment
            .totp()
            .generate(clock.now())?
            .expose()
            .to_string();
        let mut session = mfa.start_session(email).await?;
        mfa.bind(email, &mut session, &enrollment, &code).await?;
        phones.push(enrollment);
    }
    let config = Config {
        store,
        keyring,
        clock: clock.clone(),
        directory,
        secure_cookies: false,
        // Everyone comes from this one address: no allowance per client.
        password_limits: PasswordLimits {
            per_client: Quota::per_second(NonZeroU32::MAX),
            ..PasswordLimits::default()
        },
    };
    let app = router(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let accounts: Vec<(String, String)> = emails
        .iter()
        .cloned()
        .zip(passwords.iter().cloned())
        .collect();
    let (mut password_steps, mut code_steps, mut errors) = (Vec::new(), Vec::new(), 0usize);
    let mut code_phases = Duration::ZERO;
    let mut last_codes = vec![String::new(); people];
    let started = Instant::now();
    for _ in 0..rounds {
        // A new time step: every phone shows a new code.
        clock.advance(30);
        let codes = phones
            .iter()
            .map(|phone| Ok(phone.totp().generate(clock.now())?.expose().to_string()))
            .collect::<Result<Vec<_>, Failure>>()?;
        let (times, answers, code_phase) = round(addr, &accounts, codes).await?;
        password_steps.extend(times);
        code_phases += code_phase;
        for ((answer, code), last) in answers.into_iter().zip(&mut last_codes) {
            match answer {
                // Accepted: "See Other" to the next screen; refused: the
                // same screen again, 422.
                Ok((answer, took)) if answer.status == 303 => {
                    code_steps.push(took);
                    *last = code;
                }
                Ok((answer, _)) => {
                    errors += 1;
                    eprintln!("refused: {}", answer.status);
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("error: {e}");
                }
            }
        }
    }
    let elapsed = started.elapsed();

    // The same codes once more, within their time step: all refused.
    let (_, answers, _) = round(addr, &accounts, last_codes).await?;
    let replays_refused = answers
        .iter()
        .filter(|(answer, _)| {
            answer.as_ref().is_ok_and(|(answer, _)| {
                answer.status == 422 && answer.body.contains("That code was just used")
            })
        })
        .count();

    password_steps.sort();
    code_steps.sort();
    let accepted = code_steps.len();
    println!(
        "{backend}: {accepted} sign-ins ({people} people × {rounds} rounds, all at once) in {:.2} s = {:.0} sign-ins/s",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  password step (form, password): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&password_steps, 0.5),
        percentile(&password_steps, 0.99)
    );
    println!(
        "  code step (code screen, code):  p50 {:.1} ms, p99 {:.1} ms; {:.0} code checks/s",
        percentile(&code_steps, 0.5),
        percentile(&code_steps, 0.99),
        accepted as f64 / code_phases.as_secs_f64()
    );
    println!("  errors: {errors}; replayed codes refused: {replays_refused} of {people}");
    let _ = std::fs::remove_dir_all(&dir);
    if errors > 0 || accepted != people * rounds || replays_refused != people {
        return Err("not every code was accepted exactly once".into());
    }
    Ok(())
}
