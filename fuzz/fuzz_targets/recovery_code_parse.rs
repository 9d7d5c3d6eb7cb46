//! Every string: `RecoveryCode::parse` never panics; what it accepts is in
//! canonical grouped form (five groups of five, or an earlier version's
//! four groups of four), which parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep::recovery::RecoveryCode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = RecoveryCode::parse(text) {
        let shown = code.expose_str();
        let group = match shown.len() {
            29 => 5,
            19 => 4,
            other => panic!("a code of {other} characters"),
        };
        assert!(shown.split('-').all(|g| g.len() == group));
        assert_eq!(shown.split('-').count(), group);
        assert!(!shown.contains(['I', 'L', 'O', 'U']));
        let again = RecoveryCode::parse(shown).expect("canonical form parses");
        assert_eq!(again.expose_str(), shown);
    }
});
