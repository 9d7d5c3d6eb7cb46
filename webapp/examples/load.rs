//! A bounded load test on loopback: `--people` (200) simulated people sign
//! in with password and one-time code, `--rounds` (3) times each, all at
//! once, through the web app's real HTTP handlers (everyone's password
//! step, then everyone's code step); then each tries their last code again,
//! at the other process when there are two. Prints sign-ins per second,
//! p50/p99 latencies, errors, and fails unless every code was accepted
//! exactly once.
//!
//! `cargo run --release -p twostep-webapp --example load -- [--people N]
//! [--rounds N] [--processes N] [--postgres URL]` (an SQLite file in a
//! temporary directory otherwise). `--processes 2` runs the app as two
//! processes of this program over the one database (sessions and records
//! shared there), people spread over both. The app's clock moves 30 s
//! between rounds (a file every process reads), so each round has new
//! codes; the password hash (Argon2id, OWASP's 19 MiB × 2) is most of a
//! sign-in's cost, and the code step is timed on its own too.

use std::io::BufRead;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
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

/// The second: the code screen and the code, and the page its answer leads
/// to (as a browser follows it: `/account` when accepted, the code screen
/// with the refusal when not). Returns that page and the time it took.
async fn code_step(mut client: Client, code: String) -> Result<(Answer, Duration), Failure> {
    let start = Instant::now();
    client.send("GET", "/mfa", &[]).await?;
    let answer = client.send("POST", "/mfa/code", &[("code", &code)]).await?;
    let next = client.send("GET", &answer.location, &[]).await?;
    Ok((next, start.elapsed()))
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
    servers: &[SocketAddr],
    shift: usize,
    people: &[(String, String)],
    codes: Vec<String>,
) -> Result<Round, Failure> {
    // Person i at process i (mod n), or `shift` processes further on.
    let at = servers.iter().cycle().skip(shift);
    let passwords: Vec<_> = people
        .iter()
        .zip(at)
        .map(|((email, password), addr)| {
            tokio::spawn(password_step(*addr, email.clone(), password.clone()))
        })
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

/// The app's clock for every process: the Unix time in a file the load
/// test writes (so two processes see each round's time step together).
struct FileClock(PathBuf);

impl Clock for FileClock {
    fn now(&self) -> u64 {
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        text.trim().parse().unwrap_or_else(|_| SystemClock.now())
    }
}

/// What both the load test and its app processes need to agree on.
struct Setup {
    people: usize,
    run: u64,
    database: Database,
    clock_file: PathBuf,
}

impl Setup {
    fn emails(&self) -> Vec<String> {
        let run = self.run;
        (0..self.people)
            .map(|i| format!("load-{run}-{i}@acme.test"))
            .collect()
    }

    fn passwords(&self) -> Vec<String> {
        (0..self.people)
            .map(|i| format!("load-password-{i}"))
            .collect()
    }

    fn directory(&self) -> Result<Directory, Failure> {
        let (emails, passwords) = (self.emails(), self.passwords());
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
        Directory::new("acme", "Acme", &seeds)
    }

    /// The arguments that start an app process on this setup.
    fn serve_args(&self) -> Vec<String> {
        let database = match &self.database {
            Database::Sqlite(path) => ["--sqlite".to_owned(), path.display().to_string()],
            Database::Postgres(url) | Database::PostgresPlaintext(url) => {
                ["--postgres".to_owned(), url.clone()]
            }
        };
        let mut args = vec![
            "--serve".to_owned(),
            "--people".to_owned(),
            self.people.to_string(),
            "--run".to_owned(),
            self.run.to_string(),
            "--clock-file".to_owned(),
            self.clock_file.display().to_string(),
        ];
        args.extend(database);
        args
    }
}

/// An app process: the web app over the setup's database, on loopback;
/// prints its address, then serves until killed.
async fn serve(setup: &Setup) -> Result<(), Failure> {
    let config = Config {
        store: AppStore::open(&setup.database).await?,
        keyring: Keyring::new(1, &[42; 32]),
        clock: Arc::new(FileClock(setup.clock_file.clone())),
        directory: setup.directory()?,
        secure_cookies: false,
        // Everyone comes from this one address: no allowance per client.
        password_limits: PasswordLimits {
            per_client: Quota::per_second(NonZeroU32::MAX),
            ..PasswordLimits::default()
        },
    };
    let app = router(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}

/// Starts `n` app processes of this program; their addresses.
fn start_processes(
    setup: &Setup,
    n: usize,
) -> Result<(Vec<std::process::Child>, Vec<SocketAddr>), Failure> {
    let (mut children, mut addrs) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args(setup.serve_args())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let line = std::io::BufReader::new(stdout)
            .lines()
            .next()
            .ok_or("an app process ended before listening")??;
        let addr = line
            .strip_prefix("listening ")
            .ok_or("no address")?
            .parse()?;
        children.push(child);
        addrs.push(addr);
    }
    Ok((children, addrs))
}

fn set_time(file: &Path, now: u64) -> std::io::Result<()> {
    std::fs::write(file, now.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let (mut people, mut rounds, mut processes, mut database) = (200usize, 3usize, 1usize, None);
    let (mut serving, mut run, mut clock_file) = (false, SystemClock.now(), None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--serve" {
            serving = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--people" => people = value.parse()?,
            "--rounds" => rounds = value.parse()?,
            "--processes" => processes = value.parse()?,
            "--postgres" => database = Some(Database::Postgres(value)),
            "--sqlite" => database = Some(Database::Sqlite(value.into())),
            "--run" => run = value.parse()?,
            "--clock-file" => clock_file = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    let dir = std::env::temp_dir().join(format!("twostep-load-{}", std::process::id()));
    let setup = Setup {
        people,
        run,
        database: database.unwrap_or_else(|| Database::Sqlite(dir.join("load.sqlite3"))),
        clock_file: clock_file.unwrap_or_else(|| dir.join("clock")),
    };
    if serving {
        return serve(&setup).await;
    }
    if processes == 0 {
        return Err("--processes must be at least 1".into());
    }
    std::fs::create_dir_all(&dir)?;
    let backend = match setup.database {
        Database::Sqlite(_) => "SQLite",
        Database::Postgres(_) | Database::PostgresPlaintext(_) => "PostgreSQL",
    };
    let emails = setup.emails();

    // Each person's phone, bound directly through the service (people new
    // to this database: a PostgreSQL one may hold earlier runs).
    let clock = Arc::new(ManualClock::new(run));
    set_time(&setup.clock_file, clock.now())?;
    let store = AppStore::open(&setup.database).await?;
    let mfa = AsyncMfa::with_config(
        store,
        Keyring::new(1, &[42; 32]),
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
    let seeding = Instant::now();
    let (mut children, servers) = start_processes(&setup, processes)?;
    println!(
        "{processes} app process(es) up, {people} passwords hashed in each, in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let outcome = sign_ins(&setup, backend, rounds, &clock, &phones, &servers).await;
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// The rounds, the replays, the figures.
async fn sign_ins(
    setup: &Setup,
    backend: &str,
    rounds: usize,
    clock: &ManualClock,
    phones: &[Enrollment],
    servers: &[SocketAddr],
) -> Result<(), Failure> {
    let people = setup.people;
    let accounts: Vec<(String, String)> =
        setup.emails().into_iter().zip(setup.passwords()).collect();
    let (mut password_steps, mut code_steps, mut errors) = (Vec::new(), Vec::new(), 0usize);
    let mut code_phases = Duration::ZERO;
    let mut last_codes = vec![String::new(); people];
    let started = Instant::now();
    for _ in 0..rounds {
        // A new time step: every phone shows a new code.
        clock.advance(30);
        set_time(&setup.clock_file, clock.now())?;
        let codes = phones
            .iter()
            .map(|phone| Ok(phone.totp().generate(clock.now())?.expose().to_string()))
            .collect::<Result<Vec<_>, Failure>>()?;
        let (times, answers, code_phase) = round(servers, 0, &accounts, codes).await?;
        password_steps.extend(times);
        code_phases += code_phase;
        for ((answer, code), last) in answers.into_iter().zip(&mut last_codes) {
            match answer {
                // Accepted: on to the account page.
                Ok((page, took)) if page.location == "/account" => {
                    code_steps.push(took);
                    *last = code;
                }
                Ok((page, _)) => {
                    errors += 1;
                    eprintln!("refused: {} {}", page.status, page.location);
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("error: {e}");
                }
            }
        }
    }
    let elapsed = started.elapsed();

    // The same codes once more, within their time step, at the other
    // process if there are two: all refused.
    let (_, answers, _) = round(servers, 1, &accounts, last_codes).await?;
    let replays_refused = answers
        .iter()
        .filter(|(answer, _)| {
            answer
                .as_ref()
                .is_ok_and(|(page, _)| page.body.contains("That code was just used"))
        })
        .count();

    password_steps.sort();
    code_steps.sort();
    let accepted = code_steps.len();
    let processes = servers.len();
    println!(
        "{backend}, {processes} process(es): {accepted} sign-ins ({people} people × {rounds} rounds, all at once) in {:.2} s = {:.0} sign-ins/s",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  password step (form, password): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&password_steps, 0.5),
        percentile(&password_steps, 0.99)
    );
    println!(
        "  code step (code screen, code, next page):  p50 {:.1} ms, p99 {:.1} ms; {:.0} code checks/s",
        percentile(&code_steps, 0.5),
        percentile(&code_steps, 0.99),
        accepted as f64 / code_phases.as_secs_f64()
    );
    println!("  errors: {errors}; replayed codes refused: {replays_refused} of {people}");
    if errors > 0 || accepted != people * rounds || replays_refused != people {
        return Err("not every code was accepted exactly once".into());
    }
    Ok(())
}
