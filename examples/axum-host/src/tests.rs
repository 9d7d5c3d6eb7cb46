//! The host driven over HTTP as a browser would: the help page's screens
//! for the owner and a user, later sign-ins, a lost phone, and what an
//! attacker tries. The clock is the test's: time passes when it says so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails loudly"
)]

use std::sync::Arc;

use twostep::clock::{Clock, ManualClock};
use twostep::otp::{Secret, Totp, TotpParams};
use twostep::{Config, Keyring};

use super::*;

/// The host on 127.0.0.1, on a fresh database, with a clock the test moves.
struct Host {
    url: String,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

impl Host {
    fn start() -> Host {
        let dir = TempDir::new();
        let url = format!("sqlite:{}?mode=rwc", dir.0.join("host.db").display());
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let app_clock = clock.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let db = SqlitePool::connect(&url).await.unwrap();
                let store = SqlxSqliteStore::new(db.clone());
                let mfa = AsyncMfa::with_config(
                    store,
                    Keyring::new(1, &[7; 32]),
                    Config::default().with_issuer("Acme").with_clock(app_clock),
                );
                let app = App::new(db, mfa).await.unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, router(app)).await.unwrap();
            });
        });
        Host {
            url: format!("http://{}", rx.recv().unwrap()),
            clock,
            _dir: dir,
        }
    }

    /// A new browser, with no cookie yet.
    fn browser(&self) -> Browser {
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build();
        Browser {
            url: self.url.clone(),
            agent: config.into(),
            cookie: None,
            set_cookies: Vec::new(),
        }
    }

    /// What the authenticator app holding `key` shows now.
    fn code(&self, key: &str) -> String {
        let secret = Secret::from_base32(&key.replace(' ', "")).unwrap();
        let totp = Totp::new(&secret, TotpParams::default());
        totp.generate(self.clock.now())
            .unwrap()
            .expose()
            .to_string()
    }

    /// Lets `seconds` pass.
    fn wait(&self, seconds: u64) {
        self.clock.advance(seconds);
    }
}

/// A browser: keeps the session cookie and follows redirects.
struct Browser {
    url: String,
    agent: ureq::Agent,
    cookie: Option<String>,
    /// Every `Set-Cookie` header the host sent, in order.
    set_cookies: Vec<String>,
}

/// The page a request ended on.
struct Page {
    status: u16,
    body: String,
}

impl Page {
    /// The text of the page's first `<code>`: the key to type, or a
    /// recovery code.
    fn code(&self) -> String {
        let start = self.body.find("<code>").expect("a <code>") + 6;
        let end = self.body[start..].find("</code>").unwrap();
        self.body[start..start + end].to_owned()
    }

    fn says(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The page's `<h1>`.
    fn title(&self) -> &str {
        let start = self.body.find("<h1>").expect("a title") + 4;
        let end = self.body[start..].find("</h1>").unwrap();
        &self.body[start..start + end]
    }
}

impl Browser {
    fn open(&mut self, path: &str) -> Page {
        self.request("GET", path, &[])
    }

    fn submit(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", path, form)
    }

    fn request(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.url);
        let cookie = self.cookie.clone().unwrap_or_default();
        let mut answer = match method {
            "POST" => self
                .agent
                .post(&url)
                .header("Cookie", &cookie)
                .send_form(form.iter().copied()),
            _ => self.agent.get(&url).header("Cookie", &cookie).call(),
        }
        .unwrap();
        for set in answer.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap().to_owned();
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
            self.set_cookies.push(set);
        }
        let status = answer.status().as_u16();
        if status == 303 {
            let location = answer.headers()["location"].to_str().unwrap().to_owned();
            return self.open(&location);
        }
        Page {
            status,
            body: answer.body_mut().read_to_string().unwrap(),
        }
    }

    fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.submit("/sign-in", &[("email", email), ("password", password)])
    }
}

const OWNER: (&str, &str) = ("olivia@acme.test", "owner-password");
const USER: (&str, &str) = ("max@acme.test", "user-password");

/// The owner activates MFA from Account info and records the recovery code.
fn owner_activates(host: &Host, owner: &mut Browser) -> String {
    let home = owner.sign_in(OWNER.0, OWNER.1);
    assert_eq!(home.title(), "Account info");
    let qr = owner.submit("/mfa", &[("action", "set_up")]);
    assert!(qr.says("<h1>Set up Multi-Factor Authentication</h1>"));
    let key = qr.code();
    let recovery = owner.submit("/mfa", &[("action", "code"), ("code", &host.code(&key))]);
    assert!(recovery.says("<h1>Copy provided recovery code</h1>"));
    let home = owner.submit("/mfa", &[("action", "recorded"), ("ticked", "on")]);
    assert_eq!(home.title(), "Account info");
    assert!(home.says("Active: every sign-in asks"));
    key
}

#[test]
fn the_help_pages_screens_for_the_owner_and_a_user_then_later_sign_ins() {
    let host = Host::start();
    let mut owner = host.browser();
    // Before their own MFA is active, the owner cannot force it on anyone.
    let home = owner.sign_in(OWNER.0, OWNER.1);
    assert!(home.says("Activate Multi-Factor Authentication for your own account first"));
    assert!(home.says("value=save_requirement disabled>Save changes</button>"));
    // A setup the owner started is put off with "Not now".
    let qr = owner.submit("/mfa", &[("action", "set_up")]);
    assert!(qr.says("value=not_now>Not now</button>"));
    let home = owner.submit("/mfa", &[("action", "not_now")]);
    assert_eq!(home.title(), "Account info");
    owner.submit("/sign-out", &[]);
    owner_activates(&host, &mut owner);
    // Force every user: within 10 minutes of the code, no code asked.
    let home = owner.submit("/mfa", &[("action", "save_requirement"), ("ticked", "on")]);
    assert_eq!(home.title(), "Account info");
    assert!(home.says("name=ticked checked"));
    assert!(home.says("1 of 2 users are asked to set up MFA at their next sign-in."));

    // The user meets Company Account Verification, with nothing else open.
    let mut user = host.browser();
    let verification = user.sign_in(USER.0, USER.1);
    assert!(verification.says("<h1>Company Account Verification</h1>"));
    assert_eq!(user.open("/").title(), "Company Account Verification");
    let qr = user.submit("/mfa", &[("action", "set_up")]);
    assert!(!qr.says("Not now"), "a required setup cannot be put off");
    let refused = user.submit("/mfa", &[("action", "not_now")]);
    assert_eq!(refused.status, 422);
    let key = qr.code();
    let first = host.code(&key);
    let second = user.submit("/mfa", &[("action", "code"), ("code", &first)]);
    assert!(second.says("<h1>Enter a one-time code</h1>"));
    let again = user.submit("/mfa", &[("action", "code"), ("code", &first)]);
    assert_eq!(again.status, 422);
    assert!(again.says("That code was just used."));
    host.wait(30);
    let recovery = user.submit("/mfa", &[("action", "code"), ("code", &host.code(&key))]);
    assert!(recovery.says("<h1>Copy provided recovery code</h1>"));
    let recovery_code = recovery.code();
    let unticked = user.submit("/mfa", &[("action", "recorded")]);
    assert_eq!(unticked.status, 422);
    assert!(unticked.says("Tick \u{201c}I have safely recorded this number\u{201d}"));
    let home = user.submit("/mfa", &[("action", "recorded"), ("ticked", "on")]);
    assert_eq!(home.title(), "Account info");
    assert!(
        !home.says("Company profile"),
        "a user has no owner's settings"
    );

    // A later sign-in: the password, then a current code.
    host.wait(60);
    let mut later = host.browser();
    let enter = later.sign_in(USER.0, USER.1);
    assert!(enter.says("<h1>Multi-Factor Authentication</h1>"));
    let wrong = later.submit("/mfa", &[("action", "recovery_code"), ("code", "hello")]);
    assert!(wrong.says("That is not a recovery code."));
    let code = host.code(&key);
    let home = later.submit("/mfa", &[("action", "code"), ("code", &code)]);
    assert_eq!(home.title(), "Account info");
    // The same code, typed by someone who saw it, a moment later.
    let mut onlooker = host.browser();
    onlooker.sign_in(USER.0, USER.1);
    let replayed = onlooker.submit("/mfa", &[("action", "code"), ("code", &code)]);
    assert_eq!(replayed.status, 422);
    assert_eq!(onlooker.open("/").title(), "Multi-Factor Authentication");

    // A lost phone: the recovery code signs in once and shows its
    // replacement, to record and tick.
    let mut lost = host.browser();
    lost.sign_in(USER.0, USER.1);
    let code = ("code", recovery_code.as_str());
    let replacement = lost.submit("/mfa", &[("action", "recovery_code"), code]);
    assert!(replacement.says("will not work again"));
    assert_ne!(replacement.code(), recovery_code);
    let home = lost.submit("/mfa", &[("action", "recorded"), ("ticked", "on")]);
    assert_eq!(home.title(), "Account info");
    let mut thief = host.browser();
    thief.sign_in(USER.0, USER.1);
    let spent = thief.submit("/mfa", &[("action", "recovery_code"), code]);
    assert!(spent.says("That recovery code does not work."));
}

#[test]
fn sessions_are_renewed_at_the_second_factor_and_cookies_keep_to_this_site() {
    let host = Host::start();
    let mut owner = host.browser();
    let key = owner_activates(&host, &mut owner);
    for set in &owner.set_cookies {
        assert!(set.contains("HttpOnly") && set.contains("Secure"), "{set}");
        assert!(set.contains("SameSite=Strict"), "{set}");
    }
    // A new session id at the password and again at the tick that
    // activated MFA: an id fixed before either is worth nothing after.
    let ids: Vec<&str> = owner
        .set_cookies
        .iter()
        .map(|s| s.split(';').next().unwrap())
        .collect();
    assert!(ids.len() >= 2 && ids[0] != ids[ids.len() - 1], "{ids:?}");
    // A form posted from another site carries no cookie: nothing changes.
    let mut other_site = host.browser();
    let refused = other_site.submit("/mfa", &[("action", "save_requirement"), ("ticked", "on")]);
    assert_eq!(refused.title(), "Sign in");
    // Over 10 minutes after the last code, the owner's change asks a
    // fresh one; a wrong one is refused in words.
    host.wait(11 * 60);
    let asked = owner.submit("/mfa", &[("action", "save_requirement"), ("ticked", "on")]);
    assert_eq!(asked.status, 422);
    assert!(asked.says("To confirm it's you, enter the one-time code"));
    let wrong = owner.submit(
        "/mfa",
        &[
            ("action", "save_requirement"),
            ("ticked", "on"),
            ("code", "000000"),
        ],
    );
    assert!(wrong.says("That code is not right."));
    let code = host.code(&key);
    let saved = owner.submit(
        "/mfa",
        &[
            ("action", "save_requirement"),
            ("ticked", "on"),
            ("code", &code),
        ],
    );
    assert!(saved.says("are asked to set up MFA"));
    // Signing out ends the session.
    owner.submit("/sign-out", &[]);
    assert_eq!(owner.open("/").title(), "Sign in");
}

/// A directory removed when the test ends.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).unwrap();
        let suffix: String = name.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("twostep-axum-host-{suffix}"));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
