//! The signed-in pages: Account info with MFA's "Activate", and the
//! owner's Company profile ("Force every user to use MFA") and Users
//! ("Reset MFA", "Unlock").

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use twostep::company::MemberMfa;
use twostep::{MfaSession, Requirement, Screen};

use crate::directory::Account;
use crate::html::{code_field, escape, page, Notice};
use crate::screens::{begin_for, sign_out_and_sign_in, viewer};
use crate::session::Person;
use crate::{forbidden, html, is_answer, redirect, server_error, App, Error, Role};

/// The company profile's form.
#[derive(Deserialize)]
pub struct CompanyForm {
    force: Option<String>,
    #[serde(default)]
    code: String,
}

/// Reset or unlock a user: whom, and the owner's code if asked.
#[derive(Deserialize)]
pub struct UserForm {
    user: String,
    #[serde(default)]
    code: String,
}

/// The person's account, if past every check; else where they must go.
async fn signed_in<'a>(app: &'a App, person: &Person) -> Result<&'a Account, Response> {
    let account = app
        .directory
        .find(&person.user)
        .ok_or_else(|| redirect("/signin"))?;
    let screen = app
        .mfa
        .current_screen(&account.email, app.company(), &person.mfa)
        .await
        .map_err(|e| server_error(&e))?;
    match screen {
        Screen::Continue => Ok(account),
        Screen::SignInAgain => Err(sign_out_and_sign_in(person).await),
        _ => Err(redirect("/mfa")),
    }
}

async fn owner<'a>(app: &'a App, person: &Person) -> Result<&'a Account, Response> {
    let account = signed_in(app, person).await?;
    match account.role {
        Role::Owner => Ok(account),
        Role::User => Err(forbidden(
            "Only an owner of the company account can do this.",
        )),
    }
}

fn respond(
    app: &App,
    person: &Person,
    title: &str,
    notice: Option<Notice>,
    body: &str,
) -> Response {
    let status = match notice {
        Some(Notice::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let page = page(
        title,
        viewer(app, person, true).as_ref(),
        notice.as_ref(),
        body,
    );
    html(status, page)
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

pub async fn account_info(State(app): State<Arc<App>>, person: Person) -> Response {
    account_page(&app, &person, None).await
}

async fn account_page(app: &App, person: &Person, notice: Option<Notice>) -> Response {
    let account = match signed_in(app, person).await {
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
            "<p id=\"mfa-state\">Not active. Protect your account with a code from an authenticator app at every sign-in.</p>\n<form method=\"post\" action=\"/account/mfa/activate\"><button type=\"submit\">Activate</button></form>"
        );
    }
    body.push_str("</section>");
    respond(app, person, "Account info", notice, &body)
}

pub async fn activate(State(app): State<Arc<App>>, person: Person) -> Response {
    if let Err(response) = signed_in(&app, &person).await {
        return response;
    }
    match begin_for(&app, &person).await {
        Ok(_) => redirect("/mfa"),
        Err(e) if is_answer(&e) => {
            account_page(&app, &person, Some(Notice::Refused(e.for_person()))).await
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

pub async fn company(State(app): State<Arc<App>>, person: Person) -> Response {
    company_page(&app, &person, None).await
}

async fn company_page(app: &App, person: &Person, notice: Option<Notice>) -> Response {
    let owner = match owner(app, person).await {
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
        "<dl class=\"card\"><dt>Company account</dt><dd>{}</dd></dl>\n<form method=\"post\" action=\"/company\" class=\"card\">\n<p class=\"tick\"><input type=\"checkbox\" id=\"force\" name=\"force\" value=\"yes\"{checked}{disabled}>\n<label for=\"force\">Force every user to use MFA before accessing the Company Account</label></p>\n",
        escape(&app.directory.company_name),
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
                Notice::is_refusal(notice.as_ref()),
            ));
        }
    }
    let _ = write!(
        body,
        "<button type=\"submit\"{disabled}>Save changes</button></form>"
    );
    respond(app, person, "Company profile", notice, &body)
}

/// The owner's session for an owner's action: renewed by the code in the
/// form, if one was typed (then it passed the second factor just now).
async fn confirmed(app: &App, person: &mut Person, code: &str) -> Result<MfaSession, Error> {
    if !code.trim().is_empty() {
        let mut mfa = person.mfa.clone();
        app.mfa.verify(&person.user, &mut mfa, code).await?;
        if let Err(e) = person.keep(mfa, app.now()).await {
            tracing::error!(error = %e, "the renewed session was not kept");
        }
    }
    Ok(person.mfa.clone())
}

pub async fn save_company(
    State(app): State<Arc<App>>,
    mut person: Person,
    Form(form): Form<CompanyForm>,
) -> Response {
    let owner = match owner(&app, &person).await {
        Ok(owner) => owner.email.clone(),
        Err(response) => return response,
    };
    let requirement = if form.force.as_deref() == Some("yes") {
        Requirement::On { grace_period: 0 }
    } else {
        Requirement::Off
    };
    let outcome = match confirmed(&app, &mut person, &form.code).await {
        Ok(session) => {
            app.mfa
                .set_mfa_requirement(&app.directory.company_id, &owner, &session, requirement)
                .await
        }
        Err(e) => Err(e),
    };
    let notice = notice_for(outcome, |policy| {
        if policy.requires_mfa() {
            "Saved. Every user must use MFA before accessing the Company Account.".into()
        } else {
            "Saved. Users choose for themselves whether to use MFA.".into()
        }
    });
    match notice {
        Ok(notice) => company_page(&app, &person, Some(notice)).await,
        Err(response) => response,
    }
}

pub async fn users(State(app): State<Arc<App>>, person: Person) -> Response {
    users_page(&app, &person, None).await
}

async fn users_page(app: &App, person: &Person, notice: Option<Notice>) -> Response {
    let owner = match owner(app, person).await {
        Ok(owner) => owner,
        Err(response) => return response,
    };
    let company = &app.directory.company_id;
    let preview = match app.mfa.enforcement_preview(company, &owner.email).await {
        Ok(preview) => preview,
        Err(e) => return server_error(&e),
    };
    let mut body = format!(
        "<form method=\"post\">\n<p>Resetting a user's MFA removes their authenticator app and recovery codes; they set it up again at their next sign-in, with their password. Unlocking lets a user who typed too many wrong codes try again.</p>\n{}<table><caption>Users of {}</caption>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Email</th><th scope=\"col\">Role</th><th scope=\"col\">MFA</th><th scope=\"col\"><span class=\"sr-only\">Action</span></th></tr></thead><tbody>\n",
        code_field(
            "code",
            "Your current one-time code (asked when you last entered one more than 10 minutes ago)",
            Notice::is_refusal(notice.as_ref()),
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
            Role::User => {
                let mut action = String::new();
                if *state == MemberMfa::Locked {
                    let _ = write!(
                        action,
                        "<button type=\"submit\" formaction=\"/users/unlock\" name=\"user\" value=\"{0}\" aria-label=\"Unlock {1}\">Unlock</button> ",
                        escape(&account.email),
                        escape(&account.name)
                    );
                }
                let _ = write!(
                    action,
                    "<button type=\"submit\" formaction=\"/users/reset\" name=\"user\" value=\"{0}\" aria-label=\"Reset MFA of {1}\">Reset MFA</button>",
                    escape(&account.email),
                    escape(&account.name)
                );
                ("User", action)
            }
        };
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td data-label=\"Email\">{}</td><td data-label=\"Role\">{role}</td><td data-label=\"MFA\">{}</td><td>{action}</td></tr>",
            escape(&account.name),
            escape(&account.email),
            member_state(*state)
        );
    }
    body.push_str("</tbody></table></form>");
    respond(app, person, "Users", notice, &body)
}

/// What an owner does to a user on the Users page.
#[derive(Clone, Copy)]
enum UserAction {
    Reset,
    Unlock,
}

pub async fn reset(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<UserForm>,
) -> Response {
    act_on_user(&app, person, form, UserAction::Reset).await
}

pub async fn unlock(
    State(app): State<Arc<App>>,
    person: Person,
    Form(form): Form<UserForm>,
) -> Response {
    act_on_user(&app, person, form, UserAction::Unlock).await
}

async fn act_on_user(
    app: &App,
    mut person: Person,
    form: UserForm,
    action: UserAction,
) -> Response {
    let owner = match owner(app, &person).await {
        Ok(owner) => owner.email.clone(),
        Err(response) => return response,
    };
    let (company, user) = (&app.directory.company_id, form.user.as_str());
    let outcome = match confirmed(app, &mut person, &form.code).await {
        Ok(session) => match action {
            UserAction::Reset => {
                app.mfa
                    .reset_user_mfa(company, &owner, &session, user)
                    .await
            }
            UserAction::Unlock => app.mfa.unlock_member(company, &owner, &session, user).await,
        },
        Err(e) => Err(e),
    };
    let name = app
        .directory
        .find(user)
        .map_or(user, |a| a.name.as_str())
        .to_owned();
    match notice_for(outcome, |()| {
        match action {
        UserAction::Reset => format!(
            "The MFA of {name} is reset: they will set it up again at their next sign-in, with their password."
        ),
        UserAction::Unlock => format!("{name} is unlocked and may enter a code again."),
    }
    }) {
        Ok(notice) => users_page(app, &person, Some(notice)).await,
        Err(response) => response,
    }
}
