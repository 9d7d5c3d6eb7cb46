//! otpauth Key URIs: strict when writing, lenient when reading.
//!
//! Format: `otpauth://TYPE/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`
//! (Google Authenticator's Key URI format).

use core::fmt::Write as _;
use zeroize::Zeroizing;

use crate::otp::{Algorithm, Digits, ParamError, Period, TotpParams};
use crate::secret::{Secret, SecretError};
use crate::warning::Warning;

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
/// use twostep::{KeyUri, Secret, TotpParams};
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

    /// Reads a URI leniently, as real services write them: `totp` or `hotp`
    /// in any case; the issuer as label prefix (`:` or `%3A`, optional
    /// spaces), as parameter, or both (the parameter wins if they differ);
    /// lowercase algorithm names; lenient secrets (see [`Secret::from_base32`]);
    /// unknown parameters ignored. What was off is in [`KeyUri::warnings`].
    ///
    /// # Errors
    /// A [`UriError`] for a URI that is malformed; never a panic.
    pub fn parse(input: &str) -> Result<KeyUri, UriError> {
        if input.len() > Self::MAX_LEN {
            return Err(UriError::TooLong { len: input.len() });
        }
        let rest =
            strip_prefix_ignore_case(input.trim(), "otpauth://").ok_or(UriError::WrongScheme)?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (otp_type, rest) = rest.split_at(split);
        let is_hotp = if otp_type.eq_ignore_ascii_case("totp") {
            false
        } else if otp_type.eq_ignore_ascii_case("hotp") {
            true
        } else {
            return Err(UriError::UnsupportedType);
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));

        let label = percent_decode(label, false)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((issuer, account)) => (Some(issuer.trim()).filter(|i| !i.is_empty()), account),
            None => (None, label.as_str()),
        };
        let account = checked_name(account.trim(), "account")?;
        let label_issuer = label_issuer
            .map(|issuer| checked_name(issuer, "issuer"))
            .transpose()?;

        let mut params = QueryParams::default();
        let mut warnings = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(name, true)?.to_ascii_lowercase();
            let value = Zeroizing::new(percent_decode(value, true)?);
            let slot = match name.as_str() {
                "secret" => &mut params.secret,
                "issuer" => &mut params.issuer,
                "algorithm" => &mut params.algorithm,
                "digits" => &mut params.digits,
                "period" if !is_hotp => &mut params.period,
                "counter" if is_hotp => &mut params.counter,
                _ => {
                    warnings.push(Warning::IgnoredParameter { name });
                    continue;
                }
            };
            if slot.is_some() {
                return Err(UriError::DuplicateParameter {
                    parameter: parameter_name(&name),
                });
            }
            *slot = Some(value);
        }

        let raw_secret = params.secret.ok_or(UriError::MissingSecret)?;
        let secret = Secret::from_base32(&raw_secret).map_err(UriError::InvalidSecret)?;
        if secret.expose_base32().as_str() != raw_secret.as_str() {
            warnings.push(Warning::NonCanonicalSecret);
        }
        warnings.extend(secret.warning());

        let parameter_issuer = params
            .issuer
            .as_deref()
            .map(|issuer| issuer.trim())
            .filter(|issuer| !issuer.is_empty());
        let issuer = match (label_issuer, parameter_issuer) {
            (Some(label), Some(parameter)) => {
                if label != parameter {
                    warnings.push(Warning::IssuerMismatch {
                        label: label.to_owned(),
                        parameter: parameter.to_owned(),
                    });
                }
                Some(parameter)
            }
            (Some(label), None) => {
                warnings.push(Warning::IssuerOnlyInLabel);
                Some(label)
            }
            (None, Some(parameter)) => {
                warnings.push(Warning::IssuerOnlyInParameter);
                Some(parameter)
            }
            (None, None) => {
                warnings.push(Warning::NoIssuer);
                None
            }
        };
        let issuer = issuer
            .map(|issuer| checked_name(issuer, "issuer"))
            .transpose()?;

        let algorithm = match params.algorithm.as_deref() {
            Some(name) => Algorithm::from_name(name).ok_or(UriError::UnsupportedAlgorithm)?,
            None => Algorithm::default(),
        };
        let digits = match params.digits.as_deref() {
            Some(value) => Digits::new(parse_number(value, "digits")?)?,
            None => Digits::default(),
        };
        let otp_type = if is_hotp {
            let counter = params.counter.as_deref().ok_or(UriError::MissingCounter)?;
            OtpType::Hotp {
                counter: parse_number(counter, "counter")?,
            }
        } else {
            let period = match params.period.as_deref() {
                Some(value) => Period::new(parse_number(value, "period")?)?,
                None => Period::default(),
            };
            OtpType::Totp { period }
        };

        KeyUri {
            otp_type,
            issuer: issuer.map(str::to_owned),
            account: account.to_owned(),
            secret,
            algorithm,
            digits,
            warnings,
        }
        .within_max_len()
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

#[derive(Default)]
struct QueryParams {
    secret: Option<Zeroizing<String>>,
    issuer: Option<Zeroizing<String>>,
    algorithm: Option<Zeroizing<String>>,
    digits: Option<Zeroizing<String>>,
    period: Option<Zeroizing<String>>,
    counter: Option<Zeroizing<String>>,
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

fn parameter_name(name: &str) -> &'static str {
    [
        "secret",
        "issuer",
        "algorithm",
        "digits",
        "period",
        "counter",
    ]
    .into_iter()
    .find(|known| *known == name)
    .unwrap_or("unknown")
}

fn parse_number(value: &str, parameter: &'static str) -> Result<u64, UriError> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::InvalidNumber { parameter });
    }
    // All digits: the only failure left is overflow, which is out of range.
    value
        .parse()
        .map_err(|_| UriError::InvalidNumber { parameter })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Decodes `%XX` escapes (and `+` as space in query components, as
/// form-encoding and most otpauth readers do) and checks the result is UTF-8.
fn percent_decode(input: &str, plus_as_space: bool) -> Result<String, UriError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(input.len()));
    let mut iter = input.bytes();
    while let Some(byte) = iter.next() {
        match byte {
            b'%' => {
                let high = iter.next().and_then(hex_value);
                let low = iter.next().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => bytes.push(high << 4 | low),
                    _ => return Err(UriError::BadEncoding),
                }
            }
            b'+' if plus_as_space => bytes.push(b' '),
            _ => bytes.push(byte),
        }
    }
    // Checked before the bytes move, so that a failure drops nothing unzeroized.
    if core::str::from_utf8(&bytes).is_err() {
        return Err(UriError::BadEncoding);
    }
    String::from_utf8(core::mem::take(&mut *bytes)).map_err(|_| UriError::BadEncoding)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
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
