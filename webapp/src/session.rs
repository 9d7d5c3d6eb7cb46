//! Server-side sessions behind an opaque cookie, with a CSRF token each.
//! In memory: a host keeps them in its database (what twostep keeps
//! between screens is in twostep's records, not here).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use subtle::ConstantTimeEq;
use twostep::MfaSession;

const COOKIE_NAME: &str = "sid";

/// What the server remembers of one browser.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Who passed the password, if anyone.
    pub user: Option<String>,
    /// twostep's part of the session, from the password on: what it says
    /// the person passed, checked by twostep at every call.
    pub mfa: Option<MfaSession>,
    /// The token every form of this session carries.
    pub csrf: String,
}

/// One request's session: its id and a copy of its data, and whether the
/// browser must be given the id.
pub struct Visit {
    id: String,
    /// The session's data; changes are kept by [`Sessions::store`].
    pub session: Session,
    send_cookie: bool,
}

impl Visit {
    /// Whether `form` carries this session's CSRF token.
    pub fn csrf_ok(&self, form: &HashMap<String, String>) -> bool {
        let sent = form.get("csrf").map_or(&[][..], |t| t.as_bytes());
        !self.session.csrf.is_empty() && bool::from(sent.ct_eq(self.session.csrf.as_bytes()))
    }
}

/// All sessions, by id.
#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
    secure_cookies: bool,
}

impl Sessions {
    /// No sessions yet; cookies get `Secure` if `secure_cookies` (behind
    /// TLS, as every deployment should be).
    pub fn new(secure_cookies: bool) -> Sessions {
        Sessions {
            by_id: Mutex::default(),
            secure_cookies,
        }
    }

    /// The session the request's cookie names, or a new one.
    pub fn visit(&self, headers: &HeaderMap) -> Visit {
        let sent = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, id)| id.to_owned())
            .filter(|id| !id.is_empty());
        let known = sent.and_then(|id| {
            let session = self.lock().get(&id).cloned()?;
            Some(Visit {
                id,
                session,
                send_cookie: false,
            })
        });
        known.unwrap_or_else(|| {
            let visit = Visit {
                id: random_token(),
                session: Session {
                    csrf: random_token(),
                    ..Session::default()
                },
                send_cookie: true,
            };
            self.store(&visit);
            visit
        })
    }

    /// Keeps the visit's session data.
    pub fn store(&self, visit: &Visit) {
        if visit.id.is_empty() {
            return;
        }
        self.lock().insert(visit.id.clone(), visit.session.clone());
    }

    /// Moves the session to a new id and a new CSRF token (at sign-in and
    /// after the second factor: a session id an attacker planted before is
    /// worth nothing after), keeping `visit.session`'s data.
    pub fn renew(&self, visit: &mut Visit) {
        self.lock().remove(&visit.id);
        visit.id = random_token();
        visit.session.csrf = random_token();
        visit.send_cookie = true;
        self.store(visit);
    }

    /// Forgets the session (sign-out) and starts a fresh one.
    pub fn end(&self, visit: &mut Visit) {
        visit.session = Session::default();
        self.renew(visit);
    }

    /// [`end`](Self::end) for a visit the caller only reads: the fresh
    /// session that replaces it.
    pub fn ended(&self, visit: &Visit) -> Visit {
        let mut fresh = Visit {
            id: visit.id.clone(),
            session: Session::default(),
            send_cookie: false,
        };
        self.end(&mut fresh);
        fresh
    }

    /// Adds the cookie to `response` if the browser does not have it yet.
    pub fn finish(&self, visit: &Visit, mut response: Response) -> Response {
        if visit.send_cookie {
            let secure = if self.secure_cookies { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
                visit.id
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        response
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves the map as it was: go on.
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// 256 random bits as hex; empty if the system's generator fails, and an
/// empty id or token is never stored nor matched.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
