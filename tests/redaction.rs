//! `{:?}` of every public type that holds a secret or a code shows neither.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use twostep::{Algorithm, Digits, Enrollment, Hotp, KeyUri, Secret, Totp, TotpParams};

const B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn assert_hidden(shown: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} appears in {shown}");
    }
}

#[test]
fn debug_output_hides_secrets_and_codes() {
    let secret = Secret::from_base32(B32).unwrap();
    let raw = String::from_utf8(secret.expose_bytes().to_vec()).unwrap(); // "1234567890…"
    let lower = B32.to_lowercase();
    let hidden = [B32, lower.as_str(), raw.as_str(), "49, 50, 51", "[49"];

    let totp = Totp::new(&secret, TotpParams::default());
    let code = totp.generate(1_111_111_109).unwrap();
    let shown_code = code.expose().to_string();
    let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
    let uri = KeyUri::parse(&format!("otpauth://totp/A:b?secret={B32}&issuer=A")).unwrap();
    let enrollment = Enrollment::builder("Acme", "bob")
        .with_secret(secret.clone())
        .unwrap();

    let mut all = vec![
        format!("{secret:?}"),
        format!("{totp:?}"),
        format!("{hotp:?}"),
        format!("{uri:?}"),
        format!("{enrollment:?}"),
        format!("{code:?} {:?}", code.expose()),
    ];
    #[cfg(feature = "qr")]
    all.push(format!("{:?}", enrollment.qr().unwrap()));
    for shown in &all {
        assert_hidden(shown, &hidden);
        assert_hidden(shown, &[&shown_code]);
    }
    // The prepared key's midstates are as good as the key.
    assert!(format!("{totp:?}").contains("REDACTED"));
}
