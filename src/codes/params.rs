//! Validated parameters: a value of these types is always usable.

use core::fmt;

/// The hash function under HMAC (RFC 6238 §1.2 allows SHA-1, SHA-256 and SHA-512).
///
/// SHA-1 is the default and the only one every authenticator app reads; HMAC-SHA-1
/// is not affected by SHA-1 collision attacks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1 (the default).
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs: `SHA1`, `SHA256` or `SHA512`.
    pub const fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Reads an algorithm name leniently: any case, with or without a hyphen
    /// (`SHA1`, `sha1`, `SHA-1`). Returns `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        let eq = |canonical: &str, hyphenated: &str| {
            name.eq_ignore_ascii_case(canonical) || name.eq_ignore_ascii_case(hyphenated)
        };
        if eq("SHA1", "SHA-1") {
            Some(Algorithm::Sha1)
        } else if eq("SHA256", "SHA-256") {
            Some(Algorithm::Sha256)
        } else if eq("SHA512", "SHA-512") {
            Some(Algorithm::Sha512)
        } else {
            None
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri_name())
    }
}

/// An invalid parameter, refused when the parameter is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// Codes have 6, 7 or 8 digits.
    #[error("unsupported number of digits {0}: codes have 6, 7 or 8 digits")]
    UnsupportedDigits(u64),
    /// The period is 1 to 3600 seconds.
    #[error("period of {0} s is out of range: it must be 1 to 3600 seconds")]
    PeriodOutOfRange(u64),
    /// A window reaches at most [`Window::MAX_STEPS`] steps each way.
    #[error("window of {0} steps is too wide: at most 10 steps each way")]
    WindowTooWide(u64),
}

/// The number of digits in a code: 6, 7 or 8 (RFC 4226 §5.3 requires at least 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(u8);

impl Digits {
    /// Six digits, what every app shows (the default).
    pub const SIX: Digits = Digits(6);
    /// Seven digits.
    pub const SEVEN: Digits = Digits(7);
    /// Eight digits.
    pub const EIGHT: Digits = Digits(8);
    /// The fewest digits accepted.
    pub const MIN: Digits = Digits::SIX;
    /// The most digits accepted.
    pub const MAX: Digits = Digits::EIGHT;
    /// The default: six.
    pub const DEFAULT: Digits = Digits::SIX;

    /// Validates a digit count.
    ///
    /// # Errors
    /// [`ParamError::UnsupportedDigits`] unless `digits` is 6, 7 or 8.
    ///
    /// ```
    /// use twostep::otp::Digits;
    /// assert_eq!(Digits::new(8)?.get(), 8);
    /// assert!(Digits::new(5).is_err());
    /// # Ok::<(), twostep::otp::ParamError>(())
    /// ```
    pub const fn new(digits: u64) -> Result<Self, ParamError> {
        match digits {
            6..=8 => Ok(Digits(digits as u8)),
            _ => Err(ParamError::UnsupportedDigits(digits)),
        }
    }

    /// The count as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// 10^digits, the modulus of dynamic truncation (RFC 4226 §5.3).
    pub(crate) const fn modulus(self) -> u32 {
        match self.0 {
            6 => 1_000_000,
            7 => 10_000_000,
            _ => 100_000_000,
        }
    }
}

impl Default for Digits {
    fn default() -> Self {
        Digits::DEFAULT
    }
}

/// The TOTP time step X in seconds: 1 to 3600 (RFC 6238 §4.1; default 30).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period(u32);

impl Period {
    /// The shortest period, one second.
    pub const MIN: Period = Period(1);
    /// The longest period, one hour.
    pub const MAX: Period = Period(3600);
    /// The default, 30 seconds (RFC 6238 §5.2).
    pub const DEFAULT: Period = Period(30);

    /// Validates a period in seconds.
    ///
    /// # Errors
    /// [`ParamError::PeriodOutOfRange`] unless `seconds` is 1 to 3600.
    pub const fn new(seconds: u64) -> Result<Self, ParamError> {
        match seconds {
            1..=3600 => Ok(Period(seconds as u32)),
            _ => Err(ParamError::PeriodOutOfRange(seconds)),
        }
    }

    /// The period in seconds.
    pub const fn seconds(self) -> u64 {
        self.0 as u64
    }
}

impl Default for Period {
    fn default() -> Self {
        Period::DEFAULT
    }
}

/// How many time steps before and after the current one a code may come from.
///
/// `past` absorbs clock skew and the seconds a person needs to type; `future`
/// absorbs a phone whose clock runs ahead. RFC 6238 §5.2 recommends at most one
/// step of network delay, hence the default of one each way. Every step in the
/// window adds a chance for a guess: with 6 digits and the default window, one
/// guess succeeds with probability 3·10⁻⁶.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    past: u8,
    future: u8,
}

impl Window {
    /// The widest window accepted each way.
    pub const MAX_STEPS: u8 = 10;
    /// One step back and one step ahead.
    pub const DEFAULT: Window = Window { past: 1, future: 1 };
    /// Only the current step.
    pub const CURRENT_ONLY: Window = Window { past: 0, future: 0 };

    /// A window of `past` steps back and `future` steps ahead.
    ///
    /// # Errors
    /// [`ParamError::WindowTooWide`] if either exceeds [`Window::MAX_STEPS`].
    pub const fn new(past: u64, future: u64) -> Result<Self, ParamError> {
        if past > Self::MAX_STEPS as u64 {
            return Err(ParamError::WindowTooWide(past));
        }
        if future > Self::MAX_STEPS as u64 {
            return Err(ParamError::WindowTooWide(future));
        }
        Ok(Window {
            past: past as u8,
            future: future as u8,
        })
    }

    /// Steps accepted before the current one.
    pub const fn past(self) -> u8 {
        self.past
    }

    /// Steps accepted after the current one.
    pub const fn future(self) -> u8 {
        self.future
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::DEFAULT
    }
}

/// Everything that defines a TOTP factor besides its secret.
///
/// Built from validated parts, so a value is always usable:
///
/// ```
/// use twostep::otp::{Algorithm, Digits, Period, TotpParams};
/// let params = TotpParams::default()
///     .with_algorithm(Algorithm::Sha256)
///     .with_digits(Digits::EIGHT)
///     .with_period(Period::new(60)?);
/// assert_eq!(params.period().seconds(), 60);
/// # Ok::<(), twostep::otp::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TotpParams {
    algorithm: Algorithm,
    digits: Digits,
    period: Period,
    t0: u64,
}

impl TotpParams {
    /// Replaces the algorithm.
    pub const fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Replaces the digit count.
    pub const fn with_digits(mut self, digits: Digits) -> Self {
        self.digits = digits;
        self
    }

    /// Replaces the period.
    pub const fn with_period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }

    /// Replaces T0, the Unix time at which step 0 begins (RFC 6238 §4.1; default 0).
    ///
    /// otpauth URIs cannot carry T0, so only factors with T0 = 0 can be enrolled
    /// through a QR code.
    pub const fn with_t0(mut self, t0: u64) -> Self {
        self.t0 = t0;
        self
    }

    /// The algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digit count.
    pub const fn digits(&self) -> Digits {
        self.digits
    }

    /// The period.
    pub const fn period(&self) -> Period {
        self.period
    }

    /// T0 in Unix seconds.
    pub const fn t0(&self) -> u64 {
        self.t0
    }
}
