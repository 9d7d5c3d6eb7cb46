//! The help page's enrollment screens, each a call that stores its step,
//! and the one query that says which screen a person is on.

use crate::account::{Acknowledged, EnrollmentCheck, Label, Passed, Screen};
use crate::enrollment::{Enrollment, EnrollmentBuilder, EnrollmentError};
use crate::event::Actor;
use crate::secret::Secret;
use crate::store::Store;
use crate::Bound;

use super::{Mfa, MfaError};

impl<S: Store> Mfa<S> {
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
    /// use twostep::{Enrollment, EnrollmentCheck, Mfa, Screen};
    /// let mfa = Mfa::in_memory()?;
    /// // The owner's own "Activate": one code, as the help page asks.
    /// let enrollment = mfa.begin_enrollment("olivia", Enrollment::builder("Acme", "olivia@acme.test"), EnrollmentCheck::OneCode)?;
    /// # let typed = enrollment.totp().generate(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())?.expose().to_string();
    /// match mfa.confirm_enrollment("olivia", &typed)? {
    ///     Screen::RecordRecoveryCode { codes } => { /* show codes, the tick, Continue */ }
    ///     other => unreachable!("{other:?}"),
    /// }
    /// mfa.acknowledge_recovery("olivia")?; // "I have safely recorded this number" → Continue
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user has an active factor,
    /// [`MfaError::Enrollment`] for names that cannot go into a URI, or an
    /// infrastructure error.
    pub fn begin_enrollment(
        &self,
        user: &str,
        builder: EnrollmentBuilder,
        check: EnrollmentCheck,
    ) -> Result<Enrollment, MfaError<S::Error>> {
        let mut bytes = zeroize::Zeroizing::new([0u8; Secret::DEFAULT_LEN]);
        self.entropy.fill(&mut *bytes).map_err(MfaError::Seal)?;
        let secret = Secret::from_bytes(&*bytes)
            .map_err(|e| MfaError::Enrollment(EnrollmentError::Secret(e)))?;
        let enrollment = builder.with_secret(secret).map_err(MfaError::Enrollment)?;
        let label = Label {
            issuer: enrollment.uri().issuer().unwrap_or_default().to_owned(),
            account: enrollment.uri().account().to_owned(),
        };
        let params = *enrollment.params();
        self.update(user, &Actor::User, |record, cx| {
            record.begin_enrollment(cx, enrollment.secret(), params, label.clone(), check)
        })?;
        Ok(enrollment)
    }

    /// The QR screen's Continue: the first code from the person's app. On
    /// success its step is saved and the next screen returned:
    /// [`Screen::SecondCode`] for [`EnrollmentCheck::TwoCodes`], otherwise
    /// [`Screen::RecordRecoveryCode`] with the recovery codes, which stay
    /// retrievable ([`current_screen`](Mfa::current_screen)) until the tick.
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
    pub fn confirm_enrollment(
        &self,
        user: &str,
        input: &str,
    ) -> Result<Screen, MfaError<S::Error>> {
        self.update(user, &Actor::User, |record, cx| {
            record.confirm_enrollment(cx, input)
        })
    }

    /// "Enter a one-time code from the authenticator app" → Continue: the
    /// second code of [`EnrollmentCheck::TwoCodes`], which must be of a later
    /// time step than the first. The same code again is
    /// [`MfaError::Replayed`] with the seconds until the next code (not
    /// counted); a wrong one is counted and leaves the step open. On success
    /// the recovery codes are issued: [`Screen::RecordRecoveryCode`].
    ///
    /// # Errors
    /// As [`confirm_enrollment`](Mfa::confirm_enrollment), and
    /// [`MfaError::Replayed`]; [`OutOfOrder`](MfaError::OutOfOrder) while the
    /// first code is still awaited or once the codes are done.
    pub fn confirm_second_code(
        &self,
        user: &str,
        input: &str,
    ) -> Result<Screen, MfaError<S::Error>> {
        self.update(user, &Actor::User, |record, cx| {
            record.confirm_second_code(cx, input)
        })
    }

    /// The person ticked "I have safely recorded this number" and pressed
    /// Continue: an enrollment whose codes checked out becomes the active
    /// factor ([`Acknowledged::FactorActivated`]: the person is in), or
    /// replacement or regenerated recovery codes count as recorded. The
    /// copy kept to show them again is removed for good.
    ///
    /// Call it only for a request with the tick: this call *is* the tick.
    ///
    /// # Errors
    /// [`MfaError::OutOfOrder`] while a code step is open,
    /// [`NothingToAcknowledge`](MfaError::NothingToAcknowledge),
    /// [`EnrollmentExpired`](MfaError::EnrollmentExpired), or an
    /// infrastructure error.
    pub fn acknowledge_recovery(&self, user: &str) -> Result<Acknowledged, MfaError<S::Error>> {
        self.update(user, &Actor::User, |record, cx| {
            record.acknowledge_recovery(cx)
        })
    }

    /// Which screen the person is on, from the stored state alone: what a
    /// host renders after the password, at every reload, in a second tab,
    /// after an error, or when the person comes back tomorrow. `passed` is
    /// how far this session got (the host's session keeps that, and nothing
    /// secret). `company` is the company account being reached, if any.
    ///
    /// In order: with an active factor, [`Screen::EnterCode`] until the
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
    pub fn current_screen(
        &self,
        user: &str,
        company: Option<&str>,
        passed: Passed,
    ) -> Result<Screen, MfaError<S::Error>> {
        let policy = company.map(|c| self.company_policy(c)).transpose()?;
        self.read(user, |record, cx| {
            super::company::member_of(user, record, company.zip(policy.as_ref()))?;
            record
                .screen(cx, policy.as_ref(), passed)
                .map_err(MfaError::from)
        })
    }

    /// Binds the factor of `enrollment` to the user once `input`, the first
    /// code from the person's app, checks out: one call, no stored steps
    /// and no acknowledgement. The step of that code is saved as used, the
    /// secret sealed, and recovery codes issued: show
    /// [`Bound::recovery_codes`] now, they are never available again.
    /// Failures count against the user's throttle.
    ///
    /// # Errors
    /// [`MfaError::FactorExists`] if the user already has one,
    /// [`WeakSecret`](MfaError::WeakSecret) for a secret under 128 bits;
    /// otherwise as [`Mfa::verify`].
    pub fn bind(
        &self,
        user: &str,
        enrollment: &Enrollment,
        input: &str,
    ) -> Result<Bound, MfaError<S::Error>> {
        let (secret, params) = (enrollment.secret(), *enrollment.params());
        self.update(user, &Actor::User, |record, cx| {
            record.bind(cx, secret, params, input)
        })
    }
}
