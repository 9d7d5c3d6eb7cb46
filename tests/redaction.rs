//! `{:?}` of every public type that holds a secret, a key, a recovery code or
//! a code shows none of them.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use rand_chacha::rand_core::SeedableRng;
use twostep::otp::{Algorithm, Digits, Hotp, KeyUri, Secret, Totp, TotpParams};
use twostep::recovery::{RecoveryMode, SetSize};
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa};

const B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const KEY: [u8; 32] = [0xA7; 32];

fn assert_hidden(shown: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!shown.contains(secret), "{secret:?} appears in {shown}");
    }
}

#[test]
fn debug_output_hides_secrets_keys_and_codes() {
    let secret = Secret::from_base32(B32).unwrap();
    let raw = String::from_utf8(secret.expose_bytes().to_vec()).unwrap(); // "1234567890…"
    let lower = B32.to_lowercase();
    // The key as Debug would print its bytes, in decimal or hex.
    let key_decimal = "167, 167, 167";
    let key_hex = "a7a7a7";
    let mut hidden = vec![
        B32,
        lower.as_str(),
        raw.as_str(),
        "49, 50, 51",
        "[49",
        key_decimal,
        key_hex,
    ];

    let totp = Totp::new(&secret, TotpParams::default());
    let code = totp.generate(1_111_111_109).unwrap();
    let shown_code = code.expose().to_string();
    let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
    let uri = KeyUri::parse(&format!("otpauth://totp/A:b?secret={B32}&issuer=A")).unwrap();
    let builder = Enrollment::builder("Acme", "bob");
    let enrollment = builder.clone().with_secret(secret.clone()).unwrap();
    let keyring = Keyring::new(1, &KEY).with_previous(0, &[0xB8; 32]).unwrap();
    let mfa = Mfa::with_config(
        MemoryStore::new(),
        keyring.clone(),
        Config::default()
            .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(1))
            .with_recovery(RecoveryMode::Set(SetSize::new(2).unwrap())),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bound = mfa
        .bind(
            "bob",
            &mut mfa.start_session("bob").unwrap(),
            &enrollment,
            &totp.generate(now).unwrap().expose().to_string(),
        )
        .unwrap();
    let recovery: Vec<String> = bound
        .recovery_codes
        .iter()
        .map(|c| c.expose_str().to_owned())
        .collect();
    let used = mfa
        .use_recovery_code("bob", &mut mfa.start_session("bob").unwrap(), &recovery[0])
        .unwrap();
    hidden.extend(recovery.iter().map(String::as_str));
    let plain: Vec<String> = recovery.iter().map(|c| c.replace('-', "")).collect();
    hidden.extend(plain.iter().map(String::as_str));

    let mut all = vec![
        format!("{secret:?}"),
        format!("{totp:?}"),
        format!("{hotp:?}"),
        format!("{uri:?}"),
        format!("{builder:?}"),
        format!("{enrollment:?}"),
        format!("{code:?} {:?}", code.expose()),
        format!("{keyring:?}"),
        format!("{mfa:?}"),
        format!("{bound:?}"),
        format!("{used:?}"),
        format!("{:?}", bound.recovery_codes),
    ];
    #[cfg(feature = "qr")]
    all.push(format!("{:?}", enrollment.qr().unwrap()));
    for shown in &all {
        assert_hidden(shown, &hidden);
        assert_hidden(shown, &[&shown_code]);
    }
    assert!(format!("{totp:?}").contains("REDACTED"));
    assert!(format!("{keyring:?}").contains("current_id: 1"));
}
