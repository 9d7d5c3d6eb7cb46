//! The pages: askama templates in `templates/` (everything escaped unless
//! a template says otherwise, once, for the QR code's SVG) and what they
//! show: the frame, the answer to the last form, and the crate's sentences,
//! a wait in them counting down live.

use askama::Template;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep::words::Message;

/// The owner's code field on the Company profile and Users pages.
pub const OWNER_CODE_LABEL: &str =
    "Your current one-time code (asked when you last entered one more than 10 minutes ago)";

/// A sentence for the person. A wait in it counts down in the browser.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Sentence {
    before: String,
    wait: Option<Wait>,
    after: String,
}

/// The wait inside a [`Sentence`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Wait {
    seconds: u64,
    /// As the page first shows it.
    shown: String,
    /// What the sentence becomes when the wait is over.
    done: String,
}

const WAIT_OVER: &str = "You can try again now.";

impl Sentence {
    /// `text` as it is.
    pub fn plain(text: impl Into<String>) -> Sentence {
        Sentence {
            before: text.into(),
            ..Sentence::default()
        }
    }

    /// `before`, a wait of `seconds`, `after`.
    pub fn waiting(before: &str, seconds: u64, after: &str) -> Sentence {
        let shown = if seconds == 1 {
            "1 second".to_owned()
        } else {
            format!("{seconds} seconds")
        };
        Sentence {
            before: before.to_owned(),
            wait: Some(Wait {
                seconds,
                shown,
                done: WAIT_OVER.to_owned(),
            }),
            after: after.to_owned(),
        }
    }

    /// The crate's `message` in English; its `{seconds}`, if any, live.
    pub fn of(message: Message) -> Sentence {
        let english = message.english();
        let seconds = message
            .args()
            .into_iter()
            .find(|(name, _)| *name == "seconds");
        let split = message.english_template().split_once("{seconds}");
        let (Some((_, seconds)), Some((before, after))) = (seconds, split) else {
            return Sentence::plain(english);
        };
        if before.contains('{') || after.contains('{') {
            return Sentence::plain(english);
        }
        // The crate's own words for the wait ("12 seconds", "2 minutes").
        let shown = english
            .get(before.len()..english.len().saturating_sub(after.len()))
            .unwrap_or_default();
        Sentence {
            before: before.to_owned(),
            wait: Some(Wait {
                seconds,
                shown: shown.to_owned(),
                done: WAIT_OVER.to_owned(),
            }),
            after: after.to_owned(),
        }
    }
}

/// The answer to the form just sent, kept in the session for the page
/// the browser is sent to next (Post/Redirect/Get).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Notice {
    refused: bool,
    sentence: Sentence,
}

impl Notice {
    /// It was done.
    pub fn done(sentence: Sentence) -> Notice {
        Notice {
            refused: false,
            sentence,
        }
    }

    /// It was refused, and why.
    pub fn refused(sentence: Sentence) -> Notice {
        Notice {
            refused: true,
            sentence,
        }
    }

    /// Whether `notice` is a refusal (the field it is about is marked).
    pub fn is_refusal(notice: Option<&Notice>) -> bool {
        notice.is_some_and(|n| n.refused)
    }
}

/// Who is signed in, for the menu.
pub struct Viewer {
    pub name: String,
    pub email: String,
    /// The menu offers the owner's pages.
    pub owner: bool,
    /// Past every check: the menu is reachable.
    pub in_app: bool,
}

/// What every page has.
pub struct Frame {
    pub title: String,
    pub viewer: Option<Viewer>,
    pub notice: Option<Notice>,
}

impl Frame {
    pub fn new(title: impl Into<String>, viewer: Option<Viewer>, notice: Option<Notice>) -> Frame {
        Frame {
            title: title.into(),
            viewer,
            notice,
        }
    }

    /// Whether the page answers a refused form.
    pub fn refused(&self) -> bool {
        Notice::is_refusal(self.notice.as_ref())
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub frame: Frame,
}

#[derive(Template)]
#[template(path = "enter_code.html")]
pub struct EnterCodePage {
    pub frame: Frame,
    pub sentence: Sentence,
    /// What the throttle allows, unless the notice says it already.
    pub gate: Option<Sentence>,
    pub clock_drift: Option<String>,
    pub locked: bool,
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "verification.html")]
pub struct VerificationPage {
    pub frame: Frame,
    pub sentence: Sentence,
}

#[derive(Template)]
#[template(path = "scan_qr.html")]
pub struct ScanQrPage {
    pub frame: Frame,
    pub sentence: Sentence,
    pub qr_svg: String,
    pub key: String,
    pub algorithm: &'static str,
    pub digits: u8,
    pub period: u64,
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "second_code.html")]
pub struct SecondCodePage {
    pub frame: Frame,
    pub sentence: Sentence,
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "recovery_code.html")]
pub struct RecoveryCodePage {
    pub frame: Frame,
    pub sentence: Sentence,
    pub codes: Vec<String>,
    pub replacement: bool,
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "use_recovery.html")]
pub struct UseRecoveryPage {
    pub frame: Frame,
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub frame: Frame,
    pub name: String,
    pub email: String,
    pub company: String,
    pub role: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "company.html")]
pub struct CompanyPage {
    pub frame: Frame,
    pub company: String,
    pub forced: bool,
    pub unavailable: Option<String>,
    pub preview: String,
    pub members: Vec<(String, &'static str)>,
    pub refused: bool,
}

/// A row of the Users page.
pub struct UserRow {
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub state: &'static str,
    pub can_unlock: bool,
    pub can_reset: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub frame: Frame,
    pub company: String,
    pub rows: Vec<UserRow>,
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub frame: Frame,
    pub text: String,
}

/// `page` as the answer, with `status`.
pub fn respond(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
