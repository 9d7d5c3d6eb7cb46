//! What lenient reading accepted but a careful writer would not have produced.

/// Something off in an imported secret or otpauth URI that was accepted
/// anyway, so that a host can log it or tell the person.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The secret has fewer than 128 bits (RFC 4226 §4 R6); 80-bit secrets
    /// are common (GitHub, Discord, PayPal) and accepted.
    ShortSecret {
        /// The secret's length in bits.
        bits: usize,
    },
    /// The secret was written with lowercase letters, spaces, hyphens or `=`
    /// padding, which some apps refuse.
    NonCanonicalSecret,
    /// The label prefix and the `issuer` parameter differ; the parameter was used.
    IssuerMismatch {
        /// The issuer in the label (`Issuer:account`).
        label: String,
        /// The `issuer` parameter, which won.
        parameter: String,
    },
    /// The issuer appears only in the label, not as an `issuer` parameter.
    IssuerOnlyInLabel,
    /// The issuer appears only as a parameter, not as a label prefix.
    IssuerOnlyInParameter,
    /// No issuer at all: the app will show only the account name.
    NoIssuer,
    /// A parameter that does not apply was ignored (e.g. `image`, or
    /// `counter` on a TOTP URI).
    IgnoredParameter {
        /// The parameter's name.
        name: String,
    },
}

impl core::fmt::Display for Warning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Warning::ShortSecret { bits } => {
                write!(f, "short secret: {bits} bits, fewer than the 128 RFC 4226 requires")
            }
            Warning::NonCanonicalSecret => f.write_str(
                "secret written with lowercase, spaces, hyphens or padding, which some apps refuse",
            ),
            Warning::IssuerMismatch { label, parameter } => write!(
                f,
                "issuer in label ({label:?}) differs from issuer parameter ({parameter:?}); using the parameter"
            ),
            Warning::IssuerOnlyInLabel => f.write_str("issuer only in the label, no issuer parameter"),
            Warning::IssuerOnlyInParameter => {
                f.write_str("issuer only as a parameter, not as a label prefix")
            }
            Warning::NoIssuer => f.write_str("no issuer"),
            Warning::IgnoredParameter { name } => write!(f, "ignored parameter {name:?}"),
        }
    }
}
