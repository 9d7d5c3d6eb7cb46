//! Every operation of the service, once: documented for [`Mfa`], generated
//! for both drivers, each a call of the same `Core` function.

use crate::account::{Acknowledged, Confirmed, EnrollmentCheck, Screen};
use crate::enrollment::{Enrollment, EnrollmentBuilder};
use crate::otp::Verified;
use crate::policy::{CompanyPolicy, EnforcementPreview, Requirement, SignInRequirement};
use crate::recovery::RecoveryCode;
use crate::service::core::{MfaStatus, ResealReport};
use crate::service::step::{Action, Step};
use crate::service::MfaError;
use crate::session::MfaSession;
use crate::store::{AsyncStore, Store};
use crate::{Bound, RecoveryUsed};

use super::{block_on, AsyncMfa, Blocking, Mfa};

/// Each operation once: the sync driver's method with its documentation,
/// and the async driver's, both calling the same `Core` function.
macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty;
    )*) => {
        impl<S: Store> Mfa<S> {
            $(
                $(#[$doc])*
                pub fn $name(&self, $($arg: $ty),*) -> Result<$out, MfaError<S::Error>> {
                    block_on(self.core.$name(&Blocking(&*self.store), $($arg),*))
                }
            )*
        }

        impl<S: AsyncStore> AsyncMfa<S> {
            $(
                #[doc = concat!(
                    "*Async: [`Mfa::", stringify!($name), "`] as an `async fn`, with the same ",
                    "rules, answers and errors (the same code runs). Examples below that call ",
                    "`Mfa` read the same here with `.await` after each call.*"
                )]
                ///
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, MfaError<S::Error>> {
                    self.core.$name(&*self.store, $($arg),*).await
                }
            )*
        }
    };
}

operations! {
    /// Once the password is right: twostep's part of the new session, to
    /// keep in the host's session and hand back with every call for this
    /// person ([`MfaSession`]). It counts until the user's MFA changes.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if no randomness can be drawn, or an
    /// infrastructure error.
    fn start_session(user: &str) -> MfaSession;

    /// Checks what the person typed in `session` against the user's factor
    /// and, if it is accepted, saves its step so that it can never be
    /// accepted again; then `session` has passed the second factor (keep
    /// the changed value, and renew the session's id).
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed),
    /// [`Replayed`](MfaError::Replayed), [`Throttled`](MfaError::Throttled),
    /// [`Locked`](MfaError::Locked) and [`NoFactor`](MfaError::NoFactor) are
    /// answers; [`SessionEnded`](MfaError::SessionEnded) for a session from
    /// before the user's MFA changed; [`Store`](MfaError::Store),
    /// [`Contended`](MfaError::Contended) and
    /// [`CorruptRecord`](MfaError::CorruptRecord) mean nothing was accepted.
    fn verify(user: &str, session: &mut MfaSession, input: &str) -> Verified;

    /// Signs in with a recovery code instead of a one-time code, spending it
    /// once its record is saved (16 requests racing with one code: one
    /// spend); then `session` has passed the second factor. Attempts are
    /// never throttled (a code carries 125 bits) and never count against
    /// the one-time codes; a success ends a lockout. In single mode, show
    /// [`RecoveryUsed::new_code`] and then the tick,
    /// [`acknowledge_recovery`](Mfa::acknowledge_recovery); until the tick
    /// the replacement is kept to be shown again, and for
    /// [`with_recovery_retry`](Mfa::with_recovery_retry) the used code
    /// signs in once more in this same session if the answer was lost
    /// ([`RecoveryUsed::retried`]).
    ///
    /// # Errors
    /// [`MfaError::Mismatch`] (also for a spent code, or a used code typed
    /// in another session), [`Malformed`](MfaError::Malformed),
    /// [`NoFactor`](MfaError::NoFactor), [`SessionEnded`](MfaError::SessionEnded),
    /// [`Seal`](MfaError::Seal) if the codes were hashed under a key no
    /// longer in the keyring, or an infrastructure error.
    fn use_recovery_code(user: &str, session: &mut MfaSession, input: &str) -> RecoveryUsed;

    /// Replaces all the user's recovery codes with new ones, for a session
    /// that passed the second factor within the sudo window
    /// ([`with_sudo_window`](Mfa::with_sudo_window); OWASP: re-authenticate
    /// before changing authentication details). Old codes stop working at
    /// once; the new ones are kept to be shown again until
    /// [`acknowledge_recovery`](Mfa::acknowledge_recovery).
    ///
    /// # Errors
    /// [`MfaError::RecentSecondFactorRequired`] (pass a code with
    /// [`verify`](Mfa::verify), then again),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired),
    /// [`SessionEnded`](MfaError::SessionEnded),
    /// [`NoFactor`](MfaError::NoFactor), or an infrastructure error.
    fn regenerate_recovery_codes(user: &str, session: &MfaSession) -> Vec<RecoveryCode>;

    /// The user's MFA state now.
    ///
    /// # Errors
    /// Only infrastructure errors.
    fn status(user: &str) -> MfaStatus;

    /// The host removes the user's factor in its own name (an
    /// administrator's decision; audited with [`Actor::Host`](crate::Actor::Host)). It does not
    /// ask the user's companies: people use
    /// [`remove_own_factor`](Mfa::remove_own_factor), owners
    /// [`reset_user_mfa`](Mfa::reset_user_mfa).
    ///
    /// # Errors
    /// [`MfaError::NoFactor`] if there is none, or an infrastructure error.
    fn remove_factor(user: &str) -> ();

    /// The host clears the user's failure count in its own name, ending a
    /// lockout (audited with [`Actor::Host`](crate::Actor::Host)). Owners
    /// use [`unlock_member`](Mfa::unlock_member).
    ///
    /// # Errors
    /// Only infrastructure errors.
    fn unlock(user: &str) -> ();

    /// Reseals what the user's record keeps sealed under the keyring's
    /// current key, if it is sealed under an older one; `Ok(true)` if it was.
    /// Checks do this on their own after a success; call this for every user
    /// to retire an old key eagerly.
    ///
    /// # Errors
    /// [`MfaError::Seal`] if something does not open, or an infrastructure error.
    fn reseal(user: &str) -> bool;

    /// Tags the company's record under the keyring's current key, if it is
    /// tagged under an older one (or, read as legacy, not at all); `Ok(true)`
    /// if it was. Every change to the company does this on its own.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`Seal`](MfaError::Seal) if its key is not
    /// in the keyring, or an infrastructure error.
    fn reseal_company(company: &str) -> bool;

    /// "Multi-Factor Authentication → Activate" (an owner) or "Company
    /// Account Verification → Verify identity" (a user): draws a new secret,
    /// stores it sealed as the user's enrollment with its names and `check`,
    /// and returns the [`Enrollment`] whose QR code, URI and key the product
    /// shows. Nothing is active yet.
    ///
    /// Always a fresh start: an earlier enrollment at any step, its wrong
    /// codes and its recovery codes are gone (a "Start again" button calls
    /// this too). To show the *same* QR code again after a reload or a
    /// wrong code, use [`current_screen`](Mfa::current_screen). The QR code
    /// waits [`with_enrollment_ttl`](Mfa::with_enrollment_ttl) for its first
    /// code.
    ///
    /// ```
    /// # #[cfg(feature = "getrandom")] {
    /// use twostep::{Confirmed, Enrollment, EnrollmentCheck, Mfa};
    /// let mfa = Mfa::in_memory()?;
    /// let mut session = mfa.start_session("olivia")?; // after the password
    /// // The owner's own "Activate": one code, as the help page asks.
    /// let enrollment = mfa.begin_enrollment("olivia", &session, Enrollment::builder("Acme", "olivia@acme.test"), EnrollmentCheck::OneCode)?;
    /// # let typed = enrollment.totp().generate(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())?.expose().to_string();
    /// match mfa.confirm_enrollment("olivia", &session, &typed)? {
    ///     Confirmed::RecordRecoveryCode { codes } => { /* show codes, the tick, Continue */ }
    ///     other => unreachable!("{other:?}"),
    /// }
    /// mfa.acknowledge_recovery("olivia", &mut session)?; // "I have safely recorded this number" → Continue
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user has an active factor,
    /// [`MfaError::Enrollment`] for names that cannot go into a URI,
    /// [`SessionEnded`](MfaError::SessionEnded) for a session from before
    /// the user's MFA changed (after an owner's reset, the person signs in
    /// with the password again before enrolling), or an infrastructure error.
    fn begin_enrollment(user: &str, session: &MfaSession, builder: EnrollmentBuilder, check: EnrollmentCheck) -> Enrollment;

    /// The QR screen's Continue: the first code from the person's app. On
    /// success its step is saved and what comes next returned:
    /// [`Confirmed::SecondCode`](crate::Confirmed) for
    /// [`EnrollmentCheck::TwoCodes`], otherwise
    /// [`Confirmed::RecordRecoveryCode`](crate::Confirmed) with the recovery
    /// codes, which stay retrievable ([`current_screen`](Mfa::current_screen))
    /// until the tick.
    /// A wrong code leaves the step open and counts against the enrollment
    /// (not the factor): throttled, and at the lockout the enrollment is void.
    ///
    /// # Errors
    /// [`MfaError::Mismatch`], [`Malformed`](MfaError::Malformed) and
    /// [`Throttled`](MfaError::Throttled) leave the step open;
    /// [`EnrollmentLocked`](MfaError::EnrollmentLocked),
    /// [`EnrollmentExpired`](MfaError::EnrollmentExpired) and
    /// [`NoEnrollment`](MfaError::NoEnrollment) mean begin again;
    /// [`OutOfOrder`](MfaError::OutOfOrder) when another step is open;
    /// [`FactorExists`](MfaError::FactorExists); or an infrastructure error.
    fn confirm_enrollment(user: &str, session: &MfaSession, input: &str) -> Confirmed;

    /// "Enter a one-time code from the authenticator app" → Continue: the
    /// second code of [`EnrollmentCheck::TwoCodes`], which must be of a later
    /// time step than the first. The same code again is
    /// [`MfaError::Replayed`] with the seconds until the next code (not
    /// counted); a wrong one is counted and leaves the step open. On success
    /// the recovery codes are issued: [`Confirmed::RecordRecoveryCode`](crate::Confirmed).
    ///
    /// # Errors
    /// As [`confirm_enrollment`](Mfa::confirm_enrollment), and
    /// [`MfaError::Replayed`]; [`OutOfOrder`](MfaError::OutOfOrder) while the
    /// first code is still awaited or once the codes are done.
    fn confirm_second_code(user: &str, session: &MfaSession, input: &str) -> Confirmed;

    /// The person ticked "I have safely recorded this number" and pressed
    /// Continue: an enrollment whose codes checked out becomes the active
    /// factor ([`Acknowledged::FactorActivated`]: the person is in, and
    /// `session` has passed the second factor; every other session of the
    /// user is over), or replacement or regenerated recovery codes count as
    /// recorded (only in a session past the second factor: they are the
    /// factor holder's). The copy kept to show them again is removed for good.
    ///
    /// Call it only for a request with the tick: this call *is* the tick.
    ///
    /// # Errors
    /// [`MfaError::OutOfOrder`] while a code step is open,
    /// [`NothingToAcknowledge`](MfaError::NothingToAcknowledge),
    /// [`EnrollmentExpired`](MfaError::EnrollmentExpired),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired) for an
    /// active factor's codes in a password-only session,
    /// [`SessionEnded`](MfaError::SessionEnded), or an infrastructure error.
    fn acknowledge_recovery(user: &str, session: &mut MfaSession) -> Acknowledged;

    /// Which screen the person is on, from the stored state alone: what a
    /// host renders after the password, at every reload, in a second tab,
    /// after an error, or when the person comes back tomorrow. `session` is
    /// twostep's part of the person's session; `company` is the company
    /// account being reached, if any.
    ///
    /// In order: [`Screen::SignInAgain`] for a session from before the
    /// user's MFA changed (or not this user's); with an active factor, [`Screen::EnterCode`] until the
    /// second factor is passed, then any unacknowledged recovery code
    /// ([`Screen::RecordRecoveryCode`]) or [`Screen::Continue`]; without one,
    /// the open step of an enrollment in progress ([`Screen::ScanQr`] with
    /// the same QR code, [`Screen::SecondCode`], [`Screen::RecordRecoveryCode`]
    /// with the same codes), else [`Screen::CompanyAccountVerification`]
    /// when the company requires MFA, else [`Screen::Continue`].
    ///
    /// Before a factor is active, the password is the account's only
    /// protection, so an enrollment's screens (its QR code, its recovery
    /// codes before the tick) are shown to whoever has it, as enrolling at
    /// sign-in must. Codes kept for an active factor's holder are shown only
    /// after the second factor.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] if the user is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), [`Seal`](MfaError::Seal) if kept
    /// codes or secrets do not open with the keyring, or an infrastructure
    /// error.
    fn current_screen(user: &str, company: Option<&str>, session: &MfaSession) -> Screen;

    /// Binds the factor of `enrollment` to the user once `input`, the first
    /// code from the person's app, checks out: one call, no stored steps
    /// and no acknowledgement. The step of that code is saved as used, the
    /// secret sealed, and recovery codes issued: show
    /// [`Bound::recovery_codes`] now, they are never available again.
    /// Failures count against the user's throttle. Then `session` has
    /// passed the second factor; every other session of the user is over.
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user already has one,
    /// [`WeakSecret`](MfaError::WeakSecret) for a secret under 128 bits;
    /// otherwise as [`Mfa::verify`].
    fn bind(user: &str, session: &mut MfaSession, enrollment: &Enrollment, input: &str) -> Bound;

    /// Creates a company account with these owners (1 to 255 user ids of 1
    /// to 255 bytes), not requiring MFA. The owners become its members.
    ///
    /// # Errors
    /// [`MfaError::InvalidCompany`], [`InvalidOwners`](MfaError::InvalidOwners),
    /// [`CompanyExists`](MfaError::CompanyExists), or an infrastructure error.
    fn create_company(company: &str, owners: &[&str]) -> ();

    /// The host reports that `user` joined `company`: from now on the
    /// company's requirement applies to them, and its owners may reset their
    /// MFA.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], [`TooManyCompanies`](MfaError::TooManyCompanies),
    /// or an infrastructure error.
    fn add_member(company: &str, user: &str) -> ();

    /// The host reports that `user` left `company`. Owners stay members.
    ///
    /// # Errors
    /// [`MfaError::NotMember`], [`OwnerStaysMember`](MfaError::OwnerStaysMember),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn remove_member(company: &str, user: &str) -> ();

    /// The company's policy.
    ///
    /// # Errors
    /// [`MfaError::NoCompany`], or an infrastructure error.
    fn company_policy(company: &str) -> CompanyPolicy;

    /// "Force every user to use MFA before accessing the Company Account" →
    /// "Save changes" ([`Requirement::On`](crate::Requirement), or
    /// [`Off`](crate::Requirement)): only an owner, only in a session that
    /// passed the owner's second factor within the sudo window (OWASP ASVS:
    /// a fresh second factor before changing authentication settings), so
    /// right after activating their own MFA an owner saves with no new
    /// code, while an older session passes a code first. Switching on
    /// starts the grace period; saving "on" again while it is on keeps
    /// `since` and the deadline, and changes nothing. The change is saved
    /// with compare-and-swap and audited with the owner as user and actor.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`OwnMfaRequired`](MfaError::OwnMfaRequired)
    /// while the owner has no active factor,
    /// [`RecentSecondFactorRequired`](MfaError::RecentSecondFactorRequired),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired),
    /// [`SessionEnded`](MfaError::SessionEnded),
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn set_mfa_requirement(company: &str, owner: &str, session: &MfaSession, requirement: Requirement) -> CompanyPolicy;

    /// What the user must do after the password to reach `company` (or,
    /// with `None`, outside any company): nothing more, a second factor, or
    /// enrollment ("Company Account Verification"), possibly by a deadline.
    ///
    /// # Errors
    /// [`MfaError::NotMember`] if the user is not a member of `company`,
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn sign_in_requirement(user: &str, company: Option<&str>) -> SignInRequirement;

    /// The user turns their own MFA off, in a session that passed the
    /// second factor within the sudo window. Refused while any company the
    /// user belongs to requires MFA. `session` goes on (without a factor);
    /// every other session of the user is over.
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`],
    /// [`RecentSecondFactorRequired`](MfaError::RecentSecondFactorRequired),
    /// [`SecondFactorRequired`](MfaError::SecondFactorRequired),
    /// [`SessionEnded`](MfaError::SessionEnded),
    /// [`NoFactor`](MfaError::NoFactor), or an infrastructure error.
    fn remove_own_factor(user: &str, session: &mut MfaSession) -> ();

    /// An owner of `company`, in a session that passed their second factor
    /// within the sudo window, resets the MFA of one of its members: the
    /// member's factor and recovery codes are removed, every session of the
    /// member is over, and they sign in with their password again and
    /// enroll ([`Event::FactorReset`](crate::Event::FactorReset), the owner
    /// as actor).
    ///
    /// Refused for a user who is not a member of `company`, for any owner
    /// of it (a co-owner, or the owner themselves: use
    /// [`remove_own_factor`](Mfa::remove_own_factor)), for an owner of any
    /// other company, and for a member of another company that requires MFA
    /// and that this owner does not own: no owner can weaken another
    /// company's requirement.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`NotMember`](MfaError::NotMember),
    /// [`CannotResetOwner`](MfaError::CannotResetOwner),
    /// [`RequiredByCompany`](MfaError::RequiredByCompany), the errors of the
    /// owner's session (as [`set_mfa_requirement`](Mfa::set_mfa_requirement)),
    /// or an infrastructure error.
    fn reset_user_mfa(company: &str, owner: &str, session: &MfaSession, user: &str) -> ();

    /// An owner of `company`, in a session that passed their second factor
    /// within the sudo window, ends a member's lockout (after too many
    /// wrong codes): the member signs in with a code again, keeping their
    /// factor. Audited with the owner as actor. Unlike a reset, nobody can
    /// enroll another phone in the member's place.
    ///
    /// # Errors
    /// [`MfaError::NotOwner`], [`NotMember`](MfaError::NotMember), the
    /// errors of the owner's session (as
    /// [`set_mfa_requirement`](Mfa::set_mfa_requirement)), or an
    /// infrastructure error.
    fn unlock_member(company: &str, owner: &str, session: &MfaSession, user: &str) -> ();

    /// Before "Save changes" of "Force every user to use MFA": who would be
    /// affected. Each member of `company` (its owners, and whom the host
    /// added with [`add_member`](Mfa::add_member)) comes back with their MFA
    /// state ([`MemberMfa`](crate::MemberMfa)), and
    /// [`EnforcementPreview::for_person`] says "3 of 12 users will be asked
    /// to set up MFA at their next sign-in." (once saved: "are asked").
    /// `unavailable` says why `owner` cannot change the setting, if they
    /// cannot (not an owner, or their own MFA is not active): the reason to
    /// show beside the checkbox.
    ///
    /// Reads one record per member; changes nothing.
    ///
    /// # Errors
    /// [`NoCompany`](MfaError::NoCompany), or an infrastructure error.
    fn enforcement_preview(company: &str, owner: &str) -> EnforcementPreview;

    /// One call for every screen of the help page: the person's `action`
    /// ([`Action`], from the button they pressed and what they typed) is
    /// applied as the screen they are on asks, and the next screen comes
    /// back with the refusal, if any, in words that fit what was tried, and
    /// whether `session` just passed the second factor (then keep the
    /// changed value and renew the session's id). `company` is the company
    /// account being reached, as for [`current_screen`](Mfa::current_screen).
    ///
    /// A code goes to whichever screen asks for one (sign-in, the QR code,
    /// the second code, or, past the second factor, a fresh one for owner
    /// actions); [`Action::SetUp`] starts a setup asking two codes where the
    /// company requires MFA and one where the person chose it; "Not now"
    /// puts off a setup the person started themselves. One load and one save
    /// of the person's record (and the company's policy).
    ///
    /// ```
    /// # #[cfg(feature = "getrandom")] {
    /// use twostep::{Action, Mfa, ScreenKind};
    /// let mfa = Mfa::in_memory()?.with_issuer("Acme");
    /// let mut session = mfa.start_session("ada")?;
    /// let step = mfa.step("ada", None, &mut session, Action::SetUp { account: "ada@acme.test" })?;
    /// assert_eq!(step.screen.kind(), ScreenKind::ScanQr);
    /// let step = mfa.step("ada", None, &mut session, Action::Code("000000"))?;
    /// assert_eq!(step.refused.map(|m| m.id()), Some("code-wrong"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Only the infrastructure's, and [`MfaError::NotMember`] if the user is
    /// not a member of `company` (a host's mistake): refusals are answers,
    /// in [`Step::refused`](crate::Step).
    fn step(user: &str, company: Option<&str>, session: &mut MfaSession, action: Action<'_>) -> Step;

    /// "Not now": puts off a setup the person started themselves (its QR
    /// code, and any recovery code it issued, are gone), unless a company
    /// account of theirs requires MFA.
    ///
    /// # Errors
    /// [`MfaError::RequiredByCompany`], [`NoEnrollment`](MfaError::NoEnrollment),
    /// [`FactorExists`](MfaError::FactorExists),
    /// [`SessionEnded`](MfaError::SessionEnded), or an infrastructure error.
    fn cancel_enrollment(user: &str, session: &MfaSession) -> ();
}

impl<S: Store> Mfa<S> {
    /// Reseals every listed user's record under the current key, e.g. all
    /// user ids from the host's table, to retire an old key without waiting
    /// for each user's next sign-in. Goes on past failures and reports them.
    pub fn reseal_all(&self, users: &[&str]) -> ResealReport<S::Error> {
        block_on(self.core.reseal_all(&Blocking(&*self.store), users))
    }
}

impl<S: AsyncStore> AsyncMfa<S> {
    /// [`Mfa::reseal_all`] for async hosts.
    pub async fn reseal_all(&self, users: &[&str]) -> ResealReport<S::Error> {
        self.core.reseal_all(&*self.store, users).await
    }
}
