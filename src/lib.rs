#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod enrollment;
mod otp;
#[cfg(feature = "qr")]
mod qr;
mod secret;
mod uri;
mod warning;

pub use enrollment::{Enrollment, EnrollmentBuilder, EnrollmentError};
pub use otp::{
    Algorithm, Code, Digits, ExposedCode, Hotp, ParamError, Period, Totp, TotpParams, Verified,
    VerifyError, Window,
};
#[cfg(feature = "qr")]
#[cfg_attr(docsrs, doc(cfg(feature = "qr")))]
pub use qr::{Qr, QrError};
pub use secret::{Secret, SecretError};
pub use uri::{KeyUri, OtpType, UriError};
pub use warning::Warning;

/// The `rand_core` version this crate's generic RNG parameters use.
pub use rand_core;
