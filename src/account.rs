//! Layer 4: a user's MFA record and its transitions.
//!
//! A transition takes `now`, changes the record in memory and says whether
//! it must be saved and which events it produced. It never touches storage:
//! the service saves with compare-and-swap and only then reports the outcome.

use crate::codec::{Reader, RecordError, Writer};
use crate::event::{Event, RejectReason};
use crate::otp::{
    Algorithm, Code, Digits, Period, Totp, TotpParams, Verified, VerifyError, Window,
};
use crate::secret::Secret;
use crate::throttle::{Gate, ThrottlePolicy};

/// The format of records written by this version.
const FORMAT: u8 = 1;

/// An active TOTP factor.
#[derive(Clone, Debug)]
pub(crate) struct Factor {
    pub(crate) secret: Secret,
    pub(crate) params: TotpParams,
    /// The newest step accepted; a code of this step or older is a replay.
    pub(crate) last_accepted: Option<u64>,
    /// When the factor was bound (Unix seconds).
    pub(crate) bound_at: u64,
}

/// A user's MFA record: the factor and the failure count of the throttle.
#[derive(Clone, Debug, Default)]
pub(crate) struct MfaRecord {
    pub(crate) factor: Option<Factor>,
    /// Consecutive failed checks.
    pub(crate) failures: u32,
    /// When the last failure happened (Unix seconds; 0 if none).
    pub(crate) last_failure_at: u64,
}

/// Why a transition refused; the service turns it into an `MfaError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NoFactor,
    FactorExists,
    Malformed,
    Mismatch,
    Replayed { next_code_in: u64 },
    Throttled { retry_after: u64 },
    Locked,
    BeforeT0,
}

/// At most this many events come from one transition.
const MAX_EVENTS: usize = 2;

/// The result of a transition: the answer, whether the record changed and
/// must be saved before the answer is given, and the events to deliver.
#[derive(Debug)]
#[must_use]
pub(crate) struct Transition<T> {
    pub(crate) outcome: Result<T, Refusal>,
    pub(crate) changed: bool,
    events: [Option<Event>; MAX_EVENTS],
}

impl<T> Transition<T> {
    fn unchanged(outcome: Result<T, Refusal>, event: Option<Event>) -> Self {
        Transition {
            outcome,
            changed: false,
            events: [event, None],
        }
    }

    fn changed(outcome: Result<T, Refusal>, events: [Option<Event>; MAX_EVENTS]) -> Self {
        Transition {
            outcome,
            changed: true,
            events,
        }
    }

    pub(crate) fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.iter().flatten().copied()
    }
}

impl MfaRecord {
    /// Checks `input` against the active factor.
    pub(crate) fn verify(
        &mut self,
        policy: &ThrottlePolicy,
        window: Window,
        now: u64,
        input: &str,
    ) -> Transition<Verified> {
        let Some(factor) = &self.factor else {
            return Transition::unchanged(Err(Refusal::NoFactor), None);
        };
        if let Some(refused) = self.gate(policy, now) {
            return refused;
        }
        let totp = Totp::new(&factor.secret, factor.params);
        let outcome = Code::parse(input, factor.params.digits())
            .and_then(|code| totp.verify(now, &code, window, factor.last_accepted));
        match outcome {
            Ok(verified) => {
                if let Some(factor) = &mut self.factor {
                    factor.last_accepted = Some(verified.step);
                }
                self.succeed(verified, None)
            }
            Err(error) => self.refuse(policy, now, error),
        }
    }

    /// Binds a factor with `secret` and `params` once `input` proves the
    /// person's app has it.
    pub(crate) fn bind(
        &mut self,
        policy: &ThrottlePolicy,
        window: Window,
        now: u64,
        secret: &Secret,
        params: TotpParams,
        input: &str,
    ) -> Transition<Verified> {
        if self.factor.is_some() {
            return Transition::unchanged(Err(Refusal::FactorExists), None);
        }
        if let Some(refused) = self.gate(policy, now) {
            return refused;
        }
        let outcome = Code::parse(input, params.digits())
            .and_then(|code| Totp::new(secret, params).verify(now, &code, window, None));
        match outcome {
            Ok(verified) => {
                self.factor = Some(Factor {
                    secret: secret.clone(),
                    params,
                    last_accepted: Some(verified.step),
                    bound_at: now,
                });
                self.succeed(verified, Some(Event::FactorBound))
            }
            Err(error) => self.refuse(policy, now, error),
        }
    }

    /// Removes the factor and its failure count.
    pub(crate) fn remove_factor(&mut self) -> Transition<()> {
        if self.factor.take().is_none() {
            return Transition::unchanged(Err(Refusal::NoFactor), None);
        }
        self.failures = 0;
        Transition::changed(Ok(()), [Some(Event::FactorRemoved), None])
    }

    /// Clears the failure count (an owner's or administrator's reset).
    pub(crate) fn unlock(&mut self) -> Transition<()> {
        if self.failures == 0 {
            return Transition::unchanged(Ok(()), None);
        }
        self.failures = 0;
        Transition::changed(Ok(()), [Some(Event::Unlocked), None])
    }

    /// The throttle's refusal, if any: no code is parsed and no HMAC computed.
    fn gate<T>(&self, policy: &ThrottlePolicy, now: u64) -> Option<Transition<T>> {
        match policy.gate(self.failures, self.last_failure_at, now) {
            Gate::Open => None,
            Gate::Wait { retry_after } => Some(Transition::unchanged(
                Err(Refusal::Throttled { retry_after }),
                Some(Event::Throttled { retry_after }),
            )),
            Gate::Locked => Some(Transition::unchanged(
                Err(Refusal::Locked),
                Some(Event::LockedOut),
            )),
        }
    }

    fn succeed(&mut self, verified: Verified, first: Option<Event>) -> Transition<Verified> {
        self.failures = 0;
        let event = Event::Verified {
            step: verified.step,
            drift: verified.drift,
        };
        Transition::changed(Ok(verified), [first, Some(event)])
    }

    /// A failed check: counted, unless the code was right but replayed (a
    /// double submission must not lock anyone out) or the server's clock is
    /// wrong.
    fn refuse<T>(
        &mut self,
        policy: &ThrottlePolicy,
        now: u64,
        error: VerifyError,
    ) -> Transition<T> {
        let (refusal, reason) = match error {
            VerifyError::Replayed { next_code_in } => {
                return Transition::unchanged(
                    Err(Refusal::Replayed { next_code_in }),
                    Some(Event::ReplayRejected),
                )
            }
            VerifyError::BeforeT0 { .. } => {
                return Transition::unchanged(Err(Refusal::BeforeT0), None)
            }
            VerifyError::Malformed => (Refusal::Malformed, RejectReason::Malformed),
            _ => (Refusal::Mismatch, RejectReason::Mismatch),
        };
        self.failures = self.failures.saturating_add(1);
        self.last_failure_at = now;
        let locked = (self.failures == policy.lockout_after()).then_some(Event::Locked {
            failures: self.failures,
        });
        let rejected = Event::Rejected {
            reason,
            failures: self.failures,
        };
        Transition::changed(Err(refusal), [Some(rejected), locked])
    }

    /// The record's bytes, zeroized when dropped.
    pub(crate) fn encode(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut w = Writer::new(FORMAT);
        w.u32(self.failures);
        w.u64(self.last_failure_at);
        match &self.factor {
            None => w.u8(0),
            Some(factor) => {
                w.u8(1);
                w.short_bytes(factor.secret.expose_bytes());
                w.u8(match factor.params.algorithm() {
                    Algorithm::Sha256 => 2,
                    Algorithm::Sha512 => 3,
                    _ => 1,
                });
                w.u8(factor.params.digits().get());
                w.u64(factor.params.period().seconds());
                w.u64(factor.params.t0());
                w.option_u64(factor.last_accepted);
                w.u64(factor.bound_at);
            }
        }
        w.finish()
    }

    /// Reads a record written by [`MfaRecord::encode`].
    pub(crate) fn decode(bytes: &[u8]) -> Result<MfaRecord, RecordError> {
        let (format, mut r) = Reader::new(bytes)?;
        if format != FORMAT {
            return Err(RecordError::UnsupportedFormat(format));
        }
        let failures = r.u32()?;
        let last_failure_at = r.u64()?;
        let factor = if r.flag("factor")? {
            let secret = Secret::from_bytes(r.short_bytes()?)
                .map_err(|_| RecordError::InvalidField("secret"))?;
            let algorithm = match r.u8()? {
                1 => Algorithm::Sha1,
                2 => Algorithm::Sha256,
                3 => Algorithm::Sha512,
                _ => return Err(RecordError::InvalidField("algorithm")),
            };
            let digits =
                Digits::new(r.u8()?.into()).map_err(|_| RecordError::InvalidField("digits"))?;
            let period = Period::new(r.u64()?).map_err(|_| RecordError::InvalidField("period"))?;
            let params = TotpParams::default()
                .with_algorithm(algorithm)
                .with_digits(digits)
                .with_period(period)
                .with_t0(r.u64()?);
            Some(Factor {
                secret,
                params,
                last_accepted: r.option_u64("last_accepted")?,
                bound_at: r.u64()?,
            })
        } else {
            None
        };
        r.finish()?;
        Ok(MfaRecord {
            factor,
            failures,
            last_failure_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MfaRecord {
        MfaRecord {
            factor: Some(Factor {
                secret: Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
                params: TotpParams::default()
                    .with_algorithm(Algorithm::Sha512)
                    .with_t0(5),
                last_accepted: Some(12345),
                bound_at: 1_700_000_000,
            }),
            failures: 3,
            last_failure_at: 99,
        }
    }

    #[test]
    fn encoding_round_trips() {
        let bytes = record().encode();
        let back = MfaRecord::decode(&bytes).unwrap();
        assert_eq!(back.encode().as_slice(), bytes.as_slice());
        let factor = back.factor.unwrap();
        assert_eq!(factor.last_accepted, Some(12345));
        assert_eq!(factor.params.algorithm(), Algorithm::Sha512);
        assert_eq!(factor.params.t0(), 5);
        assert_eq!(back.failures, 3);
        let empty = MfaRecord::default().encode();
        assert!(MfaRecord::decode(&empty).unwrap().factor.is_none());
    }

    #[test]
    fn damaged_bytes_are_typed_errors() {
        let bytes = record().encode();
        for len in 0..bytes.len() {
            assert!(
                MfaRecord::decode(&bytes[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(
            MfaRecord::decode(&longer).unwrap_err(),
            RecordError::TrailingBytes
        );
        let mut newer = bytes.to_vec();
        newer[2] = 9;
        assert_eq!(
            MfaRecord::decode(&newer).unwrap_err(),
            RecordError::UnsupportedFormat(9)
        );
        assert_eq!(
            MfaRecord::decode(b"{}").unwrap_err(),
            RecordError::NotARecord
        );
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let mut tagged = b"2s\x01".to_vec();
            tagged.extend(&bytes);
            let _ = MfaRecord::decode(&tagged);
            let _ = MfaRecord::decode(&bytes);
        }
    }
}
