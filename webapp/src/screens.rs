//! Sign-in and the help page's MFA screens, each drawn from
//! [`AsyncMfa::current_screen`](twostep::AsyncMfa::current_screen): the
//! app keeps nothing of its own between them.

use std::fmt::Write;
use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::header::RETRY_AFTER;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;
use twostep::screen::{Acknowledged, EnrollmentCheck};
use twostep::throttle::Gate;
use twostep::{Enrollment, MfaSession, Screen};

use crate::html::{code_field, escape, page, Notice, Viewer};
use crate::session::Person;
use crate::{html, is_answer, redirect, server_error, App, Error, Role};

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

/// A form with a one-time or recovery code.
#[derive(Deserialize)]
pub struct CodeForm {
    pub(crate) code: String,
}

/// "I have safely recorded this number".
#[derive(Deserialize)]
pub struct TickForm {
    recorded: Option<String>,
}

/// The menu for the person.
pub(crate) fn viewer<'a>(app: &'a App, person: &Person, in_app: bool) -> Option<Viewer<'a>> {
    let account = app.directory.find(&person.user)?;
    Some(Viewer {
        name: &account.name,
        email: &account.email,
        owner: account.role == Role::Owner,
        in_app,
    })
}

pub async fn sign_in_form() -> Response {
    sign_in_page(None, StatusCode::OK)
}

fn sign_in_page(notice: Option<Notice>, status: StatusCode) -> Response {
    let body = r#"<form method="post" action="/signin" class="card">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>"#;
    html(status, page("Sign in", None, notice.as_ref(), body))
}

pub async fn sign_in(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    let email = form.email.trim().to_owned();
    // Before the password is even hashed: an allowance per client and per
    // account, so guessing runs at minutes per try, not milliseconds.
    if let Err(wait) = app.passwords.attempt(client.ip(), &email) {
        let notice = Notice::Refused(format!(
            "Too many sign-in attempts. Try again in {wait} seconds."
        ));
        let page = sign_in_page(Some(notice), StatusCode::TOO_MANY_REQUESTS);
        return ([(RETRY_AFTER, wait.to_string())], page).into_response();
    }
    let password = form.password;
    // Argon2 takes tens of milliseconds of CPU and 19 MiB: off the
    // runtime's threads, and no more at once than there are CPUs (a burst
    // of sign-ins queues instead of thrashing memory).
    let Ok(_slot) = app.password_slots.acquire().await else {
        return server_error(&"password checks closed");
    };
    let checker = app.clone();
    let checked = tokio::task::spawn_blocking(move || {
        checker
            .directory
            .check_password(&email, &password)
            .map(|account| account.email.clone())
    })
    .await;
    // A check that did not finish is the app's failure, not a wrong password.
    let account = match checked {
        Ok(account) => account,
        Err(e) => return server_error(&e),
    };
    let Some(email) = account else {
        let notice = Notice::Refused("Wrong email or password.".into());
        return sign_in_page(Some(notice), StatusCode::UNAUTHORIZED);
    };
    // twostep's part of the session, from the password on.
    let mfa = match app.mfa.start_session(&email).await {
        Ok(mfa) => mfa,
        Err(e) => return server_error(&e),
    };
    match Person::sign_in(&session, email, mfa, app.now()).await {
        Ok(()) => redirect("/mfa"),
        Err(e) => server_error(&e),
    }
}

pub async fn sign_out(person: Person) -> Response {
    match person.sign_out().await {
        Ok(()) => redirect("/signin"),
        Err(e) => server_error(&e),
    }
}

pub async fn show(State(app): State<Arc<App>>, person: Person) -> Response {
    render(&app, &person, None).await
}

/// The screen the person is on, from twostep's records, with `notice` (the
/// answer to what they just sent: then the status is 422).
async fn render(app: &App, person: &Person, notice: Option<Notice>) -> Response {
    let screen = match app
        .mfa
        .current_screen(&person.user, app.company(), &person.mfa)
        .await
    {
        Ok(screen) => screen,
        Err(e) => return server_error(&e),
    };
    let refused = Notice::is_refusal(notice.as_ref());
    let body = match &screen {
        Screen::Continue => return redirect("/account"),
        // A session from before the person's MFA changed (an owner's reset,
        // say): over, whatever it passed. The password again.
        Screen::SignInAgain => return sign_out_and_sign_in(person).await,
        Screen::EnterCode { gate, clock_drift } => {
            // The sentence says what the gate allows (a wait, the lockout),
            // unless the answer to the code just sent said it already.
            let mut body = match (gate, &notice) {
                (Gate::Open, _) => format!("<p>{}</p>\n", escape(&screen.for_person())),
                (_, Some(_)) => String::new(),
                (_, None) => format!("<p class=\"refused\">{}</p>\n", escape(&screen.for_person())),
            };
            if let Some(drift) = clock_drift {
                let _ = writeln!(
                    body,
                    "<p class=\"hint\" id=\"clock-drift\">{}</p>",
                    escape(&drift.for_person())
                );
            }
            if *gate != Gate::Locked {
                let _ = write!(
                    body,
                    "<form method=\"post\" action=\"/mfa/code\" class=\"card\">\n{}<button type=\"submit\">Continue</button></form>\n",
                    code_field("code", "One-time code", refused)
                );
            }
            body.push_str("<p><a href=\"/mfa/recovery\">Use a recovery code</a></p>");
            body
        }
        Screen::CompanyAccountVerification { .. } => format!(
            "<p>{}</p>\n<form method=\"post\" action=\"/mfa/begin\"><button type=\"submit\" autofocus>Verify identity</button></form>",
            escape(&screen.for_person())
        ),
        Screen::ScanQr { enrollment, .. } => match scan_qr(&screen.for_person(), enrollment, refused) {
            Ok(body) => body,
            Err(e) => return server_error(&e),
        },
        Screen::SecondCode { .. } => format!(
            "<p>{}</p>\n<form method=\"post\" action=\"/mfa/enroll/second\" class=\"card\">\n{}<button type=\"submit\">Continue</button></form>",
            escape(&screen.for_person()),
            code_field("code", "One-time code", refused)
        ),
        Screen::RecordRecoveryCode { codes, .. } => {
            let codes: Vec<String> = codes.iter().map(|c| escape(c.expose_str())).collect();
            format!(
                r#"<p>{sentence}</p>
<p class="recovery" id="recovery-code">{codes}</p>
<p class="actions"><button type="button" data-copy="recovery-code">Copy</button>
<button type="button" data-download="recovery-code">Download</button>
<button type="button" data-print>Print</button></p>
<form method="post" action="/mfa/acknowledge" class="card">
<p class="tick"><input type="checkbox" id="recorded" name="recorded" value="yes" required>
<label for="recorded">I have safely recorded this number</label></p>
<button type="submit" id="continue" disabled>Continue</button>
</form>"#,
                sentence = escape(&screen.for_person()),
                codes = codes.join("<br>"),
            )
        }
        // A screen a later twostep adds: fail loudly rather than guess.
        _ => return server_error(&"a screen this app does not draw yet"),
    };
    let status = if notice.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = page(
        &screen.title().english(),
        viewer(app, person, false).as_ref(),
        notice.as_ref(),
        &body,
    );
    html(status, page)
}

/// The session is over (a reset, a new factor): the password again.
pub(crate) async fn sign_out_and_sign_in(person: &Person) -> Response {
    match person.sign_out().await {
        Ok(()) => redirect("/signin"),
        Err(e) => server_error(&e),
    }
}

/// The QR code window: the code inline, the key to type by hand in groups
/// of four with its parameters, the code field.
fn scan_qr(
    sentence: &str,
    enrollment: &Enrollment,
    refused: bool,
) -> Result<String, twostep::otp::QrError> {
    let qr = enrollment.qr()?;
    let key = enrollment.secret().expose_base32_grouped();
    let params = enrollment.params();
    Ok(format!(
        r#"<p>{sentence}</p>
<figure class="qr" role="img" aria-label="QR code to scan with your authenticator app">{svg}</figure>
<p>Can't scan? Enter this key: <code id="secret-key">{key}</code><br>
<span class="params" id="key-params">{algorithm}, {digits} digits, every {period} seconds</span></p>
<form method="post" action="/mfa/enroll/code" class="card">
{field}<button type="submit">Continue</button></form>
<form method="post" action="/mfa/begin" class="inline"><button type="submit" class="link">Start again with a new QR code</button></form>"#,
        sentence = escape(sentence),
        svg = qr.to_svg(),
        key = key.as_str(),
        algorithm = params.algorithm().uri_name(),
        digits = params.digits().get(),
        period = params.period().seconds(),
        field = code_field("code", "One-time code", refused),
    ))
}

/// What follows a form the service answered: the next screen, or the same
/// one again with the refusal in words for people.
async fn answered<T>(app: &App, person: &Person, outcome: Result<T, Error>) -> Response {
    match outcome {
        Ok(_) => redirect("/mfa"),
        Err(e) if is_answer(&e) => render(app, person, Some(Notice::Refused(e.for_person()))).await,
        Err(e) => server_error(&e),
    }
}

/// After a second factor: the renewed proof under a new session id (the
/// session now holds more), then `/mfa` (the next screen).
async fn passed(app: &App, mut person: Person, mfa: MfaSession) -> Response {
    match person.renew(mfa, app.now()).await {
        Ok(()) => redirect("/mfa"),
        Err(e) => server_error(&e),
    }
}

pub async fn code(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<CodeForm>,
) -> Response {
    let mut mfa = person.mfa.clone();
    match app.mfa.verify(&person.user, &mut mfa, &form.code).await {
        Ok(_) => passed(&app, person, mfa).await,
        outcome => answered(&app, &person, outcome).await,
    }
}

pub async fn recovery_form(State(app): State<Arc<App>>, person: Person) -> Response {
    recovery_page(&app, &person, None)
}

fn recovery_page(app: &App, person: &Person, notice: Option<Notice>) -> Response {
    let body = r#"<p>Enter one of the recovery codes you recorded when you set up Multi-Factor Authentication.</p>
<form method="post" action="/mfa/recovery" class="card">
<label for="recovery">Recovery code</label>
<input id="recovery" name="code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus>
<button type="submit">Continue</button></form>
<p><a href="/mfa">Use a one-time code instead</a></p>"#;
    let status = if notice.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = page(
        "Use a recovery code",
        viewer(app, person, false).as_ref(),
        notice.as_ref(),
        body,
    );
    html(status, page)
}

pub async fn recovery(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<CodeForm>,
) -> Response {
    let mut mfa = person.mfa.clone();
    match app
        .mfa
        .use_recovery_code(&person.user, &mut mfa, &form.code)
        .await
    {
        // The replacement code, if any, is the next screen: /mfa shows it
        // until it is ticked.
        Ok(_) => passed(&app, person, mfa).await,
        Err(e) if is_answer(&e) => {
            recovery_page(&app, &person, Some(Notice::Refused(e.for_person())))
        }
        Err(e) => server_error(&e),
    }
}

/// "Verify identity", "Activate", "Start again": a new QR code. The owner
/// confirms one code, users two, as the help page has it.
pub(crate) async fn begin_for(app: &App, person: &Person) -> Result<Enrollment, Error> {
    let role = app.directory.find(&person.user).map(|a| a.role);
    let check = match role {
        Some(Role::Owner) => EnrollmentCheck::OneCode,
        _ => EnrollmentCheck::TwoCodes,
    };
    let builder = Enrollment::builder(&app.directory.company_name, &person.user);
    app.mfa
        .begin_enrollment(&person.user, &person.mfa, builder, check)
        .await
}

pub async fn begin(State(app): State<Arc<App>>, person: Person) -> Response {
    let outcome = begin_for(&app, &person).await;
    answered(&app, &person, outcome).await
}

pub async fn first_code(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<CodeForm>,
) -> Response {
    let outcome = app
        .mfa
        .confirm_enrollment(&person.user, &person.mfa, &form.code)
        .await;
    answered(&app, &person, outcome).await
}

pub async fn second_code(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<CodeForm>,
) -> Response {
    let outcome = app
        .mfa
        .confirm_second_code(&person.user, &person.mfa, &form.code)
        .await;
    answered(&app, &person, outcome).await
}

pub async fn acknowledge(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<TickForm>,
) -> Response {
    // The button is disabled until the tick, but a request can be made
    // without the page: the server asks for the tick itself.
    if form.recorded.as_deref() != Some("yes") {
        let notice = Notice::Refused(
            "Tick \u{201c}I have safely recorded this number\u{201d} to continue.".into(),
        );
        return render(&app, &person, Some(notice)).await;
    }
    let mut mfa = person.mfa.clone();
    match app.mfa.acknowledge_recovery(&person.user, &mut mfa).await {
        // The codes just typed are a second factor: a new session id for
        // the stronger session.
        Ok(Acknowledged::FactorActivated) => passed(&app, person, mfa).await,
        outcome => answered(&app, &person, outcome).await,
    }
}
