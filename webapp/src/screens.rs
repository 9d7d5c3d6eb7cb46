//! Sign-in and the help page's MFA screens, each drawn from
//! [`AsyncMfa::current_screen`](twostep::AsyncMfa::current_screen): the
//! app keeps nothing of its own between them. Every form answers with a
//! redirect to a page (Post/Redirect/Get); a refusal travels in the
//! session to that page.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;
use twostep::screen::{Acknowledged, EnrollmentCheck};
use twostep::throttle::Gate;
use twostep::{Enrollment, MfaSession, Screen};

use crate::pages::{
    respond, EnterCodePage, Frame, Notice, RecoveryCodePage, ScanQrPage, SecondCodePage, Sentence,
    SignInPage, UseRecoveryPage, VerificationPage, Viewer,
};
use crate::session::Person;
use crate::{is_answer, redirect, server_error, App, Error, Role};

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

/// What the sign-in page was sent back with: a wrong password, a wait
/// until this time (Unix seconds), or signed out everywhere.
#[derive(Deserialize)]
pub struct SignInAnswer {
    failed: Option<String>,
    until: Option<u64>,
    everywhere: Option<String>,
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
pub(crate) fn viewer(app: &App, person: &Person, in_app: bool) -> Option<Viewer> {
    let account = app.directory.find(&person.user)?;
    Some(Viewer {
        name: account.name.clone(),
        email: account.email.clone(),
        owner: account.role == Role::Owner,
        in_app,
    })
}

pub async fn sign_in_form(
    State(app): State<Arc<App>>,
    Query(answer): Query<SignInAnswer>,
) -> Response {
    let now = app.now();
    let notice = match answer {
        SignInAnswer {
            until: Some(until), ..
        } if until > now && app.passwords.could_ask_for(until - now) => Some(Notice::refused(
            Sentence::waiting("Too many sign-in attempts. Try again in ", until - now, "."),
        )),
        SignInAnswer {
            failed: Some(_), ..
        } => Some(Notice::refused(Sentence::plain("Wrong email or password."))),
        SignInAnswer {
            everywhere: Some(_),
            ..
        } => Some(Notice::done(Sentence::plain(
            "You are signed out on every device.",
        ))),
        _ => None,
    };
    respond(
        StatusCode::OK,
        &SignInPage {
            frame: Frame::new("Sign in", None, notice),
        },
    )
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
        let back = format!("/signin?until={}", app.now().saturating_add(wait));
        let headers = [(LOCATION, back), (RETRY_AFTER, wait.to_string())];
        return (StatusCode::SEE_OTHER, headers).into_response();
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
        return redirect("/signin?failed");
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
    sign_out_and_sign_in(&person).await
}

/// The session is over (signed out, a reset, a new factor): deleted, and
/// the password again.
pub(crate) async fn sign_out_and_sign_in(person: &Person) -> Response {
    match person.sign_out().await {
        Ok(()) => redirect("/signin"),
        Err(e) => server_error(&e),
    }
}

/// The screen the person is on, from twostep's records, with the answer
/// to the form they just sent, if any.
pub async fn show(State(app): State<Arc<App>>, person: Person) -> Response {
    let screen = match app
        .mfa
        .current_screen(&person.user, app.company(), &person.mfa)
        .await
    {
        Ok(screen) => screen,
        Err(e) => return server_error(&e),
    };
    let notice = person.take_notice().await;
    let frame = Frame::new(
        screen.title().english(),
        viewer(&app, &person, false),
        notice,
    );
    let refused = frame.refused();
    let sentence = Sentence::of(screen.message());
    match screen {
        Screen::Continue => redirect("/account"),
        // A session from before the person's MFA changed (an owner's reset,
        // say): over, whatever it passed. The password again.
        Screen::SignInAgain => sign_out_and_sign_in(&person).await,
        Screen::EnterCode { gate, clock_drift } => {
            // What the gate allows (a wait, the lockout), unless the answer
            // to the code just sent says it already.
            let gate_sentence =
                (gate != Gate::Open && frame.notice.is_none()).then(|| sentence.clone());
            let page = EnterCodePage {
                frame,
                sentence,
                gate: gate_sentence,
                clock_drift: clock_drift.map(|drift| drift.for_person()),
                locked: gate == Gate::Locked,
                refused,
            };
            respond(StatusCode::OK, &page)
        }
        Screen::CompanyAccountVerification { .. } => {
            respond(StatusCode::OK, &VerificationPage { frame, sentence })
        }
        Screen::ScanQr { enrollment, .. } => {
            let qr = match enrollment.qr() {
                Ok(qr) => qr,
                Err(e) => return server_error(&e),
            };
            let params = enrollment.params();
            let page = ScanQrPage {
                frame,
                sentence,
                qr_svg: qr.to_svg(),
                key: enrollment
                    .secret()
                    .expose_base32_grouped()
                    .as_str()
                    .to_owned(),
                algorithm: params.algorithm().uri_name(),
                digits: params.digits().get(),
                period: params.period().seconds(),
                refused,
            };
            respond(StatusCode::OK, &page)
        }
        Screen::SecondCode { .. } => respond(
            StatusCode::OK,
            &SecondCodePage {
                frame,
                sentence,
                refused,
            },
        ),
        Screen::RecordRecoveryCode { codes, replacement } => {
            let page = RecoveryCodePage {
                frame,
                sentence,
                codes: codes.iter().map(|c| c.expose_str().to_owned()).collect(),
                replacement,
                refused,
            };
            respond(StatusCode::OK, &page)
        }
        // A screen a later twostep adds: fail loudly rather than guess.
        _ => server_error(&"a screen this app does not draw yet"),
    }
}

/// After a form: to `page`, saying what `done` makes of the service's
/// answer (nothing, for a screen that is its own answer), or why it said no.
pub(crate) async fn answered<T>(
    person: &Person,
    outcome: Result<T, Error>,
    page: &'static str,
    done: impl FnOnce(T) -> Option<String>,
) -> Response {
    let notice = match outcome {
        Ok(value) => done(value).map(|words| Notice::done(Sentence::plain(words))),
        Err(e) if is_answer(&e) => Some(Notice::refused(Sentence::of(e.message()))),
        Err(e) => return server_error(&e),
    };
    back_to(person, page, notice).await
}

/// To `page`, which says `notice` once (kept in the session until then).
pub(crate) async fn back_to(
    person: &Person,
    page: &'static str,
    notice: Option<Notice>,
) -> Response {
    if let Some(notice) = notice {
        if let Err(e) = person.flash(notice).await {
            return server_error(&e);
        }
    }
    redirect(page)
}

/// After a second factor: the renewed proof under a new session id (the
/// session now holds more), then the next screen.
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
        outcome => answered(&person, outcome, "/mfa", |_| None).await,
    }
}

pub async fn recovery_form(State(app): State<Arc<App>>, person: Person) -> Response {
    let notice = person.take_notice().await;
    let frame = Frame::new("Use a recovery code", viewer(&app, &person, false), notice);
    let refused = frame.refused();
    respond(StatusCode::OK, &UseRecoveryPage { frame, refused })
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
        outcome => answered(&person, outcome, "/mfa/recovery", |_| None).await,
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
    answered(&person, outcome, "/mfa", |_| None).await
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
    answered(&person, outcome, "/mfa", |_| None).await
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
    answered(&person, outcome, "/mfa", |_| None).await
}

pub async fn acknowledge(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<TickForm>,
) -> Response {
    // The button is disabled until the tick, but a request can be made
    // without the page: the server asks for the tick itself.
    if form.recorded.as_deref() != Some("yes") {
        let why = "Tick \u{201c}I have safely recorded this number\u{201d} to continue.";
        return back_to(&person, "/mfa", Some(Notice::refused(Sentence::plain(why)))).await;
    }
    let mut mfa = person.mfa.clone();
    match app.mfa.acknowledge_recovery(&person.user, &mut mfa).await {
        // The codes just typed are a second factor: a new session id for
        // the stronger session.
        Ok(Acknowledged::FactorActivated) => passed(&app, person, mfa).await,
        outcome => answered(&person, outcome, "/mfa", |_| None).await,
    }
}
