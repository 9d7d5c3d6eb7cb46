//! otpauth Key URIs: strict when writing, lenient when reading.
//!
//! Format: `otpauth://TYPE/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`
//! (Google Authenticator's Key URI format).

use core::fmt::Write as _;
use zeroize::Zeroizing;

use crate::codes::{Algorithm, Digits, ParamError, Period, TotpParams};
use crate::material::secret::{Secret, SecretError};
use crate::material::warning::Warning;

mod parse;

/// Why an otpauth URI could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// Longer than [`KeyUri::MAX_LEN`] bytes, as given or as it would be written.
    #[error("URI of {len} bytes is too long: at most 4096")]
    TooLong {
        /// The length in bytes.
        len: usize,
    },
    /// The scheme is not `otpauth://`.
    #[error("not an otpauth:// URI")]
    WrongScheme,
    /// The type is neither `totp` nor `hotp`.
    #[error("unsupported OTP type: only totp and hotp")]
    UnsupportedType,
    /// A `%` not followed by two hex digits, or text that is not UTF-8.
    #[error("bad percent-encoding")]
    BadEncoding,
    /// An issuer or account name is empty, contains a colon or a control
    /// character, or (when writing) begins or ends with white space.
    #[error("invalid {field} name: it must be non-empty, without ':', control characters or surrounding spaces")]
    InvalidName {
        /// `"issuer"` or `"account"`.
        field: &'static str,
    },
    /// No `secret` parameter.
    #[error("the secret parameter is missing")]
    MissingSecret,
    /// The `secret` parameter is not an acceptable base32 secret.
    #[error("invalid secret: {0}")]
    InvalidSecret(#[source] SecretError),
    /// The `algorithm` parameter is not SHA1, SHA256 or SHA512.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A numeric parameter is not a number.
    #[error("the {parameter} parameter is not a number")]
    InvalidNumber {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// `digits` or `period` is out of range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// An `hotp` URI without `counter`.
    #[error("an hotp URI needs a counter parameter")]
    MissingCounter,
    /// A parameter given twice (which of two secrets would be meant?).
    #[error("the {parameter} parameter is given twice")]
    DuplicateParameter {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// A TOTP factor with T0 ≠ 0, which a URI cannot express.
    #[error("a URI cannot carry T0; only factors with T0 = 0 can be written")]
    NonZeroT0,
}

/// HOTP or TOTP, with the parameter that only that type has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtpType {
    /// Time-based (RFC 6238).
    Totp {
        /// The time step.
        period: Period,
    },
    /// Counter-based (RFC 4226).
    Hotp {
        /// The next counter.
        counter: u64,
    },
}

/// An otpauth Key URI: what an authenticator app scans from a QR code.
///
/// ```
/// use twostep::otp::{KeyUri, Secret, TotpParams};
/// let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")?;
/// let uri = KeyUri::new_totp("Acme Co", "alice@example.com", secret, &TotpParams::default())?;
/// assert_eq!(
///     uri.expose_uri().as_str(),
///     "otpauth://totp/Acme%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\
///      &issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30"
/// );
/// // Reading is lenient and reports what was off.
/// let read = KeyUri::parse("otpauth://totp/GitHub:alice?secret=jbswy3dpehpk3pxp")?;
/// assert_eq!(read.issuer(), Some("GitHub"));
/// assert!(!read.warnings().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct KeyUri {
    otp_type: OtpType,
    issuer: Option<String>,
    account: String,
    secret: Secret,
    algorithm: Algorithm,
    digits: Digits,
    warnings: Vec<Warning>,
}

impl KeyUri {
    /// The longest URI read or written: 4 KiB.
    pub const MAX_LEN: usize = 4096;

    /// A TOTP URI for `account` at `issuer`.
    ///
    /// # Errors
    /// [`UriError::InvalidName`] if either name is empty, contains `:` or a
    /// control character, or has surrounding white space;
    /// [`UriError::NonZeroT0`] if `params` has T0 ≠ 0; [`UriError::TooLong`]
    /// if the written URI would exceed [`KeyUri::MAX_LEN`].
    pub fn new_totp(
        issuer: &str,
        account: &str,
        secret: Secret,
        params: &TotpParams,
    ) -> Result<KeyUri, UriError> {
        if params.t0() != 0 {
            return Err(UriError::NonZeroT0);
        }
        let otp_type = OtpType::Totp {
            period: params.period(),
        };
        Self::new(
            otp_type,
            issuer,
            account,
            secret,
            params.algorithm(),
            params.digits(),
        )
    }

    /// An HOTP URI for `account` at `issuer`, starting at `counter`.
    ///
    /// # Errors
    /// [`UriError::InvalidName`] and [`UriError::TooLong`] as for
    /// [`KeyUri::new_totp`].
    pub fn new_hotp(
        issuer: &str,
        account: &str,
        secret: Secret,
        algorithm: Algorithm,
        digits: Digits,
        counter: u64,
    ) -> Result<KeyUri, UriError> {
        Self::new(
            OtpType::Hotp { counter },
            issuer,
            account,
            secret,
            algorithm,
            digits,
        )
    }

    fn new(
        otp_type: OtpType,
        issuer: &str,
        account: &str,
        secret: Secret,
        algorithm: Algorithm,
        digits: Digits,
    ) -> Result<KeyUri, UriError> {
        KeyUri {
            otp_type,
            issuer: Some(checked_name(issuer, "issuer")?.to_owned()),
            account: checked_name(account, "account")?.to_owned(),
            secret,
            algorithm,
            digits,
            warnings: Vec::new(),
        }
        .within_max_len()
    }

    /// Refuses a URI whose written form would exceed [`KeyUri::MAX_LEN`], so
    /// that whatever this crate writes it can read back.
    fn within_max_len(self) -> Result<KeyUri, UriError> {
        let len = self.expose_uri().len();
        if len > Self::MAX_LEN {
            return Err(UriError::TooLong { len });
        }
        Ok(self)
    }

    /// Writes the URI: label `Issuer:account` percent-encoded, the `issuer`
    /// parameter equal to the prefix, the secret as uppercase unpadded base32,
    /// then algorithm, digits and period (or counter).
    ///
    /// The URI carries the secret, hence the name; it is zeroized when dropped.
    pub fn expose_uri(&self) -> Zeroizing<String> {
        // Sized up front: a buffer that grew would free a copy of the secret
        // without zeroizing it. Percent-encoding at most triples a name.
        let names = self.issuer.as_deref().map_or(0, str::len) * 2 + self.account.len();
        let capacity = 96 + 3 * names + 2 * self.secret.len();
        let mut uri = Zeroizing::new(String::with_capacity(capacity));
        let kind = match self.otp_type {
            OtpType::Totp { .. } => "totp",
            OtpType::Hotp { .. } => "hotp",
        };
        uri.push_str("otpauth://");
        uri.push_str(kind);
        uri.push('/');
        if let Some(issuer) = &self.issuer {
            percent_encode_into(&mut uri, issuer);
            uri.push(':');
        }
        percent_encode_into(&mut uri, &self.account);
        uri.push_str("?secret=");
        uri.push_str(&self.secret.expose_base32());
        if let Some(issuer) = &self.issuer {
            uri.push_str("&issuer=");
            percent_encode_into(&mut uri, issuer);
        }
        // Writing to a String cannot fail.
        let _ = write!(
            uri,
            "&algorithm={}&digits={}",
            self.algorithm.uri_name(),
            self.digits.get()
        );
        let _ = match self.otp_type {
            OtpType::Totp { period } => write!(uri, "&period={}", period.seconds()),
            OtpType::Hotp { counter } => write!(uri, "&counter={counter}"),
        };
        uri
    }

    /// TOTP or HOTP, with its period or counter.
    pub fn otp_type(&self) -> OtpType {
        self.otp_type
    }

    /// The issuer, if the URI names one.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digit count.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The TOTP parameters (T0 = 0), or `None` for an HOTP URI.
    pub fn totp_params(&self) -> Option<TotpParams> {
        match self.otp_type {
            OtpType::Totp { period } => Some(
                TotpParams::default()
                    .with_algorithm(self.algorithm)
                    .with_digits(self.digits)
                    .with_period(period),
            ),
            OtpType::Hotp { .. } => None,
        }
    }

    /// What lenient reading accepted that a strict writer would not have
    /// written. Empty for URIs this crate wrote.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

/// An issuer or account name must be non-empty, without `:` (the label
/// separator) or control characters (which could forge text on a screen or
/// in a log), and without surrounding white space (which readers trim).
fn checked_name<'a>(name: &'a str, field: &'static str) -> Result<&'a str, UriError> {
    if name.is_empty()
        || name.contains(':')
        || name.contains(char::is_control)
        || name.trim() != name
    {
        Err(UriError::InvalidName { field })
    } else {
        Ok(name)
    }
}

/// Percent-encodes all but RFC 3986 unreserved characters and `@`, which is
/// legal in both path and query and keeps e-mail addresses readable.
fn percent_encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}
