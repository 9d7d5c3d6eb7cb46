//! The product story, screen by screen: an owner activates MFA, requires it
//! for the company account, and a user meets "Company Account Verification".
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
    Clock, Enrollment, Keyring, ManualClock, MemoryStore, Mfa, MfaError, RecoveryCode,
    SignInRequirement, Store, SystemClock,
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
    fn code(&self, enrollment: &Enrollment) -> Result<String, Box<dyn Error>> {
        if self.interactive {
            print!("    Enter the 6-digit code from your app: ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            Ok(line.trim().to_owned())
        } else {
            let code = enrollment
                .totp()
                .generate(self.clock.now())?
                .expose()
                .to_string();
            println!("    (the app shows {code}; the person types it)");
            Ok(code)
        }
    }

    fn wait(&self, seconds: u64) {
        match &self.manual {
            Some(clock) => clock.advance(seconds),
            None => std::thread::sleep(std::time::Duration::from_secs(seconds)),
        }
    }

    fn show_qr(&self, enrollment: &Enrollment) -> Result<(), Box<dyn Error>> {
        if self.interactive {
            print!("{}", enrollment.qr()?.to_terminal());
        }
        println!(
            "    QR code for: {}",
            enrollment.uri().expose_uri().as_str()
        );
        println!(
            "    Or enter this key by hand: {}",
            enrollment.secret().expose_base32().as_str()
        );
        Ok(())
    }
}

fn screen(title: &str) {
    println!("\n== {title}");
}

/// Steps 1-4 for one person: activate, scan, type the code, record the
/// recovery code, tick the box, continue.
fn activate<S: Store>(
    mfa: &Mfa<S>,
    person: &Person,
    user: &str,
) -> Result<(Enrollment, Vec<RecoveryCode>), Box<dyn Error>> {
    screen(&format!("{user}: Multi-Factor Authentication → Activate"));
    let enrollment = mfa.begin_enrollment(user, Enrollment::builder("Acme", user))?;
    person.show_qr(&enrollment)?;
    let codes = loop {
        match mfa.confirm_enrollment(user, &person.code(&enrollment)?) {
            Ok(codes) => break codes,
            Err(MfaError::Mismatch | MfaError::Malformed) => {
                println!("    That code is not right; try again.")
            }
            Err(e) => return Err(e.into()),
        }
    };
    screen(&format!("{user}: Copy provided recovery code"));
    for code in &codes {
        println!("    {}", code.expose_str());
    }
    println!("    [x] I have safely recorded this number");
    mfa.acknowledge_recovery(user)?;
    screen(&format!("{user}: Continue"));
    println!("    Multi-Factor Authentication is active.");
    Ok((enrollment, codes))
}

fn say(requirement: SignInRequirement) -> String {
    match requirement {
        SignInRequirement::Nothing => "signed in (no second factor needed)".into(),
        SignInRequirement::SecondFactor => "enter the code from your authenticator app".into(),
        SignInRequirement::EnrollmentRequired => {
            "Company Account Verification: set up MFA before anything else".into()
        }
        SignInRequirement::EnrollmentRequiredBy { deadline } => {
            format!("set up MFA before {deadline} (Unix time); you may continue for now")
        }
        other => format!("{other:?}"),
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

/// The story, on any store.
fn story<S: Store>(mfa: Mfa<S>, person: &Person) -> Result<(), Box<dyn Error>> {
    let mfa = mfa.with_clock(person.clock.clone());
    mfa.create_company(COMPANY, &[OWNER])?;

    screen("Owner: Company Account → Force every user to use MFA (before activating own MFA)");
    match mfa.set_mfa_requirement(COMPANY, OWNER, true, 0) {
        Err(MfaError::OwnMfaRequired) => println!("    Refused: activate your own MFA first."),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    let _ = activate(&mfa, person, OWNER)?;

    screen(
        "Owner: Force every user to use MFA before accessing the Company Account → Save changes",
    );
    let policy = mfa.set_mfa_requirement(COMPANY, OWNER, true, 0)?;
    println!(
        "    Saved: MFA required = {}, since {}.",
        policy.requires_mfa(),
        policy.since()
    );

    screen(&format!("{USER}: signs in with username and password"));
    let requirement = mfa.sign_in_requirement(USER, Some(COMPANY))?;
    println!("    → {}", say(requirement));
    if requirement != SignInRequirement::EnrollmentRequired {
        return Err("the user should have to enroll".into());
    }

    screen(&format!(
        "{USER}: Company Account Verification → Verify identity"
    ));
    let (enrollment, recovery) = activate(&mfa, person, USER)?;

    screen(&format!("{USER}: enter a one-time code once more"));
    loop {
        match mfa.verify(USER, &person.code(&enrollment)?) {
            Ok(_) => break,
            Err(MfaError::Replayed { next_code_in }) => {
                println!("    That code was just used; wait {next_code_in} s for the next code.");
                person.wait(next_code_in);
            }
            Err(MfaError::Mismatch | MfaError::Malformed) => {
                println!("    That code is not right; try again.")
            }
            Err(e) => return Err(e.into()),
        }
    }
    println!("    Verified: welcome to the Company Account.");

    screen(&format!("{USER}: a later sign-in"));
    person.wait(30);
    println!(
        "    → {}",
        say(mfa.sign_in_requirement(USER, Some(COMPANY))?)
    );
    mfa.verify(USER, &person.code(&enrollment)?)?;
    println!("    Verified.");

    screen(&format!(
        "{USER}: lost phone → sign in with the recovery code"
    ));
    let typed = recovery
        .first()
        .ok_or("no recovery code")?
        .expose_str()
        .to_lowercase();
    println!("    (types {typed})");
    let used = mfa.use_recovery_code(USER, &typed)?;
    println!("    Signed in. That recovery code is spent; here is the new one:");
    if let Some(new_code) = &used.new_code {
        println!("    {}", new_code.expose_str());
    }
    println!("    [x] I have safely recorded this number");
    mfa.acknowledge_recovery(USER)?;

    screen("Owner: remove my own MFA");
    match mfa.remove_own_factor(OWNER, Some(COMPANY), "000000") {
        Err(MfaError::RequiredByCompany) => {
            println!("    Refused: the Company Account requires MFA.")
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    println!("\nThe whole story ran: owner MFA, company requirement, user verification.");
    Ok(())
}
