//! The help page's two sequences, screen by screen, as a host renders them
//! from `twostep` alone: the owner activates their own MFA (one code) and
//! requires MFA of every user; a user meets "Company Account Verification"
//! (two codes); later sign-ins with a code and with the recovery code.
//!
//! Run: `cargo run --example company_flow` (a simulated authenticator app),
//! or `cargo run --example company_flow -- --interactive` to scan the QR
//! codes with a real phone and type the codes yourself. The records are
//! in memory here; `story` runs on any store (the crate `twostep-sql` has
//! SQLite and PostgreSQL).

use std::error::Error;
use std::io::{BufRead, Write};
use std::sync::Arc;

use twostep::clock::{Clock, ManualClock, SystemClock};
use twostep::{
    Action, Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Requirement,
    Screen, ScreenKind, Step, Store,
};

const COMPANY: &str = "acme";
const OWNER: &str = "olivia@acme.test";
const USER: &str = "umar@acme.test";

/// Where codes come from: the simulated app, or a person at the keyboard.
struct Person {
    interactive: bool,
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
}

impl Person {
    fn types_code(&self, phone: &Enrollment) -> Result<String, Box<dyn Error>> {
        if self.interactive {
            print!("    One-time code: ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            return Ok(line.trim().to_owned());
        }
        let code = phone
            .totp()
            .generate(self.clock.now())?
            .expose()
            .to_string();
        println!("    One-time code: {code}   (from the simulated app)");
        Ok(code)
    }

    fn waits(&self, seconds: u64) {
        match &self.manual {
            Some(clock) => clock.advance(seconds),
            None => std::thread::sleep(std::time::Duration::from_secs(seconds)),
        }
    }

    fn ticks(&self) {
        println!("    [x] I have safely recorded this number");
        println!("    (Continue)");
    }
}

fn heading(text: &str) {
    println!("\n--- {text}");
}

/// What the host draws for a screen: its title, its sentence, what it
/// carries (the QR code and key, the recovery codes) and its buttons.
/// Returns the phone once the QR code is on screen, as if the person
/// scanned it.
fn render(step: &Step, person: &Person) -> Result<Option<Enrollment>, Box<dyn Error>> {
    if let Some(refused) = step.refused {
        println!("    {refused}");
    }
    let screen = &step.screen;
    println!("\n  [{}]", screen.title());
    println!("  {}", screen.message());
    let mut phone = None;
    match screen {
        Screen::ScanQr { enrollment, .. } => {
            if person.interactive {
                print!("{}", enrollment.qr()?.to_terminal());
            }
            let key = enrollment.secret().expose_base32_grouped();
            println!(
                "    (QR code of {})",
                enrollment.uri().expose_uri().as_str()
            );
            println!("    Can't scan? Enter this key: {}", key.as_str());
            phone = Some(enrollment.clone());
        }
        Screen::RecordRecoveryCode { codes, .. } => {
            for code in codes {
                println!("    Recovery code: {}", code.expose_str());
            }
        }
        Screen::EnterCode {
            clock_drift: Some(drift),
            ..
        } => println!("    {}", drift.message()),
        _ => {}
    }
    for form in screen.forms() {
        let labels: Vec<String> = form.buttons.iter().map(|b| b.label.english()).collect();
        println!("    ({})", labels.join(" | "));
    }
    Ok(phone)
}

/// The person types the code their app shows and presses Continue, again
/// after each refusal (waiting as the refusal says), until the screen
/// moves on.
fn type_codes<S: Store>(
    mfa: &Mfa<S>,
    user: &str,
    session: &mut MfaSession,
    person: &Person,
    phone: &Enrollment,
) -> Result<Step, Box<dyn Error>> {
    loop {
        let code = person.types_code(phone)?;
        let step = mfa.step(user, Some(COMPANY), session, Action::Code(&code))?;
        let Some(refused) = step.refused else {
            return Ok(step);
        };
        println!("    {refused}");
        let wait = refused
            .args()
            .iter()
            .find(|(n, _)| *n == "seconds")
            .map_or(0, |(_, s)| *s);
        person.waits(wait);
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let interactive = std::env::args().any(|a| a == "--interactive");
    let manual = (!interactive).then(|| Arc::new(ManualClock::new(1_700_000_020)));
    let clock: Arc<dyn Clock> = match &manual {
        Some(clock) => clock.clone(),
        None => Arc::new(SystemClock),
    };
    let person = Person {
        interactive,
        clock: clock.clone(),
        manual,
    };
    // The application key: from a secret manager in production, never stored
    // with the records. Random here: each run starts a new store.
    let keyring = Keyring::generate_os()?;
    // The product's name in new QR codes; the person's clock (a real phone's
    // in --interactive, else one the story moves).
    let config = Config::default()
        .with_issuer("Acme")
        .with_clock(person.clock.clone());
    story(
        Mfa::with_config(MemoryStore::new(), keyring, config),
        &person,
    )
}

/// The two sequences and the sign-ins after them, on any store.
fn story<S: Store>(mfa: Mfa<S>, person: &Person) -> Result<(), Box<dyn Error>> {
    // The host keeps its own users and companies; it tells twostep who
    // belongs to which company account.
    mfa.create_company(COMPANY, &[OWNER])?;
    for member in [USER, "uma@acme.test"] {
        mfa.add_member(COMPANY, member)?;
    }

    heading("Owner: Company profile, before activating their own MFA");
    let preview = mfa.enforcement_preview(COMPANY, OWNER)?;
    println!("  [ ] Force every user to use MFA before accessing the Company Account");
    if let Some(reason) = preview.unavailable {
        println!("      (unavailable: {})", reason.message());
    }

    heading("Owner: Account menu → Administration → Account info → Multi-Factor Authentication → Activate");
    // The owner signed in with the password: twostep's part of the session.
    let mut owner = mfa.start_session(OWNER)?;
    let activate = Action::SetUp { account: OWNER };
    let step = mfa.step(OWNER, Some(COMPANY), &mut owner, activate)?;
    let phone = render(&step, person)?.ok_or("no QR code")?;
    let step = type_codes(&mfa, OWNER, &mut owner, person, &phone)?;
    render(&step, person)?;
    person.ticks();
    let step = mfa.step(
        OWNER,
        Some(COMPANY),
        &mut owner,
        Action::Recorded { ticked: true },
    )?;
    if step.screen.kind() != ScreenKind::Continue || !step.passed_second_factor {
        return Err("the owner's MFA should be active".into());
    }
    println!("  Multi-Factor Authentication is active.");

    heading(
        "Owner: Company profile → Force every user to use MFA before accessing the Company Account",
    );
    let preview = mfa.enforcement_preview(COMPANY, OWNER)?;
    println!("  [x] Force every user to use MFA before accessing the Company Account");
    println!("      {}", preview.message());
    // The owner passed their second factor moments ago (activating it):
    // Save changes asks for no new code within the sudo window.
    println!("  (Save changes)");
    let on = Requirement::On { grace_period: 0 };
    let policy = mfa.set_mfa_requirement(COMPANY, OWNER, &owner, on)?;
    println!(
        "  Saved: every user must use MFA (since {}).",
        policy.since()
    );
    println!(
        "      {}",
        mfa.enforcement_preview(COMPANY, OWNER)?.message()
    );

    heading(&format!("{USER}: signs in with username and password"));
    let mut user = mfa.start_session(USER)?;
    let screen = mfa.current_screen(USER, Some(COMPANY), &user)?;
    if screen.kind() != ScreenKind::CompanyAccountVerification {
        return Err("the user should meet Company Account Verification".into());
    }
    println!("\n  [{}]\n  {}", screen.title(), screen.message());
    println!("  (Verify identity)");
    let verify = Action::SetUp { account: USER };
    let step = mfa.step(USER, Some(COMPANY), &mut user, verify)?;
    let phone = render(&step, person)?.ok_or("no QR code")?;
    let step = type_codes(&mfa, USER, &mut user, person, &phone)?;
    render(&step, person)?;
    let step = type_codes(&mfa, USER, &mut user, person, &phone)?;
    render(&step, person)?;
    let Screen::RecordRecoveryCode { codes, .. } = &step.screen else {
        return Err("the recovery code comes after the codes".into());
    };
    let recorded = codes
        .first()
        .ok_or("no recovery code")?
        .expose_str()
        .to_lowercase();
    person.ticks();
    let step = mfa.step(
        USER,
        Some(COMPANY),
        &mut user,
        Action::Recorded { ticked: true },
    )?;
    render(&step, person)?;

    heading(&format!(
        "{USER}: a later sign-in: password, then a current code"
    ));
    person.waits(3600);
    let mut user = mfa.start_session(USER)?;
    println!(
        "  [{}]",
        mfa.current_screen(USER, Some(COMPANY), &user)?.title()
    );
    let step = type_codes(&mfa, USER, &mut user, person, &phone)?;
    render(&step, person)?;

    heading(&format!(
        "{USER}: lost phone → password, then Use a recovery code"
    ));
    println!("    Recovery code: {recorded}");
    let mut user = mfa.start_session(USER)?;
    let step = mfa.step(
        USER,
        Some(COMPANY),
        &mut user,
        Action::RecoveryCode(&recorded),
    )?;
    render(&step, person)?;
    person.ticks();
    let step = mfa.step(
        USER,
        Some(COMPANY),
        &mut user,
        Action::Recorded { ticked: true },
    )?;
    render(&step, person)?;

    heading("Owner: turn off my own MFA");
    match mfa.remove_own_factor(OWNER, &mut owner) {
        Err(refused @ MfaError::RequiredByCompany) => println!("  {}", refused.message()),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    println!("\nBoth sequences ran in the help page's order, and the sign-ins after them.");
    Ok(())
}
