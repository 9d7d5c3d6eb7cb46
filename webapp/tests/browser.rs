//! The help page's journeys in headless Chromium, as people click them:
//! the owner's activation and "Force every user to use MFA", a user's
//! "Company Account Verification" with two codes, later sign-ins with a
//! code and with a recovery code, the owner's Reset MFA. Codes come from
//! the key the page shows, computed as a phone would; the app's clock is
//! the test's.
//!
//! Each screen is saved as a PNG: under the target directory, or into
//! `docs/screens/` (the README's pictures) with
//! `TWOSTEP_UPDATE_SCREENSHOTS=1`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the journey's helpers: a failure is the test's failure"
)]

mod support;

use std::path::PathBuf;

use support::webdriver::{Browser, ENTER, ESCAPE, TAB};
use support::{start, Running, PEOPLE};
use twostep_webapp::Database;

struct Journey {
    app: Running,
    browser: Browser,
    shots: Option<PathBuf>,
    /// axe-core's script (`TWOSTEP_AXE_JS`: where `npm install axe-core`
    /// put `axe.min.js`; CI sets it).
    axe: Option<String>,
}

impl Journey {
    /// The app over `database` (a new SQLite file if `None`) and a browser;
    /// screenshots if `shots`.
    fn new(database: Option<Database>, shots: bool) -> Journey {
        let shots = shots.then(|| match std::env::var_os("TWOSTEP_UPDATE_SCREENSHOTS") {
            Some(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screens"),
            None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screens"),
        });
        let axe = match std::env::var_os("TWOSTEP_AXE_JS") {
            Some(path) => Some(std::fs::read_to_string(path).unwrap()),
            None => {
                let required = std::env::var_os("TWOSTEP_REQUIRE_BROWSER").is_some();
                assert!(!required, "TWOSTEP_REQUIRE_BROWSER needs TWOSTEP_AXE_JS");
                None
            }
        };
        Journey {
            app: start(database, false),
            browser: Browser::start(),
            shots,
            axe,
        }
    }

    fn open(&self, path: &str) {
        self.browser.open(&format!("{}{path}", self.app.url));
    }

    /// Saves the screen as `name`, after checking what every screen owes a
    /// keyboard and screen-reader user: each field has its label,
    /// axe-core finds nothing against WCAG 2.1 A and AA, and at 375 and
    /// 320 px nothing scrolls sideways.
    fn shot(&self, name: &str) {
        let unlabelled = self.browser.run(
            "return [...document.querySelectorAll('input:not([type=hidden])')] \
               .filter(i => !i.id || !document.querySelector(`label[for='${i.id}']`)) \
               .map(i => i.name);",
        );
        assert_eq!(
            unlabelled,
            serde_json::json!([]),
            "fields without a label on {name}"
        );
        if let Some(axe) = &self.axe {
            let violations = self.browser.axe(axe);
            assert_eq!(violations, serde_json::json!([]), "axe on {name}");
        }
        // On phones, nothing scrolls sideways or starts off-screen.
        for width in [375, 320] {
            self.browser.emulate_width(Some(width));
            let outside = self.browser.run(
                "const w = document.documentElement.clientWidth; \
                 const wide = document.documentElement.scrollWidth > w ? ['the page'] : []; \
                 return wide.concat([...document.querySelectorAll('body *')] \
                   .filter(e => { const r = e.getBoundingClientRect(); \
                     return r.width > 1 && (r.left < -1 || r.right > w + 1); }) \
                   .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')));",
            );
            assert_eq!(outside, serde_json::json!([]), "{name} at {width} px");
        }
        self.browser.emulate_width(None);
        if let Some(shots) = &self.shots {
            self.browser.screenshot(&shots.join(format!("{name}.png")));
        }
    }

    /// The page's main text, without the answer to the last form.
    fn screen_text(&self) -> String {
        let text = self.browser.run(
            "const m = document.querySelector('main').cloneNode(true); \
             m.querySelector('#notice')?.remove(); return m.innerText;",
        );
        text.as_str().unwrap().to_owned()
    }

    /// A reload shows the same screen, with the same QR code, key and codes.
    fn reload_shows_the_same(&self) {
        let before = self.screen_text();
        self.browser.reload();
        assert_eq!(self.screen_text(), before, "a reload changed the screen");
    }

    fn notice(&self) -> String {
        self.browser.text("#notice")
    }

    fn focused(&self) -> String {
        self.browser
            .run("return document.activeElement.id")
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn sign_in(&self, who: usize) {
        let (email, _, _, password) = PEOPLE[who];
        self.browser.clear_cookies();
        self.open("/signin");
        self.browser.type_into("#email", email);
        self.browser.type_into("#password", password);
        self.browser.click_to_page("button[type=submit]");
        // The session begins with the password (none before it).
        let cookie = self.browser.cookie("sid");
        assert_eq!(cookie["httpOnly"], true);
        assert_eq!(cookie["sameSite"], "Lax");
    }

    fn sign_out(&self) {
        self.browser.click_to_page("nav button");
        assert_eq!(self.browser.heading(), "Sign in");
    }

    /// Types `code` into the page's code field and sends it.
    fn enter_code(&self, code: &str) {
        self.browser.type_into("#code", code);
        self.browser.click_to_page("#code ~ button[type=submit]");
    }

    fn key_on_page(&self) -> String {
        self.browser.text("#secret-key")
    }

    /// Ticks "I have safely recorded this number" and continues, after
    /// checking that Continue waits for the tick.
    fn tick_and_continue(&self) {
        assert!(
            !self.browser.enabled("#continue"),
            "Continue is disabled before the tick"
        );
        self.browser.click("label[for=recorded]");
        assert!(self.browser.enabled("#continue"));
        self.browser.click_to_page("#continue");
    }
}

#[test]
#[cfg_attr(
    no_browser,
    ignore = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); CI installs them"
)]
fn the_help_pages_journeys_in_a_browser_over_sqlite() {
    walk_the_help_page(&Journey::new(None, true));
}

#[test]
#[cfg_attr(
    no_browser,
    ignore = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); CI installs them"
)]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn the_help_pages_journeys_in_a_browser_over_postgres() {
    walk_the_help_page(&Journey::new(Some(support::postgres()), false));
}

#[test]
#[cfg_attr(
    no_browser,
    ignore = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); CI installs them"
)]
fn a_keyboard_alone_sets_up_mfa_uses_the_menu_and_sees_a_wait_count_down() {
    let j = Journey::new(None, false);
    let b = &j.browser;
    // The pages' timers are the test's: a second passes when it says so.
    b.before_every_page(
        "window.twostepTicks = []; \
         window.setInterval = (tick) => window.twostepTicks.push(tick); \
         window.clearInterval = () => {};",
    );
    let (email, _, _, password) = PEOPLE[0];
    j.open("/signin");
    assert_eq!(j.focused(), "email");
    b.press_to_page(&format!("{email}{TAB}{password}{ENTER}"));
    assert_eq!(b.heading(), "Account info");
    b.tab_to("form[action='/account/mfa/activate'] button");
    b.press_to_page(ENTER);
    assert_eq!(
        j.focused(),
        "code",
        "the QR code's page starts at its field"
    );
    let code = j.app.code_for(&j.key_on_page());
    b.press_to_page(&format!("{code}{ENTER}"));
    assert_eq!(b.heading(), "Copy provided recovery code");
    b.tab_to("#recorded");
    b.press(" ");
    b.tab_to("#continue");
    b.press_to_page(ENTER);
    assert_eq!(b.text("#mfa-state").split(':').next(), Some("Active"));

    // The menu: Enter opens it, Escape closes it and gives the focus back.
    let open = "return document.querySelector('details.menu').open";
    b.tab_to("details.menu summary");
    b.press(ENTER);
    b.tab_to("a[href='/users']");
    b.press(ESCAPE);
    assert_eq!(b.run(open), false);
    assert_eq!(b.run("return document.activeElement.tagName"), "SUMMARY");
    b.press(ENTER);
    assert_eq!(b.run(open), true);
    b.tab_to("a[href='/users']");
    b.press_to_page(ENTER);
    assert_eq!(b.heading(), "Users");

    // Signed in again, wrong codes until the throttle: its wait counts down.
    b.tab_to("nav button");
    b.press_to_page(ENTER);
    assert_eq!(b.heading(), "Sign in");
    b.press_to_page(&format!("{email}{TAB}{password}{ENTER}"));
    for wrong in ["123456", "123457", "123458", "123459"] {
        b.press_to_page(&format!("{wrong}{ENTER}"));
    }
    let wait = "#notice [data-countdown]";
    let seconds = b.text(wait);
    let (count, _) = seconds.split_once(' ').unwrap();
    let count: usize = count.parse().unwrap();
    let tick = "window.twostepTicks.forEach((tick) => tick());";
    b.run(tick);
    assert_eq!(b.text(wait), format!("{} seconds", count - 1));
    for _ in 1..count {
        b.run(tick);
    }
    assert_eq!(j.notice(), "You can try again now.");
}

/// Both sequences of the help page and the sign-ins after them.
fn walk_the_help_page(j: &Journey) {
    let b = &j.browser;

    // --- The owner: sign in; MFA not yet active, the requirement unavailable.
    j.open("/signin");
    assert_eq!(b.heading(), "Sign in");
    assert_eq!(j.focused(), "email");
    j.shot("01-sign-in");
    j.reload_shows_the_same();
    j.sign_in(0);
    assert_eq!(b.heading(), "Account info");
    assert!(b.text("#mfa-state").starts_with("Not active"));
    j.shot("02-account-info-activate");
    j.reload_shows_the_same();
    // Account menu → Administration → Company profile.
    b.click(".menu summary");
    j.shot("03-account-menu");
    b.click_to_page("a[href='/company']");
    assert_eq!(b.heading(), "Company profile");
    assert!(!b.enabled("#force"));
    assert_eq!(
        b.text("#unavailable"),
        "Activate Multi-Factor Authentication for your own account first: then you can require it of every user."
    );
    j.shot("04-company-profile-unavailable");
    j.reload_shows_the_same();

    // --- Account info → Multi-Factor Authentication → Activate.
    b.click(".menu summary");
    b.click_to_page("a[href='/account']");
    b.click_to_page("#mfa ~ form button");
    assert_eq!(b.heading(), "Set up Multi-Factor Authentication");
    assert_eq!(b.count("figure.qr svg"), 1, "the QR code is inline SVG");
    assert_eq!(b.text("#key-params"), "SHA1, 6 digits, every 30 seconds");
    assert_eq!(j.focused(), "code");
    assert_eq!(
        b.run("return document.getElementById('code').autocomplete"),
        "one-time-code"
    );
    assert_eq!(
        b.run("return document.getElementById('code').inputMode"),
        "numeric"
    );
    let key = j.key_on_page();
    assert!(
        key.split(' ').all(|group| group.len() <= 4),
        "key in groups of four: {key}"
    );
    j.shot("05-qr-code");
    j.reload_shows_the_same();
    j.enter_code("000000");
    assert_eq!(b.heading(), "Set up Multi-Factor Authentication");
    assert_eq!(
        j.notice(),
        "That code is not right. Check your app and try again."
    );
    assert_eq!(j.key_on_page(), key, "a wrong code shows the same QR code");
    j.shot("06-qr-code-wrong-code");
    j.enter_code(&j.app.code_for(&key));

    // --- The recovery code window, Continue only after the tick.
    assert_eq!(b.heading(), "Copy provided recovery code");
    let owner_recovery = b.text("#recovery-code");
    assert_eq!(
        b.count("[data-copy]") + b.count("[data-download]") + b.count("[data-print]"),
        3
    );
    assert!(
        !b.enabled("#continue"),
        "Continue is disabled before the tick"
    );
    j.shot("07-recovery-code");
    j.reload_shows_the_same();
    // A crafted request without the tick is refused by the server.
    b.run(
        "document.getElementById('recorded').remove(); \
         document.getElementById('continue').disabled = false;",
    );
    b.click_to_page("#continue");
    assert_eq!(b.heading(), "Copy provided recovery code");
    assert_eq!(
        j.notice(),
        "Tick \u{201c}I have safely recorded this number\u{201d} to continue."
    );
    assert_eq!(
        b.text("#recovery-code"),
        owner_recovery,
        "the same code until the tick"
    );
    j.shot("08-recovery-code-without-tick");
    let before_tick = b.cookie("sid")["value"].clone();
    j.tick_and_continue();
    assert_ne!(
        b.cookie("sid")["value"],
        before_tick,
        "a new session id after the second factor"
    );
    assert_eq!(b.heading(), "Account info");
    assert!(b.text("#mfa-state").starts_with("Active"));
    j.shot("09-account-info-mfa-active");
    j.reload_shows_the_same();

    // --- Company profile: force every user to use MFA, with a current code.
    j.open("/company");
    assert!(b.enabled("#force"));
    assert_eq!(
        b.text("#preview"),
        "2 of 3 users will be asked to set up MFA at their next sign-in."
    );
    b.click("label[for=force]");
    j.app.wait(30);
    b.type_into("#code", &j.app.code_for(&key));
    j.shot("10-company-profile");
    b.click_to_page("form[action='/company'] button[type=submit]");
    assert_eq!(
        j.notice(),
        "Saved. Every user must use MFA before accessing the Company Account."
    );
    assert_eq!(
        b.run("return document.getElementById('force').checked"),
        true
    );
    j.shot("11-company-profile-saved");
    j.sign_out();

    // --- A user: Company Account Verification → Verify identity.
    j.sign_in(1);
    assert_eq!(b.heading(), "Company Account Verification");
    j.shot("12-company-account-verification");
    j.reload_shows_the_same();
    b.click_to_page("form[action='/mfa/begin'] button");
    assert_eq!(b.heading(), "Set up Multi-Factor Authentication");
    let user_key = j.key_on_page();
    j.shot("13-user-qr-code");
    let first = j.app.code_for(&user_key);
    j.enter_code(&first);

    // --- The second, later code.
    assert_eq!(b.heading(), "Enter a one-time code");
    j.shot("14-second-code");
    j.reload_shows_the_same();
    j.enter_code(&first);
    assert!(
        j.notice().starts_with("That code was just used. Wait "),
        "the same code again: {}",
        j.notice()
    );
    j.shot("15-second-code-same-code");
    j.app.wait(30);
    j.enter_code(&j.app.code_for(&user_key));
    assert_eq!(b.heading(), "Copy provided recovery code");
    let user_recovery = b.text("#recovery-code");
    j.reload_shows_the_same();
    j.tick_and_continue();
    assert_eq!(b.heading(), "Account info");
    j.sign_out();

    // --- Later: a sign-in with a code (a wrong one first).
    j.app.wait(30);
    j.sign_in(1);
    assert_eq!(b.heading(), "Multi-Factor Authentication");
    assert_eq!(j.focused(), "code");
    j.shot("16-enter-code");
    j.reload_shows_the_same();
    j.enter_code("123456");
    assert_eq!(
        j.notice(),
        "That code is not right. Check your app and try again."
    );
    j.shot("17-enter-code-wrong-code");
    // Two more wrong codes, and the throttle answers with the seconds.
    j.enter_code("123457");
    j.enter_code("123458");
    j.enter_code(&j.app.code_for(&user_key));
    assert_eq!(j.notice(), "Too many wrong codes. Try again in 15 seconds.");
    j.shot("18-enter-code-throttled");
    j.app.wait(15);
    j.enter_code(&j.app.code_for(&user_key));
    assert_eq!(b.heading(), "Account info");
    j.sign_out();

    // --- A phone whose clock runs 30 s fast: after two sign-ins the code
    // screen says so.
    for _ in 0..2 {
        j.app.wait(60);
        j.sign_in(1);
        assert_eq!(b.count("#clock-drift"), 0);
        j.enter_code(&j.app.code_for_phone(&user_key, 30));
        assert_eq!(b.heading(), "Account info");
        j.sign_out();
    }
    j.app.wait(60);
    j.sign_in(1);
    assert!(
        b.text("#clock-drift")
            .starts_with("Your authenticator app's clock seems to be about "),
        "{}",
        b.text("#clock-drift")
    );
    assert!(b.text("#clock-drift").contains(" fast."));
    j.shot("19-enter-code-clock-drift");
    j.enter_code(&j.app.code_for(&user_key));
    j.sign_out();

    // --- Ten wrong codes, as far apart as the throttle asks: locked, and
    // only a recovery code helps.
    j.app.wait(60);
    j.sign_in(1);
    for wrong in 0..10 {
        j.app.wait(900);
        j.enter_code(&format!("{:06}", 100_000 + wrong));
    }
    j.open("/mfa");
    assert_eq!(b.count("#code"), 0, "no code field while locked");
    assert!(b.text("main").contains(
        "Too many wrong codes: one-time codes are locked for this account. \
         Use a recovery code, or ask an owner of the company account to unlock it."
    ));
    j.shot("20-locked");

    // --- The recovery code, and its replacement.
    b.click_to_page("a[href='/mfa/recovery']");
    assert_eq!(b.heading(), "Use a recovery code");
    assert_eq!(j.focused(), "recovery");
    b.type_into("#recovery", &user_recovery);
    j.shot("21-use-recovery-code");
    b.click_to_page("form[action='/mfa/recovery'] button");
    assert_eq!(b.heading(), "Copy provided recovery code");
    let replacement = b.text("#recovery-code");
    assert_ne!(replacement, user_recovery, "a used code is replaced");
    j.shot("22-new-recovery-code");
    j.reload_shows_the_same();
    j.tick_and_continue();
    assert_eq!(b.heading(), "Account info");
    j.sign_out();

    // --- The owner's Users page: each one's state, and Reset MFA.
    j.app.wait(30);
    j.sign_in(0);
    j.enter_code(&j.app.code_for(&key));
    j.open("/users");
    assert_eq!(b.heading(), "Users");
    let table = b.text("table");
    assert!(
        table.contains("Umar User umar@acme.test User Active"),
        "{table}"
    );
    assert!(
        table.contains("Ursula User ursula@acme.test User Not set up"),
        "{table}"
    );
    j.shot("23-users");
    j.reload_shows_the_same();
    j.app.wait(30);
    b.type_into("#code", &j.app.code_for(&key));
    b.click_to_page("button[formaction='/users/reset'][value='umar@acme.test']");
    assert_eq!(
        j.notice(),
        "The MFA of Umar User is reset: they will set it up again at their next sign-in, with their password."
    );
    assert!(b
        .text("table")
        .contains("Umar User umar@acme.test User Not set up"));
    j.shot("24-users-after-reset");
    j.sign_out();

    // --- Umar meets Company Account Verification again.
    j.sign_in(1);
    assert_eq!(b.heading(), "Company Account Verification");
}
