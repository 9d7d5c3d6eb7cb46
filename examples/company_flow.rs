//! The help page's two sequences, screen by screen, as a host renders them
//! from `twostep` alone: the owner activates their own MFA (one code) and
//! requires MFA of every user; a user meets "Company Account Verification"
//! (two codes); later sign-ins with a code and with the recovery code.
//!
//! Run: `cargo run --example company_flow` (a simulated authenticator app),
//! or `cargo run --example company_flow -- --interactive` to scan the QR
//! codes with a real phone and type the codes yourself. Add
//! `--features sqlite -- --sqlite PATH` to keep the records in a new SQLite
//! file at PATH (look at it afterwards with `sqlite3 PATH`).

use std::error::Error;
use std::io::{BufRead, Write};
use std::sync::Arc;

use twostep::{
    Acknowledged, Clock, Enrollment, EnrollmentCheck, Keyring, ManualClock, MemoryStore, Mfa,
    MfaError, Requirement, Screen, Store, SystemClock,
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

/// What the host draws for a screen: its title, its sentence and what it
/// carries (the QR code and key, the recovery codes). Returns the phone
/// once the QR code is on screen, as if the person scanned it.
fn render(screen: &Screen, person: &Person) -> Result<Option<Enrollment>, Box<dyn Error>> {
    println!("\n  [{}]", screen.title());
    println!("  {}", screen.for_person());
    match screen {
        Screen::ScanQr { enrollment } => {
            if person.interactive {
                print!("{}", enrollment.qr()?.to_terminal());
            }
            let key = enrollment.secret().expose_base32_grouped();
            let params = enrollment.params();
            println!(
                "    (QR code of {})",
                enrollment.uri().expose_uri().as_str()
            );
            println!(
                "    Can't scan? Enter this key: {}  ({}, {} digits, {} s)",
                key.as_str(),
                params.algorithm().uri_name(),
                params.digits().get(),
                params.period().seconds()
            );
            Ok(Some(enrollment.clone()))
        }
        Screen::RecordRecoveryCode { codes } => {
            for code in codes {
                println!("    Recovery code: {}", code.expose_str());
            }
            Ok(None)
        }
        Screen::EnterCode {
            clock_drift: Some(drift),
            ..
        } => {
            println!("    {}", drift.for_person());
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Submits codes to `step` until one is accepted, saying what the crate says
/// about each refusal (the host would render the same screen again).
fn submit_code<E: Error + 'static>(
    person: &Person,
    phone: &Enrollment,
    step: impl Fn(&str) -> Result<Screen, MfaError<E>>,
) -> Result<Screen, Box<dyn Error>> {
    loop {
        match step(&person.types_code(phone)?) {
            Ok(next) => return Ok(next),
            Err(refused) => {
                let wait = match refused {
                    MfaError::Replayed { next_code_in } => next_code_in,
                    MfaError::Throttled { retry_after } => retry_after,
                    MfaError::Mismatch | MfaError::Malformed => 0,
                    other => return Err(other.into()),
                };
                println!("    {}", refused.for_person());
                person.waits(wait);
            }
        }
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
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--sqlite") {
        None => story(Mfa::new(MemoryStore::new(), keyring), &person),
        Some(at) => {
            let path = args.get(at + 1).ok_or("--sqlite needs a file path")?;
            story(Mfa::new(sqlite(path)?, keyring), &person)
        }
    }
}

/// A new SQLite store at `path`.
#[cfg(feature = "sqlite")]
fn sqlite(path: &str) -> Result<twostep::SqliteStore, Box<dyn Error>> {
    if std::path::Path::new(path).exists() {
        return Err(format!("{path} exists; the story starts from a new file").into());
    }
    println!("(records in the SQLite file {path})");
    Ok(twostep::SqliteStore::open(path)?)
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_: &str) -> Result<MemoryStore, Box<dyn Error>> {
    Err("--sqlite needs the sqlite feature: cargo run --features sqlite --example company_flow -- --sqlite PATH".into())
}

/// The two sequences and the sign-ins after them, on any store.
fn story<S: Store>(mfa: Mfa<S>, person: &Person) -> Result<(), Box<dyn Error>> {
    let mfa = mfa.with_clock(person.clock.clone());
    // The host keeps its own users and companies; it tells twostep who
    // belongs to which company account.
    mfa.create_company(COMPANY, &[OWNER])?;
    let members = [OWNER, USER, "uma@acme.test"];
    for member in &members[1..] {
        mfa.add_member(COMPANY, member)?;
    }

    heading("Owner: Company profile, before activating their own MFA");
    let preview = mfa.enforcement_preview(COMPANY, OWNER, &members)?;
    println!("  [ ] Force every user to use MFA before accessing the Company Account");
    if let Some(reason) = preview.unavailable {
        println!("      (unavailable: {})", reason.for_person());
    }

    heading("Owner: Account menu → Administration → Account info → Multi-Factor Authentication → Activate");
    // The owner signed in with the password: twostep's part of the session.
    let mut owner = mfa.start_session(OWNER)?;
    let qr = mfa.begin_enrollment(
        OWNER,
        &owner,
        Enrollment::builder("Acme", OWNER),
        EnrollmentCheck::OneCode,
    )?;
    let owner_phone = render(&Screen::ScanQr { enrollment: qr }, person)?.ok_or("no QR code")?;
    let next = submit_code(person, &owner_phone, |code| {
        mfa.confirm_enrollment(OWNER, &owner, code)
    })?;
    render(&next, person)?;
    person.ticks();
    if mfa.acknowledge_recovery(OWNER, &mut owner)? != Acknowledged::FactorActivated {
        return Err("the owner's MFA should be active".into());
    }
    println!("  Multi-Factor Authentication is active.");

    heading(
        "Owner: Company profile → Force every user to use MFA before accessing the Company Account",
    );
    let preview = mfa.enforcement_preview(COMPANY, OWNER, &members)?;
    println!("  [x] Force every user to use MFA before accessing the Company Account");
    println!("      {}", preview.for_person());
    // The owner passed their second factor moments ago (activating it):
    // Save changes asks for no new code within the sudo window.
    println!("  (Save changes)");
    let on = Requirement::On { grace_period: 0 };
    let policy = mfa.set_mfa_requirement(COMPANY, OWNER, &owner, on)?;
    println!(
        "  Saved: every user must use MFA (since {}).",
        policy.since()
    );

    heading(&format!("{USER}: signs in with username and password"));
    let mut user = mfa.start_session(USER)?;
    let screen = mfa.current_screen(USER, Some(COMPANY), &user)?;
    render(&screen, person)?;
    if !matches!(screen, Screen::CompanyAccountVerification { .. }) {
        return Err("the user should meet Company Account Verification".into());
    }
    println!("  (Verify identity)");
    mfa.begin_enrollment(
        USER,
        &user,
        Enrollment::builder("Acme", USER),
        EnrollmentCheck::TwoCodes,
    )?;
    // The host renders from the crate's state: the same QR code on every reload.
    let screen = mfa.current_screen(USER, Some(COMPANY), &user)?;
    let phone = render(&screen, person)?.ok_or("no QR code")?;
    let next = submit_code(person, &phone, |code| {
        mfa.confirm_enrollment(USER, &user, code)
    })?;
    render(&next, person)?;
    let next = submit_code(person, &phone, |code| {
        mfa.confirm_second_code(USER, &user, code)
    })?;
    render(&next, person)?;
    let Screen::RecordRecoveryCode { codes } = next else {
        return Err("the recovery code comes after the codes".into());
    };
    person.ticks();
    mfa.acknowledge_recovery(USER, &mut user)?;
    render(&mfa.current_screen(USER, Some(COMPANY), &user)?, person)?;

    heading(&format!(
        "{USER}: a later sign-in: password, then a current code"
    ));
    person.waits(3600);
    let mut user = mfa.start_session(USER)?;
    render(&mfa.current_screen(USER, Some(COMPANY), &user)?, person)?;
    let entered = person.types_code(&phone)?;
    mfa.verify(USER, &mut user, &entered)?;
    render(&mfa.current_screen(USER, Some(COMPANY), &user)?, person)?;

    heading(&format!(
        "{USER}: lost phone → password, then Use a recovery code"
    ));
    let typed = codes
        .first()
        .ok_or("no recovery code")?
        .expose_str()
        .to_lowercase();
    println!("    Recovery code: {typed}");
    let mut user = mfa.start_session(USER)?;
    mfa.use_recovery_code(USER, &mut user, &typed)?;
    println!("  That recovery code is now used. Here is its replacement:");
    render(&mfa.current_screen(USER, Some(COMPANY), &user)?, person)?;
    person.ticks();
    mfa.acknowledge_recovery(USER, &mut user)?;

    heading("Owner: turn off my own MFA");
    match mfa.remove_own_factor(OWNER, &mut owner) {
        Err(refused @ MfaError::RequiredByCompany) => println!("  {}", refused.for_person()),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    println!("\nBoth sequences ran in the help page's order, and the sign-ins after them.");
    Ok(())
}
