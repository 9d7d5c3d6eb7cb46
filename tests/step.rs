//! The one step call: every screen of the help page reached with an action
//! in and a screen out, refusals in words that fit what was tried, and
//! "Not now" for a setup the person started themselves.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use common::code_at;
use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::screen::Input;
use twostep::words::Message;
use twostep::{
    Action, Config, Enrollment, Keyring, MemoryStore, Mfa, MfaSession, Requirement, Screen,
    ScreenKind, Step,
};

const START: u64 = 1_700_000_020; // 20 s before the next step
const COMPANY: &str = "acme";

struct World {
    mfa: Mfa<Arc<MemoryStore>>,
    clock: Arc<ManualClock>,
}

impl World {
    fn new() -> World {
        let clock = Arc::new(ManualClock::new(START));
        let mfa = Mfa::with_config(
            Arc::new(MemoryStore::new()),
            Keyring::new(1, &[6; 32]),
            Config::default()
                .with_clock(clock.clone())
                .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(23))
                .with_issuer("Acme"),
        );
        mfa.create_company(COMPANY, &["olivia"]).unwrap();
        mfa.add_member(COMPANY, "umar").unwrap();
        World { mfa, clock }
    }

    fn step(&self, user: &str, session: &mut MfaSession, action: Action<'_>) -> Step {
        self.mfa.step(user, Some(COMPANY), session, action).unwrap()
    }

    fn code(&self, phone: &Enrollment) -> String {
        code_at(phone, self.clock.now())
    }

    /// "Activate" (or "Verify identity"): the QR window's enrollment.
    fn scan_qr(&self, user: &str, session: &mut MfaSession) -> Enrollment {
        let account = format!("{user}@acme.test");
        let step = self.step(user, session, Action::SetUp { account: &account });
        let Screen::ScanQr { enrollment, .. } = step.screen else {
            panic!("{:?}", step.screen)
        };
        enrollment
    }

    /// The owner activates their own MFA through the step call.
    fn activated_owner(&self) -> (MfaSession, Enrollment) {
        let mut owner = self.mfa.start_session("olivia").unwrap();
        let enrollment = self.scan_qr("olivia", &mut owner);
        let step = self.step("olivia", &mut owner, Action::Code(&self.code(&enrollment)));
        assert_eq!(step.screen.kind(), ScreenKind::RecordRecoveryCode);
        let step = self.step("olivia", &mut owner, Action::Recorded { ticked: true });
        assert_eq!(step.screen.kind(), ScreenKind::Continue);
        assert!(step.passed_second_factor);
        (owner, enrollment)
    }
}

#[test]
fn the_owners_sequence_is_three_steps_and_asks_one_code() {
    let w = World::new();
    let (owner, _) = w.activated_owner();
    // And the requirement saves at once with that session.
    let on = Requirement::On { grace_period: 0 };
    assert!(w
        .mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, on)
        .is_ok());
}

#[test]
fn a_users_company_account_verification_asks_two_codes_and_the_tick() {
    let w = World::new();
    let (owner, _) = w.activated_owner();
    let on = Requirement::On { grace_period: 0 };
    w.mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, on)
        .unwrap();
    let mut umar = w.mfa.start_session("umar").unwrap();
    let screen = w.mfa.current_screen("umar", Some(COMPANY), &umar).unwrap();
    assert_eq!(screen.kind(), ScreenKind::CompanyAccountVerification);
    assert_eq!(screen.forms()[0].buttons[0].action, "set_up");
    let step = w.step(
        "umar",
        &mut umar,
        Action::SetUp {
            account: "umar@acme.test",
        },
    );
    let Screen::ScanQr {
        enrollment,
        required: true,
    } = step.screen
    else {
        panic!("{:?}", step.screen)
    };
    assert!(enrollment
        .uri()
        .expose_uri()
        .starts_with("otpauth://totp/Acme:umar@acme.test?"));
    // Required: no "Not now" among the buttons, and refused if sent.
    let buttons: Vec<&str> = Screen::ScanQr {
        enrollment: enrollment.clone(),
        required: true,
    }
    .forms()[0]
        .buttons
        .iter()
        .map(|b| b.action)
        .collect();
    assert_eq!(buttons, ["code", "start_again"]);
    let step = w.step("umar", &mut umar, Action::NotNow);
    assert_eq!(step.refused, Some(Message::SetupRequired));
    assert_eq!(step.screen.kind(), ScreenKind::ScanQr);
    // The first code, then the same code again, then a later one.
    let first = w.code(&enrollment);
    let step = w.step("umar", &mut umar, Action::Code(&first));
    assert!(matches!(
        step.screen,
        Screen::SecondCode {
            next_code_in: 20,
            ..
        }
    ));
    let step = w.step("umar", &mut umar, Action::Code(&first));
    assert_eq!(step.refused, Some(Message::CodeReplayed { seconds: 20 }));
    w.clock.advance(20);
    let step = w.step("umar", &mut umar, Action::Code(&w.code(&enrollment)));
    assert_eq!(step.screen.kind(), ScreenKind::RecordRecoveryCode);
    assert_eq!(step.screen.forms()[0].input, Some(Input::Tick));
    // Continue without the tick: refused, the same codes again.
    let step = w.step("umar", &mut umar, Action::Recorded { ticked: false });
    assert_eq!(step.refused, Some(Message::NotTicked));
    assert_eq!(step.screen.kind(), ScreenKind::RecordRecoveryCode);
    let step = w.step("umar", &mut umar, Action::Recorded { ticked: true });
    assert_eq!(step.screen.kind(), ScreenKind::Continue);
    assert!(step.passed_second_factor);
    // A later sign-in: the code screen, a code, in.
    w.clock.advance(60);
    let mut later = w.mfa.start_session("umar").unwrap();
    let step = w.step("umar", &mut later, Action::Code(&w.code(&enrollment)));
    assert_eq!(step.screen.kind(), ScreenKind::Continue);
    assert!(step.passed_second_factor);
}

#[test]
fn a_wrong_recovery_code_is_told_as_a_recovery_code_not_a_one_time_code() {
    let w = World::new();
    let (_, _) = w.activated_owner();
    let mut again = w.mfa.start_session("olivia").unwrap();
    let step = w.step(
        "olivia",
        &mut again,
        Action::RecoveryCode("00000-00000-00000-00000-00000"),
    );
    assert_eq!(step.refused, Some(Message::RecoveryCodeWrong));
    assert!(step.refused.unwrap().english().contains("recovery code"));
    let step = w.step("olivia", &mut again, Action::RecoveryCode("hello"));
    assert_eq!(step.refused, Some(Message::RecoveryCodeMalformed));
    let step = w.step("olivia", &mut again, Action::Code("hello"));
    assert_eq!(step.refused, Some(Message::CodeMalformed));
    assert_eq!(step.screen.kind(), ScreenKind::EnterCode);
    assert!(!step.passed_second_factor);
}

#[test]
fn a_recovery_code_signs_in_and_shows_its_replacement_saying_the_old_one_is_spent() {
    let w = World::new();
    let mut owner = w.mfa.start_session("olivia").unwrap();
    let enrollment = w.scan_qr("olivia", &mut owner);
    let step = w.step("olivia", &mut owner, Action::Code(&w.code(&enrollment)));
    let Screen::RecordRecoveryCode { codes, .. } = step.screen else {
        panic!()
    };
    let recorded = codes[0].expose_str().to_owned();
    let _ = w.step("olivia", &mut owner, Action::Recorded { ticked: true });
    let mut lost_phone = w.mfa.start_session("olivia").unwrap();
    let step = w.step("olivia", &mut lost_phone, Action::RecoveryCode(&recorded));
    assert!(step.passed_second_factor);
    assert!(matches!(
        step.screen,
        Screen::RecordRecoveryCode {
            replacement: true,
            ..
        }
    ));
    assert_eq!(step.screen.message(), Message::RecordReplacementCode);
    assert!(step.screen.for_person().contains("will not work again"));
}

#[test]
fn a_setup_the_person_started_can_be_put_off_and_started_again() {
    let w = World::new();
    let mut owner = w.mfa.start_session("olivia").unwrap();
    let step = w.step(
        "olivia",
        &mut owner,
        Action::SetUp {
            account: "olivia@acme.test",
        },
    );
    let Screen::ScanQr {
        enrollment: first,
        required: false,
    } = step.screen
    else {
        panic!("{:?}", step.screen)
    };
    // "Start again": a new QR code with the same names.
    let step = w.step("olivia", &mut owner, Action::StartAgain);
    let Screen::ScanQr {
        enrollment: second, ..
    } = step.screen
    else {
        panic!()
    };
    assert_ne!(first.uri().expose_uri(), second.uri().expose_uri());
    assert_eq!(first.uri().account(), second.uri().account());
    // "Not now": back to where the person was; signing in again lands in
    // the app, not on the QR code.
    let step = w.step("olivia", &mut owner, Action::NotNow);
    assert_eq!(step.refused, None);
    assert_eq!(step.screen.kind(), ScreenKind::Continue);
    let fresh = w.mfa.start_session("olivia").unwrap();
    assert_eq!(
        w.mfa
            .current_screen("olivia", Some(COMPANY), &fresh)
            .unwrap()
            .kind(),
        ScreenKind::Continue
    );
    assert!(w.mfa.status("olivia").unwrap().enrollment.is_none());
    // A code now answers that no setup is in progress (no QR was shown).
    let step = w.step("olivia", &mut owner, Action::Code("123456"));
    assert_eq!(step.refused, Some(Message::NoSetup));
    assert!(!step.refused.unwrap().english().contains("QR code"));
    let step = w.step("olivia", &mut owner, Action::StartAgain);
    assert_eq!(step.refused, Some(Message::NoSetup));
}

#[test]
fn a_session_from_before_a_change_steps_nowhere() {
    let w = World::new();
    let mut stale = w.mfa.start_session("umar").unwrap();
    let mut umar = w.mfa.start_session("umar").unwrap();
    let enrollment = w.scan_qr("umar", &mut umar);
    let _ = w.step("umar", &mut umar, Action::Code(&w.code(&enrollment)));
    let _ = w.step("umar", &mut umar, Action::Recorded { ticked: true });
    let step = w.step("umar", &mut stale, Action::Code(&w.code(&enrollment)));
    assert_eq!(step.screen.kind(), ScreenKind::SignInAgain);
    assert_eq!(step.refused, Some(Message::SessionEnded));
    assert!(step.screen.forms().is_empty());
}

#[test]
fn actions_come_from_a_forms_fields() {
    assert!(matches!(
        Action::from_form("set_up", "", false, "a@b.test"),
        Some(Action::SetUp {
            account: "a@b.test"
        })
    ));
    assert!(matches!(
        Action::from_form("recorded", "", true, ""),
        Some(Action::Recorded { ticked: true })
    ));
    assert!(matches!(
        Action::from_form("recovery_code", "K7QF3", false, ""),
        Some(Action::RecoveryCode("K7QF3"))
    ));
    for action in ["start_again", "not_now", "code"] {
        assert!(
            Action::from_form(action, "", false, "").is_some(),
            "{action}"
        );
    }
    assert!(Action::from_form("", "", false, "").is_none());
    // Every button of every screen names an action that exists.
    let screens = [
        Screen::EnterCode {
            gate: twostep::throttle::Gate::Open,
            clock_drift: None,
        },
        Screen::CompanyAccountVerification { deadline: None },
        Screen::SecondCode {
            next_code_in: 0,
            required: false,
        },
        Screen::RecordRecoveryCode {
            codes: Vec::new(),
            replacement: false,
        },
    ];
    for screen in screens {
        for form in screen.forms() {
            for button in form.buttons {
                assert!(
                    Action::from_form(button.action, "", false, "").is_some(),
                    "{}",
                    button.action
                );
            }
        }
    }
}

#[test]
fn the_preview_counts_the_companys_own_members_and_says_are_asked_once_saved() {
    let w = World::new();
    // Creating the company again with the same owners is a no-op, as
    // add_member is; with other owners it is refused.
    w.mfa.create_company(COMPANY, &["olivia"]).unwrap();
    w.mfa.add_member(COMPANY, "umar").unwrap();
    assert!(w.mfa.create_company(COMPANY, &["umar"]).is_err());
    let (owner, _) = w.activated_owner();
    let before = w.mfa.enforcement_preview(COMPANY, "olivia").unwrap();
    assert_eq!(
        before.message(),
        Message::PreviewWillBeAsked {
            to_enroll: 1,
            total: 2
        }
    );
    let on = Requirement::On { grace_period: 0 };
    w.mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, on)
        .unwrap();
    let after = w.mfa.enforcement_preview(COMPANY, "olivia").unwrap();
    assert_eq!(
        after.message(),
        Message::PreviewAreAsked {
            to_enroll: 1,
            total: 2
        }
    );
    assert_eq!(
        after.for_person(),
        "1 of 2 users are asked to set up MFA at their next sign-in."
    );
    // What a host compares: the screen's kind (its secrets have no `==`).
    let umar = w.mfa.start_session("umar").unwrap();
    let shown = w.mfa.current_screen("umar", Some(COMPANY), &umar).unwrap();
    assert_eq!(shown.kind(), ScreenKind::CompanyAccountVerification);
}

#[test]
fn wrong_recovery_codes_are_never_throttled_nor_count_against_one_time_codes() {
    let w = World::new();
    let (_, phone) = w.activated_owner();
    let mut session = w.mfa.start_session("olivia").unwrap();
    for _ in 0..50 {
        let step = w.step(
            "olivia",
            &mut session,
            Action::RecoveryCode("00000-00000-00000-00000-00000"),
        );
        assert_eq!(step.refused, Some(Message::RecoveryCodeWrong));
    }
    assert_eq!(w.mfa.status("olivia").unwrap().failures, 0);
    w.clock.advance(30);
    let step = w.step("olivia", &mut session, Action::Code(&w.code(&phone)));
    assert_eq!(step.refused, None);
    assert!(step.passed_second_factor);
}

#[test]
fn save_changes_is_a_step_that_asks_a_fresh_code_after_the_sudo_window() {
    let w = World::new();
    let (mut owner, phone) = w.activated_owner();
    let save = |session: &mut MfaSession, code| {
        w.step(
            "olivia",
            session,
            Action::SaveRequirement {
                requirement: Requirement::On { grace_period: 0 },
                code,
            },
        )
    };
    // Eleven minutes after the last code: the change asks for a new one.
    w.clock.advance(11 * 60);
    let step = save(&mut owner, "");
    assert_eq!(step.refused, Some(Message::RecentCodeRequired));
    assert!(!w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
    let step = save(&mut owner, "000000");
    assert_eq!(step.refused, Some(Message::CodeWrong));
    let code = w.code(&phone);
    let step = save(&mut owner, &code);
    assert_eq!(step.refused, None);
    assert!(step.passed_second_factor, "the code renewed the session");
    assert_eq!(step.screen.kind(), ScreenKind::Continue);
    assert!(w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
    // A user is refused, in words, whatever code they type.
    let mut umar = w.mfa.start_session("umar").unwrap();
    let off = Action::SaveRequirement {
        requirement: Requirement::Off,
        code: "",
    };
    let step = w.step("umar", &mut umar, off);
    assert_eq!(step.refused, Some(Message::NotOwner));
    assert!(w.mfa.company_policy(COMPANY).unwrap().requires_mfa());
    // Another person's session is no session at all.
    assert_eq!(save(&mut umar, "").refused, Some(Message::SessionEnded));
}

#[cfg(feature = "serde")]
#[test]
fn a_posted_form_reads_as_the_action_its_button_names() {
    let form: twostep::StepForm =
        serde_json::from_str(r#"{"action": "save_requirement", "code": "123456", "ticked": "on"}"#)
            .unwrap();
    assert!(matches!(
        form.action("a@b.test"),
        Some(Action::SaveRequirement {
            requirement: Requirement::On { grace_period: 0 },
            code: "123456"
        })
    ));
    assert!(
        !format!("{form:?}").contains("123456"),
        "the code stays out of logs"
    );
    let unticked: twostep::StepForm = serde_json::from_str(r#"{"action": "recorded"}"#).unwrap();
    assert!(matches!(
        unticked.action(""),
        Some(Action::Recorded { ticked: false })
    ));
}
