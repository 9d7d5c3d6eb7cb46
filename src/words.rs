//! Numbers in the default English sentences for people (`for_person`).

/// "1 second", "45 seconds", "2 minutes", "3 hours": whole units, rounded up,
/// so a wait is never shorter than said.
pub(crate) fn seconds_for_people(seconds: u64) -> String {
    let (count, unit) = match seconds {
        0..=119 => (seconds, "second"),
        120..=7_199 => (seconds.div_ceil(60), "minute"),
        _ => (seconds.div_ceil(3_600), "hour"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_rounding() {
        assert_eq!(seconds_for_people(1), "1 second");
        assert_eq!(seconds_for_people(12), "12 seconds");
        assert_eq!(seconds_for_people(119), "119 seconds");
        assert_eq!(seconds_for_people(121), "3 minutes");
        assert_eq!(seconds_for_people(900), "15 minutes");
        assert_eq!(seconds_for_people(7_200), "2 hours");
    }
}
