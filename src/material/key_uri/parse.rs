//! Reading a Key URI leniently, as real services write them.

use zeroize::Zeroizing;

use super::{checked_name, KeyUri, OtpType, UriError};
use crate::codes::{Algorithm, Digits, Period};
use crate::material::secret::Secret;
use crate::material::warning::Warning;

impl KeyUri {
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
