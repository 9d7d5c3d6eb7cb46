//! What every handler starts with, as axum extractors: the browser's
//! session, and for a form its CSRF check and the signed-in person.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Form;
use twostep::MfaSession;

use crate::session::Visit;
use crate::{forbidden, redirect, App};

impl FromRequestParts<Arc<App>> for Visit {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Visit, Infallible> {
        Ok(app.sessions.visit(&parts.headers))
    }
}

/// A form that carries its session's CSRF token (else: 403).
pub struct CheckedForm {
    /// The session it came with.
    pub visit: Visit,
    /// Its fields.
    pub fields: HashMap<String, String>,
}

impl CheckedForm {
    /// The field `name`, empty if absent.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

impl FromRequest<Arc<App>> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<CheckedForm, Response> {
        let visit = app.sessions.visit(request.headers());
        let Form(fields) = Form::<HashMap<String, String>>::from_request(request, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = CheckedForm { visit, fields };
        if !form.visit.csrf_ok(&form.fields) {
            return Err(forbidden(
                "This form has expired. Go back, reload the page and try again.",
            ));
        }
        Ok(form)
    }
}

/// A [`CheckedForm`] from someone who passed the password (else: to the
/// sign-in page).
pub struct Posted {
    /// The form.
    pub form: CheckedForm,
    /// Who sent it: twostep's user id.
    pub user: String,
    /// twostep's part of their session.
    pub mfa: MfaSession,
}

impl FromRequest<Arc<App>> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Posted, Response> {
        let form = CheckedForm::from_request(request, app).await?;
        let session = &form.visit.session;
        match (session.user.clone(), session.mfa.clone()) {
            (Some(user), Some(mfa)) => Ok(Posted { form, user, mfa }),
            _ => Err(redirect("/signin")),
        }
    }
}
