//! The signed-in pages: Account info with MFA's "Activate", and the
//! owner's Company profile ("Force every user to use MFA") and Users
//! ("Reset MFA").

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use twostep::company::MemberMfa;
use twostep::{MfaSession, Requirement, Screen};

use crate::directory::Account;
use crate::extract::{CheckedForm, Posted};
use crate::html::{code_field, csrf_field, escape, page, Notice};
use crate::screens::{begin_for, viewer};
use crate::session::Visit;
use crate::{forbidden, html, is_answer, redirect, server_error, App, Error, Role};

/// The person, if past every check; else where they must go.
async fn signed_in<'a>(app: &'a App, visit: &Visit) -> Result<&'a Account, Response> {
    let account = visit
        .session
        .user
        .as_deref()
        .and_then(|user| app.directory.find(user))
        .ok_or_else(|| app.sessions.finish(visit, redirect("/signin")))?;
    let session = visit
        .session
        .mfa
        .as_ref()
        .ok_or_else(|| app.sessions.finish(visit, redirect("/signin")))?;
    let screen = app
        .mfa
        .current_screen(&account.email, app.company(), session)
        .await
        .map_err(|e| server_error(&e))?;
    match screen {
        Screen::Continue => Ok(account),
        _ => Err(redirect("/mfa")),
    }
}

async fn owner<'a>(app: &'a App, visit: &Visit) -> Result<&'a Account, Response> {
    let account = signed_in(app, visit).await?;
    match account.role {
        Role::Owner => Ok(account),
        Role::User => Err(forbidden(
            "Only an owner of the company account can do this.",
        )),
    }
}

fn respond(app: &App, visit: &Visit, title: &str, notice: Option<Notice>, body: &str) -> Response {
    let status = match notice {
        Some(Notice::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let page = page(
        title,
        viewer(app, visit, true).as_ref(),
        notice.as_ref(),
        body,
    );
    app.sessions.finish(visit, html(status, page))
}

/// The notice for a service answer, or the error page for a failure.
fn notice_for<T>(
    outcome: Result<T, Error>,
    done: impl FnOnce(T) -> String,
) -> Result<Notice, Response> {
    match outcome {
        Ok(value) => Ok(Notice::Done(done(value))),
        Err(e) if is_answer(&e) => Ok(Notice::Refused(e.for_person())),
        Err(e) => Err(server_error(&e)),
    }
}

pub async fn account_info(State(app): State<Arc<App>>, visit: Visit) -> Response {
    account_page(&app, &visit, None).await
}

async fn account_page(app: &App, visit: &Visit, notice: Option<Notice>) -> Response {
    let account = match signed_in(app, visit).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let status = match app.mfa.status(&account.email).await {
        Ok(status) => status,
        Err(e) => return server_error(&e),
    };
    let role = match account.role {
        Role::Owner => "Owner",
        Role::User => "User",
    };
    let mut body = format!(
        "<dl class=\"card\"><dt>Name</dt><dd>{}</dd><dt>Email</dt><dd>{}</dd><dt>Company account</dt><dd>{}</dd><dt>Role</dt><dd>{role}</dd></dl>\n<section aria-labelledby=\"mfa\"><h2 id=\"mfa\">Multi-Factor Authentication</h2>\n",
        escape(&account.name),
        escape(&account.email),
        escape(&app.directory.company_name)
    );
    if status.factor_bound_at.is_some() {
        body.push_str("<p id=\"mfa-state\" class=\"done\">Active: every sign-in asks for a code from your authenticator app.</p>");
    } else {
        let _ = write!(
            body,
            "<p id=\"mfa-state\">Not active. Protect your account with a code from an authenticator app at every sign-in.</p>\n<form method=\"post\" action=\"/account/mfa/activate\">{}<button type=\"submit\">Activate</button></form>",
            csrf_field(&visit.session.csrf)
        );
    }
    body.push_str("</section>");
    respond(app, visit, "Account info", notice, &body)
}

pub async fn activate(State(app): State<Arc<App>>, Posted { form, user, mfa }: Posted) -> Response {
    let visit = form.visit;
    if let Err(response) = signed_in(&app, &visit).await {
        return response;
    }
    match begin_for(&app, &user, &mfa).await {
        Ok(_) => redirect("/mfa"),
        Err(e) if is_answer(&e) => {
            account_page(&app, &visit, Some(Notice::Refused(e.for_person()))).await
        }
        Err(e) => server_error(&e),
    }
}

fn member_state(state: MemberMfa) -> &'static str {
    match state {
        MemberMfa::Active => "Active",
        MemberMfa::Locked => "Locked: too many wrong codes",
        MemberMfa::Enrolling(_) => "Setting up",
        MemberMfa::NotSetUp => "Not set up",
        _ => "Unknown",
    }
}

pub async fn company(State(app): State<Arc<App>>, visit: Visit) -> Response {
    company_page(&app, &visit, None).await
}

async fn company_page(app: &App, visit: &Visit, notice: Option<Notice>) -> Response {
    let owner = match owner(app, visit).await {
        Ok(owner) => owner,
        Err(response) => return response,
    };
    let company = &app.directory.company_id;
    let preview = app.mfa.enforcement_preview(company, &owner.email).await;
    let policy = app.mfa.company_policy(company).await;
    let (preview, policy) = match (preview, policy) {
        (Ok(preview), Ok(policy)) => (preview, policy),
        (Err(e), _) | (_, Err(e)) => return server_error(&e),
    };
    let unavailable = preview.unavailable.map(|reason| reason.for_person());
    let disabled = if unavailable.is_some() {
        " disabled"
    } else {
        ""
    };
    let checked = if policy.requires_mfa() {
        " checked"
    } else {
        ""
    };
    let mut body = format!(
        "<dl class=\"card\"><dt>Company account</dt><dd>{}</dd></dl>\n<form method=\"post\" action=\"/company\" class=\"card\">{}\n<p class=\"tick\"><input type=\"checkbox\" id=\"force\" name=\"force\" value=\"yes\"{checked}{disabled}>\n<label for=\"force\">Force every user to use MFA before accessing the Company Account</label></p>\n",
        escape(&app.directory.company_name),
        csrf_field(&visit.session.csrf)
    );
    match &unavailable {
        Some(reason) => {
            let _ = writeln!(
                body,
                "<p class=\"hint\" id=\"unavailable\">{}</p>",
                escape(reason)
            );
        }
        None => {
            let _ = writeln!(
                body,
                "<p id=\"preview\">{}</p>",
                escape(&preview.for_person())
            );
            body.push_str("<ul class=\"members\">");
            for (member, state) in &preview.members {
                let _ = write!(
                    body,
                    "<li>{} — {}</li>",
                    escape(member),
                    member_state(*state)
                );
            }
            body.push_str("</ul>\n");
            body.push_str(&code_field(
                "code",
                "Your current one-time code (asked when you last entered one more than 10 minutes ago)",
            ));
        }
    }
    let _ = write!(
        body,
        "<button type=\"submit\"{disabled}>Save changes</button></form>"
    );
    respond(app, visit, "Company profile", notice, &body)
}

/// The owner's session for an owner's action: renewed by the code in the
/// form, if one was typed (then it passed the second factor just now).
async fn confirmed(app: &App, form: &mut CheckedForm, owner: &str) -> Result<MfaSession, Error> {
    let mut session = form
        .visit
        .session
        .mfa
        .clone()
        .ok_or(twostep::MfaError::SessionEnded)?;
    let code = form.field("code").to_owned();
    if !code.trim().is_empty() {
        app.mfa.verify(owner, &mut session, &code).await?;
        form.visit.session.mfa = Some(session.clone());
        app.sessions.store(&form.visit);
    }
    Ok(session)
}

pub async fn save_company(State(app): State<Arc<App>>, mut form: CheckedForm) -> Response {
    let owner = match owner(&app, &form.visit).await {
        Ok(owner) => owner.email.clone(),
        Err(response) => return response,
    };
    let requirement = if form.field("force") == "yes" {
        Requirement::On { grace_period: 0 }
    } else {
        Requirement::Off
    };
    let outcome = match confirmed(&app, &mut form, &owner).await {
        Ok(session) => {
            app.mfa
                .set_mfa_requirement(&app.directory.company_id, &owner, &session, requirement)
                .await
        }
        Err(e) => Err(e),
    };
    let visit = &form.visit;
    let notice = notice_for(outcome, |policy| {
        if policy.requires_mfa() {
            "Saved. Every user must use MFA before accessing the Company Account.".into()
        } else {
            "Saved. Users choose for themselves whether to use MFA.".into()
        }
    });
    match notice {
        Ok(notice) => company_page(&app, visit, Some(notice)).await,
        Err(response) => response,
    }
}

pub async fn users(State(app): State<Arc<App>>, visit: Visit) -> Response {
    users_page(&app, &visit, None).await
}

async fn users_page(app: &App, visit: &Visit, notice: Option<Notice>) -> Response {
    let owner = match owner(app, visit).await {
        Ok(owner) => owner,
        Err(response) => return response,
    };
    let company = &app.directory.company_id;
    let preview = match app.mfa.enforcement_preview(company, &owner.email).await {
        Ok(preview) => preview,
        Err(e) => return server_error(&e),
    };
    let mut body = format!(
        "<form method=\"post\" action=\"/users/reset\">{}\n<p>Resetting a user's MFA removes their authenticator app and recovery codes; they set it up again at their next sign-in.</p>\n{}<table><caption>Users of {}</caption>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Email</th><th scope=\"col\">Role</th><th scope=\"col\">MFA</th><th scope=\"col\"><span class=\"sr-only\">Action</span></th></tr></thead><tbody>\n",
        csrf_field(&visit.session.csrf),
        code_field(
            "code",
            "Your current one-time code (asked when you last entered one more than 10 minutes ago)"
        ),
        escape(&app.directory.company_name)
    );
    for account in app.directory.accounts() {
        let state = preview
            .members
            .iter()
            .find(|(member, _)| *member == account.email)
            .map_or(&MemberMfa::NotSetUp, |(_, state)| state);
        let (role, action) = match account.role {
            Role::Owner => ("Owner", String::new()),
            Role::User if *state == MemberMfa::NotSetUp => ("User", String::new()),
            Role::User => (
                "User",
                format!(
                    "<button type=\"submit\" name=\"user\" value=\"{0}\" aria-label=\"Reset MFA of {1}\">Reset MFA</button>",
                    escape(&account.email),
                    escape(&account.name)
                ),
            ),
        };
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{role}</td><td>{}</td><td>{action}</td></tr>",
            escape(&account.name),
            escape(&account.email),
            member_state(*state)
        );
    }
    body.push_str("</tbody></table></form>");
    respond(app, visit, "Users", notice, &body)
}

pub async fn reset(State(app): State<Arc<App>>, mut form: CheckedForm) -> Response {
    let owner = match owner(&app, &form.visit).await {
        Ok(owner) => owner.email.clone(),
        Err(response) => return response,
    };
    let user = form.field("user").to_owned();
    let outcome = match confirmed(&app, &mut form, &owner).await {
        Ok(session) => {
            app.mfa
                .reset_user_mfa(&app.directory.company_id, &owner, &session, &user)
                .await
        }
        Err(e) => Err(e),
    };
    let (visit, user) = (&form.visit, user.as_str());
    let name = app
        .directory
        .find(user)
        .map_or(user, |a| a.name.as_str())
        .to_owned();
    match notice_for(outcome, |()| {
        format!("The MFA of {name} is reset: they will set it up again at their next sign-in.")
    }) {
        Ok(notice) => users_page(&app, visit, Some(notice)).await,
        Err(response) => response,
    }
}
