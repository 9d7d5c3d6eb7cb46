//! Every sentence and label twostep has for the person at the screen, in
//! one place: each [`Message`] has an id a translator keys on, its
//! arguments, and the default English; [`EVERY`] lists them all.
//!
//! A host that shows English calls [`Message::english`] (or `to_string`);
//! one that translates looks the id up in its own catalogue and fills in
//! [`Message::args`], and never matches on English text.
//!
//! ```
//! use twostep::words::{Message, EVERY};
//! let refused = Message::CodeReplayed { seconds: 12 };
//! assert_eq!(refused.id(), "code-replayed");
//! assert_eq!(refused.args(), [("seconds", 12)]);
//! assert_eq!(refused.english(), "That code was just used. Wait 12 seconds for the next one.");
//! // What a translator is given: every id with its English template.
//! let catalogue: Vec<(&str, &str)> = EVERY.iter().map(|m| (m.id(), m.english_template())).collect();
//! assert!(catalogue.contains(&("code-replayed", "That code was just used. Wait {seconds} for the next one.")));
//! ```

/// A sentence or label for the person at the screen, with its numbers.
///
/// Durations are in seconds (English says "12 seconds", "15 minutes",
/// "2 hours", rounded up so that a wait is never shorter than said).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Message {
    // Screen titles.
    /// "Signed in"
    TitleSignedIn,
    /// "Sign in again"
    TitleSignInAgain,
    /// "Multi-Factor Authentication"
    TitleEnterCode,
    /// "Company Account Verification"
    TitleVerification,
    /// "Set up Multi-Factor Authentication"
    TitleScanQr,
    /// "Enter a one-time code"
    TitleSecondCode,
    /// "Copy provided recovery code"
    TitleRecoveryCode,

    // What each screen asks.
    /// You are signed in.
    SignedIn,
    /// The session is over: sign in again.
    SignInAgain,
    /// Enter the code, or use a recovery code.
    EnterCode,
    /// Wrong codes: wait before the next.
    EnterCodeWait {
        /// Seconds until a code may be entered.
        seconds: u64,
    },
    /// Codes are locked: a recovery code, or an owner's unlock.
    CodesLocked,
    /// The company requires MFA: Verify identity.
    VerificationRequired,
    /// The company requires MFA: Verify identity, or skip it until the
    /// deadline.
    VerificationSkippable,
    /// Scan the QR code, enter its code.
    ScanQr,
    /// A second code, the next one the app shows.
    SecondCodeNow,
    /// A second code, after a wait.
    SecondCodeWait {
        /// Seconds until the app shows the next code.
        seconds: u64,
    },
    /// Record the recovery code, tick.
    RecordRecoveryCode,
    /// Record the recovery codes, tick.
    RecordRecoveryCodes,
    /// The code just used is spent: record the new one, tick.
    RecordReplacementCode,
    /// Signed in with a recovery code: set up a new phone.
    NewPhoneHint,

    // Buttons, fields and the tick.
    /// "Continue"
    ButtonContinue,
    /// "Verify identity"
    ButtonVerifyIdentity,
    /// "Activate"
    ButtonActivate,
    /// "Start again with a new QR code"
    ButtonStartAgain,
    /// "Not now"
    ButtonNotNow,
    /// "Use a recovery code"
    ButtonUseRecoveryCode,
    /// "One-time code"
    FieldCode,
    /// "Recovery code"
    FieldRecoveryCode,
    /// "I have safely recorded this number"
    TickRecorded,

    // Refusals.
    /// A one-time code that is wrong.
    CodeWrong,
    /// Not a one-time code.
    CodeMalformed,
    /// A one-time code already used: wait for the next.
    CodeReplayed {
        /// Seconds until the next code.
        seconds: u64,
    },
    /// A one-time code already used: the next one is showing.
    CodeReplayedNow,
    /// Too many wrong codes: wait.
    CodesThrottled {
        /// Seconds until a code may be entered.
        seconds: u64,
    },
    /// A recovery code that is wrong, or spent.
    RecoveryCodeWrong,
    /// Not a recovery code.
    RecoveryCodeMalformed,
    /// No setup in progress (nothing was started, or it was finished).
    NoSetup,
    /// The QR code waited too long.
    SetupExpired,
    /// Too many wrong codes for this QR code.
    SetupLocked,
    /// The QR code's code comes first.
    FirstCodeFirst,
    /// The second code comes first.
    SecondCodeFirst,
    /// The recovery code's tick comes first.
    TickFirst,
    /// Nothing waits for the tick.
    NothingToTick,
    /// Continue without the tick.
    NotTicked,
    /// MFA is not set up.
    NoFactor,
    /// MFA is already on.
    FactorExists,
    /// The session ended: sign in again.
    SessionEnded,
    /// The one-time code first.
    SecondFactorRequired,
    /// A current code, to confirm it is you.
    RecentCodeRequired,
    /// The company requires MFA: it stays on.
    RequiredByCompany,
    /// The company requires MFA: the setup cannot be put off.
    SetupRequired,
    /// No such company account.
    NoCompany,
    /// Not a member of the company account.
    NotMember,
    /// An owner stays a member.
    OwnerStaysMember,
    /// An owner's MFA is not reset by an owner.
    CannotResetOwner,
    /// The company account exists already, with other owners.
    CompanyExists,
    /// Only an owner.
    NotOwner,
    /// The owner's own MFA first.
    OwnMfaRequired,
    /// Busy: try again.
    Busy,
    /// Our side failed: nothing given away.
    OurSide,

    // Company accounts.
    /// Beside the unavailable checkbox: only owners.
    RequirementOwnersOnly,
    /// Beside the unavailable checkbox: the owner's own MFA first.
    RequirementOwnMfaFirst,
    /// Before saving: who will be asked.
    PreviewWillBeAsked {
        /// Members without MFA.
        to_enroll: u64,
        /// Members.
        total: u64,
    },
    /// After saving: who is asked.
    PreviewAreAsked {
        /// Members without MFA.
        to_enroll: u64,
        /// Members.
        total: u64,
    },
    /// Everyone uses MFA already.
    PreviewAllUseMfa {
        /// Members.
        total: u64,
    },
    /// What a sign-in needs: nothing more.
    SignInNothing,
    /// What a sign-in needs: the code.
    SignInSecondFactor,
    /// What a sign-in needs: set up MFA.
    SignInEnroll,
    /// What a sign-in needs: set up MFA within the grace period.
    SignInEnrollWithin {
        /// Seconds of the grace period left.
        seconds: u64,
    },
    /// The phone's clock runs fast.
    ClockFast {
        /// About how many seconds.
        seconds: u64,
    },
    /// The phone's clock runs slow.
    ClockSlow {
        /// About how many seconds.
        seconds: u64,
    },
}

/// Every message once (with zero for its numbers): with
/// [`Message::id`] and [`Message::english_template`], what a translator is
/// given.
pub const EVERY: &[Message] = &[
    Message::TitleSignedIn,
    Message::TitleSignInAgain,
    Message::TitleEnterCode,
    Message::TitleVerification,
    Message::TitleScanQr,
    Message::TitleSecondCode,
    Message::TitleRecoveryCode,
    Message::SignedIn,
    Message::SignInAgain,
    Message::EnterCode,
    Message::EnterCodeWait { seconds: 0 },
    Message::CodesLocked,
    Message::VerificationRequired,
    Message::VerificationSkippable,
    Message::ScanQr,
    Message::SecondCodeNow,
    Message::SecondCodeWait { seconds: 0 },
    Message::RecordRecoveryCode,
    Message::RecordRecoveryCodes,
    Message::RecordReplacementCode,
    Message::NewPhoneHint,
    Message::ButtonContinue,
    Message::ButtonVerifyIdentity,
    Message::ButtonActivate,
    Message::ButtonStartAgain,
    Message::ButtonNotNow,
    Message::ButtonUseRecoveryCode,
    Message::FieldCode,
    Message::FieldRecoveryCode,
    Message::TickRecorded,
    Message::CodeWrong,
    Message::CodeMalformed,
    Message::CodeReplayed { seconds: 0 },
    Message::CodeReplayedNow,
    Message::CodesThrottled { seconds: 0 },
    Message::RecoveryCodeWrong,
    Message::RecoveryCodeMalformed,
    Message::NoSetup,
    Message::SetupExpired,
    Message::SetupLocked,
    Message::FirstCodeFirst,
    Message::SecondCodeFirst,
    Message::TickFirst,
    Message::NothingToTick,
    Message::NotTicked,
    Message::NoFactor,
    Message::FactorExists,
    Message::SessionEnded,
    Message::SecondFactorRequired,
    Message::RecentCodeRequired,
    Message::RequiredByCompany,
    Message::SetupRequired,
    Message::NoCompany,
    Message::NotMember,
    Message::OwnerStaysMember,
    Message::CannotResetOwner,
    Message::CompanyExists,
    Message::NotOwner,
    Message::OwnMfaRequired,
    Message::Busy,
    Message::OurSide,
    Message::RequirementOwnersOnly,
    Message::RequirementOwnMfaFirst,
    Message::PreviewWillBeAsked {
        to_enroll: 0,
        total: 0,
    },
    Message::PreviewAreAsked {
        to_enroll: 0,
        total: 0,
    },
    Message::PreviewAllUseMfa { total: 0 },
    Message::SignInNothing,
    Message::SignInSecondFactor,
    Message::SignInEnroll,
    Message::SignInEnrollWithin { seconds: 0 },
    Message::ClockFast { seconds: 0 },
    Message::ClockSlow { seconds: 0 },
];

impl Message {
    /// The id a translator keys on, and the default English with `{name}`
    /// where an argument goes: the catalogue, one line per message.
    fn entry(&self) -> (&'static str, &'static str) {
        use Message as M;
        match self {
            M::TitleSignedIn => ("title-signed-in", "Signed in"),
            M::TitleSignInAgain => ("title-sign-in-again", "Sign in again"),
            M::TitleEnterCode => ("title-enter-code", "Multi-Factor Authentication"),
            M::TitleVerification => ("title-verification", "Company Account Verification"),
            M::TitleScanQr => ("title-scan-qr", "Set up Multi-Factor Authentication"),
            M::TitleSecondCode => ("title-second-code", "Enter a one-time code"),
            M::TitleRecoveryCode => ("title-recovery-code", "Copy provided recovery code"),
            M::SignedIn => ("signed-in", "You are signed in."),
            M::SignInAgain => ("sign-in-again", "Your account's Multi-Factor Authentication changed since you signed in. Sign in again to continue."),
            M::EnterCode => ("enter-code", "Enter the one-time code from your authenticator app, or use a recovery code."),
            M::EnterCodeWait { .. } => ("enter-code-wait", "Too many wrong codes. You can enter a code again in {seconds}."),
            M::CodesLocked => ("codes-locked", "Too many wrong codes: one-time codes are locked for this account. Use a recovery code, or ask an owner of the company account to unlock it."),
            M::VerificationRequired => ("verification-required", "Your company account requires Multi-Factor Authentication. Select Verify identity to set it up before you continue."),
            M::VerificationSkippable => ("verification-skippable", "Your company account requires Multi-Factor Authentication. Select Verify identity to set it up now; you can skip it until the deadline."),
            M::ScanQr => ("scan-qr", "Scan this QR code with your authenticator app, then enter the one-time code it shows and select Continue."),
            M::SecondCodeNow => ("second-code-now", "Enter a one-time code from the authenticator app: the next code it shows, not the one you just entered."),
            M::SecondCodeWait { .. } => ("second-code-wait", "Enter a one-time code from the authenticator app: wait {seconds} for the next code, not the one you just entered."),
            M::RecordRecoveryCode => ("record-recovery-code", "Copy this recovery code and keep it safe: it signs you in if you lose your phone. Tick \u{201c}I have safely recorded this number\u{201d} to continue."),
            M::RecordRecoveryCodes => ("record-recovery-codes", "Copy these recovery codes and keep them safe: each signs you in once if you lose your phone. Tick \u{201c}I have safely recorded this number\u{201d} to continue."),
            M::RecordReplacementCode => ("record-replacement-code", "The recovery code you just used will not work again. Here is its replacement: copy it and keep it safe, then tick \u{201c}I have safely recorded this number\u{201d} to continue."),
            M::NewPhoneHint => ("new-phone-hint", "You signed in with a recovery code. If your phone is lost, turn Multi-Factor Authentication off and on again in Account info to set up a new one, or ask an owner of the company account to reset it."),
            M::ButtonContinue => ("button-continue", "Continue"),
            M::ButtonVerifyIdentity => ("button-verify-identity", "Verify identity"),
            M::ButtonActivate => ("button-activate", "Activate"),
            M::ButtonStartAgain => ("button-start-again", "Start again with a new QR code"),
            M::ButtonNotNow => ("button-not-now", "Not now"),
            M::ButtonUseRecoveryCode => ("button-use-recovery-code", "Use a recovery code"),
            M::FieldCode => ("field-code", "One-time code"),
            M::FieldRecoveryCode => ("field-recovery-code", "Recovery code"),
            M::TickRecorded => ("tick-recorded", "I have safely recorded this number"),
            M::CodeWrong => ("code-wrong", "That code is not right. Check your app and try again."),
            M::CodeMalformed => ("code-malformed", "That is not a code. Enter the code your authenticator app shows, digits only."),
            M::CodeReplayed { .. } => ("code-replayed", "That code was just used. Wait {seconds} for the next one."),
            M::CodeReplayedNow => ("code-replayed-now", "That code was just used. Enter the next code your app shows."),
            M::CodesThrottled { .. } => ("codes-throttled", "Too many wrong codes. Try again in {seconds}."),
            M::RecoveryCodeWrong => ("recovery-code-wrong", "That recovery code does not work. Check it against the one you recorded; a recovery code works once."),
            M::RecoveryCodeMalformed => ("recovery-code-malformed", "That is not a recovery code. It has 25 letters and digits, in five groups."),
            M::NoSetup => ("no-setup", "No setup is in progress. Select Verify identity or Activate to start one."),
            M::SetupExpired => ("setup-expired", "This QR code is no longer valid. Start again to get a new one."),
            M::SetupLocked => ("setup-locked", "Too many wrong codes for this QR code. Start again to get a new one."),
            M::FirstCodeFirst => ("first-code-first", "Scan the QR code and enter the code from your app first."),
            M::SecondCodeFirst => ("second-code-first", "Enter a second one-time code from your app first."),
            M::TickFirst => ("tick-first", "Record your recovery code and tick \u{201c}I have safely recorded this number\u{201d} first."),
            M::NothingToTick => ("nothing-to-tick", "There is no recovery code waiting to be confirmed."),
            M::NotTicked => ("not-ticked", "Tick \u{201c}I have safely recorded this number\u{201d} to continue."),
            M::NoFactor => ("no-factor", "Multi-Factor Authentication is not set up for this account."),
            M::FactorExists => ("factor-exists", "Multi-Factor Authentication is already active for this account."),
            M::SessionEnded => ("session-ended", "Your account's Multi-Factor Authentication changed since you signed in. Sign in again to continue."),
            M::SecondFactorRequired => ("second-factor-required", "Enter the one-time code from your authenticator app first."),
            M::RecentCodeRequired => ("recent-code-required", "To confirm it's you, enter the one-time code your authenticator app shows now."),
            M::RequiredByCompany => ("required-by-company", "Your company account requires Multi-Factor Authentication, so it stays on."),
            M::SetupRequired => ("setup-required", "Your company account requires Multi-Factor Authentication: finish setting it up to continue."),
            M::NoCompany => ("no-company", "This company account does not exist."),
            M::NotMember => ("not-member", "This user is not a member of the company account."),
            M::OwnerStaysMember => ("owner-stays-member", "An owner stays a member of the company account."),
            M::CannotResetOwner => ("cannot-reset-owner", "The MFA of an owner of a company account cannot be reset by an owner."),
            M::CompanyExists => ("company-exists", "A company account with this name exists already."),
            M::NotOwner => ("not-owner", "Only an owner of the company account can do this."),
            M::OwnMfaRequired => ("own-mfa-required", "Activate Multi-Factor Authentication for your own account first."),
            M::Busy => ("busy", "Your account is busy. Please try again in a moment."),
            M::OurSide => ("our-side", "Something went wrong on our side. Please try again later."),
            M::RequirementOwnersOnly => ("requirement-owners-only", "Only an owner of the company account can change this setting."),
            M::RequirementOwnMfaFirst => ("requirement-own-mfa-first", "Activate Multi-Factor Authentication for your own account first: then you can require it of every user."),
            M::PreviewWillBeAsked { .. } => ("preview-will-be-asked", "{to_enroll} of {total} users will be asked to set up MFA at their next sign-in."),
            M::PreviewAreAsked { .. } => ("preview-are-asked", "{to_enroll} of {total} users are asked to set up MFA at their next sign-in."),
            M::PreviewAllUseMfa { .. } => ("preview-all-use-mfa", "All {total} users already use MFA: nobody will be asked to set it up."),
            M::SignInNothing => ("sign-in-nothing", "You are signed in."),
            M::SignInSecondFactor => ("sign-in-second-factor", "Enter the one-time code from your authenticator app."),
            M::SignInEnroll => ("sign-in-enroll", "Your company account requires Multi-Factor Authentication: set it up to continue."),
            M::SignInEnrollWithin { .. } => ("sign-in-enroll-within", "Your company account requires Multi-Factor Authentication: set it up within {seconds}."),
            M::ClockFast { .. } => ("clock-fast", "Your authenticator app's clock seems to be about {seconds} fast. Codes still work for now, but setting the phone's time to update automatically avoids failed sign-ins."),
            M::ClockSlow { .. } => ("clock-slow", "Your authenticator app's clock seems to be about {seconds} slow. Codes still work for now, but setting the phone's time to update automatically avoids failed sign-ins."),
        }
    }

    /// The id a translator keys on.
    pub fn id(&self) -> &'static str {
        self.entry().0
    }

    /// The numbers the sentence carries, by name (durations in seconds).
    pub fn args(&self) -> Vec<(&'static str, u64)> {
        use Message as M;
        match *self {
            M::EnterCodeWait { seconds }
            | M::SecondCodeWait { seconds }
            | M::CodeReplayed { seconds }
            | M::CodesThrottled { seconds }
            | M::SignInEnrollWithin { seconds }
            | M::ClockFast { seconds }
            | M::ClockSlow { seconds } => vec![("seconds", seconds)],
            M::PreviewWillBeAsked { to_enroll, total }
            | M::PreviewAreAsked { to_enroll, total } => {
                vec![("to_enroll", to_enroll), ("total", total)]
            }
            M::PreviewAllUseMfa { total } => vec![("total", total)],
            _ => Vec::new(),
        }
    }

    /// The default English, `{name}` where an argument goes.
    pub fn english_template(&self) -> &'static str {
        self.entry().1
    }

    /// The default English with the numbers filled in.
    pub fn english(&self) -> String {
        let mut text = self.english_template().to_owned();
        for (name, value) in self.args() {
            let value = match name {
                "seconds" => seconds_for_people(value),
                _ => value.to_string(),
            };
            text = text.replace(&format!("{{{name}}}"), &value);
        }
        // "1 of 1 users", "All 1 users": one user is a user.
        if matches!(
            self.args().iter().find(|(n, _)| *n == "total"),
            Some((_, 1))
        ) {
            text = text.replace("users", "user");
        }
        text
    }
}

/// The English.
impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english())
    }
}

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

    #[test]
    fn every_message_has_one_id_and_its_arguments_in_its_english() {
        let ids: std::collections::HashSet<&str> = EVERY.iter().map(Message::id).collect();
        assert_eq!(ids.len(), EVERY.len(), "an id twice, or a message twice");
        for message in EVERY {
            let (id, english) = (message.id(), message.english_template());
            assert!(!english.is_empty(), "{id}");
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
            for (name, _) in message.args() {
                assert!(english.contains(&format!("{{{name}}}")), "{id}: {name}");
            }
            assert!(!message.english().contains('{'), "{id}");
        }
        assert_eq!(
            Message::PreviewWillBeAsked {
                to_enroll: 2,
                total: 3
            }
            .english(),
            "2 of 3 users will be asked to set up MFA at their next sign-in."
        );
        assert_eq!(
            Message::CodesThrottled { seconds: 900 }.english(),
            "Too many wrong codes. Try again in 15 minutes."
        );
    }
}
