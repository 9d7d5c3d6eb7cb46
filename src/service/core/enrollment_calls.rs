//! The help page's enrollment screens, each a call that stores its step,
//! the query that says which screen a person is on, and the one-call bind.

use crate::account::{Acknowledged, Confirmed, EnrollmentCheck, Label, Screen};
use crate::keys::session_proof::MfaSession;
use crate::material::enrollment_builder::{Enrollment, EnrollmentBuilder};
use crate::rules::events::Actor;
use crate::screen::Bound;

use super::company_calls::member_of;
use super::{Access, Core, MfaError};

impl Core {
    pub(crate) async fn begin_enrollment<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &MfaSession,
        builder: EnrollmentBuilder,
        check: EnrollmentCheck,
    ) -> Result<Enrollment, MfaError<A::Error>> {
        let enrollment = self.new_enrollment(builder)?;
        let label = Label {
            issuer: enrollment.uri().issuer().unwrap_or_default().to_owned(),
            account: enrollment.uri().account().to_owned(),
        };
        let params = *enrollment.params();
        let secret = enrollment.secret();
        self.update(access, user, &Actor::User, |record, cx| {
            record.begin_enrollment(cx, session, secret, params, label.clone(), check)
        })
        .await?;
        Ok(enrollment)
    }

    pub(crate) async fn confirm_enrollment<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &MfaSession,
        input: &str,
    ) -> Result<Confirmed, MfaError<A::Error>> {
        self.update(access, user, &Actor::User, |record, cx| {
            record.confirm_enrollment(cx, session, input)
        })
        .await
    }

    pub(crate) async fn confirm_second_code<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &MfaSession,
        input: &str,
    ) -> Result<Confirmed, MfaError<A::Error>> {
        self.update(access, user, &Actor::User, |record, cx| {
            record.confirm_second_code(cx, session, input)
        })
        .await
    }

    pub(crate) async fn acknowledge_recovery<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &mut MfaSession,
    ) -> Result<Acknowledged, MfaError<A::Error>> {
        let shown = &*session;
        let (acknowledged, passed) = self
            .update(access, user, &Actor::User, |record, cx| {
                let transition = record.acknowledge_recovery(cx, shown);
                let stamp = record.stamp;
                transition.map(|acknowledged| {
                    let activated = acknowledged == Acknowledged::FactorActivated;
                    let passed = activated.then(|| shown.passed(cx.keyring, user, stamp, cx.now));
                    (acknowledged, passed)
                })
            })
            .await?;
        if let Some(passed) = passed {
            *session = passed;
        }
        Ok(acknowledged)
    }

    pub(crate) async fn current_screen<A: Access>(
        &self,
        access: &A,
        user: &str,
        company: Option<&str>,
        session: &MfaSession,
    ) -> Result<Screen, MfaError<A::Error>> {
        let policy = match company {
            Some(company) => Some(self.company_policy(access, company).await?),
            None => None,
        };
        self.read(access, user, |record, cx| {
            member_of(user, record, company.zip(policy.as_ref()))?;
            record
                .screen(cx, policy.as_ref(), session)
                .map_err(MfaError::from)
        })
        .await
    }

    pub(crate) async fn bind<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &mut MfaSession,
        enrollment: &Enrollment,
        input: &str,
    ) -> Result<Bound, MfaError<A::Error>> {
        let (secret, params) = (enrollment.secret(), *enrollment.params());
        let shown = &*session;
        let (bound, passed) = self
            .update(access, user, &Actor::User, |record, cx| {
                record.bind(cx, shown, secret, params, input)
            })
            .await?;
        *session = passed;
        Ok(bound)
    }
}

impl Core {
    pub(crate) async fn cancel_enrollment<A: Access>(
        &self,
        access: &A,
        user: &str,
        session: &MfaSession,
    ) -> Result<(), MfaError<A::Error>> {
        let required = self.required_anywhere(access, user).await?;
        self.update(access, user, &Actor::User, |record, cx| {
            record.cancel_enrollment(cx, session, required)
        })
        .await
    }
}
