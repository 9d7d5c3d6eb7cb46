//! Layer 2: what a person's authenticator app is given: the secret, its
//! otpauth URI, the QR code, and the `Enrollment` that holds them.
//!
//! - `secret.rs`: `Secret` (zeroized, redacted, base32 in and out);
//! - `key_uri/`: `KeyUri`, written strictly and read leniently;
//! - `warning.rs`: what was off in an imported URI or secret;
//! - `qr.rs`: `Qr`, rendered locally;
//! - `enrollment_builder.rs`: `Enrollment` and its builder.

pub(crate) mod enrollment_builder;
pub(crate) mod key_uri;
#[cfg(feature = "qr")]
pub(crate) mod qr;
pub(crate) mod secret;
pub(crate) mod warning;

pub use enrollment_builder::{Enrollment, EnrollmentBuilder, EnrollmentError};
pub use key_uri::{KeyUri, OtpType, UriError};
#[cfg(feature = "qr")]
pub use qr::{Qr, QrError};
pub use secret::{Secret, SecretError};
pub use warning::Warning;
