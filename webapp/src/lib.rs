//! The help page's MFA screens as a small company-account web app: the
//! reference host of `twostep`'s async service, on axum and sqlx.
//!
//! What a host copies: the handlers in `screens.rs` (sign-in and the
//! enrollment screens, each rendered from [`AsyncMfa::current_screen`]) and
//! `admin.rs` (account info, company profile, users). What it keeps of its
//! own: the users and their passwords (`directory.rs`) with a throttle on
//! passwords (`password_limits.rs`, governor), and the sessions
//! (`session.rs`: tower-sessions, in the same database). Cross-site forms
//! are refused by tower-http's CSRF layer. What it does not write: any
//! state between screens — the QR code, the codes, the recovery code
//! waiting for its tick are in twostep's records, so a reload or a second
//! tab shows the same screen.
#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    reason = "handlers return early with the page to send (axum's idiom), once per request"
)]

mod admin;
mod directory;
mod pages;
mod password_limits;
mod screens;
mod session;
mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::csrf::CsrfLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_core::ExpiredDeletion;
use twostep::clock::Clock;
use twostep::{AsyncMfa, Keyring, MfaError};
use twostep_sqlx::SqlxStoreError;

pub use directory::{Account, Directory, Role, Seed};
pub use password_limits::PasswordLimits;
pub use session::{ABSOLUTE_LIFETIME, IDLE_LIFETIME};
pub use store::{postgres_options, AppStore, Database};

use pages::{Frame, MessagePage};
use password_limits::PasswordThrottle;

/// What the app is made of: where the records are, the application key,
/// the clock (the system's; a test's own), the people, whether cookies
/// are `Secure` (set it behind TLS), and how often a password may be tried.
pub struct Config {
    /// twostep's records.
    pub store: AppStore,
    /// The application key that seals secrets and tags records.
    pub keyring: Keyring,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The company account and its people.
    pub directory: Directory,
    /// Mark the session cookie `Secure` (the app is behind HTTPS).
    pub secure_cookies: bool,
    /// The password throttle's allowances.
    pub password_limits: PasswordLimits,
}

/// The errors of the service over this app's store.
pub type Error = MfaError<SqlxStoreError>;

pub(crate) struct App {
    mfa: AsyncMfa<AppStore>,
    directory: Directory,
    clock: Arc<dyn Clock>,
    passwords: PasswordThrottle,
    password_slots: tokio::sync::Semaphore,
}

impl App {
    fn company(&self) -> Option<&str> {
        Some(&self.directory.company_id)
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }
}

/// The app's routes over `config`. Tells twostep who the company's owners
/// and members are first (once per database: a restart finds them there).
/// Serve it with the client's address
/// (`into_make_service_with_connect_info::<SocketAddr>()`): the password
/// throttle counts per client.
///
/// # Errors
/// If the store cannot be reached.
pub async fn router(config: Config) -> Result<Router, Error> {
    let sessions = config.store.sessions().await.map_err(MfaError::Store)?;
    let mfa = AsyncMfa::with_config(
        config.store,
        config.keyring,
        twostep::Config::default().with_clock(config.clock.clone()),
    );
    let directory = config.directory;
    let company = directory.company_id.as_str();
    match mfa.create_company(company, &directory.owners()).await {
        Ok(()) | Err(MfaError::CompanyExists) => {}
        Err(e) => return Err(e),
    }
    for account in directory.accounts() {
        if account.role == Role::User {
            mfa.add_member(company, &account.email).await?;
        }
    }
    let app = Arc::new(App {
        mfa,
        directory,
        passwords: PasswordThrottle::new(config.password_limits, config.clock.clone()),
        clock: config.clock,
        password_slots: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, usize::from),
        ),
    });
    // Housekeeping once a minute: expired sessions out of the database,
    // full allowances out of memory.
    tokio::spawn(
        sessions
            .clone()
            .continuously_delete_expired(Duration::from_secs(60)),
    );
    let pruned = Arc::downgrade(&app);
    tokio::spawn(async move {
        let mut minutes = tokio::time::interval(Duration::from_secs(60));
        loop {
            minutes.tick().await;
            let Some(app) = pruned.upgrade() else { break };
            app.passwords.forget_full();
        }
    });
    let sessions = SessionManagerLayer::new(sessions)
        .with_name("sid")
        .with_secure(config.secure_cookies)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(
                i64::try_from(IDLE_LIFETIME).unwrap_or(i64::MAX),
            ),
        ));
    Ok(Router::new()
        .route("/", get(|| async { redirect("/account") }))
        .route("/signin", get(screens::sign_in_form).post(screens::sign_in))
        .route("/signout", post(screens::sign_out))
        .route("/mfa", get(screens::show))
        .route("/mfa/code", post(screens::code))
        .route(
            "/mfa/recovery",
            get(screens::recovery_form).post(screens::recovery),
        )
        .route("/mfa/begin", post(screens::begin))
        .route("/mfa/enroll/code", post(screens::first_code))
        .route("/mfa/enroll/second", post(screens::second_code))
        .route("/mfa/acknowledge", post(screens::acknowledge))
        .route("/account", get(admin::account_info))
        .route("/account/mfa/activate", post(admin::activate))
        .route(
            "/account/sign-out-everywhere",
            post(admin::sign_out_everywhere),
        )
        .route("/company", get(admin::company).post(admin::save_company))
        .route("/users", get(admin::users))
        .route("/users/reset", post(admin::reset))
        .route("/users/unlock", post(admin::unlock))
        .route(
            "/static/app.css",
            get(|| asset("text/css", include_str!("../static/app.css"))),
        )
        .route(
            "/static/app.js",
            get(|| asset("text/javascript", include_str!("../static/app.js"))),
        )
        .layer(sessions)
        .layer(CsrfLayer::new())
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "max-age=300")],
        body,
    )
        .into_response()
}

/// No page may be framed, cached (a recovery code is on one), or load
/// anything but the app's own script and style.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// "See Other": after a form, the browser loads `to` with GET, so a reload
/// never sends the form again.
fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

/// A failure of the app's own infrastructure: logged (twostep's errors
/// name no secret and no code), and a page that gives nothing away.
fn server_error(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "answered 500");
    let page = MessagePage {
        frame: Frame::new("Something went wrong", None, None),
        text: "Something went wrong on our side. Please try again later.".into(),
    };
    pages::respond(StatusCode::INTERNAL_SERVER_ERROR, &page)
}

/// Whether `error` is an answer for the person (a wrong code, a replay, the
/// wrong order) rather than a failure of the app's infrastructure.
fn is_answer(error: &Error) -> bool {
    !error.is_infrastructure()
}

fn forbidden(text: &str) -> Response {
    let page = MessagePage {
        frame: Frame::new("Not allowed", None, None),
        text: text.into(),
    };
    pages::respond(StatusCode::FORBIDDEN, &page)
}
