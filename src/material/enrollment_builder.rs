//! The entry point of a new factor: secret, URI, QR code and the first check.

use rand_core::CryptoRng;

use crate::codes::{
    Algorithm, Code, Digits, Period, Totp, TotpParams, Verified, VerifyError, Window,
};
use crate::material::key_uri::{KeyUri, UriError};
#[cfg(feature = "qr")]
use crate::material::qr::{Qr, QrError};
use crate::material::secret::{Secret, SecretError};

/// Why an enrollment could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollmentError {
    /// The issuer or account name cannot go into a URI.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// No secret could be generated.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Sets up a new TOTP factor. Made by [`Enrollment::builder`].
#[derive(Clone, Debug)]
#[must_use = "call build() to make the enrollment"]
pub struct EnrollmentBuilder {
    issuer: String,
    account: String,
    params: TotpParams,
}

impl EnrollmentBuilder {
    /// The algorithm (default SHA-1, the only one every app reads).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.params = self.params.with_algorithm(algorithm);
        self
    }

    /// The digit count (default 6).
    pub fn digits(mut self, digits: Digits) -> Self {
        self.params = self.params.with_digits(digits);
        self
    }

    /// The period (default 30 s).
    pub fn period(mut self, period: Period) -> Self {
        self.params = self.params.with_period(period);
        self
    }

    /// Generates a 160-bit secret from `rng` and builds the enrollment.
    ///
    /// # Errors
    /// [`EnrollmentError::Uri`] if the issuer or account is empty, contains
    /// `:` or has surrounding white space.
    pub fn build<R: CryptoRng + ?Sized>(self, rng: &mut R) -> Result<Enrollment, EnrollmentError> {
        self.with_secret(Secret::generate(rng))
    }

    /// Like [`build`](Self::build), with the operating system's generator.
    ///
    /// # Errors
    /// As [`build`](Self::build), and [`EnrollmentError::Secret`] if the
    /// operating system has no randomness to give.
    #[cfg(feature = "getrandom")]
    #[cfg_attr(docsrs, doc(cfg(feature = "getrandom")))]
    pub fn build_os(self) -> Result<Enrollment, EnrollmentError> {
        self.with_secret(Secret::generate_os()?)
    }

    /// Builds the enrollment around an existing secret, e.g. one imported
    /// from another system.
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn with_secret(self, secret: Secret) -> Result<Enrollment, EnrollmentError> {
        let totp = Totp::new(&secret, self.params);
        let uri = KeyUri::new_totp(&self.issuer, &self.account, secret, &self.params)?;
        Ok(Enrollment { uri, totp })
    }
}

/// A new TOTP factor waiting for the person's app: its secret, otpauth URI
/// and QR code, and the check of the first code.
///
/// ```
/// use rand_core::UnwrapErr;
/// use twostep::Enrollment;
/// use twostep::otp::Code;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # #[cfg(feature = "getrandom")] {
/// let enrollment = Enrollment::builder("Acme", "alice@example.com").build_os()?;
/// let uri = enrollment.uri().expose_uri();       // or enrollment.qr()?.to_svg()
/// let manual = enrollment.secret().expose_base32(); // for typing by hand
///
/// // The person scans the QR and types the code their app shows:
/// let now = 1_700_000_000;
/// let typed = enrollment.totp().generate(now)?.expose().to_string();
/// let verified = enrollment.confirm(now, &Code::parse(&typed, enrollment.params().digits())?)?;
/// // Store the secret, the parameters and `verified.step` as the last accepted step.
/// # let _ = (uri, manual, verified);
/// # }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Enrollment {
    uri: KeyUri,
    totp: Totp,
}

impl Enrollment {
    /// Starts an enrollment of `account` at `issuer` with the defaults:
    /// SHA-1, 6 digits, 30 s, a 160-bit secret.
    pub fn builder(issuer: impl Into<String>, account: impl Into<String>) -> EnrollmentBuilder {
        EnrollmentBuilder {
            issuer: issuer.into(),
            account: account.into(),
            params: TotpParams::default(),
        }
    }

    /// The secret; its bytes and base32 come out through its `expose_*` methods.
    pub fn secret(&self) -> &Secret {
        self.uri.secret()
    }

    /// The parameters.
    pub fn params(&self) -> &TotpParams {
        self.totp.params()
    }

    /// The otpauth URI; write it with [`KeyUri::expose_uri`].
    pub fn uri(&self) -> &KeyUri {
        &self.uri
    }

    /// The QR code of the URI, for the person to scan.
    ///
    /// # Errors
    /// [`QrError::TooLong`] if the names make the URI too long for a QR code.
    #[cfg(feature = "qr")]
    #[cfg_attr(docsrs, doc(cfg(feature = "qr")))]
    pub fn qr(&self) -> Result<Qr, QrError> {
        Qr::new(&self.uri.expose_uri())
    }

    /// The prepared factor, to generate or verify codes.
    pub fn totp(&self) -> &Totp {
        &self.totp
    }

    /// Checks the first code from the person's app with the default window,
    /// confirming that the app is set up. The caller MUST store the returned
    /// step as the factor's last accepted step.
    ///
    /// # Errors
    /// As [`Totp::verify`].
    pub fn confirm(&self, now: u64, code: &Code) -> Result<Verified, VerifyError> {
        self.totp.verify(now, code, Window::DEFAULT, None)
    }

    /// The secret and parameters, to store.
    pub fn into_parts(self) -> (Secret, TotpParams) {
        // A clone, not a move out of the URI: the URI's copy is then dropped
        // and wiped, where a move would leave its bytes behind unwiped.
        (self.uri.secret().clone(), *self.totp.params())
    }
}
