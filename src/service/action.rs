//! One call for every screen: what the person did in, the next screen and
//! what the session must now hold out, with the refusal in words that fit.

use crate::account::Screen;
use crate::rules::company_policy::Requirement;
use crate::words::Message;

/// What a person did on one of the help page's screens: the button they
/// pressed, with what they typed. [`AsyncMfa::step`](crate::AsyncMfa::step)
/// takes it, and [`Screen::forms`] says which buttons each screen has.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Action<'a> {
    /// A one-time code and Continue, on whichever screen asks for one: at
    /// sign-in, on the QR code window, on the second-code screen, or to
    /// confirm it is them again before an owner action.
    Code(&'a str),
    /// "Use a recovery code".
    RecoveryCode(&'a str),
    /// Continue on the recovery code screen, with "I have safely recorded
    /// this number" ticked or not.
    Recorded {
        /// Whether the box was ticked.
        ticked: bool,
    },
    /// "Verify identity" (a company requires MFA) or "Activate" (the person
    /// chose it): a new QR code naming the person's account `account` (an
    /// email address, say) at the service's issuer
    /// ([`with_issuer`](crate::Config::with_issuer)).
    SetUp {
        /// How the authenticator app names the account.
        account: &'a str,
    },
    /// "Start again with a new QR code": a new secret, the same names.
    StartAgain,
    /// "Not now": put off a setup the person started themselves (refused
    /// while a company of theirs requires MFA).
    NotNow,
    /// "Save changes" on the company profile: an owner switches "Force
    /// every user to use MFA" on or off. It asks for a second factor passed
    /// within the sudo window ([`with_sudo_window`](crate::Config::with_sudo_window));
    /// a `code` typed with it (empty: none) is checked first and renews it.
    SaveRequirement {
        /// What to save.
        requirement: Requirement,
        /// A current one-time code, or empty.
        code: &'a str,
    },
}

impl<'a> Action<'a> {
    /// The action a form of [`Screen::forms`] sent: `action` is its button's
    /// value ([`Button::action`](crate::screen::Button)), `input` its text field,
    /// `ticked` whether its checkbox was ticked, `account` how a new QR
    /// code names the person. `None` for an action no screen has.
    ///
    /// The company profile's form sends `save_requirement`, ticked to
    /// force every user to use MFA (with no grace period: build
    /// [`Action::SaveRequirement`] for one), and the owner's current code
    /// if they typed one.
    ///
    /// ```
    /// use twostep::Action;
    /// assert!(matches!(Action::from_form("code", "123456", false, "ada@acme.test"), Some(Action::Code("123456"))));
    /// assert!(matches!(Action::from_form("recorded", "", false, "ada@acme.test"), Some(Action::Recorded { ticked: false })));
    /// assert!(Action::from_form("delete_everything", "", false, "ada@acme.test").is_none());
    /// ```
    pub fn from_form(action: &str, input: &'a str, ticked: bool, account: &'a str) -> Option<Self> {
        Some(match action {
            "code" => Action::Code(input),
            "recovery_code" => Action::RecoveryCode(input),
            "recorded" => Action::Recorded { ticked },
            "set_up" => Action::SetUp { account },
            "start_again" => Action::StartAgain,
            "not_now" => Action::NotNow,
            "save_requirement" => Action::SaveRequirement {
                requirement: match ticked {
                    true => Requirement::On { grace_period: 0 },
                    false => Requirement::Off,
                },
                code: input,
            },
            _ => return None,
        })
    }
}

/// What [`step`](crate::AsyncMfa::step) did.
#[derive(Debug)]
#[must_use = "show the screen, and keep the session if it passed the second factor"]
#[non_exhaustive]
pub struct Step {
    /// The screen to show now ([`Screen::Continue`]: let the person in;
    /// [`Screen::SignInAgain`]: end the session).
    pub screen: Screen,
    /// Why the action was refused, in words for what was tried (a wrong
    /// recovery code is not a wrong one-time code); show it beside the
    /// screen. `None`: it was done.
    pub refused: Option<Message>,
    /// The session passed the second factor in this step (a code, a
    /// recovery code, or the tick that activated MFA): keep the changed
    /// session value and renew the session's id.
    pub passed_second_factor: bool,
}

/// The fields a form of [`Screen::forms`] posts, as a web framework's form
/// extractor reads them (feature `serde`): `action`, the value of the
/// button pressed; `code`, the text field; `ticked`, the checkbox (sent
/// only when ticked).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use twostep::{Action, StepForm};
/// // What axum's `Form<StepForm>` (or serde_urlencoded) makes of a post:
/// let form = StepForm { action: "code".into(), code: "123456".into(), ticked: None };
/// assert!(matches!(form.action("ada@acme.test"), Some(Action::Code("123456"))));
/// # }
/// ```
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Default, serde::Deserialize)]
pub struct StepForm {
    /// The button's value ([`Button::action`](crate::screen::Button)).
    #[serde(default)]
    pub action: String,
    /// The text field: a one-time code or a recovery code.
    #[serde(default)]
    pub code: String,
    /// The checkbox, present when ticked.
    #[serde(default)]
    pub ticked: Option<String>,
}

#[cfg(feature = "serde")]
impl StepForm {
    /// The [`Action`] this form sent ([`Action::from_form`]); `account`
    /// names the person in a new QR code.
    pub fn action<'a>(&'a self, account: &'a str) -> Option<Action<'a>> {
        Action::from_form(&self.action, &self.code, self.ticked.is_some(), account)
    }
}

/// The typed code stays out of logs.
#[cfg(feature = "serde")]
impl std::fmt::Debug for StepForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepForm")
            .field("action", &self.action)
            .field("code", &"<redacted>")
            .field("ticked", &self.ticked.is_some())
            .finish()
    }
}

/// What was typed (a recovery code among it) does not outlive the request.
#[cfg(feature = "serde")]
impl Drop for StepForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.code);
    }
}
