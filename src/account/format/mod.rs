//! The user record's bytes. Format 6 (this version) adds the stamp that
//! sessions are checked against and binds a used recovery code's retry to
//! the session that used it; format 5 put what a sign-in changes (the
//! failure count, the last accepted step, the clock estimate) last; format 4 added
//! the user's company memberships and the time up to which removed factors
//! used codes; format 3 the enrollment's stage, names and own failures, the
//! shown recovery codes sealed, and the clock estimate. Formats 2 to 5 still
//! load (2 and 3 come without an envelope tag: only when the host allows
//! legacy records), with stamp 0 and no retry of a used recovery code (an
//! older retry names no session).

use crate::codes::{Algorithm, Digits, Period, TotpParams};
use crate::keys::record_codec::{Reader, RecordError, Writer};
use crate::keys::{SealedCodes, SealedSecret};
use crate::rules::clock_drift::ClockEstimate;
use crate::rules::recovery_codes::{
    RecoveryMode, RecoveryState, SetSize, StoredCode, HASH_LEN, SALT_LEN,
};

use super::enrolling::{EnrollmentState, Label, Stage};
use super::{EnrollmentCheck, Factor, MfaRecord, ReplacedCode, ShownCodes};

/// The format written by this version.
const FORMAT: u8 = 6;
/// Counters last, without the stamp.
const FORMAT_5: u8 = 5;
/// Memberships, with the counters first.
const FORMAT_4: u8 = 4;
/// Stages, names and shown codes, without memberships.
const FORMAT_3: u8 = 3;
/// The format of twostep before the stored enrollment stages.
const FORMAT_2: u8 = 2;

impl MfaRecord {
    /// The record's bytes (no plaintext secret in them).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        self.encode_into(Vec::new(), 0)
    }

    /// [`encode`](Self::encode) into `buffer`'s allocation, after `room`
    /// zeros.
    pub(crate) fn encode_into(&self, buffer: Vec<u8>, room: usize) -> Vec<u8> {
        let mut w = Writer::reusing(buffer, room, FORMAT);
        match &self.factor {
            None => w.u8(0),
            Some(factor) => {
                w.u8(1);
                write_sealed(&mut w, &factor.sealed, &factor.params);
                w.u64(factor.bound_at);
            }
        }
        match &self.recovery {
            None => w.u8(0),
            Some(recovery) => {
                w.u8(1);
                w.u8(match recovery.mode {
                    RecoveryMode::Single => 0,
                    RecoveryMode::Set(size) => size.get(),
                });
                w.u32(recovery.key_id);
                w.u8(u8::try_from(recovery.codes.len()).unwrap_or(0));
                for code in &recovery.codes {
                    write_code(&mut w, code);
                    w.u8(u8::from(code.spent));
                }
            }
        }
        match &self.enrollment {
            None => w.u8(0),
            Some(enrollment) => {
                w.u8(1);
                write_sealed(&mut w, &enrollment.sealed, &enrollment.params);
                w.long_bytes(enrollment.label.issuer.as_bytes());
                w.long_bytes(enrollment.label.account.as_bytes());
                w.u8(match enrollment.check {
                    EnrollmentCheck::OneCode => 1,
                    EnrollmentCheck::TwoCodes => 2,
                });
                let (stage, value) = match enrollment.stage {
                    Stage::FirstCode { expires_at } => (1, expires_at),
                    Stage::SecondCode { first_step } => (2, first_step),
                    Stage::RecoveryCode { last_accepted } => (3, last_accepted),
                };
                w.u8(stage);
                w.u64(value);
                w.u32(enrollment.failures);
                w.u64(enrollment.last_failure_at);
            }
        }
        match &self.shown {
            None => w.u8(0),
            Some(shown) => {
                w.u8(1);
                match &shown.sealed {
                    None => w.u8(0),
                    Some(sealed) => {
                        w.u8(1);
                        w.u32(sealed.key_id);
                        w.array(&sealed.nonce);
                        w.long_bytes(&sealed.ciphertext);
                        w.array(&sealed.tag);
                    }
                }
                match &shown.replaced {
                    None => w.u8(0),
                    Some(replaced) => {
                        w.u8(1);
                        w.u32(replaced.key_id);
                        write_code(&mut w, &replaced.code);
                        w.u64(replaced.until);
                        w.array(&replaced.session);
                    }
                }
                w.u8(u8::from(shown.replacement));
            }
        }
        w.u16(u16::try_from(self.companies.len()).unwrap_or(u16::MAX));
        for company in &self.companies {
            w.long_bytes(company.as_bytes());
        }
        w.u64(self.used_until);
        w.u64(self.stamp);
        // What a sign-in changes.
        w.u32(self.failures);
        w.u64(self.last_failure_at);
        w.option_u64(self.factor.as_ref().and_then(|factor| factor.last_accepted));
        write_clock(&mut w, &self.clock);
        w.finish()
    }

    /// Reads a record written by [`MfaRecord::encode`] of this version or of
    /// formats 2 to 5.
    pub(crate) fn decode(bytes: &[u8]) -> Result<MfaRecord, RecordError> {
        let (format, mut r) = Reader::new(bytes)?;
        if ![FORMAT, FORMAT_5, FORMAT_4, FORMAT_3, FORMAT_2].contains(&format) {
            return Err(RecordError::UnsupportedFormat(format));
        }
        // Before format 5 the counters came first and the last accepted
        // step with the factor.
        let counters_first = format < FORMAT_5;
        let (failures, last_failure_at) = if counters_first {
            (r.u32()?, r.u64()?)
        } else {
            (0, 0)
        };
        let factor = if r.flag("factor")? {
            let (sealed, params) = read_sealed(&mut r)?;
            let last_accepted = if counters_first {
                r.option_u64("last_accepted")?
            } else {
                None
            };
            Some(Box::new(Factor {
                sealed,
                params,
                last_accepted,
                bound_at: r.u64()?,
            }))
        } else {
            None
        };
        let recovery = if r.flag("recovery")? {
            Some(read_recovery(&mut r)?)
        } else {
            None
        };
        let mut record = MfaRecord {
            factor,
            failures,
            last_failure_at,
            recovery,
            ..MfaRecord::default()
        };
        if format == FORMAT_2 {
            read_format_2_rest(&mut r, &mut record)?;
        } else {
            record.enrollment = if r.flag("enrollment")? {
                Some(Box::new(read_enrollment(&mut r)?))
            } else {
                None
            };
            record.shown = if r.flag("shown")? {
                Some(Box::new(read_shown(&mut r, format)?))
            } else {
                None
            };
            if counters_first {
                record.clock = read_clock(&mut r)?;
            }
        }
        if format >= FORMAT_4 {
            let count = r.u16()?;
            for _ in 0..count {
                record.companies.push(r.long_str("company")?.to_owned());
            }
            record.used_until = r.u64()?;
        }
        if format >= FORMAT {
            record.stamp = r.u64()?;
        }
        if !counters_first {
            record.failures = r.u32()?;
            record.last_failure_at = r.u64()?;
            let last_accepted = r.option_u64("last_accepted")?;
            match (&mut record.factor, last_accepted) {
                (Some(factor), _) => factor.last_accepted = last_accepted,
                (None, None) => {}
                (None, Some(_)) => return Err(RecordError::InvalidField("last_accepted")),
            }
            record.clock = read_clock(&mut r)?;
        }
        r.finish()?;
        Ok(record)
    }
}

fn write_clock(w: &mut Writer, clock: &ClockEstimate) {
    w.i32(clock.low);
    w.i32(clock.high);
    w.u8(clock.samples);
    w.i8(clock.streak);
}

fn read_clock(r: &mut Reader<'_>) -> Result<ClockEstimate, RecordError> {
    Ok(ClockEstimate {
        low: r.i32()?,
        high: r.i32()?,
        samples: r.u8()?,
        streak: r.i8()?,
    })
}

fn read_recovery(r: &mut Reader<'_>) -> Result<RecoveryState, RecordError> {
    let mode = match r.u8()? {
        0 => RecoveryMode::Single,
        n => RecoveryMode::Set(
            SetSize::new(n).map_err(|_| RecordError::InvalidField("recovery mode"))?,
        ),
    };
    let key_id = r.u32()?;
    let count = r.u8()?;
    if usize::from(count) != mode.count() {
        return Err(RecordError::InvalidField("recovery codes"));
    }
    let mut codes = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let mut code = read_code(r)?;
        code.spent = r.flag("spent")?;
        codes.push(code);
    }
    Ok(RecoveryState {
        mode,
        key_id,
        codes,
    })
}

fn read_enrollment(r: &mut Reader<'_>) -> Result<EnrollmentState, RecordError> {
    let (sealed, params) = read_sealed(r)?;
    let label = Label {
        issuer: r.long_str("issuer")?.to_owned(),
        account: r.long_str("account")?.to_owned(),
    };
    let check = match r.u8()? {
        1 => EnrollmentCheck::OneCode,
        2 => EnrollmentCheck::TwoCodes,
        _ => return Err(RecordError::InvalidField("enrollment check")),
    };
    let stage = match (r.u8()?, r.u64()?) {
        (1, expires_at) => Stage::FirstCode { expires_at },
        (2, first_step) if check == EnrollmentCheck::TwoCodes => Stage::SecondCode { first_step },
        (3, last_accepted) => Stage::RecoveryCode { last_accepted },
        _ => return Err(RecordError::InvalidField("enrollment stage")),
    };
    Ok(EnrollmentState {
        sealed,
        params,
        label,
        check,
        stage,
        failures: r.u32()?,
        last_failure_at: r.u64()?,
    })
}

fn read_shown(r: &mut Reader<'_>, format: u8) -> Result<ShownCodes, RecordError> {
    let sealed = if r.flag("shown codes")? {
        Some(SealedCodes {
            key_id: r.u32()?,
            nonce: r.array()?,
            ciphertext: r.long_bytes()?.to_vec(),
            tag: r.array()?,
        })
    } else {
        None
    };
    let had_retry = r.flag("replaced code")?;
    let replaced = if had_retry {
        let (key_id, code, until) = (r.u32()?, read_code(r)?, r.u64()?);
        // An older retry names no session: it is dropped, not guessed.
        if format >= FORMAT {
            Some(ReplacedCode {
                key_id,
                code,
                until,
                session: r.array()?,
            })
        } else {
            None
        }
    } else {
        None
    };
    // Before format 6 a used code's replacement was told by its retry.
    let replacement = match format {
        FORMAT => r.flag("replacement")?,
        _ => had_retry,
    };
    Ok(ShownCodes {
        sealed,
        replaced,
        replacement,
    })
}

/// Format 2's enrollment and acknowledgement flag. A pending enrollment
/// did not keep the names its QR code needs to be shown again, so it loads
/// as none (it lived ten minutes by default: the person begins again); a
/// confirmed one waits for its tick as before, with no copy of its codes.
fn read_format_2_rest(r: &mut Reader<'_>, record: &mut MfaRecord) -> Result<(), RecordError> {
    record.enrollment = match r.u8()? {
        0 => None,
        1 => {
            let _pending = read_sealed(r)?;
            let _expires_at = r.u64()?;
            None
        }
        2 => {
            let (sealed, params) = read_sealed(r)?;
            Some(Box::new(EnrollmentState {
                sealed,
                params,
                label: Label::default(),
                check: EnrollmentCheck::OneCode,
                stage: Stage::RecoveryCode {
                    last_accepted: r.u64()?,
                },
                failures: 0,
                last_failure_at: 0,
            }))
        }
        _ => return Err(RecordError::InvalidField("enrollment")),
    };
    record.shown = r.flag("recovery_unacknowledged")?.then(Default::default);
    Ok(())
}

fn write_code(w: &mut Writer, code: &StoredCode) {
    w.array(&code.salt);
    w.array(&code.hash);
}

fn read_code(r: &mut Reader<'_>) -> Result<StoredCode, RecordError> {
    let salt: [u8; SALT_LEN] = r.array()?;
    let hash: [u8; HASH_LEN] = r.array()?;
    Ok(StoredCode {
        salt,
        hash,
        spent: false,
    })
}

/// A sealed secret and the parameters of its factor.
fn write_sealed(w: &mut Writer, sealed: &SealedSecret, params: &TotpParams) {
    w.u32(sealed.key_id);
    w.array(&sealed.nonce);
    w.short_bytes(sealed.ciphertext());
    w.array(&sealed.tag);
    w.u8(match params.algorithm() {
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 2,
        Algorithm::Sha512 => 3,
    });
    w.u8(params.digits().get());
    w.u64(params.period().seconds());
    w.u64(params.t0());
}

fn read_sealed(r: &mut Reader<'_>) -> Result<(SealedSecret, TotpParams), RecordError> {
    let key_id = r.u32()?;
    let nonce = r.array()?;
    let ciphertext = r.short_bytes()?;
    let sealed = SealedSecret::from_parts(key_id, nonce, ciphertext, r.array()?)
        .ok_or(RecordError::InvalidField("secret"))?;
    let algorithm = match r.u8()? {
        1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        _ => return Err(RecordError::InvalidField("algorithm")),
    };
    let digits = Digits::new(r.u8()?.into()).map_err(|_| RecordError::InvalidField("digits"))?;
    let period = Period::new(r.u64()?).map_err(|_| RecordError::InvalidField("period"))?;
    let params = TotpParams::default()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_period(period)
        .with_t0(r.u64()?);
    Ok((sealed, params))
}

#[cfg(test)]
mod format_tests;
