//! The service's error: what a host matches on, and the default English
//! sentence for the person at the screen.

use crate::account::Refusal;
use crate::keys::record_codec::RecordError;
use crate::keys::SealError;
use crate::material::enrollment_builder::EnrollmentError;
use crate::rules::EnrollmentStage;
use crate::words::Message;

/// Why the service did not accept, or could not answer. `E` is the store's
/// own error type.
///
/// Every variant but [`Store`](MfaError::Store), [`Contended`](MfaError::Contended)
/// and [`CorruptRecord`](MfaError::CorruptRecord) is an answer about the
/// person's input; those three are the infrastructure failing, and are never
/// an acceptance. `Display` is for developers and logs;
/// [`for_person`](MfaError::for_person) is the sentence for the screen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError<E> {
    /// The user has no active factor.
    #[error("no active MFA factor")]
    NoFactor,
    /// The user already has a factor; remove it before binding another.
    #[error("an MFA factor is already active")]
    FactorExists,
    /// The input is not a code of the right length. Counted as a failure.
    #[error("malformed code")]
    Malformed,
    /// The code is wrong. Counted as a failure.
    #[error("code mismatch")]
    Mismatch,
    /// The code is right but already used (RFC 6238 §5.2), or, for an
    /// enrollment's second code, not later than the first. Not counted: a
    /// double submission must not lock anyone out.
    #[error("code already used; next code in {next_code_in} s")]
    Replayed {
        /// Seconds until the app shows a code that can be accepted.
        next_code_in: u64,
    },
    /// Too many recent failures: try again in `retry_after` seconds. No code
    /// was checked.
    #[error("too many failed attempts; retry in {retry_after} s")]
    Throttled {
        /// Seconds until the next check is allowed.
        retry_after: u64,
    },
    /// Locked after too many failures, until an owner unlocks the factor or
    /// a recovery code is used. No one-time code was checked.
    #[error("locked after too many failed attempts")]
    Locked,
    /// The server's clock is before the factor's T0.
    #[error("the server clock is before the factor's T0")]
    BeforeT0,
    /// The keyring cannot open what a record holds: the record was written
    /// under a key id the keyring does not have
    /// ([`SealError::UnknownKey`]), or under other key material than the
    /// keyring holds for that id ([`SealError::WrongKey`]): an operator's
    /// mistake, fixed by giving the service the right keys. Also when no
    /// randomness could be drawn to seal ([`SealError::Entropy`]). Nothing
    /// was accepted. (A record altered, or copied to another user, is
    /// [`CorruptRecord`](MfaError::CorruptRecord) instead.)
    #[error("sealed secret: {0}")]
    Seal(#[source] SealError),
    /// No enrollment is in progress (none was begun, or it was completed,
    /// replaced or voided).
    #[error("no enrollment in progress")]
    NoEnrollment,
    /// The QR code waited longer than its time to live: begin again.
    #[error("the enrollment expired; begin again")]
    EnrollmentExpired,
    /// Too many wrong codes for this enrollment: it is void. Begin again
    /// (a new secret): enrolling itself is never locked.
    #[error("too many wrong enrollment codes; begin again")]
    EnrollmentLocked,
    /// The enrollment is at another step: `open` is the step it waits for
    /// (a later step was asked for while an earlier one is open, or an
    /// earlier one again). Nothing changed; show the open step's screen.
    #[error("enrollment step out of order: {open:?} is open")]
    OutOfOrder {
        /// The step the enrollment waits for.
        open: EnrollmentStage,
    },
    /// Nothing waits for "I have safely recorded this number".
    #[error("nothing to acknowledge")]
    NothingToAcknowledge,
    /// The enrollment's issuer or account name cannot go into a URI.
    #[error(transparent)]
    Enrollment(EnrollmentError),
    /// The factor's secret is shorter than 128 bits (RFC 4226 §4 R6): it
    /// can be imported and inspected, never bound.
    #[error("a {bits}-bit secret is too short for a factor (128 at least)")]
    WeakSecret {
        /// The secret's length in bits.
        bits: usize,
    },
    /// No company account with that id.
    #[error("no such company account")]
    NoCompany,
    /// A company id must be 1 to 255 bytes long.
    #[error("a company id has 1 to 255 bytes")]
    InvalidCompany,
    /// The user is not a member of that company account (the host adds
    /// members with [`Mfa::add_member`](crate::Mfa::add_member)).
    #[error("not a member of the company account")]
    NotMember,
    /// The user is a member of as many company accounts as a record holds.
    #[error("member of too many company accounts")]
    TooManyCompanies,
    /// Owners remain members of their company account.
    #[error("an owner stays a member of the company account")]
    OwnerStaysMember,
    /// An owner's MFA is never reset by an owner, their own included: an
    /// owner keeps their factor, or signs in with a recovery code.
    #[error("an owner's MFA cannot be reset")]
    CannotResetOwner,
    /// Owners must be 1 to 255 user ids, each 1 to 255 bytes long.
    #[error("a company needs 1 to 255 owners with ids of 1 to 255 bytes")]
    InvalidOwners,
    /// A company account with that id exists already.
    #[error("the company account exists already")]
    CompanyExists,
    /// Only an owner of the company account may do this.
    #[error("only an owner of the company account may do this")]
    NotOwner,
    /// Activate your own MFA first: only an owner whose own MFA is active
    /// may change the company's MFA requirement.
    #[error("activate your own MFA first")]
    OwnMfaRequired,
    /// The company requires MFA, so it cannot be removed.
    #[error("the company account requires MFA")]
    RequiredByCompany,
    /// The session does not count for this user any more: it was made
    /// before the user's MFA changed (an owner's reset, a removal, a new
    /// factor), or it is another user's, or it was altered. End it and ask
    /// for the password again ([`Screen::SignInAgain`](crate::Screen::SignInAgain)).
    #[error("the session ended when the user's MFA changed")]
    SessionEnded,
    /// This needs a session that passed the second factor, and this one
    /// passed only the password.
    #[error("the second factor has not been passed in this session")]
    SecondFactorRequired,
    /// This needs a second factor passed within the sudo window
    /// ([`Config::with_sudo_window`](crate::Config::with_sudo_window)), and this
    /// session passed it longer ago: ask for a current code,
    /// [`verify`](crate::Mfa::verify) it, and try again.
    #[error("the second factor was passed too long ago for this")]
    RecentSecondFactorRequired,
    /// Continue was pressed on the recovery code screen without ticking "I
    /// have safely recorded this number" ([`AsyncMfa::step`](crate::AsyncMfa::step)).
    #[error("continue without the tick")]
    NotTicked,
    /// Other requests for the same user kept changing the record; nothing was
    /// accepted. Retrying later is safe.
    #[error("too much contention on the user's record")]
    Contended,
    /// The stored record could not be read. Nothing was accepted.
    #[error("stored MFA record is unreadable: {0}")]
    CorruptRecord(#[source] RecordError),
    /// The store failed. Nothing was accepted (if a write happened, the code
    /// is now a replay).
    #[error("store error: {0}")]
    Store(#[source] E),
}

impl<E> MfaError<E> {
    /// What to tell the person at the screen ([`Message`]: an id, its
    /// numbers, the default English). Infrastructure failures get a message
    /// that gives nothing away. For a refusal of a recovery code, or of a
    /// step of the screens, [`AsyncMfa::step`](crate::AsyncMfa::step) picks
    /// words that fit what was typed.
    pub fn message(&self) -> Message {
        match self {
            MfaError::Replayed { next_code_in: 0 } => Message::CodeReplayedNow,
            MfaError::Replayed { next_code_in } => Message::CodeReplayed {
                seconds: *next_code_in,
            },
            MfaError::Throttled { retry_after } => Message::CodesThrottled {
                seconds: *retry_after,
            },
            MfaError::NoFactor => Message::NoFactor,
            MfaError::FactorExists => Message::FactorExists,
            MfaError::Malformed => Message::CodeMalformed,
            MfaError::Mismatch => Message::CodeWrong,
            MfaError::Locked => Message::CodesLocked,
            MfaError::NoEnrollment => Message::NoSetup,
            MfaError::EnrollmentExpired => Message::SetupExpired,
            MfaError::EnrollmentLocked => Message::SetupLocked,
            MfaError::OutOfOrder {
                open: EnrollmentStage::FirstCode,
            } => Message::FirstCodeFirst,
            MfaError::OutOfOrder {
                open: EnrollmentStage::SecondCode,
            } => Message::SecondCodeFirst,
            MfaError::OutOfOrder {
                open: EnrollmentStage::RecoveryCode,
            } => Message::TickFirst,
            MfaError::NothingToAcknowledge => Message::NothingToTick,
            MfaError::NoCompany => Message::NoCompany,
            MfaError::NotMember => Message::NotMember,
            MfaError::OwnerStaysMember => Message::OwnerStaysMember,
            MfaError::CannotResetOwner => Message::CannotResetOwner,
            MfaError::CompanyExists => Message::CompanyExists,
            MfaError::NotOwner => Message::NotOwner,
            MfaError::OwnMfaRequired => Message::OwnMfaRequired,
            MfaError::RequiredByCompany => Message::RequiredByCompany,
            MfaError::SessionEnded => Message::SessionEnded,
            MfaError::SecondFactorRequired => Message::SecondFactorRequired,
            MfaError::RecentSecondFactorRequired => Message::RecentCodeRequired,
            MfaError::NotTicked => Message::NotTicked,
            MfaError::Contended => Message::Busy,
            MfaError::BeforeT0
            | MfaError::Seal(_)
            | MfaError::Enrollment(_)
            | MfaError::InvalidOwners
            | MfaError::InvalidCompany
            | MfaError::TooManyCompanies
            | MfaError::WeakSecret { .. }
            | MfaError::CorruptRecord(_)
            | MfaError::Store(_) => Message::OurSide,
        }
    }

    /// [`message`](Self::message) in English, with its numbers filled in
    /// ("That code was just used. Wait 12 seconds for the next one.").
    pub fn for_person(&self) -> String {
        self.message().english()
    }

    /// Whether this is the infrastructure failing (the store, the keyring,
    /// a record that does not open, contention, bad configuration) rather
    /// than an answer about what the person typed or did: a host logs
    /// these and shows a page that gives nothing away.
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self,
            MfaError::Store(_)
                | MfaError::CorruptRecord(_)
                | MfaError::Seal(_)
                | MfaError::Enrollment(_)
                | MfaError::BeforeT0
                | MfaError::InvalidOwners
                | MfaError::InvalidCompany
                | MfaError::TooManyCompanies
                | MfaError::WeakSecret { .. }
        )
    }
}

impl<E> From<Refusal> for MfaError<E> {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoFactor => MfaError::NoFactor,
            Refusal::FactorExists => MfaError::FactorExists,
            Refusal::Malformed => MfaError::Malformed,
            Refusal::Mismatch => MfaError::Mismatch,
            Refusal::Replayed { next_code_in } => MfaError::Replayed { next_code_in },
            Refusal::Throttled { retry_after } => MfaError::Throttled { retry_after },
            Refusal::Locked => MfaError::Locked,
            Refusal::BeforeT0 => MfaError::BeforeT0,
            Refusal::Seal(error) => MfaError::Seal(error),
            Refusal::Label(error) => MfaError::Enrollment(error),
            Refusal::NoEnrollment => MfaError::NoEnrollment,
            Refusal::EnrollmentExpired => MfaError::EnrollmentExpired,
            Refusal::EnrollmentLocked => MfaError::EnrollmentLocked,
            Refusal::OutOfOrder { open } => MfaError::OutOfOrder { open },
            Refusal::NothingToAcknowledge => MfaError::NothingToAcknowledge,
            Refusal::NotMember => MfaError::NotMember,
            Refusal::TooManyCompanies => MfaError::TooManyCompanies,
            Refusal::WeakSecret { bits } => MfaError::WeakSecret { bits },
            Refusal::SessionEnded => MfaError::SessionEnded,
            Refusal::SecondFactorRequired => MfaError::SecondFactorRequired,
            Refusal::RecentSecondFactorRequired => MfaError::RecentSecondFactorRequired,
            Refusal::NotTicked => MfaError::NotTicked,
            Refusal::RequiredByCompany => MfaError::RequiredByCompany,
        }
    }
}
