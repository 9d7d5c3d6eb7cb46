//! A complete host of the help page's MFA screens, in one file: axum, sqlx
//! on SQLite, tower-sessions, and twostep's one step call.
//!
//! The owner activates MFA for their own account, then forces it on every
//! user of the company account; each user meets "Company Account
//! Verification" at sign-in (scan, a code, a later code, the recovery code
//! and its tick); every later sign-in asks for a code, or a recovery code.
//!
//! Run `cargo run -p twostep-axum-host`, open <http://localhost:3000> and
//! sign in as `olivia@acme.test` / `owner-password` (the owner) or
//! `max@acme.test` / `user-password`. It keeps everything in memory unless
//! `DATABASE_URL` names your database and `MFA_KEY_FILE` the 32-byte key
//! your secret manager mounts (`head -c 32 /dev/urandom`).
//!
//! Lines marked `MFA` are what the help page's screens add to a host's own
//! sign-in; the section below `---- MFA ----` is all theirs.

use std::error::Error;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer};
use twostep::company::RequirementUnavailable;
use twostep::screen::Input; // MFA
use twostep::words::Message; // MFA
use twostep::StepForm;
use twostep::{AsyncMfa, Config, Keyring, MfaSession, Screen};
use twostep_sqlx::SqlxSqliteStore; // MFA

#[cfg(test)]
mod tests;

/// The company account everyone here belongs to.
const COMPANY: &str = "acme";
/// The session's value: who signed in, and twostep's part of the session.
const SIGNED_IN: &str = "signed_in";

#[derive(Clone)]
struct App {
    db: SqlitePool,
    mfa: AsyncMfa<SqlxSqliteStore>, // MFA
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (db, keyring) = match (std::env::var("DATABASE_URL"), std::env::var("MFA_KEY_FILE")) {
        (Ok(url), Ok(key_file)) => {
            // MFA: the key that seals every secret, never in the database.
            let key = std::fs::read(key_file)?.try_into();
            let key = key.map_err(|_| "MFA_KEY_FILE must hold 32 bytes")?;
            (SqlitePool::connect(&url).await?, Keyring::new(1, &key))
        }
        // A demo: a database in memory (kept open), a key as short-lived.
        (Err(_), Err(_)) => {
            let memory = SqlitePoolOptions::new()
                .idle_timeout(None)
                .max_lifetime(None);
            (
                memory.connect("sqlite::memory:").await?,
                Keyring::generate_os()?,
            ) // MFA
        }
        _ => return Err("set both DATABASE_URL and MFA_KEY_FILE, or neither for a demo".into()),
    };
    let config = Config::default().with_issuer("Acme"); // MFA: the name apps list
    let mfa = AsyncMfa::with_config(SqlxSqliteStore::new(db.clone()), keyring, config); // MFA
    let port = std::env::var("PORT").unwrap_or("3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("http://localhost:{}", listener.local_addr()?.port());
    axum::serve(listener, router(App::new(db, mfa).await?)).await?;
    Ok(())
}

fn router(app: App) -> Router {
    // Cookies HttpOnly, Secure and SameSite=Strict (tower-sessions'
    // defaults): a form posted from another site arrives without a session.
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_expiry(Expiry::OnInactivity(Duration::hours(8)));
    Router::new()
        .route("/", get(index))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/mfa", post(mfa_step)) // MFA
        .layer(sessions)
        .with_state(app)
}

impl App {
    /// The host's people (demo passwords hashed with Argon2id), then their
    /// company account in twostep's table beside the host's.
    async fn new(db: SqlitePool, mfa: AsyncMfa<SqlxSqliteStore>) -> Result<App, Box<dyn Error>> {
        sqlx::query("CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY, password TEXT)")
            .execute(&db)
            .await?;
        for (email, password) in [
            ("olivia@acme.test", "owner-password"),
            ("max@acme.test", "user-password"),
        ] {
            let mut salt = [0; 16];
            getrandom::fill(&mut salt)?;
            let hash = Argon2::default()
                .hash_password(password.as_bytes(), &SaltString::encode_b64(&salt)?)?
                .to_string();
            sqlx::query("INSERT OR IGNORE INTO users VALUES (?, ?)")
                .bind(email)
                .bind(hash)
                .execute(&db)
                .await?;
        }
        // MFA: its table, the company account and its users (each call
        // repeats safely at every start).
        mfa.store().migrate().await?;
        mfa.create_company(COMPANY, &["olivia@acme.test"]).await?;
        mfa.add_member(COMPANY, "max@acme.test").await?;
        Ok(App { db, mfa })
    }
}

const SIGN_IN: &str = "<form method=post action=/sign-in><p><label>Email \
    <input name=email type=email autocomplete=username></label></p><p><label>Password \
    <input name=password type=password autocomplete=current-password></label></p>\
    <button>Sign in</button></form>";

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

async fn sign_in(State(app): State<App>, session: Session, Form(form): Form<SignIn>) -> Answer {
    let hash: Option<String> = sqlx::query_scalar("SELECT password FROM users WHERE email = ?")
        .bind(&form.email)
        .fetch_optional(&app.db)
        .await?;
    let right = hash.is_some_and(|hash| {
        PasswordHash::new(&hash).is_ok_and(|hash| {
            let password = form.password.as_bytes();
            Argon2::default().verify_password(password, &hash).is_ok()
        })
    });
    if !right {
        let wrong = format!("<p role=alert>Wrong email or password.</p>{SIGN_IN}");
        return Ok(page(StatusCode::UNAUTHORIZED, "Sign in", &wrong));
    }
    let mfa = app.mfa.start_session(&form.email).await?; // MFA
    session.cycle_id().await?;
    session.insert(SIGNED_IN, (&form.email, mfa)).await?;
    Ok(Redirect::to("/").into_response())
}

async fn sign_out(session: Session) -> Answer {
    session.flush().await?;
    Ok(Redirect::to("/").into_response())
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width\"><title>{title}</title>\
         <main><h1>{title}</h1>{body}</main>"
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What a handler answers: a page, or the failure `Oops` shows.
type Answer = Result<Response, Oops>;

/// Something failed on our side: logged, and a page that says only that.
struct Oops(Box<dyn Error + Send + Sync>);

impl<E: Error + Send + Sync + 'static> From<E> for Oops {
    fn from(error: E) -> Oops {
        Oops(Box::new(error))
    }
}

impl IntoResponse for Oops {
    fn into_response(self) -> Response {
        eprintln!("error: {}", self.0);
        let said = format!("<p>{}</p>", Message::OurSide);
        page(StatusCode::INTERNAL_SERVER_ERROR, "Sorry", &said)
    }
}

// ---- MFA ------------------------------------------------------------------

/// Every page: signing in, then the screen the person's MFA is at, then
/// the account.
async fn index(State(app): State<App>, session: Session) -> Answer {
    let Some((user, mfa)) = session.get::<(String, MfaSession)>(SIGNED_IN).await? else {
        return Ok(page(StatusCode::OK, "Sign in", SIGN_IN));
    };
    let screen = app.mfa.current_screen(&user, Some(COMPANY), &mfa).await?;
    show(&app, &session, &user, screen, None).await
}

/// Every button of every screen: one step, then the screen that follows.
async fn mfa_step(State(app): State<App>, session: Session, Form(form): Form<StepForm>) -> Answer {
    let Some((user, mut mfa)) = session.get::<(String, MfaSession)>(SIGNED_IN).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    let Some(action) = form.action(&user) else {
        return Ok(StatusCode::BAD_REQUEST.into_response());
    };
    let step = app.mfa.step(&user, Some(COMPANY), &mut mfa, action).await?;
    if step.passed_second_factor {
        session.cycle_id().await?; // a new session id for what now holds more
        session.insert(SIGNED_IN, (&user, &mfa)).await?;
    }
    match step.refused {
        None => Ok(Redirect::to("/").into_response()),
        Some(why) => show(&app, &session, &user, step.screen, Some(why)).await,
    }
}

/// Any screen, with the refusal of what was just tried.
async fn show(
    app: &App,
    session: &Session,
    user: &str,
    screen: Screen,
    refused: Option<Message>,
) -> Answer {
    let status = match refused {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let mut body = refused
        .map(|why| format!("<p role=alert>{why}</p>"))
        .unwrap_or_default();
    body += &format!("<p>{}</p>", screen.message());
    match &screen {
        Screen::Continue => return account(app, user, status, body).await,
        Screen::SignInAgain => return sign_out(session.clone()).await,
        Screen::ScanQr { enrollment, .. } => {
            body += &format!(
                "<img src=\"{}\" alt=\"QR code to scan\" width=240 height=240>\
                 <p>Can't scan it? Type this key: <code>{}</code></p>",
                enrollment.qr()?.to_data_uri(),
                enrollment.secret().expose_base32_grouped().as_str()
            );
        }
        Screen::RecordRecoveryCode { codes, .. } => {
            for code in codes {
                body += &format!("<p><code>{}</code></p>", code.expose_str());
            }
        }
        _ => {}
    }
    for form in screen.forms() {
        body += "<form method=post action=/mfa><p>";
        body += &match form.input {
            Some(Input::Tick) => format!(
                "<input type=checkbox name=ticked id=t> <label for=t>{}</label>",
                Message::TickRecorded
            ),
            Some(input) => format!(
                "<label>{} <input name=code autocomplete=one-time-code></label>",
                input.label()
            ),
            None => String::new(),
        };
        for button in form.buttons {
            body += &format!(
                " <button name=action value={}>{}</button>",
                button.action, button.label
            );
        }
        body += "</p></form>";
    }
    Ok(page(status, &screen.title().to_string(), &body))
}

/// Past every screen: the account with MFA's "Activate", and for an owner
/// the company profile's "Force every user to use MFA".
async fn account(app: &App, user: &str, status: StatusCode, mut body: String) -> Answer {
    body += &format!(
        "<p>Signed in as {}.</p><h2>Multi-Factor Authentication</h2>",
        escape(user)
    );
    body += match app.mfa.status(user).await?.factor_bound_at {
        Some(_) => "<p>Active: every sign-in asks for a code from your authenticator app.</p>",
        None => "<form method=post action=/mfa><button name=action value=set_up>Activate</button></form>",
    };
    let preview = app.mfa.enforcement_preview(COMPANY, user).await?;
    if preview.unavailable != Some(RequirementUnavailable::NotOwner) {
        let checked = if preview.required { " checked" } else { "" };
        let (said, off) = match preview.unavailable {
            Some(why) => (why.message(), " disabled"),
            None => (preview.message(), ""),
        };
        body += &format!(
            "<h2>Company profile</h2><form method=post action=/mfa>\
             <p><label><input type=checkbox name=ticked{checked}{off}> Force every user to use \
             MFA before accessing the Company Account</label></p><p>{said}</p>\
             <p><label>{} (asked if you last entered one over 10 minutes ago) \
             <input name=code autocomplete=one-time-code{off}></label></p>\
             <button name=action value=save_requirement{off}>Save changes</button></form>",
            Message::FieldCode
        );
    }
    body += "<form method=post action=/sign-out><button>Sign out</button></form>";
    Ok(page(status, "Account info", &body))
}
