//! One step through the screens: the action applied as the screen the
//! person is on asks (one load, one save), and the next screen drawn from
//! the record as saved.

use crate::account::{Act, Label, Refusal, Transition};
use crate::keys::session_proof::MfaSession;
use crate::material::enrollment_builder::{Enrollment, EnrollmentError};
use crate::material::secret::Secret;
use crate::rules::company_policy::Requirement;
use crate::rules::events::Actor;
use crate::service::action::{Action, Step};
use crate::words::Message;

use super::{Access, Core, MfaError};

impl Core {
    pub(crate) async fn step<A: Access>(
        &self,
        access: &A,
        user: &str,
        company: Option<&str>,
        session: &mut MfaSession,
        action: Action<'_>,
    ) -> Result<Step, MfaError<A::Error>> {
        match action {
            Action::SaveRequirement { requirement, code } => {
                self.save_requirement(access, user, company, session, requirement, code)
                    .await
            }
            action => {
                self.step_record(access, user, company, session, action)
                    .await
            }
        }
    }

    /// "Save changes": the owner's code first, if typed (it renews the
    /// proof the change asks for), then the company's requirement; the
    /// screen is the owner's as it then is.
    async fn save_requirement<A: Access>(
        &self,
        access: &A,
        owner: &str,
        company: Option<&str>,
        session: &mut MfaSession,
        requirement: Requirement,
        code: &str,
    ) -> Result<Step, MfaError<A::Error>> {
        let mut passed_second_factor = false;
        if !code.trim().is_empty() {
            let step = self
                .step_record(access, owner, company, session, Action::Code(code))
                .await?;
            if step.refused.is_some() {
                return Ok(step);
            }
            passed_second_factor = step.passed_second_factor;
        }
        let saved = match company {
            Some(company) => {
                self.set_mfa_requirement(access, company, owner, session, requirement)
                    .await
            }
            None => Err(MfaError::NoCompany),
        };
        let refused = match saved {
            Ok(_) => None,
            Err(e) if e.is_infrastructure() => return Err(e),
            Err(e) => Some(e.message()),
        };
        Ok(Step {
            screen: self.current_screen(access, owner, company, session).await?,
            refused,
            passed_second_factor,
        })
    }

    /// One step on the person's own record: one load, one save.
    async fn step_record<A: Access>(
        &self,
        access: &A,
        user: &str,
        company: Option<&str>,
        session: &mut MfaSession,
        action: Action<'_>,
    ) -> Result<Step, MfaError<A::Error>> {
        let policy = match company {
            Some(company) => Some(self.company_policy(access, company).await?),
            None => None,
        };
        // What the action needs before the record is loaded: a new QR
        // code's secret (drawn once, whatever the retries), and for "Not
        // now" whether any company of the person requires MFA.
        let fresh = match action {
            Action::SetUp { account } => {
                // The names are checked as the QR code's URI will carry them.
                let builder = Enrollment::builder(&self.config.issuer, account);
                let enrollment = self.new_enrollment(builder)?;
                let label = Label {
                    issuer: self.config.issuer.clone(),
                    account: account.to_owned(),
                };
                let params = *enrollment.params();
                Some((enrollment.secret().clone(), Some((params, label))))
            }
            Action::StartAgain => Some((self.fresh_secret()?, None)),
            _ => None,
        };
        let required = match action {
            Action::NotNow => self.required_anywhere(access, user).await?,
            _ => false,
        };
        let shown = &*session;
        let stepped = self
            .update(access, user, &Actor::User, |record, cx| {
                let member = match (company, &policy) {
                    (Some(c), Some(p)) => record.is_member(c) || p.is_owner(user),
                    _ => true,
                };
                if !member {
                    return Transition::refused(Refusal::NotMember);
                }
                let act = match (&action, &fresh) {
                    (Action::Code(input), _) => Act::Code(input),
                    (Action::RecoveryCode(input), _) => Act::RecoveryCode(input),
                    (Action::Recorded { ticked }, _) => Act::Recorded { ticked: *ticked },
                    (Action::NotNow, _) => Act::NotNow { required },
                    (_, Some((secret, setup))) => Act::Begin {
                        secret,
                        setup: setup.clone(),
                    },
                    (_, None) => return Transition::refused(Refusal::NoEnrollment),
                };
                record.step(cx, policy.as_ref(), shown, act)
            })
            .await?;
        let passed_second_factor = stepped.passed.is_some();
        if let Some(passed) = stepped.passed {
            *session = passed;
        }
        Ok(Step {
            screen: stepped.screen,
            refused: stepped.refused.map(|refusal| words(&action, refusal)),
            passed_second_factor,
        })
    }

    /// A new enrollment with a fresh secret, its names checked.
    pub(crate) fn new_enrollment<E>(
        &self,
        builder: crate::material::enrollment_builder::EnrollmentBuilder,
    ) -> Result<Enrollment, MfaError<E>> {
        builder
            .with_secret(self.fresh_secret()?)
            .map_err(MfaError::Enrollment)
    }

    /// A new secret of the default length from the service's randomness.
    fn fresh_secret<E>(&self) -> Result<Secret, MfaError<E>> {
        let mut bytes = zeroize::Zeroizing::new([0u8; Secret::DEFAULT_LEN]);
        self.config
            .entropy
            .fill(&mut *bytes)
            .map_err(MfaError::Seal)?;
        Secret::from_bytes(&*bytes).map_err(|e| MfaError::Enrollment(EnrollmentError::Secret(e)))
    }

    /// Whether any company `user` belongs to requires MFA.
    pub(crate) async fn required_anywhere<A: Access>(
        &self,
        access: &A,
        user: &str,
    ) -> Result<bool, MfaError<A::Error>> {
        let record = self.load(access, user).await?.record;
        for company in &record.companies {
            if self.company_policy(access, company).await?.requires_mfa() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Words for a refusal that fit what was tried.
fn words(action: &Action<'_>, refusal: Refusal) -> Message {
    match (action, refusal) {
        (Action::RecoveryCode(_), Refusal::Mismatch) => Message::RecoveryCodeWrong,
        (Action::RecoveryCode(_), Refusal::Malformed) => Message::RecoveryCodeMalformed,
        (Action::NotNow, Refusal::RequiredByCompany) => Message::SetupRequired,
        (_, refusal) => MfaError::<()>::from(refusal).message(),
    }
}
