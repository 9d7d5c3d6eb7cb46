//! The whole thing in one run: enroll, show the QR code, play the
//! authenticator app, verify, and see a replay and a wrong code refused.
//!
//! Run: `cargo run --example quickstart`

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use twostep::otp::{Code, VerifyError, Window};
use twostep::Enrollment;

fn main() -> Result<(), Box<dyn Error>> {
    // 1. Enrollment: a fresh 160-bit secret, its otpauth URI and QR code.
    let enrollment = Enrollment::builder("Acme Co", "alice@example.com").build_os()?;
    println!("1. Scan this with an authenticator app:\n");
    print!("{}", enrollment.qr()?.to_terminal());
    println!(
        "\n   URI:        {}",
        enrollment.uri().expose_uri().as_str()
    );
    println!(
        "   Or type in: {}",
        enrollment.secret().expose_base32_grouped().as_str()
    );

    // 2. The person's app shows a code; here we play the app.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let digits = enrollment.params().digits();
    let shown = enrollment.totp().generate(now)?.expose().to_string();
    println!("\n2. The app shows {shown}; the person types it.");

    // 3. The server checks it. The returned step MUST be stored as the
    //    factor's last accepted step before the person counts as verified.
    let typed = Code::parse(&shown, digits)?;
    let verified = enrollment.confirm(now, &typed)?;
    println!(
        "3. Accepted: step {}, drift {} step(s).",
        verified.step, verified.drift
    );
    let last_accepted = Some(verified.step);

    // 4. The same code again is a replay (RFC 6238 §5.2).
    match enrollment
        .totp()
        .verify(now, &typed, Window::DEFAULT, last_accepted)
    {
        Err(VerifyError::Replayed { next_code_in }) => {
            println!("4. Same code again: refused as replayed; next code in {next_code_in} s.")
        }
        other => return Err(format!("expected a replay, got {other:?}").into()),
    }

    // 5. A wrong code is a mismatch, and says nothing more.
    let wrong = (0..10u32)
        .filter_map(|d| Code::parse(&format!("{d}{d}{d}{d}{d}{d}"), digits).ok())
        .find(|c| {
            enrollment
                .totp()
                .verify(now, c, Window::DEFAULT, last_accepted)
                .is_err_and(|e| e == VerifyError::Mismatch)
        })
        .ok_or("no wrong code found")?;
    match enrollment
        .totp()
        .verify(now, &wrong, Window::DEFAULT, last_accepted)
    {
        Err(VerifyError::Mismatch) => {
            println!("5. Wrong code {}: refused as a mismatch.", wrong.expose())
        }
        other => return Err(format!("expected a mismatch, got {other:?}").into()),
    }

    println!("\nAll good: enroll, verify, replay refused, wrong code refused.");
    Ok(())
}
