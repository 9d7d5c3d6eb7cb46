//! Differential: `Totp::verify` against a plain reference (RFC 4226/6238
//! written here with the `hmac` crate) for arbitrary secrets, times, T0,
//! periods, windows, digits, algorithms and last accepted steps.
#![no_main]

use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use twostep::otp::{Algorithm, Code, Digits, Period, Secret, Totp, TotpParams, VerifyError, Window};

#[derive(Arbitrary, Debug)]
struct Input {
    secret: Vec<u8>,
    now: u64,
    t0: u64,
    period: u16,
    digits: u8,
    algorithm: u8,
    past: u8,
    future: u8,
    last_accepted: Option<u64>,
    /// Which step the submitted code comes from, relative to now, or a raw value.
    offset: i8,
    raw: Option<u32>,
}

fn reference(alg: Algorithm, key: &[u8], counter: u64, digits: u32) -> u32 {
    fn mac<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(key).unwrap();
        m.update(&counter.to_be_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let h = match alg {
        Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, counter),
        Algorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, counter),
        _ => mac::<Hmac<sha2::Sha512>>(key, counter),
    };
    let o = (h[h.len() - 1] & 0xf) as usize;
    let bin = (u32::from(h[o]) & 0x7f) << 24
        | u32::from(h[o + 1]) << 16
        | u32::from(h[o + 2]) << 8
        | u32::from(h[o + 3]);
    bin % 10u32.pow(digits)
}

fuzz_target!(|input: Input| {
    let Ok(secret) = Secret::from_bytes(&input.secret) else {
        return;
    };
    let (Ok(digits), Ok(period), Ok(window)) = (
        Digits::new(6 + u64::from(input.digits % 3)),
        Period::new(1 + u64::from(input.period) % 3600),
        Window::new(u64::from(input.past % 11), u64::from(input.future % 11)),
    ) else {
        return;
    };
    let algorithm =
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][usize::from(input.algorithm % 3)];
    let params = TotpParams::default()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_period(period)
        .with_t0(input.t0);
    let totp = Totp::new(&secret, params);
    let d = u32::from(digits.get());

    let Some(elapsed) = input.now.checked_sub(input.t0) else {
        let code = Code::from_value(0, digits).unwrap();
        assert!(matches!(
            totp.verify(input.now, &code, window, input.last_accepted),
            Err(VerifyError::BeforeT0 { .. })
        ));
        return;
    };
    let current = elapsed / period.seconds();
    let value = match input.raw {
        Some(raw) => raw % 10u32.pow(d),
        None => match current.checked_add_signed(i64::from(input.offset)) {
            Some(step) => reference(algorithm, secret.expose_bytes(), step, d),
            None => return,
        },
    };
    let code = Code::from_value(value, digits).unwrap();
    // The generator agrees with the reference at the current step.
    assert_eq!(
        totp.generate_at_step(current).expose().to_string(),
        format!(
            "{:0w$}",
            reference(algorithm, secret.expose_bytes(), current, d),
            w = d as usize
        )
    );

    // The reference decision: the oldest matching step newer than the last
    // accepted one wins; matches only at older steps are a replay.
    let first = current.saturating_sub(u64::from(window.past()));
    let last = current.saturating_add(u64::from(window.future()));
    let mut expected = Err(VerifyError::Mismatch);
    let mut replayed = false;
    for step in first..=last {
        if reference(algorithm, secret.expose_bytes(), step, d) == value {
            if input.last_accepted.is_none_or(|l| step > l) {
                if expected.is_err() {
                    expected = Ok(step);
                }
            } else {
                replayed = true;
            }
        }
    }
    match (
        totp.verify(input.now, &code, window, input.last_accepted),
        expected,
    ) {
        (Ok(v), Ok(step)) => {
            assert_eq!(v.step, step);
            assert_eq!(i128::from(v.drift), i128::from(step) - i128::from(current));
        }
        (Err(VerifyError::Replayed { .. }), Err(_)) => assert!(replayed),
        (Err(VerifyError::Mismatch), Err(_)) => assert!(!replayed),
        (got, want) => panic!("twostep {got:?}, reference {want:?}"),
    }
});
