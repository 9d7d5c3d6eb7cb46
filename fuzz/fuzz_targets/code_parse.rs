//! Every string: `Code::parse` never panics, and what it accepts has exactly
//! the configured number of digits, which parse back to the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep::otp::{Code, Digits};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for digits in [Digits::SIX, Digits::SEVEN, Digits::EIGHT] {
        if let Ok(code) = Code::parse(text, digits) {
            let shown = code.expose().to_string();
            assert_eq!(shown.len(), usize::from(digits.get()));
            let kept: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(shown, kept);
        }
    }
});
