//! A measuring probe for `tools/ct-check`, not an example to copy: it runs
//! one `Totp::verify`, or one recovery-code check, with the input given on
//! the command line, so that callgrind can count the instructions.
//!
//! Usage: `ct_probe totp CODE`, `ct_probe recovery CODE`, or
//! `ct_probe totp-codes` / `ct_probe recovery-codes` to list the right codes.

use std::hint::black_box;
use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use twostep::clock::ManualClock;
use twostep::otp::{Code, Digits, Secret, Totp, TotpParams, Window};
use twostep::recovery::{RecoveryMode, SetSize};
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa};

/// Step 56666666, 20 s before the next one.
const NOW: u64 = 1_699_999_990;

#[inline(never)]
fn probe_totp_verify(totp: &Totp, code: &Code) -> bool {
    black_box(totp.verify(black_box(NOW), code, Window::DEFAULT, None)).is_ok()
}

fn fail(message: &str) -> ! {
    eprintln!("ct_probe: {message}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("", String::as_str);
    let input = args.get(2).map_or("", String::as_str);
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        .unwrap_or_else(|_| fail("bad secret"));
    let totp = Totp::new(&secret, TotpParams::default());
    let step = totp.step_at(NOW).unwrap_or_else(|_| fail("bad time"));
    // A user with a set of 16 recovery codes, drawn from a seeded generator
    // so that every run sees the same codes.
    let recovery = || {
        let mfa = Mfa::with_config(
            MemoryStore::new(),
            Keyring::new(1, &[9; 32]),
            Config::default()
                .with_clock(Arc::new(ManualClock::new(NOW)))
                .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(1))
                .with_recovery(RecoveryMode::Set(
                    SetSize::new(16).unwrap_or_else(|_| fail("size")),
                )),
        );
        let enrollment = Enrollment::builder("Acme", "probe")
            .with_secret(secret.clone())
            .unwrap_or_else(|_| fail("enrollment"));
        let first = totp.generate_at_step(step).expose().to_string();
        let mut session = mfa
            .start_session("probe")
            .unwrap_or_else(|_| fail("session"));
        let bound = mfa
            .bind("probe", &mut session, &enrollment, &first)
            .unwrap_or_else(|_| fail("bind"));
        (mfa, session, bound.recovery_codes)
    };
    match kind {
        "totp-codes" => {
            for s in [step - 1, step, step + 1] {
                println!("{}", totp.generate_at_step(s).expose());
            }
        }
        "totp" => {
            let code = Code::parse(input, Digits::SIX).unwrap_or_else(|_| fail("bad code"));
            println!("{}", probe_totp_verify(&totp, &code));
        }
        "recovery-codes" => {
            for code in recovery().2 {
                println!("{}", code.expose_str());
            }
        }
        "recovery" => {
            let (mfa, mut session, _) = recovery();
            println!(
                "{}",
                mfa.use_recovery_code("probe", &mut session, input).is_ok()
            );
        }
        _ => fail("usage: ct_probe totp|totp-codes|recovery|recovery-codes [CODE]"),
    }
}
