#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests and benches fail loudly"
)]
//! Known-answer tests quoted from the RFCs.

use twostep::otp::{Algorithm, Code, Digits, Hotp, Period, Secret, Totp, TotpParams, Window};

/// RFC 4226 Appendix D: "Secret = 0x3132333435363738393031323334353637383930"
/// (ASCII "12345678901234567890"), HOTP-SHA-1, 6 digits.
///
/// ```text
///                   Truncated
///    Count    Hexadecimal    Decimal        HOTP
///    0        4c93cf18       1284755224     755224
///    1        41397eea       1094287082     287082
///    2         82fef30        137359152     359152
///    3        66ef7655       1726969429     969429
///    4        61c5938a       1640338314     338314
///    5        33c083d4        868254676     254676
///    6        7256c032       1918287922     287922
///    7         4e5b397         82162583     162583
///    8        2823443f        673399871     399871
///    9        2679dc69        645520489     520489
/// ```
const RFC4226_HOTP: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

#[test]
fn rfc4226_appendix_d() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
    for (counter, expected) in RFC4226_HOTP.iter().enumerate() {
        let counter = counter as u64;
        assert_eq!(hotp.generate(counter).expose().to_string(), *expected);
        // And each is accepted at exactly its own counter.
        let code = Code::parse(expected, Digits::SIX).unwrap();
        assert_eq!(hotp.verify(&code, counter, 0).unwrap().step, counter);
    }
}

/// RFC 6238 Appendix B. Seeds: SHA-1 "12345678901234567890" (20 bytes),
/// SHA-256 "12345678901234567890123456789012" (32 bytes), SHA-512
/// "1234567890123456789012345678901234567890123456789012345678901234"
/// (64 bytes); X = 30, T0 = 0, 8 digits.
///
/// ```text
///   |  Time (sec) |   UTC Time   | Value of T (hex) |   TOTP   |  Mode  |
///   |      59     |  1970-01-01  | 0000000000000001 | 94287082 |  SHA1  |
///   |      59     |  1970-01-01  | 0000000000000001 | 46119246 | SHA256 |
///   |      59     |  1970-01-01  | 0000000000000001 | 90693936 | SHA512 |
///   |  1111111109 |  2005-03-18  | 00000000023523EC | 07081804 |  SHA1  |
///   |  1111111109 |  2005-03-18  | 00000000023523EC | 68084774 | SHA256 |
///   |  1111111109 |  2005-03-18  | 00000000023523EC | 25091201 | SHA512 |
///   |  1111111111 |  2005-03-18  | 00000000023523ED | 14050471 |  SHA1  |
///   |  1111111111 |  2005-03-18  | 00000000023523ED | 67062674 | SHA256 |
///   |  1111111111 |  2005-03-18  | 00000000023523ED | 99943326 | SHA512 |
///   |  1234567890 |  2009-02-13  | 000000000273EF07 | 89005924 |  SHA1  |
///   |  1234567890 |  2009-02-13  | 000000000273EF07 | 91819424 | SHA256 |
///   |  1234567890 |  2009-02-13  | 000000000273EF07 | 93441116 | SHA512 |
///   |  2000000000 |  2033-05-18  | 0000000003F940AA | 69279037 |  SHA1  |
///   |  2000000000 |  2033-05-18  | 0000000003F940AA | 90698825 | SHA256 |
///   |  2000000000 |  2033-05-18  | 0000000003F940AA | 38618901 | SHA512 |
///   | 20000000000 |  2603-10-11  | 0000000027BC86AA | 65353130 |  SHA1  |
///   | 20000000000 |  2603-10-11  | 0000000027BC86AA | 77737706 | SHA256 |
///   | 20000000000 |  2603-10-11  | 0000000027BC86AA | 47863826 | SHA512 |
/// ```
const RFC6238_TOTP: [(u64, u64, &str, Algorithm); 18] = [
    (59, 0x1, "94287082", Algorithm::Sha1),
    (59, 0x1, "46119246", Algorithm::Sha256),
    (59, 0x1, "90693936", Algorithm::Sha512),
    (1111111109, 0x23523EC, "07081804", Algorithm::Sha1),
    (1111111109, 0x23523EC, "68084774", Algorithm::Sha256),
    (1111111109, 0x23523EC, "25091201", Algorithm::Sha512),
    (1111111111, 0x23523ED, "14050471", Algorithm::Sha1),
    (1111111111, 0x23523ED, "67062674", Algorithm::Sha256),
    (1111111111, 0x23523ED, "99943326", Algorithm::Sha512),
    (1234567890, 0x273EF07, "89005924", Algorithm::Sha1),
    (1234567890, 0x273EF07, "91819424", Algorithm::Sha256),
    (1234567890, 0x273EF07, "93441116", Algorithm::Sha512),
    (2000000000, 0x3F940AA, "69279037", Algorithm::Sha1),
    (2000000000, 0x3F940AA, "90698825", Algorithm::Sha256),
    (2000000000, 0x3F940AA, "38618901", Algorithm::Sha512),
    (20000000000, 0x27BC86AA, "65353130", Algorithm::Sha1),
    (20000000000, 0x27BC86AA, "77737706", Algorithm::Sha256),
    (20000000000, 0x27BC86AA, "47863826", Algorithm::Sha512),
];

fn rfc6238_seed(algorithm: Algorithm) -> Secret {
    let seed: &[u8] = match algorithm {
        Algorithm::Sha1 => b"12345678901234567890",
        Algorithm::Sha256 => b"12345678901234567890123456789012",
        _ => b"1234567890123456789012345678901234567890123456789012345678901234",
    };
    Secret::from_bytes(seed).unwrap()
}

#[test]
fn rfc6238_appendix_b() {
    for (time, step, expected, algorithm) in RFC6238_TOTP {
        let params = TotpParams::default()
            .with_algorithm(algorithm)
            .with_digits(Digits::EIGHT);
        let totp = Totp::new(&rfc6238_seed(algorithm), params);
        assert_eq!(totp.step_at(time).unwrap(), step, "T at {time}");
        assert_eq!(
            totp.generate(time).unwrap().expose().to_string(),
            expected,
            "{algorithm} at {time}"
        );
        let code = Code::parse(expected, Digits::EIGHT).unwrap();
        let verified = totp
            .verify(time, &code, Window::CURRENT_ONLY, None)
            .unwrap();
        assert_eq!((verified.step, verified.drift), (step, 0));
    }
}

/// The same vectors seen through T0 and another period: shifting time by T0
/// and scaling the step must land on the same T.
#[test]
fn t0_and_period_move_the_step() {
    let t0 = 1_000_000;
    for (_, step, expected, algorithm) in RFC6238_TOTP {
        let params = TotpParams::default()
            .with_algorithm(algorithm)
            .with_digits(Digits::EIGHT)
            .with_period(Period::new(60).unwrap())
            .with_t0(t0);
        let totp = Totp::new(&rfc6238_seed(algorithm), params);
        let shifted = t0 + step * 60 + 59;
        assert_eq!(
            totp.generate(shifted).unwrap().expose().to_string(),
            expected
        );
    }
}
