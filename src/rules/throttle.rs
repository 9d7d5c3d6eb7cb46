//! The failure budget: free attempts, then doubling delays, then a lockout.
//!
//! The count is of consecutive failed checks of one user's factor, across all
//! sessions and servers: it lives in the user's stored record, and every
//! change to it is saved with compare-and-swap, so parallel guesses are each
//! counted exactly once (RFC 4226 §7.3). A success resets it; a wrong
//! password never reaches it (the host calls `twostep` only for the second
//! factor). A throttled or locked check is refused before any HMAC is
//! computed and is not itself counted.
//!
//! # The default schedule
//!
//! | failures so far | next check allowed |
//! |---|---|
//! | 0–2 | at once |
//! | 3 | 15 s after the last failure |
//! | 4 | 30 s after |
//! | 5, 6, 7, 8 | 1, 2, 4, 8 min after |
//! | 9 | 15 min after (the cap) |
//! | 10 | never: locked until an owner unlocks it or a recovery code is used |
//!
//! Recovery codes are not gated: they carry 125 bits, so no rate of guessing
//! finds one, and a gate an attacker with the password could keep shut would
//! lock the person out of their own recovery code.
//!
//! # What it buys
//!
//! With 6 digits and a ±1 window, three codes are valid at any moment, so one
//! guess succeeds with probability 3·10⁻⁶ (RFC 4226 §6: s·v/10^digits). With
//! the lockout after 10 failures an attacker who has the password gets in with
//! probability at most 10 × 3·10⁻⁶ = 3·10⁻⁵ before the factor locks; NIST SP
//! 800-63B caps the budget at 100 (3·10⁻⁴). Without a lockout, 3 guesses per
//! 30 s for 30 days reach 54 %.

/// An invalid throttle configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// The lockout must come after 1 to 100 failures (NIST SP 800-63B §3.2.2).
    #[error("lockout after {0} failures: must be 1 to 100")]
    LockoutOutOfRange(u32),
    /// The free attempts must be fewer than the lockout.
    #[error("{free} free attempts must be fewer than the lockout after {lockout}")]
    FreeAttemptsNotBelowLockout {
        /// Free attempts asked for.
        free: u32,
        /// Lockout asked for.
        lockout: u32,
    },
    /// The base delay must be at least 1 s and at most the cap.
    #[error("delays must satisfy 1 <= base ({base} s) <= cap ({cap} s)")]
    DelayOutOfRange {
        /// Base delay asked for.
        base: u64,
        /// Cap asked for.
        cap: u64,
    },
}

/// When a check may be made, given the failures so far.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// A check may be made now.
    Open,
    /// Wait this many seconds.
    Wait {
        /// Seconds until the next check is allowed.
        retry_after: u64,
    },
    /// Locked: no check until an owner unlocks the factor or a recovery code
    /// is used.
    Locked,
}

/// The failure budget of a factor. Validated when made.
///
/// ```
/// use twostep::throttle::{Gate, ThrottlePolicy};
/// let policy = ThrottlePolicy::default();
/// assert_eq!(policy.gate(2, 1_000, 1_000), Gate::Open);
/// assert_eq!(policy.gate(3, 1_000, 1_005), Gate::Wait { retry_after: 10 });
/// assert_eq!(policy.gate(10, 1_000, 9_999_999), Gate::Locked);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    free_attempts: u32,
    base_delay: u64,
    max_delay: u64,
    lockout_after: u32,
}

impl ThrottlePolicy {
    /// NIST SP 800-63B's cap on consecutive failures.
    pub const MAX_LOCKOUT: u32 = 100;

    /// 3 free attempts, then 15 s doubling to at most 15 min, and a lockout
    /// after 10 consecutive failures.
    pub const DEFAULT: ThrottlePolicy = ThrottlePolicy {
        free_attempts: 3,
        base_delay: 15,
        max_delay: 15 * 60,
        lockout_after: 10,
    };

    /// `free_attempts` failures cost nothing; the next must wait `base_delay`
    /// seconds after the last failure, each further one twice as long up to
    /// `max_delay`; after `lockout_after` consecutive failures the factor locks.
    ///
    /// # Errors
    /// A [`ThrottleError`] unless `1 <= lockout_after <= 100`,
    /// `free_attempts < lockout_after` and `1 <= base_delay <= max_delay`.
    pub const fn new(
        free_attempts: u32,
        base_delay: u64,
        max_delay: u64,
        lockout_after: u32,
    ) -> Result<Self, ThrottleError> {
        if lockout_after == 0 || lockout_after > Self::MAX_LOCKOUT {
            return Err(ThrottleError::LockoutOutOfRange(lockout_after));
        }
        if free_attempts >= lockout_after {
            return Err(ThrottleError::FreeAttemptsNotBelowLockout {
                free: free_attempts,
                lockout: lockout_after,
            });
        }
        if base_delay == 0 || base_delay > max_delay {
            return Err(ThrottleError::DelayOutOfRange {
                base: base_delay,
                cap: max_delay,
            });
        }
        Ok(ThrottlePolicy {
            free_attempts,
            base_delay,
            max_delay,
            lockout_after,
        })
    }

    /// Consecutive failures after which the factor locks.
    pub const fn lockout_after(&self) -> u32 {
        self.lockout_after
    }

    /// Failures that cost no delay.
    pub const fn free_attempts(&self) -> u32 {
        self.free_attempts
    }

    /// The wait imposed after `failures` consecutive failures, or `None` when
    /// there is none (free attempts) or the factor is locked.
    pub fn delay_after(&self, failures: u32) -> Option<u64> {
        if failures < self.free_attempts || failures >= self.lockout_after {
            return None;
        }
        let doublings = failures - self.free_attempts;
        let delay = 1u64
            .checked_shl(doublings)
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .unwrap_or(u64::MAX);
        Some(delay.min(self.max_delay))
    }

    /// Whether a check may be made at `now`, after `failures` consecutive
    /// failures, the last at `last_failure_at`.
    pub fn gate(&self, failures: u32, last_failure_at: u64, now: u64) -> Gate {
        if failures >= self.lockout_after {
            return Gate::Locked;
        }
        match self.delay_after(failures) {
            None => Gate::Open,
            Some(delay) => wait(last_failure_at, delay, now),
        }
    }
}

/// Open once `delay` seconds have passed since the last failure.
fn wait(last_failure_at: u64, delay: u64, now: u64) -> Gate {
    let allowed_at = last_failure_at.saturating_add(delay);
    if now >= allowed_at {
        Gate::Open
    } else {
        Gate::Wait {
            retry_after: allowed_at - now,
        }
    }
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_the_documented_one() {
        let p = ThrottlePolicy::default();
        let expected = [
            None,
            None,
            None,
            Some(15),
            Some(30),
            Some(60),
            Some(120),
            Some(240),
            Some(480),
            Some(900),
            None,
        ];
        for (failures, delay) in expected.iter().enumerate() {
            assert_eq!(p.delay_after(failures as u32), *delay, "{failures}");
        }
        assert_eq!(p.gate(10, 0, u64::MAX), Gate::Locked);
        assert_eq!(p.gate(9, 100, 999), Gate::Wait { retry_after: 1 });
        assert_eq!(p.gate(9, 100, 1000), Gate::Open);
    }

    #[test]
    fn delays_cap_and_never_overflow() {
        let p = ThrottlePolicy::new(0, 1 << 40, u64::MAX, 100).unwrap();
        assert_eq!(p.delay_after(99), Some(u64::MAX));
        assert_eq!(
            p.gate(99, u64::MAX - 5, u64::MAX - 1),
            Gate::Wait { retry_after: 1 }
        );
    }

    #[test]
    fn invalid_policies_are_refused() {
        assert!(ThrottlePolicy::new(3, 15, 900, 101).is_err());
        assert!(ThrottlePolicy::new(3, 15, 900, 0).is_err());
        assert!(ThrottlePolicy::new(10, 15, 900, 10).is_err());
        assert!(ThrottlePolicy::new(3, 0, 900, 10).is_err());
        assert!(ThrottlePolicy::new(3, 901, 900, 10).is_err());
        assert!(ThrottlePolicy::new(99, 1, 1, 100).is_ok());
    }
}
