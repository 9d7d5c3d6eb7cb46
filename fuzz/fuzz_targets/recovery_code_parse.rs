//! Every string: `RecoveryCode::parse` never panics; what it accepts is in
//! canonical grouped form, which parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep::RecoveryCode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = RecoveryCode::parse(text) {
        let shown = code.expose_str();
        assert_eq!(shown.len(), 19);
        assert!(shown.split('-').all(|group| group.len() == 4));
        assert!(!shown.contains(['I', 'L', 'O', 'U']));
        let again = RecoveryCode::parse(shown).expect("canonical form parses");
        assert_eq!(again.expose_str(), shown);
    }
});
