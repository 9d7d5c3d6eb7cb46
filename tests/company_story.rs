//! The product story, step by step: what a host calls at each screen.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use twostep::{
    Clock, CollectingSink, Enrollment, Event, Keyring, ManualClock, MemoryStore, Mfa, MfaError,
    SignInRequirement,
};

const START: u64 = 1_700_000_020; // 20 s before the next step
const COMPANY: &str = "acme";
const OWNER: &str = "olivia";
const USER: &str = "umar";

struct World {
    mfa: Mfa<MemoryStore>,
    clock: Arc<ManualClock>,
    sink: Arc<CollectingSink>,
}

impl World {
    fn new() -> World {
        let clock = Arc::new(ManualClock::new(START));
        let sink = Arc::new(CollectingSink::new());
        let mfa = Mfa::new(MemoryStore::new(), Keyring::new(1, &[3; 32]))
            .with_clock(clock.clone())
            .with_events(sink.clone())
            .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(5));
        mfa.create_company(COMPANY, &[OWNER]).unwrap();
        World { mfa, clock, sink }
    }

    /// The authenticator app: the code it shows now.
    fn app(&self, enrollment: &Enrollment) -> String {
        common::code_at(enrollment, self.clock.now())
    }

    /// Steps 1-4 for `user`: activate, scan and type, see the recovery code,
    /// tick "I have safely recorded this number".
    fn enroll(&self, user: &str) -> Enrollment {
        let enrollment = self
            .mfa
            .begin_enrollment(user, Enrollment::builder("Acme", user))
            .unwrap();
        let codes = self
            .mfa
            .confirm_enrollment(user, &self.app(&enrollment))
            .unwrap();
        assert_eq!(codes.len(), 1);
        self.mfa.acknowledge_recovery(user).unwrap();
        enrollment
    }

    fn next_step(&self) {
        self.clock.advance(30);
    }

    fn requirement(&self, user: &str) -> SignInRequirement {
        self.mfa.sign_in_requirement(user, Some(COMPANY)).unwrap()
    }
}

#[test]
fn step_1_activate_shows_a_qr_code_of_a_pending_enrollment() {
    let w = World::new();
    let enrollment = w
        .mfa
        .begin_enrollment(OWNER, Enrollment::builder("Acme", "olivia@acme.test"))
        .unwrap();
    assert!(enrollment.qr().unwrap().to_svg().starts_with("<svg"));
    assert!(enrollment
        .uri()
        .expose_uri()
        .starts_with("otpauth://totp/Acme:olivia@acme.test?secret="));
    let status = w.mfa.status(OWNER).unwrap();
    assert!(status.enrollment_in_progress);
    assert_eq!(status.factor_bound_at, None);
    // Beginning again replaces it: the first QR code no longer confirms.
    let again = w
        .mfa
        .begin_enrollment(OWNER, Enrollment::builder("Acme", "olivia@acme.test"))
        .unwrap();
    assert!(matches!(
        w.mfa.confirm_enrollment(OWNER, &w.app(&enrollment)),
        Err(MfaError::Mismatch)
    ));
    assert!(w.mfa.confirm_enrollment(OWNER, &w.app(&again)).is_ok());
}

#[test]
fn step_2_typing_the_code_confirms_and_a_wrong_code_leaves_it_pending() {
    let w = World::new();
    let enrollment = w
        .mfa
        .begin_enrollment(OWNER, Enrollment::builder("Acme", OWNER))
        .unwrap();
    assert!(matches!(
        w.mfa.confirm_enrollment(OWNER, "000000"),
        Err(MfaError::Mismatch)
    ));
    assert_eq!(w.mfa.status(OWNER).unwrap().failures, 1);
    assert!(w.mfa.confirm_enrollment(OWNER, &w.app(&enrollment)).is_ok());
}

#[test]
fn step_2_an_expired_enrollment_cannot_be_confirmed() {
    let w = World::new();
    let enrollment = w
        .mfa
        .begin_enrollment(OWNER, Enrollment::builder("Acme", OWNER))
        .unwrap();
    w.clock.advance(10 * 60);
    assert!(matches!(
        w.mfa.confirm_enrollment(OWNER, &w.app(&enrollment)),
        Err(MfaError::EnrollmentExpired)
    ));
}

#[test]
fn step_3_the_factor_is_active_only_after_the_recovery_code_is_acknowledged() {
    let w = World::new();
    let enrollment = w
        .mfa
        .begin_enrollment(OWNER, Enrollment::builder("Acme", OWNER))
        .unwrap();
    let codes = w
        .mfa
        .confirm_enrollment(OWNER, &w.app(&enrollment))
        .unwrap();
    assert_eq!(codes[0].expose_str().len(), 19);
    // Confirmed, not acknowledged: no active MFA yet, and the codes are not shown again.
    assert_eq!(w.mfa.status(OWNER).unwrap().factor_bound_at, None);
    w.next_step();
    assert!(matches!(
        w.mfa.verify(OWNER, &w.app(&enrollment)),
        Err(MfaError::NoFactor)
    ));
    assert!(matches!(
        w.mfa.confirm_enrollment(OWNER, &w.app(&enrollment)),
        Err(MfaError::AlreadyConfirmed)
    ));
    w.mfa.acknowledge_recovery(OWNER).unwrap();
    assert!(matches!(
        w.mfa.acknowledge_recovery(OWNER),
        Err(MfaError::NothingToAcknowledge)
    ));
}

#[test]
fn step_4_continue_mfa_is_active_for_the_owner() {
    let w = World::new();
    let enrollment = w.enroll(OWNER);
    assert_eq!(w.mfa.status(OWNER).unwrap().factor_bound_at, Some(START));
    w.next_step();
    assert!(w.mfa.verify(OWNER, &w.app(&enrollment)).is_ok());
    let events: Vec<_> = w.sink.take().into_iter().map(|e| e.event).collect();
    for expected in [
        Event::EnrollmentStarted,
        Event::EnrollmentConfirmed,
        Event::FactorBound,
    ] {
        assert!(
            events.contains(&expected),
            "{expected:?} missing from {events:?}"
        );
    }
}

#[test]
fn step_5_only_an_owner_with_active_mfa_can_require_it() {
    let w = World::new();
    assert!(matches!(
        w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0),
        Err(MfaError::OwnMfaRequired)
    ));
    assert!(matches!(
        w.mfa.set_mfa_requirement(COMPANY, USER, true, 0),
        Err(MfaError::NotOwner)
    ));
    w.enroll(USER);
    assert!(matches!(
        w.mfa.set_mfa_requirement(COMPANY, USER, true, 0),
        Err(MfaError::NotOwner)
    ));
    // A pending or unacknowledged enrollment is not active MFA either.
    let enrollment = w
        .mfa
        .begin_enrollment(OWNER, Enrollment::builder("Acme", OWNER))
        .unwrap();
    w.mfa
        .confirm_enrollment(OWNER, &w.app(&enrollment))
        .unwrap();
    assert!(matches!(
        w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0),
        Err(MfaError::OwnMfaRequired)
    ));
    w.mfa.acknowledge_recovery(OWNER).unwrap();
    assert!(w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).is_ok());
}

#[test]
fn step_6_save_changes_stores_the_policy_and_audits_it() {
    let w = World::new();
    w.enroll(OWNER);
    w.sink.take();
    let before = w.mfa.company_policy(COMPANY).unwrap().version();
    let policy = w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    assert!(policy.requires_mfa());
    assert_eq!(policy.since(), START);
    assert!(policy.version() > before);
    assert_eq!(w.mfa.company_policy(COMPANY).unwrap(), policy);
    let events = w.sink.take();
    assert_eq!(events[0].user, OWNER);
    assert_eq!(
        events[0].event,
        Event::CompanyPolicyChanged {
            company: COMPANY.into(),
            require_mfa: true,
            grace_period: 0
        }
    );
}

#[test]
fn step_7_sign_in_asks_what_is_required() {
    let w = World::new();
    // Not required, no MFA: nothing more.
    assert_eq!(w.requirement(USER), SignInRequirement::Nothing);
    // Personal MFA is honoured even when the company does not require it.
    w.enroll("personal");
    assert_eq!(w.requirement("personal"), SignInRequirement::SecondFactor);
    // Required, no factor: Company Account Verification, at the next sign-in.
    w.enroll(OWNER);
    w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    assert_eq!(w.requirement(USER), SignInRequirement::EnrollmentRequired);
    // With a grace period: required by a deadline, then required.
    w.mfa
        .set_mfa_requirement(COMPANY, OWNER, true, 7 * 24 * 3600)
        .unwrap();
    let deadline = w.clock.now() + 7 * 24 * 3600;
    assert_eq!(
        w.requirement(USER),
        SignInRequirement::EnrollmentRequiredBy { deadline }
    );
    w.clock.set(deadline);
    assert_eq!(w.requirement(USER), SignInRequirement::EnrollmentRequired);
}

#[test]
fn step_7_a_pending_or_unacknowledged_enrollment_is_still_enrollment_required() {
    let w = World::new();
    w.enroll(OWNER);
    w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    let enrollment = w
        .mfa
        .begin_enrollment(USER, Enrollment::builder("Acme", USER))
        .unwrap();
    assert_eq!(w.requirement(USER), SignInRequirement::EnrollmentRequired);
    w.mfa.confirm_enrollment(USER, &w.app(&enrollment)).unwrap();
    assert_eq!(w.requirement(USER), SignInRequirement::EnrollmentRequired);
    w.mfa.acknowledge_recovery(USER).unwrap();
    assert_eq!(w.requirement(USER), SignInRequirement::SecondFactor);
}

#[test]
fn step_8_verify_identity_then_wait_for_the_next_code() {
    let w = World::new();
    w.enroll(OWNER);
    w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    let enrollment = w.enroll(USER); // scan, code, recovery code, tick, continue
                                     // The seed asks for a code once more: the one just used is refused, and
                                     // the refusal says when the next one appears.
    let same = w.app(&enrollment);
    match w.mfa.verify(USER, &same) {
        Err(MfaError::Replayed { next_code_in }) => assert_eq!(next_code_in, 20),
        other => panic!("expected a replay, got {other:?}"),
    }
    w.clock.advance(20);
    assert!(w.mfa.verify(USER, &w.app(&enrollment)).is_ok());
}

#[test]
fn step_9_every_later_sign_in_needs_a_code_or_the_recovery_code() {
    let w = World::new();
    let enrollment = w
        .mfa
        .begin_enrollment(USER, Enrollment::builder("Acme", USER))
        .unwrap();
    let recovery = w
        .mfa
        .confirm_enrollment(USER, &w.app(&enrollment))
        .unwrap()
        .remove(0);
    w.mfa.acknowledge_recovery(USER).unwrap();
    w.next_step();
    assert_eq!(w.requirement(USER), SignInRequirement::SecondFactor);
    assert!(w.mfa.verify(USER, &w.app(&enrollment)).is_ok());
    // The phone is lost: the recovery code, which rotates.
    let used = w
        .mfa
        .use_recovery_code(USER, recovery.expose_str())
        .unwrap();
    let new_code = used.new_code.unwrap();
    assert!(w.mfa.status(USER).unwrap().recovery_unacknowledged);
    w.mfa.acknowledge_recovery(USER).unwrap();
    assert!(!w.mfa.status(USER).unwrap().recovery_unacknowledged);
    assert!(matches!(
        w.mfa.use_recovery_code(USER, recovery.expose_str()),
        Err(MfaError::Mismatch)
    ));
    assert!(w.mfa.use_recovery_code(USER, new_code.expose_str()).is_ok());
}

#[test]
fn an_owner_cannot_remove_their_own_mfa_while_the_company_requires_it() {
    let w = World::new();
    let enrollment = w.enroll(OWNER);
    w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    w.next_step();
    assert!(matches!(
        w.mfa
            .remove_own_factor(OWNER, Some(COMPANY), &w.app(&enrollment)),
        Err(MfaError::RequiredByCompany)
    ));
    // Turning the requirement off is allowed to the owner and audited; then removal works.
    w.sink.take();
    w.mfa.set_mfa_requirement(COMPANY, OWNER, false, 0).unwrap();
    assert!(matches!(
        w.sink.take()[0].event,
        Event::CompanyPolicyChanged {
            require_mfa: false,
            ..
        }
    ));
    assert!(w
        .mfa
        .remove_own_factor(OWNER, Some(COMPANY), &w.app(&enrollment))
        .is_ok());
    assert_eq!(w.mfa.status(OWNER).unwrap().factor_bound_at, None);
}

#[test]
fn an_owner_can_reset_another_users_mfa_after_their_own_check() {
    let w = World::new();
    let owner_app = w.enroll(OWNER);
    w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    w.enroll(USER);
    w.next_step();
    assert!(matches!(
        w.mfa.reset_user_mfa(COMPANY, OWNER, "000000", USER),
        Err(MfaError::Mismatch)
    ));
    assert!(matches!(
        w.mfa.reset_user_mfa(COMPANY, USER, "000000", OWNER),
        Err(MfaError::NotOwner)
    ));
    assert_eq!(w.requirement(USER), SignInRequirement::SecondFactor);
    w.sink.take();
    w.mfa
        .reset_user_mfa(COMPANY, OWNER, &w.app(&owner_app), USER)
        .unwrap();
    assert_eq!(w.requirement(USER), SignInRequirement::EnrollmentRequired);
    let events = w.sink.take();
    assert!(events
        .iter()
        .any(|e| e.user == USER && e.event == Event::FactorReset { by: OWNER.into() }));
}

#[test]
fn a_non_owner_cannot_change_the_policy() {
    let w = World::new();
    w.enroll(USER);
    assert!(matches!(
        w.mfa.set_mfa_requirement(COMPANY, USER, true, 0),
        Err(MfaError::NotOwner)
    ));
    assert!(matches!(
        w.mfa.set_mfa_requirement("nope", OWNER, true, 0),
        Err(MfaError::NoCompany)
    ));
    assert!(matches!(
        w.mfa.create_company(COMPANY, &[USER]),
        Err(MfaError::CompanyExists)
    ));
    assert!(!w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
}

#[test]
fn a_pending_enrollment_never_replaces_an_active_factor() {
    let w = World::new();
    // Someone with the password begins an enrollment for the user...
    let theirs = w
        .mfa
        .begin_enrollment(USER, Enrollment::builder("Acme", USER))
        .unwrap();
    // ...then the user binds their own factor in one call.
    let own = common::enrollment(77);
    w.mfa.bind(USER, &own, &w.app(&own)).unwrap();
    assert!(matches!(
        w.mfa.confirm_enrollment(USER, &w.app(&theirs)),
        Err(MfaError::FactorExists | MfaError::NoEnrollment)
    ));
    assert!(matches!(
        w.mfa.acknowledge_recovery(USER),
        Err(MfaError::NothingToAcknowledge)
    ));
    w.next_step();
    assert!(w.mfa.verify(USER, &w.app(&own)).is_ok());
}

#[test]
fn an_owner_cannot_reset_their_own_mfa_while_required_and_owners_are_checked() {
    let w = World::new();
    let owner_app = w.enroll(OWNER);
    w.mfa.set_mfa_requirement(COMPANY, OWNER, true, 0).unwrap();
    w.next_step();
    assert!(matches!(
        w.mfa
            .reset_user_mfa(COMPANY, OWNER, &w.app(&owner_app), OWNER),
        Err(MfaError::RequiredByCompany)
    ));
    assert!(matches!(
        w.mfa.create_company("x", &[]),
        Err(MfaError::InvalidOwners)
    ));
    let long = "o".repeat(256);
    assert!(matches!(
        w.mfa.create_company("x", &[long.as_str()]),
        Err(MfaError::InvalidOwners)
    ));
}
