//! The help page, screen by screen, in its order: the owner activates their
//! own MFA (one code), requires MFA of every user, and a user meets "Company
//! Account Verification" (two codes); then later sign-ins. After the
//! sequences: a reload, an abandonment, an out-of-order request and a lost
//! database answer at every screen.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::company::{MemberMfa, RequirementUnavailable, SignInRequirement};
use twostep::event::{Actor, CollectingSink, Event};
use twostep::screen::{Acknowledged, Confirmed, EnrollmentCheck, EnrollmentStage};
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::throttle::Gate;
use twostep::{
    Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Requirement, Screen, Store,
};

const START: u64 = 1_700_000_020; // 20 s before the next step
const COMPANY: &str = "acme";
const OWNER: &str = "olivia";
const USER: &str = "umar";

/// A store that can be told to lose the answer of one of its next saves:
/// the save happens, then the answer is an error (the `Store` contract
/// allows it).
#[derive(Default)]
struct LossyStore {
    inner: MemoryStore,
    /// Counts down the saves; the one that brings it from 1 to 0 loses its
    /// answer.
    lose_answer_of_save: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("the answer was lost after the write")]
struct Lost;

impl Store for LossyStore {
    type Error = Lost;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Lost> {
        Ok(self.inner.load(key).unwrap())
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Lost> {
        let outcome = self.inner.save(key, expected, bytes).unwrap();
        let countdown = self.lose_answer_of_save.load(Ordering::SeqCst);
        if matches!(outcome, SaveOutcome::Saved(_)) && countdown > 0 {
            self.lose_answer_of_save
                .store(countdown - 1, Ordering::SeqCst);
            if countdown == 1 {
                return Err(Lost);
            }
        }
        Ok(outcome)
    }
}

struct World {
    mfa: Mfa<Arc<LossyStore>>,
    store: Arc<LossyStore>,
    clock: Arc<ManualClock>,
    sink: Arc<CollectingSink>,
    /// The owner's authenticator app, once they activated MFA.
    owner_phone: RefCell<Option<Enrollment>>,
    /// Each person's browser session, from their first sign-in on.
    sessions: RefCell<HashMap<String, MfaSession>>,
}

impl World {
    fn new() -> World {
        World::with(|config| config)
    }

    fn with(configure: impl FnOnce(Config) -> Config) -> World {
        let store = Arc::new(LossyStore::default());
        let clock = Arc::new(ManualClock::new(START));
        let sink = Arc::new(CollectingSink::new());
        let mfa = Mfa::with_config(
            store.clone(),
            Keyring::new(1, &[3; 32]),
            configure(
                Config::default()
                    .with_clock(clock.clone())
                    .with_events(sink.clone())
                    .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(5)),
            ),
        );
        mfa.create_company(COMPANY, &[OWNER]).unwrap();
        for member in [USER, "uma"] {
            mfa.add_member(COMPANY, member).unwrap();
        }
        World {
            mfa,
            store,
            clock,
            sink,
            owner_phone: RefCell::new(None),
            sessions: RefCell::default(),
        }
    }

    /// A company that already requires MFA, its owner enrolled.
    fn forcing() -> World {
        World::new().force()
    }

    fn force(self) -> World {
        self.activate_own_mfa(OWNER);
        self.require(true, 0).unwrap();
        self.next_step();
        self
    }

    /// The owner, at the next step, passes the code their app shows (if
    /// they have one), then ticks or unticks "Force every user to use MFA"
    /// and saves.
    fn require(
        &self,
        on: bool,
        grace: u64,
    ) -> Result<twostep::company::CompanyPolicy, MfaError<Lost>> {
        self.next_step();
        let phone = self.owner_phone.borrow().clone();
        if let Some(phone) = phone {
            self.mfa
                .verify(OWNER, &mut self.session_mut(OWNER), &self.app(&phone))?;
        }
        self.mfa
            .set_mfa_requirement(COMPANY, OWNER, &self.session(OWNER), requirement(on, grace))
    }

    /// The person's session: the one they signed in with (a sign-in, with
    /// the password, at first use).
    fn session_mut(&self, user: &str) -> RefMut<'_, MfaSession> {
        RefMut::map(self.sessions.borrow_mut(), |sessions| {
            sessions
                .entry(user.to_owned())
                .or_insert_with(|| self.mfa.start_session(user).unwrap())
        })
    }

    fn session(&self, user: &str) -> MfaSession {
        self.session_mut(user).clone()
    }

    /// The person signs in again with the password: a new session.
    fn sign_in(&self, user: &str) {
        let session = self.mfa.start_session(user).unwrap();
        self.sessions.borrow_mut().insert(user.to_owned(), session);
    }

    /// The authenticator app: the code it shows now.
    fn app(&self, phone: &Enrollment) -> String {
        common::code_at(phone, self.clock.now())
    }

    fn next_step(&self) {
        self.clock.advance(30);
    }

    /// The screen in the person's session.
    fn screen(&self, user: &str) -> Screen {
        self.mfa
            .current_screen(user, Some(COMPANY), &self.session(user))
            .unwrap()
    }

    /// The screen a new sign-in, with the password only, lands on.
    fn fresh_screen(&self, user: &str) -> Screen {
        let session = self.mfa.start_session(user).unwrap();
        self.mfa
            .current_screen(user, Some(COMPANY), &session)
            .unwrap()
    }

    /// The stored bytes of a user's record.
    fn bytes(&self, user: &str) -> Option<Vec<u8>> {
        self.store
            .load(RecordKey::User(user))
            .unwrap()
            .map(|v| v.bytes)
    }

    /// "Activate" or "Verify identity".
    fn begin(&self, user: &str, check: EnrollmentCheck) -> Result<Enrollment, MfaError<Lost>> {
        self.mfa.begin_enrollment(
            user,
            &self.session(user),
            Enrollment::builder("Acme", user),
            check,
        )
    }

    fn lose_next_answer(&self) {
        self.lose_answer_of_save(1);
    }

    fn lose_answer_of_save(&self, n: usize) {
        self.store.lose_answer_of_save.store(n, Ordering::SeqCst);
    }

    /// The owner's sequence: Activate, scan, one code, the recovery code,
    /// the tick. Returns the phone.
    fn activate_own_mfa(&self, user: &str) -> Enrollment {
        let phone = self.begin(user, EnrollmentCheck::OneCode).unwrap();
        let codes = issued(
            self.mfa
                .confirm_enrollment(user, &self.session(user), &self.app(&phone))
                .unwrap(),
        );
        assert_eq!(codes.len(), 1);
        assert_eq!(
            self.mfa
                .acknowledge_recovery(user, &mut self.session_mut(user))
                .unwrap(),
            Acknowledged::FactorActivated
        );
        if user == OWNER {
            *self.owner_phone.borrow_mut() = Some(phone.clone());
        }
        phone
    }

    /// Walks `USER` of a forcing company to the screen `at`, in the help
    /// page's order. Returns the phone once the QR code was scanned.
    fn walk_to(&self, at: At) -> Option<Enrollment> {
        assert!(matches!(
            self.fresh_screen(USER),
            Screen::CompanyAccountVerification { .. }
        ));
        if at == At::Verification {
            return None;
        }
        let phone = self
            .mfa
            .begin_enrollment(
                USER,
                &self.session(USER),
                Enrollment::builder("Acme", "umar@acme.test"),
                EnrollmentCheck::TwoCodes,
            )
            .unwrap();
        if at == At::Qr {
            return Some(phone);
        }
        self.mfa
            .confirm_enrollment(USER, &self.session(USER), &self.app(&phone))
            .unwrap();
        if at == At::SecondCode {
            return Some(phone);
        }
        self.next_step();
        self.mfa
            .confirm_second_code(USER, &self.session(USER), &self.app(&phone))
            .unwrap();
        if at == At::RecoveryCode {
            return Some(phone);
        }
        self.mfa
            .acknowledge_recovery(USER, &mut self.session_mut(USER))
            .unwrap();
        Some(phone)
    }
}

fn requirement(on: bool, grace_period: u64) -> Requirement {
    if on {
        Requirement::On { grace_period }
    } else {
        Requirement::Off
    }
}

/// The screens of the user's sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Verification,
    Qr,
    SecondCode,
    RecoveryCode,
    In,
}

const EVERY_SCREEN: [At; 5] = [
    At::Verification,
    At::Qr,
    At::SecondCode,
    At::RecoveryCode,
    At::In,
];

fn qr(screen: Screen) -> Enrollment {
    match screen {
        Screen::ScanQr { enrollment, .. } => enrollment,
        other => panic!("expected the QR code window, got {other:?}"),
    }
}

/// The recovery codes an enrollment's last code issued.
fn issued(confirmed: Confirmed) -> Vec<String> {
    match confirmed {
        Confirmed::RecordRecoveryCode { codes } => {
            codes.iter().map(|c| c.expose_str().to_owned()).collect()
        }
        other => panic!("expected the recovery code window, got {other:?}"),
    }
}

fn codes(screen: Screen) -> Vec<String> {
    match screen {
        Screen::RecordRecoveryCode { codes, .. } => {
            codes.iter().map(|c| c.expose_str().to_owned()).collect()
        }
        other => panic!("expected the recovery code window, got {other:?}"),
    }
}

fn uri(enrollment: &Enrollment) -> String {
    enrollment.uri().expose_uri().to_string()
}

/// The variant and what it shows, comparable.
fn render(screen: &Screen) -> String {
    match screen {
        Screen::ScanQr { enrollment, .. } => format!("qr {}", uri(enrollment)),
        Screen::RecordRecoveryCode { codes, .. } => {
            let codes: Vec<&str> = codes.iter().map(|c| c.expose_str()).collect();
            format!("recovery {codes:?}")
        }
        other => format!("{other:?}"),
    }
}

// ---- The owner's sequence: Activate → QR, code → Continue → recovery code,
// ---- tick → Continue → MFA active.

#[test]
fn owner_1_activate_shows_the_qr_code() {
    let w = World::new();
    assert!(matches!(w.fresh_screen(OWNER), Screen::Continue));
    let phone = w
        .mfa
        .begin_enrollment(
            OWNER,
            &w.session(OWNER),
            Enrollment::builder("Acme", "olivia@acme.test"),
            EnrollmentCheck::OneCode,
        )
        .unwrap();
    assert!(phone.qr().unwrap().to_svg().starts_with("<svg"));
    assert!(uri(&phone).starts_with("otpauth://totp/Acme:olivia@acme.test?secret="));
    let status = w.mfa.status(OWNER).unwrap();
    assert_eq!(status.enrollment, Some(EnrollmentStage::FirstCode));
    assert_eq!(status.factor_bound_at, None);
    // The screen is the same QR code, from the store alone.
    assert_eq!(uri(&qr(w.fresh_screen(OWNER))), uri(&phone));
}

#[test]
fn owner_2_enter_the_one_time_code_and_continue() {
    let w = World::new();
    let phone = w.begin(OWNER, EnrollmentCheck::OneCode).unwrap();
    // A wrong code: counted against the enrollment, the same QR code again.
    assert!(matches!(
        w.mfa.confirm_enrollment(OWNER, &w.session(OWNER), "000000"),
        Err(MfaError::Mismatch)
    ));
    assert_eq!(uri(&qr(w.fresh_screen(OWNER))), uri(&phone));
    assert_eq!(w.mfa.status(OWNER).unwrap().failures, 0, "not the factor's");
    // The right one: the recovery code window comes next; no second code.
    let shown = issued(
        w.mfa
            .confirm_enrollment(OWNER, &w.session(OWNER), &w.app(&phone))
            .unwrap(),
    );
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].len(), 29);
    // Not active before the tick.
    assert_eq!(w.mfa.status(OWNER).unwrap().factor_bound_at, None);
    w.next_step();
    assert!(matches!(
        w.mfa
            .verify(OWNER, &mut w.session_mut(OWNER), &w.app(&phone)),
        Err(MfaError::NoFactor)
    ));
}

#[test]
fn owner_3_recovery_code_shown_and_i_have_safely_recorded_this_number() {
    let w = World::new();
    let phone = w.begin(OWNER, EnrollmentCheck::OneCode).unwrap();
    let shown = issued(
        w.mfa
            .confirm_enrollment(OWNER, &w.session(OWNER), &w.app(&phone))
            .unwrap(),
    );
    assert_eq!(codes(w.fresh_screen(OWNER)), shown);
    assert!(w.mfa.status(OWNER).unwrap().recovery_unacknowledged);
    assert_eq!(
        w.mfa
            .acknowledge_recovery(OWNER, &mut w.session_mut(OWNER))
            .unwrap(),
        Acknowledged::FactorActivated
    );
    // The copy kept for re-showing is gone for good.
    assert!(!w.mfa.status(OWNER).unwrap().recovery_unacknowledged);
    assert!(matches!(w.screen(OWNER), Screen::Continue));
    assert!(matches!(
        w.mfa.acknowledge_recovery(OWNER, &mut w.session_mut(OWNER)),
        Err(MfaError::NothingToAcknowledge)
    ));
    // The code recorded works.
    w.next_step();
    assert_eq!(
        w.mfa
            .use_recovery_code(OWNER, &mut w.session_mut(OWNER), &shown[0])
            .unwrap()
            .remaining,
        1
    );
}

#[test]
fn owner_4_continue_and_mfa_is_active() {
    let w = World::new();
    w.sink.take();
    let phone = w.activate_own_mfa(OWNER);
    assert_eq!(w.mfa.status(OWNER).unwrap().factor_bound_at, Some(START));
    assert!(matches!(
        w.fresh_screen(OWNER),
        Screen::EnterCode {
            gate: Gate::Open,
            ..
        }
    ));
    w.next_step();
    assert!(w
        .mfa
        .verify(OWNER, &mut w.session_mut(OWNER), &w.app(&phone))
        .is_ok());
    let events: Vec<_> = w.sink.take().into_iter().map(|e| e.event).collect();
    let expected = [
        Event::EnrollmentStarted,
        Event::EnrollmentConfirmed,
        Event::RecoveryCodesIssued { count: 1 },
        Event::FactorBound,
    ];
    assert_eq!(events[..4], expected, "{events:?}");
}

#[test]
fn owner_5_force_every_user_is_unavailable_until_the_owners_mfa_is_active() {
    let w = World::new();
    let preview = w.mfa.enforcement_preview(COMPANY, OWNER).unwrap();
    assert_eq!(
        preview.unavailable,
        Some(RequirementUnavailable::OwnMfaNotActive)
    );
    assert!(preview
        .unavailable
        .unwrap()
        .for_person()
        .contains("your own"));
    assert!(matches!(w.require(true, 0), Err(MfaError::OwnMfaRequired)));
    // A user is never allowed.
    let preview = w.mfa.enforcement_preview(COMPANY, USER).unwrap();
    assert_eq!(preview.unavailable, Some(RequirementUnavailable::NotOwner));
    // An enrollment waiting for its tick is not active MFA either.
    let phone = w.begin(OWNER, EnrollmentCheck::OneCode).unwrap();
    w.mfa
        .confirm_enrollment(OWNER, &w.session(OWNER), &w.app(&phone))
        .unwrap();
    assert!(matches!(w.require(true, 0), Err(MfaError::OwnMfaRequired)));
    w.mfa
        .acknowledge_recovery(OWNER, &mut w.session_mut(OWNER))
        .unwrap();
    // Who would be asked: one user mid-enrollment, one with nothing.
    w.begin("uma", EnrollmentCheck::TwoCodes).unwrap();
    let preview = w.mfa.enforcement_preview(COMPANY, OWNER).unwrap();
    assert_eq!(preview.unavailable, None);
    assert_eq!(
        preview.members,
        [
            (OWNER.to_owned(), MemberMfa::Active),
            (USER.to_owned(), MemberMfa::NotSetUp),
            (
                "uma".to_owned(),
                MemberMfa::Enrolling(EnrollmentStage::FirstCode)
            ),
        ]
    );
    assert_eq!(preview.to_enroll(), 2);
    assert_eq!(
        preview.for_person(),
        "2 of 3 users will be asked to set up MFA at their next sign-in."
    );
}

#[test]
fn owner_6_save_changes_requires_mfa_of_every_user() {
    let w = World::new();
    w.activate_own_mfa(OWNER);
    w.sink.take();
    let before = w.mfa.company_policy(COMPANY).unwrap().version();
    let policy = w.require(true, 0).unwrap();
    assert!(policy.requires_mfa());
    assert_eq!(policy.since(), w.clock.now());
    assert!(policy.version() > before);
    assert_eq!(w.mfa.company_policy(COMPANY).unwrap(), policy);
    // The owner's current code, then the change, by the owner.
    let events: Vec<_> = w
        .sink
        .take()
        .into_iter()
        .map(|e| (e.user, e.by, e.event))
        .collect();
    let (by_user, by_owner) = (Actor::User, Actor::Owner(OWNER.into()));
    assert!(
        matches!(&events[..], [
        (u1, b1, Event::Verified { .. }),
        (u2, b2, Event::CompanyPolicyChanged { require_mfa: true, grace_period: 0, .. }),
    ] if u1 == OWNER && u2 == OWNER && *b1 == by_user && *b2 == by_owner),
        "{events:?}"
    );
    // A locked owner shows as locked in the preview.
    for _ in 0..10 {
        w.clock.advance(900);
        let _ = w.mfa.verify(OWNER, &mut w.session_mut(OWNER), "000000");
    }
    let preview = w.mfa.enforcement_preview(COMPANY, OWNER).unwrap();
    assert_eq!(preview.count(MemberMfa::Locked), 1);
}

// ---- A user of a company that forces MFA: password → "Company Account
// ---- Verification" → Verify identity → QR, code → Continue → a second,
// ---- later code → Continue → recovery code, tick → Continue → in.

#[test]
fn user_1_password_then_company_account_verification() {
    let w = World::forcing();
    let screen = w.fresh_screen(USER);
    assert!(matches!(
        screen,
        Screen::CompanyAccountVerification { deadline: None }
    ));
    assert_eq!(screen.title().english(), "Company Account Verification");
    assert!(screen.for_person().contains("Verify identity"));
    assert_eq!(
        w.mfa.sign_in_requirement(USER, Some(COMPANY)).unwrap(),
        SignInRequirement::EnrollmentRequired
    );
    // Saving "on" again does not open a grace period...
    let since = w.mfa.company_policy(COMPANY).unwrap().since();
    assert_eq!(w.require(true, 7 * 24 * 3600).unwrap().since(), since);
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::CompanyAccountVerification { deadline: None }
    ));
    // ...switching it off and on with one does: the screen says until when
    // it may be skipped.
    w.require(false, 0).unwrap();
    w.require(true, 7 * 24 * 3600).unwrap();
    let deadline = w.clock.now() + 7 * 24 * 3600;
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::CompanyAccountVerification { deadline: Some(d) } if d == deadline
    ));
    w.clock.set(deadline);
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::CompanyAccountVerification { deadline: None }
    ));
}

#[test]
fn user_2_verify_identity_shows_the_qr_code() {
    let w = World::forcing();
    let phone = w.walk_to(At::Qr).unwrap();
    assert_eq!(uri(&qr(w.fresh_screen(USER))), uri(&phone));
    assert_eq!(
        w.mfa.status(USER).unwrap().enrollment,
        Some(EnrollmentStage::FirstCode)
    );
}

#[test]
fn user_3_enter_the_one_time_code_and_continue() {
    let w = World::forcing();
    let phone = w.walk_to(At::Qr).unwrap();
    assert!(matches!(
        w.mfa.confirm_enrollment(USER, &w.session(USER), "123"),
        Err(MfaError::Malformed)
    ));
    let next = w
        .mfa
        .confirm_enrollment(USER, &w.session(USER), &w.app(&phone))
        .unwrap();
    // START is 20 s before the next step.
    assert!(matches!(next, Confirmed::SecondCode { next_code_in: 20 }));
    let screen = w.screen(USER);
    assert!(screen.for_person().contains("wait 20 seconds"));
    assert_eq!(
        w.mfa.status(USER).unwrap().enrollment,
        Some(EnrollmentStage::SecondCode)
    );
    // No recovery code yet, and nothing to tick.
    assert!(!w.mfa.status(USER).unwrap().recovery_unacknowledged);
    assert!(matches!(
        w.mfa.acknowledge_recovery(USER, &mut w.session_mut(USER)),
        Err(MfaError::OutOfOrder {
            open: EnrollmentStage::SecondCode
        })
    ));
}

#[test]
fn user_4_enter_a_second_later_code_and_continue() {
    let w = World::forcing();
    let phone = w.walk_to(At::SecondCode).unwrap();
    let first = w.app(&phone);
    // The same code again: the seconds until the next one, not counted.
    for _ in 0..5 {
        let refused = w
            .mfa
            .confirm_second_code(USER, &w.session(USER), &first)
            .unwrap_err();
        assert!(matches!(refused, MfaError::Replayed { next_code_in: 20 }));
        assert_eq!(
            refused.for_person(),
            "That code was just used. Wait 20 seconds for the next one."
        );
    }
    // A wrong one: counted, the step stays open.
    assert!(matches!(
        w.mfa.confirm_second_code(USER, &w.session(USER), "000000"),
        Err(MfaError::Mismatch)
    ));
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::SecondCode {
            next_code_in: 20,
            ..
        }
    ));
    // The code before the first one is older: not later either.
    let earlier = common::code_at(&phone, w.clock.now() - 30);
    assert!(matches!(
        w.mfa.confirm_second_code(USER, &w.session(USER), &earlier),
        Err(MfaError::Replayed { next_code_in: 20 })
    ));
    w.clock.advance(20);
    let shown = issued(
        w.mfa
            .confirm_second_code(USER, &w.session(USER), &w.app(&phone))
            .unwrap(),
    );
    assert_eq!(shown.len(), 1);
    let events: Vec<_> = w.sink.take().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&Event::EnrollmentFirstCodeAccepted));
    assert!(events.contains(&Event::Rejected {
        reason: twostep::event::RejectReason::Mismatch,
        failures: 1
    }));
}

#[test]
fn user_5_recovery_code_shown_and_i_have_safely_recorded_this_number() {
    let w = World::forcing();
    w.walk_to(At::RecoveryCode);
    let shown = codes(w.fresh_screen(USER));
    assert_eq!(w.mfa.status(USER).unwrap().factor_bound_at, None);
    assert_eq!(
        w.mfa.sign_in_requirement(USER, Some(COMPANY)).unwrap(),
        SignInRequirement::EnrollmentRequired,
        "not in before the tick"
    );
    assert_eq!(
        w.mfa
            .acknowledge_recovery(USER, &mut w.session_mut(USER))
            .unwrap(),
        Acknowledged::FactorActivated
    );
    w.next_step();
    assert!(w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &shown[0])
        .is_ok());
}

#[test]
fn user_6_continue_and_in() {
    let w = World::forcing();
    let phone = w.walk_to(At::In).unwrap();
    // The enrollment passed the second factor in this session: in.
    assert!(matches!(w.screen(USER), Screen::Continue));
    assert_eq!(
        w.mfa.sign_in_requirement(USER, Some(COMPANY)).unwrap(),
        SignInRequirement::SecondFactor
    );
    w.next_step();
    assert!(w
        .mfa
        .verify(USER, &mut w.session_mut(USER), &w.app(&phone))
        .is_ok());
}

// ---- Afterwards: password plus a current code, or a recovery code.

#[test]
fn later_sign_in_with_password_and_a_current_code() {
    let w = World::forcing();
    let phone = w.walk_to(At::In).unwrap();
    w.clock.advance(24 * 3600);
    assert!(matches!(w.fresh_screen(USER), Screen::EnterCode { .. }));
    let code = w.app(&phone);
    w.mfa.verify(USER, &mut w.session_mut(USER), &code).unwrap();
    assert!(matches!(w.screen(USER), Screen::Continue));
    assert!(matches!(
        w.mfa.verify(USER, &mut w.session_mut(USER), &code),
        Err(MfaError::Replayed { .. })
    ));
}

#[test]
fn later_sign_in_with_the_recovery_code_when_the_phone_is_lost() {
    let w = World::forcing();
    w.walk_to(At::RecoveryCode);
    let recorded = codes(w.fresh_screen(USER)).remove(0);
    w.mfa
        .acknowledge_recovery(USER, &mut w.session_mut(USER))
        .unwrap();
    w.clock.advance(24 * 3600);
    let used = w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &recorded)
        .unwrap();
    assert!(!used.retried);
    let replacement = used.new_code.unwrap().expose_str().to_owned();
    // The replacement is shown again after a reload, but never before the
    // second factor is passed in a session.
    assert_eq!(codes(w.screen(USER)), std::slice::from_ref(&replacement));
    assert!(matches!(w.fresh_screen(USER), Screen::EnterCode { .. }));
    assert_eq!(
        w.mfa
            .acknowledge_recovery(USER, &mut w.session_mut(USER))
            .unwrap(),
        Acknowledged::CodesRecorded
    );
    assert!(matches!(w.screen(USER), Screen::Continue));
    // The used code is spent; the replacement signs in.
    assert!(matches!(
        w.mfa
            .use_recovery_code(USER, &mut w.session_mut(USER), &recorded),
        Err(MfaError::Mismatch)
    ));
    assert!(w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &replacement)
        .is_ok());
}

// ---- Every screen: reload, abandon, out of order, lost answers.

#[test]
fn a_reload_at_every_screen_renders_it_again_from_the_crate_alone() {
    for at in EVERY_SCREEN {
        let w = World::forcing();
        w.walk_to(at);
        let first = render(&w.screen(USER));
        let bytes = w.bytes(USER);
        for _ in 0..3 {
            assert_eq!(render(&w.screen(USER)), first, "{at:?}");
        }
        // A reload a little later: the same QR code, the same recovery code.
        w.clock.advance(5);
        let later = w.screen(USER);
        match at {
            At::SecondCode => assert!(matches!(
                later,
                Screen::SecondCode {
                    next_code_in: 15,
                    ..
                }
            )),
            _ => assert_eq!(render(&later), first, "{at:?}"),
        }
        assert_eq!(w.bytes(USER), bytes, "{at:?}: a reload wrote nothing");
    }
}

#[test]
fn abandoning_at_every_screen_and_signing_in_again_lands_on_that_screen() {
    for at in EVERY_SCREEN {
        let w = World::forcing();
        let phone = w.walk_to(at);
        let before = render(&w.fresh_screen(USER));
        // The person closes the browser and signs in again five minutes
        // later: only the password so far.
        w.clock.advance(5 * 60);
        let again = w.fresh_screen(USER);
        match at {
            At::Verification | At::Qr | At::RecoveryCode => {
                assert_eq!(render(&again), before, "{at:?}")
            }
            At::SecondCode => assert!(matches!(
                again,
                Screen::SecondCode {
                    next_code_in: 0,
                    ..
                }
            )),
            At::In => assert!(matches!(again, Screen::EnterCode { .. })),
        }
        // And carries on from there to the end.
        match at {
            At::Verification => {}
            At::Qr => {
                let phone = phone.unwrap();
                w.mfa
                    .confirm_enrollment(USER, &w.session(USER), &w.app(&phone))
                    .unwrap();
                w.next_step();
                w.mfa
                    .confirm_second_code(USER, &w.session(USER), &w.app(&phone))
                    .unwrap();
                w.mfa
                    .acknowledge_recovery(USER, &mut w.session_mut(USER))
                    .unwrap();
            }
            At::SecondCode => {
                w.mfa
                    .confirm_second_code(USER, &w.session(USER), &w.app(&phone.unwrap()))
                    .unwrap();
                w.mfa
                    .acknowledge_recovery(USER, &mut w.session_mut(USER))
                    .unwrap();
            }
            At::RecoveryCode => {
                w.mfa
                    .acknowledge_recovery(USER, &mut w.session_mut(USER))
                    .unwrap();
            }
            At::In => {
                w.mfa
                    .verify(USER, &mut w.session_mut(USER), &w.app(&phone.unwrap()))
                    .unwrap();
            }
        }
        if at != At::Verification {
            assert!(matches!(w.screen(USER), Screen::Continue));
        }
    }
}

#[test]
fn an_abandoned_qr_code_expires_and_the_person_starts_again() {
    let w = World::forcing();
    let old_phone = w.walk_to(At::Qr).unwrap();
    w.clock.advance(10 * 60);
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::CompanyAccountVerification { .. }
    ));
    assert!(matches!(
        w.mfa
            .confirm_enrollment(USER, &w.session(USER), &w.app(&old_phone)),
        Err(MfaError::EnrollmentExpired)
    ));
    let phone = w.begin(USER, EnrollmentCheck::TwoCodes).unwrap();
    assert_ne!(uri(&phone), uri(&old_phone));
    assert!(w
        .mfa
        .confirm_enrollment(USER, &w.session(USER), &w.app(&phone))
        .is_ok());
}

#[test]
fn an_out_of_order_request_at_every_screen_is_refused_and_changes_nothing() {
    use EnrollmentStage as S;
    let out_of_order = |result: Result<(), MfaError<Lost>>, stage: S| {
        assert!(
            matches!(result, Err(MfaError::OutOfOrder { open }) if open == stage),
            "{result:?}, expected {stage:?} open"
        );
    };
    for at in EVERY_SCREEN {
        let w = World::forcing();
        let phone = w.walk_to(at);
        let code = phone.as_ref().map_or("123456".into(), |p| w.app(p));
        let bytes = w.bytes(USER);
        let first = || {
            w.mfa
                .confirm_enrollment(USER, &w.session(USER), &code)
                .map(|_| ())
        };
        let second = || {
            w.mfa
                .confirm_second_code(USER, &w.session(USER), &code)
                .map(|_| ())
        };
        let tick = || {
            w.mfa
                .acknowledge_recovery(USER, &mut w.session_mut(USER))
                .map(|_| ())
        };
        let no_factor = || {
            matches!(
                w.mfa.verify(USER, &mut w.session_mut(USER), &code),
                Err(MfaError::NoFactor)
            )
        };
        match at {
            At::Verification => {
                assert!(matches!(first(), Err(MfaError::NoEnrollment)));
                assert!(matches!(second(), Err(MfaError::NoEnrollment)));
                assert!(matches!(tick(), Err(MfaError::NothingToAcknowledge)));
                assert!(no_factor());
            }
            At::Qr => {
                out_of_order(second(), S::FirstCode);
                out_of_order(tick(), S::FirstCode);
                assert!(no_factor());
            }
            At::SecondCode => {
                out_of_order(first(), S::SecondCode);
                out_of_order(tick(), S::SecondCode);
                assert!(no_factor());
            }
            At::RecoveryCode => {
                out_of_order(first(), S::RecoveryCode);
                out_of_order(second(), S::RecoveryCode);
                assert!(no_factor());
            }
            At::In => {
                assert!(matches!(first(), Err(MfaError::FactorExists)));
                assert!(matches!(second(), Err(MfaError::FactorExists)));
                assert!(matches!(tick(), Err(MfaError::NothingToAcknowledge)));
                assert!(matches!(
                    w.begin(USER, EnrollmentCheck::TwoCodes),
                    Err(MfaError::FactorExists)
                ));
            }
        }
        assert_eq!(w.bytes(USER), bytes, "{at:?}: a refusal wrote nothing");
    }
}

/// The answer was lost after the write.
fn lost<T: std::fmt::Debug>(result: Result<T, MfaError<Lost>>) {
    assert!(matches!(result, Err(MfaError::Store(Lost))), "{result:?}");
}

#[test]
fn a_store_that_writes_then_reports_an_error_at_every_step_loses_nothing() {
    let w = World::forcing();

    // Verify identity: the QR code the person never saw is shown on reload.
    w.lose_next_answer();
    lost(w.begin(USER, EnrollmentCheck::TwoCodes));
    let phone = qr(w.fresh_screen(USER));

    // The first code: saved; the reload shows the second-code screen.
    w.lose_next_answer();
    lost(
        w.mfa
            .confirm_enrollment(USER, &w.session(USER), &w.app(&phone)),
    );
    assert!(matches!(w.fresh_screen(USER), Screen::SecondCode { .. }));

    // The second code: the recovery code nobody saw is shown on reload.
    w.next_step();
    w.lose_next_answer();
    lost(
        w.mfa
            .confirm_second_code(USER, &w.session(USER), &w.app(&phone)),
    );
    let recorded = codes(w.fresh_screen(USER)).remove(0);

    // The tick: MFA is active; the session did not learn it, so the
    // reload asks for the password again, then the next code.
    w.lose_next_answer();
    lost(w.mfa.acknowledge_recovery(USER, &mut w.session_mut(USER)));
    assert!(matches!(w.screen(USER), Screen::SignInAgain));
    w.sign_in(USER);
    assert!(matches!(w.screen(USER), Screen::EnterCode { .. }));
    w.next_step();
    let code = w.app(&phone);
    w.lose_next_answer();
    lost(w.mfa.verify(USER, &mut w.session_mut(USER), &code));
    // The lost sign-in's code is used; the next one works.
    assert!(matches!(
        w.mfa.verify(USER, &mut w.session_mut(USER), &code),
        Err(MfaError::Replayed { .. })
    ));
    w.next_step();
    w.mfa
        .verify(USER, &mut w.session_mut(USER), &w.app(&phone))
        .unwrap();

    // The phone is lost, and so is the answer to the recovery sign-in: the
    // same code again signs in and shows the same replacement.
    w.clock.advance(3600);
    w.lose_next_answer();
    lost(
        w.mfa
            .use_recovery_code(USER, &mut w.session_mut(USER), &recorded),
    );
    let retry = w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &recorded)
        .unwrap();
    assert!(retry.retried);
    let replacement = retry.new_code.unwrap().expose_str().to_owned();
    assert_eq!(codes(w.screen(USER)), std::slice::from_ref(&replacement));
    // Its tick's answer is lost too: still recorded.
    w.lose_next_answer();
    lost(w.mfa.acknowledge_recovery(USER, &mut w.session_mut(USER)));
    assert!(matches!(w.screen(USER), Screen::Continue));
    assert!(matches!(
        w.mfa
            .use_recovery_code(USER, &mut w.session_mut(USER), &recorded),
        Err(MfaError::Mismatch)
    ));
    assert!(w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &replacement)
        .is_ok());

    // The owner's Save changes takes two saves: the owner's code, then the
    // policy. The code's answer lost: nothing changed; the code is used, so
    // the owner saves again with the next one.
    w.lose_next_answer();
    lost(w.require(false, 0));
    assert!(w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
    assert!(!w.require(false, 0).unwrap().requires_mfa());
    // The policy's answer lost: saved, visible on reload.
    w.lose_answer_of_save(2);
    lost(w.require(true, 0));
    assert!(w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
}

#[test]
fn the_owners_sequence_survives_reloads_abandonment_and_lost_answers() {
    let w = World::new();
    // Activate, then the answer is lost: the QR code is there on reload,
    // and still there when the owner signs in again a few minutes later.
    w.lose_next_answer();
    lost(w.begin(OWNER, EnrollmentCheck::OneCode));
    let phone = qr(w.fresh_screen(OWNER));
    w.clock.advance(4 * 60);
    assert_eq!(uri(&qr(w.fresh_screen(OWNER))), uri(&phone));
    // One code asked for: the second-code step is not open.
    assert!(matches!(
        w.mfa
            .confirm_second_code(OWNER, &w.session(OWNER), &w.app(&phone)),
        Err(MfaError::OutOfOrder {
            open: EnrollmentStage::FirstCode
        })
    ));
    // The code's answer is lost: the recovery code is shown on reload.
    w.lose_next_answer();
    lost(
        w.mfa
            .confirm_enrollment(OWNER, &w.session(OWNER), &w.app(&phone)),
    );
    let shown = codes(w.fresh_screen(OWNER));
    w.clock.advance(3600);
    assert_eq!(codes(w.fresh_screen(OWNER)), shown);
    // The tick's answer is lost: MFA is active all the same. The session
    // did not learn it, so it is one from before the owner's MFA changed:
    // the reload asks for the password again, then the code.
    w.lose_next_answer();
    lost(w.mfa.acknowledge_recovery(OWNER, &mut w.session_mut(OWNER)));
    assert!(w.mfa.status(OWNER).unwrap().factor_bound_at.is_some());
    assert!(matches!(w.screen(OWNER), Screen::SignInAgain));
    w.sign_in(OWNER);
    *w.owner_phone.borrow_mut() = Some(phone);
    assert!(w.require(true, 0).is_ok());
    assert!(w
        .mfa
        .use_recovery_code(OWNER, &mut w.session_mut(OWNER), &shown[0])
        .is_ok());
}

#[test]
fn a_used_single_recovery_code_retries_only_briefly_and_only_until_the_tick() {
    let w = World::forcing();
    w.walk_to(At::RecoveryCode);
    let recorded = codes(w.fresh_screen(USER)).remove(0);
    w.mfa
        .acknowledge_recovery(USER, &mut w.session_mut(USER))
        .unwrap();
    let used = w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &recorded)
        .unwrap();
    let replacement = used.new_code.unwrap().expose_str().to_owned();
    // Within ten minutes, the same replacement; nothing new is issued.
    w.clock.advance(9 * 60);
    let again = w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &recorded)
        .unwrap();
    assert!(again.retried);
    assert_eq!(again.new_code.unwrap().expose_str(), replacement);
    assert!(w
        .sink
        .take()
        .iter()
        .any(|e| e.event == Event::RecoveryCodeRetried));
    // After the window, spent.
    w.clock.advance(60);
    assert!(matches!(
        w.mfa
            .use_recovery_code(USER, &mut w.session_mut(USER), &recorded),
        Err(MfaError::Mismatch)
    ));
    // After the tick, spent at once.
    let used = w
        .mfa
        .use_recovery_code(USER, &mut w.session_mut(USER), &replacement)
        .unwrap();
    w.mfa
        .acknowledge_recovery(USER, &mut w.session_mut(USER))
        .unwrap();
    assert!(matches!(
        w.mfa
            .use_recovery_code(USER, &mut w.session_mut(USER), &replacement),
        Err(MfaError::Mismatch)
    ));
    assert!(w
        .mfa
        .use_recovery_code(
            USER,
            &mut w.session_mut(USER),
            used.new_code.unwrap().expose_str()
        )
        .is_ok());
}

#[test]
fn wrong_enrollment_codes_never_lock_anyone_out_of_enrolling() {
    let w = World::forcing();
    let first = w.begin(USER, EnrollmentCheck::TwoCodes).unwrap();
    // Throttled like sign-in codes...
    for _ in 0..3 {
        assert!(matches!(
            w.mfa.confirm_enrollment(USER, &w.session(USER), "000000"),
            Err(MfaError::Mismatch)
        ));
    }
    assert!(matches!(
        w.mfa
            .confirm_enrollment(USER, &w.session(USER), &w.app(&first)),
        Err(MfaError::Throttled { retry_after: 15 })
    ));
    // ...but a fresh begin makes the earlier guesses worthless: no wait.
    let second = w.begin(USER, EnrollmentCheck::TwoCodes).unwrap();
    assert!(w
        .mfa
        .confirm_enrollment(USER, &w.session(USER), &w.app(&second))
        .is_ok());

    // At the lockout the enrollment is void, not the person. (A QR code
    // that waits a day, so that ten throttled guesses fit in its life.)
    let w = World::with(|config| config.with_enrollment_ttl(24 * 3600)).force();
    w.begin(USER, EnrollmentCheck::OneCode).unwrap();
    let mut last = Ok(Confirmed::SecondCode { next_code_in: 0 });
    for _ in 0..10 {
        w.clock.advance(900);
        last = w.mfa.confirm_enrollment(USER, &w.session(USER), "000000");
    }
    let locked = last.unwrap_err();
    assert!(matches!(locked, MfaError::EnrollmentLocked));
    assert!(locked.for_person().contains("Start again"));
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::CompanyAccountVerification { .. }
    ));
    let fresh = w.begin(USER, EnrollmentCheck::OneCode).unwrap();
    assert!(w
        .mfa
        .confirm_enrollment(USER, &w.session(USER), &w.app(&fresh))
        .is_ok());
    w.mfa
        .acknowledge_recovery(USER, &mut w.session_mut(USER))
        .unwrap();
    assert_eq!(w.mfa.status(USER).unwrap().failures, 0);
    assert!(w
        .sink
        .take()
        .iter()
        .any(|e| e.event == Event::EnrollmentLocked { failures: 10 }));
}

#[test]
fn a_phone_whose_codes_keep_matching_a_neighbouring_step_is_told_so() {
    let w = World::forcing();
    let phone = w.walk_to(At::Qr).unwrap();
    // This phone's clock runs 45 s fast and the person submits 3 s after
    // reading: its code is of the next step while the server's step is in
    // its first 18 s (after that it is two steps ahead, out of the window).
    let fast = |w: &World| common::code_at(&phone, w.clock.now() + 45 - 3);
    let step_start = w.clock.now() / 30 * 30;
    let at = |steps: u64, into: u64| w.clock.set(step_start + steps * 30 + into);
    at(0, 13);
    w.mfa
        .confirm_enrollment(USER, &w.session(USER), &fast(&w))
        .unwrap();
    // One code off the current step is no pattern yet.
    assert_eq!(w.mfa.status(USER).unwrap().clock_drift, None);
    at(5, 2);
    w.mfa
        .confirm_second_code(USER, &w.session(USER), &fast(&w))
        .unwrap();
    w.mfa
        .acknowledge_recovery(USER, &mut w.session_mut(USER))
        .unwrap();
    assert_eq!(
        w.mfa.status(USER).unwrap().clock_drift.map(|d| d.is_fast()),
        Some(true)
    );
    at(200, 17);
    w.mfa
        .verify(USER, &mut w.session_mut(USER), &fast(&w))
        .unwrap();
    at(3_000, 8);
    w.mfa
        .verify(USER, &mut w.session_mut(USER), &fast(&w))
        .unwrap();
    let Screen::EnterCode {
        clock_drift: Some(drift),
        ..
    } = w.fresh_screen(USER)
    else {
        panic!("the code screen should mention the clock")
    };
    assert!(drift.is_fast());
    assert!((30..=45).contains(&drift.seconds()), "{drift:?}");
    assert!(drift.for_person().contains("fast"));
    assert_eq!(w.mfa.status(USER).unwrap().clock_drift, Some(drift));
    // An accurate phone, as the owner's, is told nothing.
    assert_eq!(w.mfa.status(OWNER).unwrap().clock_drift, None);
}

#[test]
fn refusals_and_screens_have_words_for_people_with_their_numbers() {
    type E = MfaError<Lost>;
    assert_eq!(
        E::Replayed { next_code_in: 12 }.for_person(),
        "That code was just used. Wait 12 seconds for the next one."
    );
    assert_eq!(
        E::Throttled { retry_after: 900 }.for_person(),
        "Too many wrong codes. Try again in 15 minutes."
    );
    assert!(E::Locked.for_person().contains("recovery code"));
    assert!(E::Store(Lost).for_person().contains("our side"));
    assert!(
        !E::Store(Lost).for_person().contains("lost"),
        "nothing internal"
    );
    let required_by = SignInRequirement::EnrollmentRequiredBy { deadline: 7_200 };
    assert!(required_by.for_person(0).contains("2 hours"));
    let waiting = Screen::EnterCode {
        gate: Gate::Wait { retry_after: 30 },
        clock_drift: None,
    };
    assert!(waiting.for_person().contains("30 seconds"));
}

// ---- Company rules.

#[test]
fn an_owner_cannot_remove_their_own_mfa_while_the_company_requires_it() {
    let w = World::new();
    let phone = w.activate_own_mfa(OWNER);
    w.require(true, 0).unwrap();
    assert!(matches!(
        w.mfa.remove_own_factor(OWNER, &mut w.session_mut(OWNER)),
        Err(MfaError::RequiredByCompany)
    ));
    // Turning the requirement off is allowed to the owner and audited; then removal works.
    w.sink.take();
    w.require(false, 0).unwrap();
    assert!(w
        .sink
        .take()
        .iter()
        .any(|e| e.by == Actor::Owner(OWNER.into())
            && matches!(
                e.event,
                Event::CompanyPolicyChanged {
                    require_mfa: false,
                    ..
                }
            )));
    // Removing it is a change to the owner's MFA: a code passed recently
    // (the one `require` passed, moments ago).
    assert!(w
        .mfa
        .remove_own_factor(OWNER, &mut w.session_mut(OWNER))
        .is_ok());
    assert_eq!(w.mfa.status(OWNER).unwrap().factor_bound_at, None);
    // This session goes on, without MFA; the phone's codes mean nothing now.
    assert!(matches!(w.screen(OWNER), Screen::Continue));
    w.next_step();
    assert!(matches!(
        w.mfa
            .verify(OWNER, &mut w.session_mut(OWNER), &w.app(&phone)),
        Err(MfaError::NoFactor)
    ));
}

#[test]
fn an_owner_can_reset_another_users_mfa_in_a_session_past_their_second_factor() {
    let w = World::new();
    let owner_phone = w.activate_own_mfa(OWNER);
    w.require(true, 0).unwrap();
    w.walk_to(At::In);
    // A session with the owner's password only may not.
    w.sign_in(OWNER);
    assert!(matches!(
        w.mfa
            .reset_user_mfa(COMPANY, OWNER, &w.session(OWNER), USER),
        Err(MfaError::SecondFactorRequired)
    ));
    assert!(matches!(
        w.mfa.reset_user_mfa(COMPANY, USER, &w.session(USER), OWNER),
        Err(MfaError::NotOwner)
    ));
    w.next_step();
    w.mfa
        .verify(OWNER, &mut w.session_mut(OWNER), &w.app(&owner_phone))
        .unwrap();
    w.sink.take();
    w.mfa
        .reset_user_mfa(COMPANY, OWNER, &w.session(OWNER), USER)
        .unwrap();
    // The member's session from before the reset is over; a new sign-in
    // with the password meets "Company Account Verification".
    assert!(matches!(w.screen(USER), Screen::SignInAgain));
    assert!(matches!(
        w.begin(USER, EnrollmentCheck::TwoCodes),
        Err(MfaError::SessionEnded)
    ));
    assert!(matches!(
        w.fresh_screen(USER),
        Screen::CompanyAccountVerification { .. }
    ));
    let events = w.sink.take();
    assert!(events.iter().any(|e| e.user == USER
        && e.event == Event::FactorReset
        && e.by == Actor::Owner(OWNER.into())));
}

#[test]
fn a_non_owner_cannot_change_the_policy() {
    let w = World::new();
    w.activate_own_mfa(USER);
    let on = Requirement::On { grace_period: 0 };
    assert!(matches!(
        w.mfa
            .set_mfa_requirement(COMPANY, USER, &w.session(USER), on),
        Err(MfaError::NotOwner)
    ));
    assert!(matches!(
        w.mfa
            .set_mfa_requirement("nope", OWNER, &w.session(OWNER), on),
        Err(MfaError::NoCompany)
    ));
    assert!(matches!(
        w.mfa.create_company(COMPANY, &[USER]),
        Err(MfaError::CompanyExists)
    ));
    assert!(!w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
    // Personal MFA is honoured where the company does not require it.
    assert_eq!(
        w.mfa.sign_in_requirement(USER, Some(COMPANY)).unwrap(),
        SignInRequirement::SecondFactor
    );
}

#[test]
fn an_enrollment_never_replaces_an_active_factor() {
    let w = World::new();
    // Someone with the password begins an enrollment for the user...
    let theirs = w.begin(USER, EnrollmentCheck::OneCode).unwrap();
    // ...then the user binds their own factor in one call.
    let own = common::enrollment(77);
    w.mfa
        .bind(USER, &mut w.session_mut(USER), &own, &w.app(&own))
        .unwrap();
    assert!(matches!(
        w.mfa
            .confirm_enrollment(USER, &w.session(USER), &w.app(&theirs)),
        Err(MfaError::FactorExists | MfaError::NoEnrollment)
    ));
    assert!(matches!(
        w.mfa.acknowledge_recovery(USER, &mut w.session_mut(USER)),
        Err(MfaError::NothingToAcknowledge)
    ));
    w.next_step();
    assert!(w
        .mfa
        .verify(USER, &mut w.session_mut(USER), &w.app(&own))
        .is_ok());
}

#[test]
fn an_owner_cannot_reset_their_own_mfa_and_owners_are_checked() {
    let w = World::new();
    w.activate_own_mfa(OWNER);
    assert!(matches!(
        w.mfa
            .reset_user_mfa(COMPANY, OWNER, &w.session(OWNER), OWNER),
        Err(MfaError::CannotResetOwner)
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
