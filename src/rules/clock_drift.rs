//! How far a person's authenticator clock is from the server's, learnt from
//! the steps their accepted codes matched. Pure.
//!
//! A code of step `s` accepted at server time `now` was on the phone's
//! screen while the phone's clock read `t0 + s·period … t0 + (s+1)·period − 1`,
//! so the phone's clock minus the server's lay in that interval minus `now`.
//! Intersecting the intervals of successive codes narrows the estimate to a
//! few seconds (the person's typing delay makes it read a little slow).
//! Nobody is told anything until codes keep matching a neighbouring step:
//! two accepted codes in a row off the current step, on the same side.

use crate::codes::TotpParams;
use crate::words::Message;

/// Consecutive accepted codes off the current step, on one side, before the
/// drift is reported.
const STREAK_TO_REPORT: i8 = 2;

/// A person's authenticator clock, as it seems from their recent codes: how
/// many seconds it is ahead of the server's (positive: fast) or behind
/// (negative: slow). Reported by [`MfaStatus::clock_drift`](crate::screen::MfaStatus)
/// and [`Screen::EnterCode`](crate::Screen::EnterCode) once the person's codes
/// keep matching a neighbouring time step, so the screen can say so before
/// the drift outgrows the window.
///
/// ```
/// # use twostep::screen::ClockDrift;
/// # fn show(drift: ClockDrift) {
/// println!("{}", drift.for_person());
/// // "Your authenticator app's clock seems to be about 40 seconds fast. …"
/// # }
/// ```
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClockDrift {
    seconds: i64,
}

impl ClockDrift {
    /// Seconds the phone's clock is ahead of the server's (negative: behind),
    /// rounded to 5 s.
    pub fn seconds(self) -> i64 {
        self.seconds
    }

    /// Whether the phone's clock is ahead of the server's.
    pub fn is_fast(self) -> bool {
        self.seconds > 0
    }

    /// What to tell the person at the screen.
    pub fn message(self) -> Message {
        let seconds = self.seconds.unsigned_abs();
        if self.is_fast() {
            Message::ClockFast { seconds }
        } else {
            Message::ClockSlow { seconds }
        }
    }

    /// [`message`](Self::message) in English.
    pub fn for_person(self) -> String {
        self.message().english()
    }
}

/// What the record keeps to estimate the drift: the interval the offset
/// (phone minus server, in seconds) must lie in, and the streak of codes
/// off the current step (positive: ahead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClockEstimate {
    pub(crate) low: i32,
    pub(crate) high: i32,
    /// Codes whose intervals intersect in `low..=high` (0: no estimate).
    pub(crate) samples: u8,
    pub(crate) streak: i8,
}

impl ClockEstimate {
    /// Learns from an accepted code of `step`, `drift` steps from the current
    /// one, at server time `now`.
    pub(crate) fn observe(&mut self, params: &TotpParams, step: u64, drift: i64, now: u64) {
        let period = i128::from(params.period().seconds());
        let shown_from = i128::from(params.t0()) + i128::from(step) * period - i128::from(now);
        let (low, high) = (clamp(shown_from), clamp(shown_from + period - 1));
        let (both_low, both_high) = (low.max(self.low), high.min(self.high));
        if self.samples == 0 || both_low > both_high {
            (self.low, self.high, self.samples) = (low, high, 1);
        } else {
            (self.low, self.high) = (both_low, both_high);
            self.samples = self.samples.saturating_add(1);
        }
        let side = drift.signum() as i8;
        self.streak = if side != 0 && self.streak.signum() == side {
            self.streak.saturating_add(side)
        } else {
            side
        };
    }

    /// The drift to tell the person about, if their codes keep matching a
    /// neighbouring step and the estimate points the same way.
    pub(crate) fn drift(&self) -> Option<ClockDrift> {
        if self.samples == 0 || self.streak.abs() < STREAK_TO_REPORT {
            return None;
        }
        let middle = (i64::from(self.low) + i64::from(self.high)) / 2;
        let rounded = (middle + 2 * middle.signum()) / 5 * 5;
        (rounded != 0 && rounded.signum() == i64::from(self.streak.signum()))
            .then_some(ClockDrift { seconds: rounded })
    }
}

fn clamp(seconds: i128) -> i32 {
    i32::try_from(seconds).unwrap_or(if seconds < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 30;

    /// A phone `offset` seconds off, read `delay` seconds before the server
    /// checks at `now`: the step it showed, and that step's drift.
    fn code(offset: i64, delay: u64, now: u64) -> (u64, i64) {
        let phone = (now - delay).checked_add_signed(offset).unwrap();
        let step = phone / P;
        (step, step as i64 - (now / P) as i64)
    }

    fn learn(offset: i64, times: &[(u64, u64)]) -> ClockEstimate {
        let params = TotpParams::default();
        let mut estimate = ClockEstimate::default();
        for &(now, delay) in times {
            let (step, drift) = code(offset, delay, now);
            estimate.observe(&params, step, drift, now);
        }
        estimate
    }

    #[test]
    fn a_phone_forty_seconds_fast_is_reported_as_about_that() {
        // Codes typed at different points of the server's steps.
        let times = [(1_000_000_007, 3), (1_000_003_619, 4), (1_000_090_026, 2)];
        let estimate = learn(40, &times);
        let drift = estimate.drift().unwrap();
        assert!(drift.is_fast());
        assert!(
            (30..=40).contains(&drift.seconds()),
            "{drift:?} from {estimate:?}"
        );
        assert!(drift.for_person().contains("fast"));
    }

    #[test]
    fn a_phone_fifty_seconds_slow_is_reported_slow() {
        let times = [(1_000_000_012, 5), (1_000_000_951, 3), (1_000_007_233, 6)];
        let drift = learn(-50, &times).drift().unwrap();
        assert!(!drift.is_fast());
        assert!((-60..=-45).contains(&drift.seconds()), "{drift:?}");
    }

    #[test]
    fn an_accurate_phone_is_never_reported() {
        let times: Vec<(u64, u64)> = (0..20)
            .map(|i| (1_000_000_000 + i * 997, 1 + i % 9))
            .collect();
        assert_eq!(learn(0, &times).drift(), None);
    }

    #[test]
    fn one_neighbouring_code_is_not_enough_and_a_current_one_ends_the_streak() {
        let params = TotpParams::default();
        let mut estimate = ClockEstimate::default();
        estimate.observe(&params, 1_000, 1, 999 * P + 10);
        assert_eq!(estimate.drift(), None);
        estimate.observe(&params, 1_001, 0, 1_001 * P + 10);
        estimate.observe(&params, 1_003, 1, 1_002 * P + 10);
        assert_eq!(estimate.drift(), None, "{estimate:?}");
    }

    #[test]
    fn a_clock_that_was_corrected_starts_a_new_estimate() {
        let params = TotpParams::default();
        let mut estimate = learn(40, &[(1_000_000_007, 3), (1_000_003_619, 4)]);
        assert!(estimate.drift().is_some());
        // Set right: the next interval does not meet the old one.
        let now = 1_000_100_015;
        estimate.observe(&params, now / P, 0, now);
        assert_eq!(estimate.samples, 1);
        assert_eq!(estimate.drift(), None);
    }
}
