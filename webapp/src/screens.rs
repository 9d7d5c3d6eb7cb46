//! Sign-in and the help page's MFA screens, each drawn from
//! [`AsyncMfa::current_screen`](twostep::AsyncMfa::current_screen): the
//! app keeps nothing of its own between them.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use twostep::screen::{Acknowledged, EnrollmentCheck};
use twostep::throttle::Gate;
use twostep::{Enrollment, Screen};

use crate::extract::{CheckedForm, Posted};
use crate::html::{code_field, csrf_field, escape, page, Notice, Viewer};
use crate::session::Visit;
use crate::{html, is_answer, redirect, server_error, App, Error, Role};

/// The menu for the visit's person, if signed in.
pub(crate) fn viewer<'a>(app: &'a App, visit: &'a Visit, in_app: bool) -> Option<Viewer<'a>> {
    let account = app.directory.find(visit.session.user.as_deref()?)?;
    Some(Viewer {
        name: &account.name,
        owner: account.role == Role::Owner,
        in_app,
        csrf: &visit.session.csrf,
    })
}

pub async fn sign_in_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    sign_in_page(&app, &visit, None, StatusCode::OK)
}

fn sign_in_page(app: &App, visit: &Visit, notice: Option<Notice>, status: StatusCode) -> Response {
    let body = format!(
        r#"<form method="post" action="/signin" class="card">
{csrf}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>"#,
        csrf = csrf_field(&visit.session.csrf)
    );
    let page = page("Sign in", None, notice.as_ref(), &body);
    app.sessions.finish(visit, html(status, page))
}

pub async fn sign_in(State(app): State<Arc<App>>, form: CheckedForm) -> Response {
    let email = form.field("email").trim().to_owned();
    let password = form.field("password").to_owned();
    let mut visit = form.visit;
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
        return sign_in_page(&app, &visit, Some(notice), StatusCode::UNAUTHORIZED);
    };
    // twostep's part of the session, from the password on.
    let mfa = match app.mfa.start_session(&email).await {
        Ok(mfa) => mfa,
        Err(e) => return server_error(&e),
    };
    visit.session.user = Some(email);
    visit.session.mfa = Some(mfa);
    app.sessions.renew(&mut visit);
    app.sessions.finish(&visit, redirect("/mfa"))
}

pub async fn sign_out(State(app): State<Arc<App>>, form: CheckedForm) -> Response {
    let mut visit = form.visit;
    app.sessions.end(&mut visit);
    app.sessions.finish(&visit, redirect("/signin"))
}

pub async fn show(State(app): State<Arc<App>>, visit: Visit) -> Response {
    render(&app, &visit, None).await
}

/// The screen the person is on, from twostep's records, with `notice` (the
/// answer to what they just sent: then the status is 422).
async fn render(app: &App, visit: &Visit, notice: Option<Notice>) -> Response {
    let (Some(user), Some(session)) = (visit.session.user.as_deref(), &visit.session.mfa) else {
        return app.sessions.finish(visit, redirect("/signin"));
    };
    let screen = match app.mfa.current_screen(user, app.company(), session).await {
        Ok(screen) => screen,
        Err(e) => return server_error(&e),
    };
    let csrf = csrf_field(&visit.session.csrf);
    let body = match &screen {
        Screen::Continue => return app.sessions.finish(visit, redirect("/account")),
        // A session from before the person's MFA changed (an owner's reset,
        // say): over, whatever it passed. The password again.
        Screen::SignInAgain => {
            let visit = app.sessions.ended(visit);
            return app.sessions.finish(&visit, redirect("/signin"));
        }
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
                    "<form method=\"post\" action=\"/mfa/code\" class=\"card\">{csrf}\n{}<button type=\"submit\">Continue</button></form>\n",
                    code_field("code", "One-time code")
                );
            }
            body.push_str("<p><a href=\"/mfa/recovery\">Use a recovery code</a></p>");
            body
        }
        Screen::CompanyAccountVerification { .. } => format!(
            "<p>{}</p>\n<form method=\"post\" action=\"/mfa/begin\">{csrf}<button type=\"submit\" autofocus>Verify identity</button></form>",
            escape(&screen.for_person())
        ),
        Screen::ScanQr { enrollment, .. } => match scan_qr(&screen.for_person(), enrollment, &csrf) {
            Ok(body) => body,
            Err(e) => return server_error(&e),
        },
        Screen::SecondCode { .. } => format!(
            "<p>{}</p>\n<form method=\"post\" action=\"/mfa/enroll/second\" class=\"card\">{csrf}\n{}<button type=\"submit\">Continue</button></form>",
            escape(&screen.for_person()),
            code_field("code", "One-time code")
        ),
        Screen::RecordRecoveryCode { codes, .. } => {
            let codes: Vec<String> = codes.iter().map(|c| escape(c.expose_str())).collect();
            format!(
                r#"<p>{sentence}</p>
<p class="recovery" id="recovery-code">{codes}</p>
<p class="actions"><button type="button" data-copy="recovery-code">Copy</button>
<button type="button" data-download="recovery-code">Download</button>
<button type="button" data-print>Print</button></p>
<form method="post" action="/mfa/acknowledge" class="card">{csrf}
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
        viewer(app, visit, false).as_ref(),
        notice.as_ref(),
        &body,
    );
    app.sessions.finish(visit, html(status, page))
}

/// The QR code window: the code inline, the key to type by hand in groups
/// of four with its parameters, the code field.
fn scan_qr(
    sentence: &str,
    enrollment: &Enrollment,
    csrf: &str,
) -> Result<String, twostep::otp::QrError> {
    let qr = enrollment.qr()?;
    let key = enrollment.secret().expose_base32_grouped();
    let params = enrollment.params();
    Ok(format!(
        r#"<p>{sentence}</p>
<figure class="qr" role="img" aria-label="QR code to scan with your authenticator app">{svg}</figure>
<p>Can't scan? Enter this key: <code id="secret-key">{key}</code><br>
<span class="params" id="key-params">{algorithm}, {digits} digits, every {period} seconds</span></p>
<form method="post" action="/mfa/enroll/code" class="card">{csrf}
{field}<button type="submit">Continue</button></form>
<form method="post" action="/mfa/begin" class="inline">{csrf}<button type="submit" class="link">Start again with a new QR code</button></form>"#,
        sentence = escape(sentence),
        svg = qr.to_svg(),
        key = key.as_str(),
        algorithm = params.algorithm().uri_name(),
        digits = params.digits().get(),
        period = params.period().seconds(),
        field = code_field("code", "One-time code"),
    ))
}

/// What follows a form the service answered: the next screen, or the same
/// one again with the refusal in words for people.
async fn answered<T>(app: &App, visit: &Visit, outcome: Result<T, Error>) -> Response {
    match outcome {
        Ok(_) => app.sessions.finish(visit, redirect("/mfa")),
        Err(e) if is_answer(&e) => render(app, visit, Some(Notice::Refused(e.for_person()))).await,
        Err(e) => server_error(&e),
    }
}

pub async fn code(State(app): State<Arc<App>>, posted: Posted) -> Response {
    let Posted {
        form,
        user,
        mut mfa,
    } = posted;
    let outcome = app.mfa.verify(&user, &mut mfa, form.field("code")).await;
    let mut visit = form.visit;
    if outcome.is_ok() {
        visit.session.mfa = Some(mfa);
        app.sessions.renew(&mut visit);
    }
    answered(&app, &visit, outcome).await
}

pub async fn recovery_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    recovery_page(&app, &visit, None)
}

fn recovery_page(app: &App, visit: &Visit, notice: Option<Notice>) -> Response {
    if visit.session.user.is_none() {
        return app.sessions.finish(visit, redirect("/signin"));
    }
    let body = format!(
        r#"<p>Enter one of the recovery codes you recorded when you set up Multi-Factor Authentication.</p>
<form method="post" action="/mfa/recovery" class="card">{csrf}
<label for="recovery">Recovery code</label>
<input id="recovery" name="code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus>
<button type="submit">Continue</button></form>
<p><a href="/mfa">Use a one-time code instead</a></p>"#,
        csrf = csrf_field(&visit.session.csrf)
    );
    let status = if notice.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = page(
        "Use a recovery code",
        viewer(app, visit, false).as_ref(),
        notice.as_ref(),
        &body,
    );
    app.sessions.finish(visit, html(status, page))
}

pub async fn recovery(State(app): State<Arc<App>>, posted: Posted) -> Response {
    let Posted {
        form,
        user,
        mut mfa,
    } = posted;
    let outcome = app
        .mfa
        .use_recovery_code(&user, &mut mfa, form.field("code"))
        .await;
    let mut visit = form.visit;
    match outcome {
        // The replacement code, if any, is the next screen: /mfa shows it
        // until it is ticked.
        Ok(_) => {
            visit.session.mfa = Some(mfa);
            app.sessions.renew(&mut visit);
            app.sessions.finish(&visit, redirect("/mfa"))
        }
        Err(e) if is_answer(&e) => {
            recovery_page(&app, &visit, Some(Notice::Refused(e.for_person())))
        }
        Err(e) => server_error(&e),
    }
}

/// "Verify identity", "Activate", "Start again": a new QR code. The owner
/// confirms one code, users two, as the help page has it.
pub(crate) async fn begin_for(
    app: &App,
    user: &str,
    session: &twostep::MfaSession,
) -> Result<Enrollment, Error> {
    let role = app.directory.find(user).map(|a| a.role);
    let check = match role {
        Some(Role::Owner) => EnrollmentCheck::OneCode,
        _ => EnrollmentCheck::TwoCodes,
    };
    let builder = Enrollment::builder(&app.directory.company_name, user);
    app.mfa
        .begin_enrollment(user, session, builder, check)
        .await
}

pub async fn begin(State(app): State<Arc<App>>, Posted { form, user, mfa }: Posted) -> Response {
    let outcome = begin_for(&app, &user, &mfa).await;
    answered(&app, &form.visit, outcome).await
}

pub async fn first_code(
    State(app): State<Arc<App>>,
    Posted { form, user, mfa }: Posted,
) -> Response {
    let outcome = app
        .mfa
        .confirm_enrollment(&user, &mfa, form.field("code"))
        .await;
    answered(&app, &form.visit, outcome).await
}

pub async fn second_code(
    State(app): State<Arc<App>>,
    Posted { form, user, mfa }: Posted,
) -> Response {
    let outcome = app
        .mfa
        .confirm_second_code(&user, &mfa, form.field("code"))
        .await;
    answered(&app, &form.visit, outcome).await
}

pub async fn acknowledge(
    State(app): State<Arc<App>>,
    Posted {
        form,
        user,
        mut mfa,
    }: Posted,
) -> Response {
    let mut visit = form.visit;
    // The button is disabled until the tick, but a request can be made
    // without the page: the server asks for the tick itself.
    if form.fields.get("recorded").map(String::as_str) != Some("yes") {
        let notice = Notice::Refused(
            "Tick \u{201c}I have safely recorded this number\u{201d} to continue.".into(),
        );
        return render(&app, &visit, Some(notice)).await;
    }
    let outcome = app.mfa.acknowledge_recovery(&user, &mut mfa).await;
    if matches!(outcome, Ok(Acknowledged::FactorActivated)) {
        // The codes just typed are a second factor: a new session id for
        // the stronger session.
        visit.session.mfa = Some(mfa);
        app.sessions.renew(&mut visit);
    }
    answered(&app, &visit, outcome).await
}
