//! The review's findings against the app where the host decides, each as
//! the attack it was: a stolen laptop after a reset, a lockout used to take
//! an account over, password guessing, sessions that never end, plain text
//! to a remote PostgreSQL, the application key written into a repository.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the tests' helpers: a failure is the test's failure"
)]

mod support;

use std::io::BufRead;

use support::http::Failure;
use support::person::{key_on, owner_forces_mfa, Person};
use support::{start, start_with, Running, PEOPLE};
use twostep_webapp::{
    postgres_options, AppStore, Database, PasswordLimits, ABSOLUTE_LIFETIME, IDLE_LIFETIME,
};

/// Umar (PEOPLE[1]) goes through Company Account Verification on a browser
/// of his own; returns the browser and his key.
async fn member_enrolls(app: &Running) -> Result<(Person, String), Failure> {
    let mut umar = Person::new(app).await?;
    umar.sign_in(1).await?;
    umar.post("/mfa", "/mfa/begin", &[]).await?;
    let key = key_on(&umar.get("/mfa").await?.body);
    umar.post("/mfa", "/mfa/enroll/code", &[("code", &app.code_for(&key))])
        .await?;
    app.wait(30);
    umar.post(
        "/mfa",
        "/mfa/enroll/second",
        &[("code", &app.code_for(&key))],
    )
    .await?;
    umar.post("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
        .await?;
    assert_eq!(umar.get("/account").await?.status, 200, "enrolled");
    Ok((umar, key))
}

/// The owner, signed in with a fresh code, does `action` ("reset" or
/// "unlock") to Umar from the Users page.
async fn owner_acts_on_umar(
    app: &Running,
    owner_key: &str,
    action: &str,
) -> Result<String, Failure> {
    app.wait(30);
    let mut owner = Person::new(app).await?;
    owner.sign_in(0).await?;
    owner
        .post("/mfa", "/mfa/code", &[("code", &app.code_for(owner_key))])
        .await?;
    app.wait(30);
    let done = owner
        .submit(
            "/users",
            &format!("/users/{action}"),
            &[("user", PEOPLE[1].0), ("code", &app.code_for(owner_key))],
        )
        .await?;
    Ok(done.body)
}

#[tokio::test]
async fn finding_1_a_laptop_signed_in_before_a_reset_cannot_enroll_another_phone(
) -> Result<(), Failure> {
    let app = start(None, false);
    let owner_key = owner_forces_mfa(&app).await?;
    let (mut stolen_laptop, _) = member_enrolls(&app).await?;
    let users = owner_acts_on_umar(&app, &owner_key, "reset").await?;
    assert!(
        users.contains("<td data-label=\"MFA\">Not set up</td>"),
        "{users}"
    );

    // The thief's session passed MFA before the reset: it is over.
    assert_eq!(stolen_laptop.get("/mfa").await?.location, "/signin");
    let begin = stolen_laptop.post("/mfa", "/mfa/begin", &[]).await?;
    assert_eq!(begin.location, "/signin");
    assert_eq!(stolen_laptop.cookie(), "", "the session cookie is removed");
    assert_eq!(stolen_laptop.get("/account").await?.location, "/signin");
    Ok(())
}

#[tokio::test]
async fn one_code_typed_in_two_browsers_at_once_signs_in_one_of_them() -> Result<(), Failure> {
    let app = start(None, false);
    owner_forces_mfa(&app).await?;
    let (_, key) = member_enrolls(&app).await?;
    app.wait(30);
    let (mut first, mut second) = (Person::new(&app).await?, Person::new(&app).await?);
    first.sign_in(1).await?;
    second.sign_in(1).await?;
    // Someone looking over the shoulder types the same code at the same time.
    let code = app.code_for(&key);
    let typed = [("code", code.as_str())];
    let (one, other) = tokio::join!(
        first.submit("/mfa", "/mfa/code", &typed),
        second.submit("/mfa", "/mfa/code", &typed),
    );
    let pages = [one?, other?];
    let signed_in = pages.iter().filter(|page| page.location == "/account");
    assert_eq!(signed_in.count(), 1, "exactly one browser is signed in");
    let refused = pages
        .iter()
        .filter(|page| page.body.contains("That code was just used"));
    assert_eq!(refused.count(), 1, "the other is told the code was used");
    Ok(())
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_session_of_a_stolen_laptop() -> Result<(), Failure> {
    let app = start(None, false);
    owner_forces_mfa(&app).await?;
    let (mut stolen_laptop, key) = member_enrolls(&app).await?;
    app.wait(30);
    let mut desk = Person::new(&app).await?;
    desk.sign_in(1).await?;
    desk.post("/mfa", "/mfa/code", &[("code", &app.code_for(&key))])
        .await?;
    let signed_out = desk
        .submit("/account", "/account/sign-out-everywhere", &[])
        .await?;
    assert!(signed_out
        .body
        .contains("You are signed out on every device."));
    assert_eq!(desk.cookie(), "", "this session is deleted");
    assert_eq!(stolen_laptop.get("/account").await?.location, "/signin");
    assert_eq!(stolen_laptop.cookie(), "", "and the laptop's too");

    // A session that has only the password may not do it (a guessed
    // password must not sign the owner of the account out).
    let mut guesser = Person::new(&app).await?;
    guesser.sign_in(1).await?;
    let refused = guesser
        .post("/mfa", "/account/sign-out-everywhere", &[])
        .await?;
    assert_eq!(refused.location, "/mfa");
    Ok(())
}

#[tokio::test]
async fn finding_2_an_owner_unlocks_a_locked_member_and_a_reset_asks_for_the_password_again(
) -> Result<(), Failure> {
    let app = start(None, false);
    let owner_key = owner_forces_mfa(&app).await?;
    let (_, umar_key) = member_enrolls(&app).await?;

    // With the password alone, an attacker spends the wrong codes.
    let mut attacker = Person::new(&app).await?;
    attacker.sign_in(1).await?;
    let mut locked = false;
    for _ in 0..40 {
        let answer = attacker
            .submit("/mfa", "/mfa/code", &[("code", "000000")])
            .await?;
        if answer
            .body
            .contains("one-time codes are locked for this account")
        {
            locked = true;
            break;
        }
        app.wait(60);
    }
    assert!(locked, "the wrong codes lock one-time codes");

    // The owner unlocks: Umar signs in with his phone, nothing reset.
    let users = owner_acts_on_umar(&app, &owner_key, "unlock").await?;
    assert!(
        users.contains("is unlocked and may enter a code again"),
        "{users}"
    );
    app.wait(30);
    let mut umar = Person::new(&app).await?;
    umar.sign_in(1).await?;
    let code = umar
        .post("/mfa", "/mfa/code", &[("code", &app.code_for(&umar_key))])
        .await?;
    assert_eq!(code.location, "/mfa", "{}", code.body);
    assert_eq!(umar.get("/account").await?.status, 200);

    // Had the owner reset instead, the attacker's waiting session (the
    // password typed before the reset) could not enroll: the password again.
    owner_acts_on_umar(&app, &owner_key, "reset").await?;
    assert_eq!(attacker.get("/mfa").await?.location, "/signin");
    let begin = attacker.post("/mfa", "/mfa/begin", &[]).await?;
    assert_eq!(begin.location, "/signin");
    Ok(())
}

#[tokio::test]
async fn finding_3_password_guessing_is_throttled_per_account_and_per_client() -> Result<(), Failure>
{
    let app = start(None, false);
    let (owner, _, _, password) = PEOPLE[0];
    let mut guesser = Person::new(&app).await?;
    let mut outcomes = Vec::new();
    for guess in 0..40 {
        let guess = format!("guess-{guess}");
        let answer = guesser.sign_in_as(owner, &guess).await?;
        outcomes.push(outcome(&answer));
    }
    assert_eq!(outcomes[..5], ["wrong"; 5]);
    assert_eq!(outcomes[5..], ["wait"; 35], "5 tries, then one a minute");
    let right = guesser.sign_in_as(owner, password).await?;
    assert_eq!(
        outcome(&right),
        "wait",
        "the right password waits its turn too"
    );
    app.wait(60);
    let right = guesser.sign_in_as(owner, password).await?;
    assert_eq!(outcome(&right), "signed in", "a minute later");

    // Per account, from anywhere: 5 tries, then one a minute, said with a
    // countdown.
    let app = start(None, false);
    let mut guesser = Person::new(&app).await?;
    for guess in 0..5 {
        let answer = guesser.sign_in_as(owner, &format!("guess-{guess}")).await?;
        assert_eq!(outcome(&answer), "wrong");
    }
    let answer = guesser.sign_in_as("OLIVIA@acme.test", password).await?;
    assert_eq!(outcome(&answer), "wait");
    assert_eq!(support::person::header(&answer, "retry-after"), "60");
    let page = guesser.get(&answer.location).await?.body;
    assert!(
        page.contains("Too many sign-in attempts. Try again in <span data-countdown=\"60\""),
        "{page}"
    );
    // The wait comes from the page's address, which anyone can write: one
    // the throttle never asks for is not shown.
    let forged = guesser.get("/signin?until=9999999999").await?.body;
    assert!(!forged.contains("Too many sign-in attempts"), "{forged}");

    // Per client: many accounts from one address.
    let app = start_with(None, false, PasswordLimits::default());
    let mut sprayer = Person::new(&app).await?;
    let mut outcomes = Vec::new();
    for n in 0..31 {
        let email = format!("someone-{n}@acme.test");
        let answer = sprayer.sign_in_as(&email, "Winter2026!").await?;
        outcomes.push(outcome(&answer));
    }
    assert_eq!(outcomes[..30], ["wrong"; 30]);
    assert_eq!(outcomes[30], "wait");
    Ok(())
}

/// What a sign-in form was answered with.
fn outcome(answer: &support::http::Answer) -> &'static str {
    match answer.location.as_str() {
        "/mfa" => "signed in",
        "/signin?failed" => "wrong",
        wait if wait.starts_with("/signin?until=") => "wait",
        _ => "something else",
    }
}

/// The rows of the sessions' table in the app's SQLite file.
async fn stored_sessions(app: &Running) -> Result<i64, Failure> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", app.dir.0.join("app.sqlite3").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await?;
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM webapp_sessions")
        .fetch_one(&mut db)
        .await?;
    Ok(rows)
}

#[tokio::test]
async fn finding_4_sessions_end_when_idle_and_at_their_age_and_visitors_store_none(
) -> Result<(), Failure> {
    let app = start(None, false);
    let mut visitor = Person::new(&app).await?;
    for path in ["/signin", "/account", "/mfa", "/users"] {
        for _ in 0..25 {
            visitor.get(path).await?;
        }
    }
    visitor.client.cookie = "not-a-session".into();
    visitor.get("/account").await?;
    assert_eq!(
        stored_sessions(&app).await?,
        0,
        "nothing stored for visitors"
    );

    let mut idle = Person::new(&app).await?;
    idle.sign_in(1).await?;
    app.wait(IDLE_LIFETIME - 60);
    assert_eq!(
        idle.get("/account").await?.status,
        200,
        "still within the idle time"
    );
    app.wait(IDLE_LIFETIME);
    assert_eq!(
        idle.get("/account").await?.location,
        "/signin",
        "idle too long"
    );

    let mut busy = Person::new(&app).await?;
    busy.sign_in(2).await?;
    let mut elapsed = 0;
    while elapsed + 600 < ABSOLUTE_LIFETIME {
        app.wait(600);
        elapsed += 600;
        assert_eq!(busy.get("/account").await?.status, 200, "at {elapsed} s");
    }
    app.wait(600);
    assert_eq!(
        busy.get("/account").await?.location,
        "/signin",
        "12 hours at most"
    );
    assert_eq!(
        stored_sessions(&app).await?,
        0,
        "ended sessions are deleted"
    );
    Ok(())
}

#[tokio::test]
async fn finding_5_postgres_on_another_machine_needs_a_verified_certificate() -> Result<(), Failure>
{
    use sqlx::postgres::PgSslMode;
    let remote = "postgres://app@db.example.com/app";
    let strict = postgres_options(remote, false)?;
    assert!(matches!(strict.get_ssl_mode(), PgSslMode::VerifyFull));
    for weaker in ["disable", "allow", "require", "verify-ca"] {
        let url = format!("{remote}?sslmode={weaker}");
        assert!(postgres_options(&url, false).is_err(), "{weaker}");
        assert!(
            postgres_options(&url, true).is_ok(),
            "{weaker}, asked for by name"
        );
    }
    // Refused before any connection is tried.
    let refused = AppStore::open(&Database::Postgres(format!("{remote}?sslmode=disable"))).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("sslmode=verify-full"), "{message}");
    // This machine: as written.
    for local in [
        "postgres://app@localhost/app?sslmode=disable",
        "postgres://app@127.0.0.1:5433/app?sslmode=disable",
        "postgres://app@localhost/app?host=/run/postgresql",
    ] {
        let options = postgres_options(local, false)?;
        assert!(
            !matches!(options.get_ssl_mode(), PgSslMode::VerifyFull),
            "{local}"
        );
    }
    Ok(())
}

#[test]
fn finding_6_the_app_keeps_its_key_and_records_out_of_the_directory_it_starts_in(
) -> Result<(), Failure> {
    let repo = support::TempDir::new();
    let home = support::TempDir::new();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&repo.0)
            .output()
    };
    git(&["init", "-q"])?;
    let mut app = std::process::Command::new(env!("CARGO_BIN_EXE_twostep-webapp"))
        .args(["--port", "0"])
        .current_dir(&repo.0)
        .env("HOME", &home.0)
        .env_remove("XDG_DATA_HOME")
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = app.stdout.take().ok_or("no stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let started = lines.any(|line| line.is_ok_and(|l| l.starts_with("twostep-webapp on")));
    app.kill()?;
    app.wait()?;
    assert!(started, "the app started");
    let status = git(&["status", "--porcelain", "--untracked-files=all"])?;
    assert_eq!(String::from_utf8(status.stdout)?, "", "nothing to commit");
    let data = home.0.join(".local/share/twostep-webapp");
    let key = std::fs::metadata(data.join("twostep-webapp.key"))?;
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
    assert!(data.join("twostep-webapp.sqlite3").exists());

    // Started the old way, with the files named in a checkout of this
    // repository: ignored.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for file in [
        "twostep-webapp.key",
        "twostep-webapp.sqlite3",
        "webapp/twostep-webapp.key",
    ] {
        let ignored = std::process::Command::new("git")
            .args(["check-ignore", "-q", file])
            .current_dir(root)
            .status()?;
        assert!(ignored.success(), "{file} is ignored");
    }
    Ok(())
}
