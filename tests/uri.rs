#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests and benches fail loudly"
)]
//! otpauth Key URIs: strict writing, lenient reading, typed errors.

use proptest::prelude::*;
use twostep::otp::{
    Algorithm, Digits, KeyUri, OtpType, ParamError, Period, Secret, SecretError, TotpParams,
    UriError, Warning,
};

const B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn secret() -> Secret {
    Secret::from_base32(B32).unwrap()
}

#[test]
fn writes_the_canonical_form() {
    let params = TotpParams::default()
        .with_algorithm(Algorithm::Sha256)
        .with_digits(Digits::EIGHT)
        .with_period(Period::new(60).unwrap());
    let uri = KeyUri::new_totp("ACME Co", "john.doe@email.com", secret(), &params).unwrap();
    assert_eq!(
        uri.expose_uri().as_str(),
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\
         &issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"
    );
    let hotp = KeyUri::new_hotp("Acme", "bob", secret(), Algorithm::Sha1, Digits::SIX, 42).unwrap();
    assert_eq!(
        hotp.expose_uri().as_str(),
        "otpauth://hotp/Acme:bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\
         &issuer=Acme&algorithm=SHA1&digits=6&counter=42"
    );
    assert!(uri.warnings().is_empty());
}

#[test]
fn writing_refuses_colons_and_empty_names() {
    let p = TotpParams::default();
    for (issuer, account, field) in [
        ("Ac:me", "bob", "issuer"),
        ("Acme", "b:ob", "account"),
        ("", "bob", "issuer"),
        ("Acme", "", "account"),
        ("Acme ", "bob", "issuer"),
        ("Acme", " bob", "account"),
        ("Ac\u{1b}[31mme", "bob", "issuer"),
        ("Acme", "bo\nb", "account"),
    ] {
        assert_eq!(
            KeyUri::new_totp(issuer, account, secret(), &p).unwrap_err(),
            UriError::InvalidName { field },
            "{issuer:?} {account:?}"
        );
    }
    assert_eq!(
        KeyUri::new_totp("Acme", "bob", secret(), &p.with_t0(5)).unwrap_err(),
        UriError::NonZeroT0
    );
}

#[test]
fn reads_what_real_services_produce() {
    // Google's own example.
    let uri = KeyUri::parse(
        "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
    )
    .unwrap();
    assert_eq!(uri.issuer(), Some("Example"));
    assert_eq!(uri.account(), "alice@google.com");
    assert_eq!(
        uri.otp_type(),
        OtpType::Totp {
            period: Period::DEFAULT
        }
    );
    assert_eq!(uri.algorithm(), Algorithm::Sha1);
    assert_eq!(uri.digits(), Digits::SIX);
    assert_eq!(uri.warnings(), &[Warning::ShortSecret { bits: 80 }]);

    // Encoded colon, spaces after it, lowercase secret with padding and
    // spaces, lowercase algorithm, an unknown parameter.
    let uri = KeyUri::parse(
        "OTPAUTH://TOTP/Big%20Corp%3A%20%20bob?secret=jbsw%20y3dp%20ehpk%203pxp%3D%3D%3D%3D%3D%3D\
         &issuer=Big%20Corp&algorithm=sha512&digits=8&period=60&image=https%3A%2F%2Fx",
    )
    .unwrap();
    assert_eq!(uri.issuer(), Some("Big Corp"));
    assert_eq!(uri.account(), "bob");
    assert_eq!(uri.algorithm(), Algorithm::Sha512);
    assert_eq!(uri.digits(), Digits::EIGHT);
    assert_eq!(
        uri.otp_type(),
        OtpType::Totp {
            period: Period::new(60).unwrap()
        }
    );
    assert_eq!(uri.secret().expose_base32().as_str(), "JBSWY3DPEHPK3PXP");
    assert!(uri.warnings().contains(&Warning::NonCanonicalSecret));
    assert!(uri.warnings().contains(&Warning::IgnoredParameter {
        name: "image".into()
    }));

    // Issuer only as a parameter, only as a prefix, neither, or differing.
    let only_param =
        KeyUri::parse(&format!("otpauth://totp/bob?secret={B32}&issuer=Acme")).unwrap();
    assert_eq!(only_param.issuer(), Some("Acme"));
    assert_eq!(only_param.warnings(), &[Warning::IssuerOnlyInParameter]);
    let only_label = KeyUri::parse(&format!("otpauth://totp/Acme:bob?secret={B32}")).unwrap();
    assert_eq!(only_label.issuer(), Some("Acme"));
    assert_eq!(only_label.warnings(), &[Warning::IssuerOnlyInLabel]);
    let none = KeyUri::parse(&format!("otpauth://totp/bob?secret={B32}")).unwrap();
    assert_eq!(none.issuer(), None);
    assert_eq!(none.warnings(), &[Warning::NoIssuer]);
    let differ = KeyUri::parse(&format!("otpauth://totp/Old:bob?secret={B32}&issuer=New")).unwrap();
    assert_eq!(differ.issuer(), Some("New"));
    assert_eq!(
        differ.warnings(),
        &[Warning::IssuerMismatch {
            label: "Old".into(),
            parameter: "New".into()
        }]
    );

    // HOTP needs a counter; a period on it is ignored, and vice versa.
    let hotp = KeyUri::parse(&format!(
        "otpauth://hotp/A:b?secret={B32}&issuer=A&counter=7&period=30"
    ))
    .unwrap();
    assert_eq!(hotp.otp_type(), OtpType::Hotp { counter: 7 });
    assert_eq!(hotp.totp_params(), None);
    assert_eq!(
        hotp.warnings(),
        &[Warning::IgnoredParameter {
            name: "period".into()
        }]
    );
}

#[test]
fn malformed_uris_are_typed_errors() {
    let cases: &[(&str, UriError)] = &[
        (
            "https://totp/A:b?secret=JBSWY3DPEHPK3PXP",
            UriError::WrongScheme,
        ),
        (
            "otpauth://motp/A:b?secret=JBSWY3DPEHPK3PXP",
            UriError::UnsupportedType,
        ),
        ("otpauth://totp/A:b?issuer=A", UriError::MissingSecret),
        (
            "otpauth://totp/A:b?secret=",
            UriError::InvalidSecret(SecretError::TooShort { bits: 0 }),
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PX1",
            UriError::InvalidSecret(SecretError::InvalidCharacter { position: 15 }),
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DP",
            UriError::InvalidSecret(SecretError::TooShort { bits: 40 }),
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            UriError::UnsupportedAlgorithm,
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=10",
            UriError::Param(ParamError::UnsupportedDigits(10)),
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=six",
            UriError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=0",
            UriError::Param(ParamError::PeriodOutOfRange(0)),
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=-30",
            UriError::InvalidNumber {
                parameter: "period",
            },
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=99999999999999999999999",
            UriError::InvalidNumber {
                parameter: "period",
            },
        ),
        (
            "otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP",
            UriError::MissingCounter,
        ),
        (
            "otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=x",
            UriError::InvalidNumber {
                parameter: "counter",
            },
        ),
        (
            "otpauth://totp/A%3:b?secret=JBSWY3DPEHPK3PXP",
            UriError::BadEncoding,
        ),
        (
            "otpauth://totp/A%ZZb?secret=JBSWY3DPEHPK3PXP",
            UriError::BadEncoding,
        ),
        (
            "otpauth://totp/A%FFb?secret=JBSWY3DPEHPK3PXP",
            UriError::BadEncoding,
        ),
        (
            "otpauth://totp/A:b:c?secret=JBSWY3DPEHPK3PXP",
            UriError::InvalidName { field: "account" },
        ),
        (
            "otpauth://totp/A:?secret=JBSWY3DPEHPK3PXP",
            UriError::InvalidName { field: "account" },
        ),
        (
            "otpauth://totp/b?secret=JBSWY3DPEHPK3PXP&issuer=X%3AY",
            UriError::InvalidName { field: "issuer" },
        ),
        (
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&secret=GEZDGNBVGY3TQOJQ",
            UriError::DuplicateParameter {
                parameter: "secret",
            },
        ),
    ];
    for (uri, expected) in cases {
        assert_eq!(KeyUri::parse(uri).unwrap_err(), *expected, "{uri}");
    }
    let long = format!("otpauth://totp/A:b?secret={B32}&x={}", "a".repeat(4096));
    assert!(matches!(
        KeyUri::parse(&long),
        Err(UriError::TooLong { .. })
    ));
}

fn name() -> impl Strategy<Value = String> {
    // Spaces, @ & % + / ? # = and non-ASCII; no colon, no surrounding space.
    "[a-zA-Z0-9 @&%+/?#=.~_é中🔑-]{1,24}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

proptest! {
    #[test]
    fn write_then_read_round_trips(
        issuer in name(),
        account in name(),
        bytes in proptest::collection::vec(any::<u8>(), 16..64),
        algorithm in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
        digits in 6u64..=8,
        period in 1u64..=3600,
    ) {
        let params = TotpParams::default()
            .with_algorithm(algorithm)
            .with_digits(Digits::new(digits).unwrap())
            .with_period(Period::new(period).unwrap());
        let written = KeyUri::new_totp(&issuer, &account, Secret::from_bytes(&bytes).unwrap(), &params).unwrap();
        let read = KeyUri::parse(&written.expose_uri()).unwrap();
        prop_assert_eq!(read.issuer(), Some(issuer.as_str()));
        prop_assert_eq!(read.account(), account.as_str());
        prop_assert_eq!(read.secret().expose_bytes(), &bytes[..]);
        prop_assert_eq!(read.totp_params(), Some(params));
        prop_assert!(read.warnings().is_empty(), "{:?}", read.warnings());
        // And writing what was read gives the same text.
        prop_assert_eq!(&*read.expose_uri(), &*written.expose_uri());
    }

    #[test]
    fn parsing_never_panics(input in "(otpauth://(totp|hotp|x)/)?[ -~é%:?&=/]{0,200}") {
        let _ = KeyUri::parse(&input);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = KeyUri::parse(&String::from_utf8_lossy(&bytes));
    }
}
