//! The signed-in pages: Account info with MFA's "Activate", and the
//! owner's Company profile ("Force every user to use MFA") and Users
//! ("Reset MFA", "Unlock").

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use twostep::company::MemberMfa;
use twostep::{MfaSession, Requirement, Screen};

use crate::directory::Account;
use crate::pages::{
    respond, AccountPage, CompanyPage, Frame, Notice, Sentence, UserRow, UsersPage,
};
use crate::screens::{answered, back_to, begin_for, sign_out_and_sign_in, viewer};
use crate::session::Person;
use crate::{forbidden, is_answer, redirect, server_error, App, Error, Role};

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

/// The frame of a signed-in page, with the answer kept for it.
async fn frame(app: &App, person: &Person, title: &str) -> Frame {
    let notice = person.take_notice().await;
    Frame::new(title, viewer(app, person, true), notice)
}

pub async fn account_info(State(app): State<Arc<App>>, person: Person) -> Response {
    let account = match signed_in(&app, &person).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let status = match app.mfa.status(&account.email).await {
        Ok(status) => status,
        Err(e) => return server_error(&e),
    };
    let page = AccountPage {
        frame: frame(&app, &person, "Account info").await,
        name: account.name.clone(),
        email: account.email.clone(),
        company: app.directory.company_name.clone(),
        role: match account.role {
            Role::Owner => "Owner",
            Role::User => "User",
        },
        active: status.factor_bound_at.is_some(),
    };
    respond(StatusCode::OK, &page)
}

pub async fn activate(State(app): State<Arc<App>>, person: Person) -> Response {
    if let Err(response) = signed_in(&app, &person).await {
        return response;
    }
    match begin_for(&app, &person).await {
        Ok(_) => redirect("/mfa"),
        Err(e) if is_answer(&e) => {
            let why = Notice::refused(Sentence::of(e.message()));
            back_to(&person, "/account", Some(why)).await
        }
        Err(e) => server_error(&e),
    }
}

/// "Sign out everywhere": every session of the person ends (twostep's
/// proof makes each one over; this one is deleted too).
pub async fn sign_out_everywhere(State(app): State<Arc<App>>, person: Person) -> Response {
    if let Err(response) = signed_in(&app, &person).await {
        return response;
    }
    if let Err(e) = app.mfa.end_sessions(&person.user).await {
        return server_error(&e);
    }
    match person.sign_out().await {
        Ok(()) => redirect("/signin?everywhere"),
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
    let owner = match owner(&app, &person).await {
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
    let frame = frame(&app, &person, "Company profile").await;
    let page = CompanyPage {
        refused: frame.refused(),
        frame,
        company: app.directory.company_name.clone(),
        forced: policy.requires_mfa(),
        unavailable: preview.unavailable.map(|reason| reason.for_person()),
        preview: preview.for_person(),
        members: preview
            .members
            .iter()
            .map(|(member, state)| (member.clone(), member_state(*state)))
            .collect(),
    };
    respond(StatusCode::OK, &page)
}

/// The owner's session for an owner's action: renewed by the code in the
/// form, if one was typed (then it passed the second factor just now, and
/// the session gets a new id, as after every second factor).
async fn confirmed(app: &App, person: &mut Person, code: &str) -> Result<MfaSession, Error> {
    if !code.trim().is_empty() {
        let mut mfa = person.mfa.clone();
        app.mfa.verify(&person.user, &mut mfa, code).await?;
        if let Err(e) = person.renew(mfa, app.now()).await {
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
    let company = &app.directory.company_id;
    let outcome = match confirmed(&app, &mut person, &form.code).await {
        Ok(session) => {
            app.mfa
                .set_mfa_requirement(company, &owner, &session, requirement)
                .await
        }
        Err(e) => Err(e),
    };
    answered(&person, outcome, "/company", |policy| {
        Some(if policy.requires_mfa() {
            "Saved. Every user must use MFA before accessing the Company Account.".into()
        } else {
            "Saved. Users choose for themselves whether to use MFA.".into()
        })
    })
    .await
}

pub async fn users(State(app): State<Arc<App>>, person: Person) -> Response {
    let owner = match owner(&app, &person).await {
        Ok(owner) => owner,
        Err(response) => return response,
    };
    let company = &app.directory.company_id;
    let preview = match app.mfa.enforcement_preview(company, &owner.email).await {
        Ok(preview) => preview,
        Err(e) => return server_error(&e),
    };
    let rows = app
        .directory
        .accounts()
        .iter()
        .map(|account| {
            let state = preview
                .members
                .iter()
                .find(|(member, _)| *member == account.email)
                .map_or(MemberMfa::NotSetUp, |(_, state)| *state);
            let user = account.role == Role::User;
            UserRow {
                name: account.name.clone(),
                email: account.email.clone(),
                role: if user { "User" } else { "Owner" },
                state: member_state(state),
                can_unlock: user && state == MemberMfa::Locked,
                can_reset: user && state != MemberMfa::NotSetUp,
            }
        })
        .collect();
    let frame = frame(&app, &person, "Users").await;
    let page = UsersPage {
        refused: frame.refused(),
        frame,
        company: app.directory.company_name.clone(),
        rows,
    };
    respond(StatusCode::OK, &page)
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
    let name = app.directory.find(user).map_or(user, |a| a.name.as_str());
    answered(&person, outcome, "/users", |()| {
        Some(match action {
        UserAction::Reset => format!(
            "The MFA of {name} is reset: they will set it up again at their next sign-in, with their password."
        ),
        UserAction::Unlock => format!("{name} is unlocked and may enter a code again."),
        })
    })
    .await
}
