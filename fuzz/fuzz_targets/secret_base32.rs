//! Every string: `Secret::from_base32` never panics, and what it accepts
//! round-trips through the canonical base32.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep::otp::Secret;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(secret) = Secret::from_base32(text) {
        let canonical = secret.expose_base32();
        let again = Secret::from_base32(&canonical).expect("canonical base32 parses");
        assert_eq!(again.expose_bytes(), secret.expose_bytes());
        assert!(secret.len() >= Secret::MIN_LEN && secret.len() <= Secret::MAX_LEN);
    }
});
