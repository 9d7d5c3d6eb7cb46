#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests and benches fail loudly"
)]
//! The window, the replay guard and bad input, as a host relies on them.

use twostep::otp::{
    Algorithm, Code, Digits, Period, Secret, Totp, TotpParams, VerifyError, Window,
};

fn factor(params: TotpParams) -> Totp {
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    Totp::new(&secret, params)
}

fn code_at_step(totp: &Totp, step: u64) -> Code {
    totp.generate_at_step(step)
}

#[test]
fn window_edges_are_exact() {
    let totp = factor(TotpParams::default());
    let now = 30 * 1000 + 7; // step 1000
    let window = Window::new(2, 3).unwrap();
    for (offset, accepted) in [
        (-3, false),
        (-2, true),
        (-1, true),
        (0, true),
        (3, true),
        (4, false),
    ] {
        let step = (1000i64 + offset) as u64;
        let result = totp.verify(now, &code_at_step(&totp, step), window, None);
        if accepted {
            let verified = result.unwrap();
            assert_eq!((verified.step, verified.drift), (step, offset));
        } else {
            assert_eq!(
                result.unwrap_err(),
                VerifyError::Mismatch,
                "offset {offset}"
            );
        }
    }
}

#[test]
fn zero_window_accepts_only_the_current_step() {
    let totp = factor(TotpParams::default());
    let now = 30 * 50;
    let current = code_at_step(&totp, 50);
    assert_eq!(
        totp.verify(now, &current, Window::CURRENT_ONLY, None)
            .unwrap()
            .step,
        50
    );
    for step in [49, 51] {
        assert_eq!(
            totp.verify(now, &code_at_step(&totp, step), Window::CURRENT_ONLY, None),
            Err(VerifyError::Mismatch)
        );
    }
}

#[test]
fn step_zero_with_past_window_does_not_underflow() {
    let totp = factor(TotpParams::default());
    for now in [0, 1, 29] {
        let verified = totp
            .verify(
                now,
                &code_at_step(&totp, 0),
                Window::new(10, 10).unwrap(),
                None,
            )
            .unwrap();
        assert_eq!((verified.step, verified.drift), (0, 0));
    }
    let verified = totp
        .verify(0, &code_at_step(&totp, 1), Window::DEFAULT, None)
        .unwrap();
    assert_eq!(verified.drift, 1);
}

#[test]
fn the_far_future_works() {
    let totp = factor(TotpParams::default());
    // Past 2038 (i32 overflow) and 2106 (u32 overflow), and the end of u64.
    for now in [2_147_483_648, 4_294_967_296, 20_000_000_000, u64::MAX] {
        let code = totp.generate(now).unwrap();
        let verified = totp.verify(now, &code, Window::DEFAULT, None).unwrap();
        assert_eq!(verified.step, now / 30);
    }
    // One period: the window saturates at the last step instead of wrapping.
    let one = factor(TotpParams::default().with_period(Period::MIN));
    let code = one.generate(u64::MAX).unwrap();
    assert_eq!(
        one.verify(u64::MAX, &code, Window::DEFAULT, None)
            .unwrap()
            .step,
        u64::MAX
    );
}

#[test]
fn replay_is_refused_and_says_when_the_next_code_comes() {
    let totp = factor(TotpParams::default());
    let now = 30 * 100 + 10; // step 100, 20 s before step 101
    let code = totp.generate(now).unwrap();
    let first = totp.verify(now, &code, Window::DEFAULT, None).unwrap();
    assert_eq!(first.step, 100);
    assert_eq!(
        totp.verify(now, &code, Window::DEFAULT, Some(first.step)),
        Err(VerifyError::Replayed { next_code_in: 20 })
    );
    // An older code inside the window is a replay too once a newer step is stored.
    let older = code_at_step(&totp, 99);
    assert!(matches!(
        totp.verify(now, &older, Window::DEFAULT, Some(100)),
        Err(VerifyError::Replayed { .. })
    ));
    // The next step's code is new, even before its time (future window).
    let next = code_at_step(&totp, 101);
    assert_eq!(
        totp.verify(now, &next, Window::DEFAULT, Some(100))
            .unwrap()
            .step,
        101
    );
    // A wrong code is a mismatch, not a replay.
    let wrong = Code::from_value(
        (0..1_000_000)
            .find(|v| {
                let c = Code::from_value(*v, Digits::SIX).unwrap();
                totp.verify(now, &c, Window::new(5, 5).unwrap(), None)
                    .is_err()
            })
            .unwrap(),
        Digits::SIX,
    )
    .unwrap();
    assert_eq!(
        totp.verify(now, &wrong, Window::DEFAULT, Some(100)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn bad_parameters_are_typed_errors() {
    assert!(Digits::new(5).is_err());
    assert!(Digits::new(9).is_err());
    assert!(Digits::new(0).is_err());
    assert!(Period::new(0).is_err());
    assert!(Period::new(3601).is_err());
    assert!(Period::new(3600).is_ok());
    assert!(Window::new(11, 0).is_err());
    assert!(Window::new(0, 11).is_err());
    assert!(Window::new(10, 10).is_ok());
}

#[test]
fn time_before_t0_is_an_error() {
    let totp = factor(TotpParams::default().with_t0(1_000));
    assert_eq!(
        totp.generate(999).unwrap_err(),
        VerifyError::BeforeT0 {
            now: 999,
            t0: 1_000
        }
    );
    let code = Code::parse("123456", Digits::SIX).unwrap();
    assert!(matches!(
        totp.verify(0, &code, Window::DEFAULT, None),
        Err(VerifyError::BeforeT0 { .. })
    ));
    assert_eq!(totp.step_at(1_000).unwrap(), 0);
}

#[test]
fn a_code_of_another_length_is_malformed() {
    let totp = factor(TotpParams::default().with_algorithm(Algorithm::Sha256));
    let eight = Code::parse("12345678", Digits::EIGHT).unwrap();
    assert_eq!(
        totp.verify(1_000, &eight, Window::DEFAULT, None),
        Err(VerifyError::Malformed)
    );
}

#[test]
fn seven_and_eight_digits_round_trip() {
    for digits in [Digits::SIX, Digits::SEVEN, Digits::EIGHT] {
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            let totp = factor(
                TotpParams::default()
                    .with_digits(digits)
                    .with_algorithm(algorithm),
            );
            let shown = totp.generate(1_234_567).unwrap().expose().to_string();
            assert_eq!(shown.len(), usize::from(digits.get()));
            let typed = Code::parse(&shown, digits).unwrap();
            assert!(totp
                .verify(1_234_567, &typed, Window::DEFAULT, None)
                .is_ok());
        }
    }
}
