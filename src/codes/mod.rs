//! Layer 1: HOTP (RFC 4226) and TOTP (RFC 6238) arithmetic and the
//! constant-time window check.

mod code;
mod params;
mod prepared;

pub use code::{Code, ExposedCode};
pub use params::{Algorithm, Digits, ParamError, Period, TotpParams, Window};
#[cfg(test)]
pub(crate) use prepared::KEYS_PREPARED;

use prepared::PreparedKey;

use crate::material::secret::Secret;

/// Why a code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is not a code of the configured length (see [`Code::parse`]),
    /// or the code was parsed for another digit count than the factor's.
    #[error("malformed code")]
    Malformed,
    /// The code is wrong. Deliberately says nothing more.
    #[error("code mismatch")]
    Mismatch,
    /// The code is right, but for a step not newer than the last one accepted:
    /// it was used already (RFC 6238 §5.2). `next_code_in` is the number of
    /// seconds until the authenticator app shows a code that can be accepted,
    /// so a screen can say "wait for the next code".
    #[error("code already used; next code in {next_code_in} s")]
    Replayed {
        /// Seconds until the step after the last accepted one begins (0 if it has).
        next_code_in: u64,
    },
    /// The time given is before the factor's T0.
    #[error("time {now} is before T0 ({t0})")]
    BeforeT0 {
        /// The time given.
        now: u64,
        /// The factor's T0.
        t0: u64,
    },
}

/// An accepted code: the step (or HOTP counter) it belongs to and how far
/// that is from the current step.
///
/// The caller MUST store `step` as the new last accepted step before treating
/// the person as verified; otherwise the same code can be used again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The matched step (TOTP) or counter (HOTP).
    pub step: u64,
    /// `step` minus the current step: negative for a code from the past.
    pub drift: i64,
}

/// A TOTP factor (RFC 6238): a prepared key and its parameters.
///
/// Made once per factor; generating and verifying then never re-key the HMAC,
/// decode base32 or allocate.
///
/// ```
/// use twostep::otp::{Code, Secret, Totp, TotpParams, Window};
/// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
/// let totp = Totp::new(&secret, TotpParams::default());
/// let now = 1_111_111_109;
/// let code = Code::parse("081804", TotpParams::default().digits())?;
/// let verified = totp.verify(now, &code, Window::DEFAULT, None)?;
/// assert_eq!(verified.drift, 0);
/// // The same code again is a replay once its step is stored.
/// let again = totp.verify(now, &code, Window::DEFAULT, Some(verified.step));
/// assert!(matches!(again, Err(twostep::otp::VerifyError::Replayed { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Totp {
    key: PreparedKey,
    params: TotpParams,
}

impl Totp {
    /// Prepares the HMAC key of `secret` for `params`.
    pub fn new(secret: &Secret, params: TotpParams) -> Totp {
        Totp {
            key: PreparedKey::new(params.algorithm(), secret.expose_bytes()),
            params,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The time step at `now` (Unix seconds): `(now - T0) / X`.
    ///
    /// # Errors
    /// [`VerifyError::BeforeT0`] if `now` is before T0.
    pub fn step_at(&self, now: u64) -> Result<u64, VerifyError> {
        let t0 = self.params.t0();
        match now.checked_sub(t0) {
            Some(elapsed) => Ok(elapsed / self.params.period().seconds()),
            None => Err(VerifyError::BeforeT0 { now, t0 }),
        }
    }

    /// The Unix time at which `step` begins, saturating at `u64::MAX`.
    pub fn step_start(&self, step: u64) -> u64 {
        step.checked_mul(self.params.period().seconds())
            .and_then(|offset| offset.checked_add(self.params.t0()))
            .unwrap_or(u64::MAX)
    }

    /// The code for a time step.
    pub fn generate_at_step(&self, step: u64) -> Code {
        let digits = self.params.digits();
        Code::new_unchecked_range(self.key.truncated(step) % digits.modulus(), digits)
    }

    /// The code an authenticator app shows at `now` (Unix seconds).
    ///
    /// # Errors
    /// [`VerifyError::BeforeT0`] if `now` is before T0.
    pub fn generate(&self, now: u64) -> Result<Code, VerifyError> {
        Ok(self.generate_at_step(self.step_at(now)?))
    }

    /// Checks `code` at `now` against every step of `window`, refusing a step
    /// not newer than `last_accepted` (`None` when no code was accepted yet).
    ///
    /// Every step of the window is computed and compared in constant time,
    /// whatever matched. Near T0 the window is cut at step 0. If a code
    /// matches several steps, the oldest step newer than `last_accepted` wins.
    ///
    /// The caller MUST store the returned [`Verified::step`] as the new
    /// `last_accepted` before treating the person as verified.
    ///
    /// # Errors
    /// - [`VerifyError::Mismatch`]: no step of the window matches.
    /// - [`VerifyError::Replayed`]: it matches only steps already accepted.
    /// - [`VerifyError::Malformed`]: `code` has another digit count.
    /// - [`VerifyError::BeforeT0`]: `now` is before T0.
    pub fn verify(
        &self,
        now: u64,
        code: &Code,
        window: Window,
        last_accepted: Option<u64>,
    ) -> Result<Verified, VerifyError> {
        let digits = self.params.digits();
        if code.digits() != digits {
            return Err(VerifyError::Malformed);
        }
        let current = self.step_at(now)?;
        let first = current.saturating_sub(u64::from(window.past()));
        let last = current.saturating_add(u64::from(window.future()));
        let scan = self
            .key
            .scan(digits, code.value(), first..=last, last_accepted);
        if let Some(step) = scan.accepted {
            Ok(Verified {
                step,
                drift: signed_distance(step, current),
            })
        } else if scan.replayed {
            let next = last_accepted.map_or(0, |s| s.saturating_add(1));
            Err(VerifyError::Replayed {
                next_code_in: self.step_start(next).saturating_sub(now),
            })
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

/// `a - b` for two steps at most a window apart (|a - b| ≤ 255), without a
/// branch on which is larger: the two's-complement difference is exact there.
fn signed_distance(a: u64, b: u64) -> i64 {
    a.wrapping_sub(b) as i64
}

/// An HOTP factor (RFC 4226): a prepared key and a digit count.
///
/// ```
/// use twostep::otp::{Algorithm, Digits, Hotp, Secret};
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
/// assert_eq!(hotp.generate(0).expose().to_string(), "755224"); // RFC 4226 Appendix D
/// # Ok::<(), twostep::otp::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Hotp {
    key: PreparedKey,
    digits: Digits,
}

impl Hotp {
    /// Prepares the HMAC key of `secret`.
    pub fn new(secret: &Secret, algorithm: Algorithm, digits: Digits) -> Hotp {
        Hotp {
            key: PreparedKey::new(algorithm, secret.expose_bytes()),
            digits,
        }
    }

    /// The code for `counter`.
    pub fn generate(&self, counter: u64) -> Code {
        let value = self.key.truncated(counter) % self.digits.modulus();
        Code::new_unchecked_range(value, self.digits)
    }

    /// Checks `code` against counters `next_counter ..= next_counter + look_ahead`
    /// (RFC 4226 §7.4 resynchronisation), in constant time with respect to
    /// the code. On success the caller MUST store `step + 1` as the next
    /// counter; `drift` is how far ahead of `next_counter` the code was.
    ///
    /// # Errors
    /// [`VerifyError::Mismatch`] if no counter in range matches, and
    /// [`VerifyError::Malformed`] if `code` has another digit count.
    pub fn verify(
        &self,
        code: &Code,
        next_counter: u64,
        look_ahead: u8,
    ) -> Result<Verified, VerifyError> {
        if code.digits() != self.digits {
            return Err(VerifyError::Malformed);
        }
        let last = next_counter.saturating_add(u64::from(look_ahead));
        let scan = self
            .key
            .scan(self.digits, code.value(), next_counter..=last, None);
        if let Some(step) = scan.accepted {
            Ok(Verified {
                step,
                drift: signed_distance(step, next_counter),
            })
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}
