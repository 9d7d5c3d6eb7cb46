//! A one-time code as a person typed it or an app would show it.

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::params::Digits;
use super::VerifyError;

/// A one-time code of a known number of digits.
///
/// There is no `==`: codes are compared only inside verification, in constant
/// time. `Debug` is redacted; [`Code::expose`] shows the digits when a program
/// plays the part of an authenticator app.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    value: u32,
    #[zeroize(skip)]
    digits: Digits,
}

impl Code {
    /// Parses what a person typed.
    ///
    /// Surrounding white space is ignored, and so is one space or hyphen
    /// between two digits (`123 456`, `1234-5678`). Anything else that is not
    /// exactly `digits` ASCII digits is refused.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] for anything but the forms above.
    ///
    /// ```
    /// use twostep::otp::{Code, Digits};
    /// assert!(Code::parse(" 123 456\n", Digits::SIX).is_ok());
    /// assert!(Code::parse("12345", Digits::SIX).is_err());
    /// assert!(Code::parse("12 34 56", Digits::SIX).is_err());
    /// ```
    pub fn parse(input: &str, digits: Digits) -> Result<Code, VerifyError> {
        let mut value: u32 = 0;
        let mut count: u8 = 0;
        let mut separators = 0;
        let mut previous_was_digit = false;
        for byte in input.trim().bytes() {
            match byte {
                b'0'..=b'9' => {
                    count += 1;
                    if count > digits.get() {
                        return Err(VerifyError::Malformed);
                    }
                    value = value * 10 + u32::from(byte - b'0');
                    previous_was_digit = true;
                }
                b' ' | b'-' if previous_was_digit && separators == 0 => {
                    separators += 1;
                    previous_was_digit = false;
                }
                _ => return Err(VerifyError::Malformed),
            }
        }
        if count != digits.get() || !previous_was_digit {
            return Err(VerifyError::Malformed);
        }
        Ok(Code { value, digits })
    }

    /// Makes a code from a number; `None` if it has more than `digits` digits.
    pub fn from_value(value: u32, digits: Digits) -> Option<Code> {
        (value < digits.modulus()).then_some(Code { value, digits })
    }

    pub(crate) fn new_unchecked_range(value: u32, digits: Digits) -> Code {
        Code { value, digits }
    }

    /// The number of digits.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    pub(crate) fn value(&self) -> u32 {
        self.value
    }

    /// Shows the code with its leading zeros, e.g. to print what an
    /// authenticator app would display.
    ///
    /// ```
    /// use twostep::otp::{Code, Digits};
    /// let code = Code::from_value(42, Digits::SIX).unwrap();
    /// assert_eq!(code.expose().to_string(), "000042");
    /// ```
    pub fn expose(&self) -> ExposedCode<'_> {
        ExposedCode(self)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({} digits, [REDACTED])", self.digits.get())
    }
}

/// The digits of a [`Code`], zero-padded, for display. Made by [`Code::expose`].
pub struct ExposedCode<'a>(&'a Code);

impl fmt::Display for ExposedCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = usize::from(self.0.digits.get());
        write!(f, "{:0width$}", self.0.value)
    }
}

impl fmt::Debug for ExposedCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse6(s: &str) -> Option<String> {
        Code::parse(s, Digits::SIX)
            .ok()
            .map(|c| c.expose().to_string())
    }

    #[test]
    fn accepts_what_people_type() {
        assert_eq!(parse6("123456").as_deref(), Some("123456"));
        assert_eq!(parse6("  012345\t\n").as_deref(), Some("012345"));
        assert_eq!(parse6("123 456").as_deref(), Some("123456"));
        assert_eq!(parse6("123-456").as_deref(), Some("123456"));
        assert_eq!(parse6("1-23456").as_deref(), Some("123456"));
        assert_eq!(
            Code::parse("1234 5678", Digits::EIGHT)
                .unwrap()
                .expose()
                .to_string(),
            "12345678"
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            " ",
            "12345",
            "1234567",
            "12 34 56",
            "123  456",
            "123 - 456",
            "-123456",
            "123456-",
            "12345a",
            "１２３４５６",
            "+123456",
            "123_456",
            "12 3-456",
        ] {
            assert!(parse6(bad).is_none(), "{bad:?} was accepted");
        }
        assert!(Code::parse("123456", Digits::SEVEN).is_err());
    }

    #[test]
    fn from_value_checks_range() {
        assert!(Code::from_value(999_999, Digits::SIX).is_some());
        assert!(Code::from_value(1_000_000, Digits::SIX).is_none());
        assert!(Code::from_value(99_999_999, Digits::EIGHT).is_some());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_keeps_the_digits(input in "[ 0-9a-z\\-\t]{0,12}|.{0,12}") {
            for digits in [Digits::SIX, Digits::SEVEN, Digits::EIGHT] {
                if let Ok(code) = Code::parse(&input, digits) {
                    let kept: String = input.chars().filter(char::is_ascii_digit).collect();
                    proptest::prop_assert_eq!(code.expose().to_string(), kept);
                }
            }
        }
    }

    #[test]
    fn debug_is_redacted() {
        let code = Code::parse("987654", Digits::SIX).unwrap();
        let shown = format!("{code:?} {:?}", code.expose());
        assert!(!shown.contains("987654"), "{shown}");
    }
}
