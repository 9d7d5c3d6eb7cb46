//! The proof of the second factor a host keeps in its session
//! (`MfaSession`): what it proves, to whom, for how long, and what ends it.
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
use twostep::screen::{Acknowledged, EnrollmentCheck};
use twostep::{
    Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Requirement, Screen,
};

const START: u64 = 1_700_000_000;
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
            Keyring::new(1, &[2; 32]),
            Config::default()
                .with_clock(clock.clone())
                .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(19)),
        );
        mfa.create_company(COMPANY, &["olivia"]).unwrap();
        mfa.add_member(COMPANY, "umar").unwrap();
        World { mfa, clock }
    }

    /// The password was right: a new session.
    fn sign_in(&self, user: &str) -> MfaSession {
        self.mfa.start_session(user).unwrap()
    }

    /// The help page's enrollment in `session`, to the tick: the phone.
    fn enroll(&self, user: &str, session: &mut MfaSession) -> Enrollment {
        let phone = self
            .mfa
            .begin_enrollment(
                user,
                session,
                Enrollment::builder("Acme", user),
                EnrollmentCheck::OneCode,
            )
            .unwrap();
        self.mfa
            .confirm_enrollment(user, session, &self.app(&phone))
            .unwrap();
        assert_eq!(
            self.mfa.acknowledge_recovery(user, session).unwrap(),
            Acknowledged::FactorActivated
        );
        phone
    }

    fn app(&self, phone: &Enrollment) -> String {
        code_at(phone, self.clock.now())
    }

    fn screen(&self, user: &str, session: &MfaSession) -> Screen {
        self.mfa
            .current_screen(user, Some(COMPANY), session)
            .unwrap()
    }

    /// At the next step, the code the app shows, in `session`.
    fn pass(&self, user: &str, session: &mut MfaSession, phone: &Enrollment) {
        self.clock.advance(30);
        self.mfa.verify(user, session, &self.app(phone)).unwrap();
    }
}

const ON: Requirement = Requirement::On { grace_period: 0 };

#[test]
fn an_owner_saves_the_requirement_right_after_activating_with_no_new_code() {
    let w = World::new();
    let mut owner = w.sign_in("olivia");
    w.enroll("olivia", &mut owner);
    // The help page's order: activate, then "Save changes" at once.
    let policy = w
        .mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, ON)
        .unwrap();
    assert!(policy.requires_mfa());
}

#[test]
fn a_second_factor_older_than_the_sudo_window_asks_for_a_code() {
    let w = World::new();
    let mut owner = w.sign_in("olivia");
    let phone = w.enroll("olivia", &mut owner);
    w.clock.advance(10 * 60 - 1);
    assert!(w
        .mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, ON)
        .is_ok());
    w.clock.advance(1);
    let off = Requirement::Off;
    let refused = w
        .mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, off)
        .unwrap_err();
    assert!(matches!(refused, MfaError::RecentSecondFactorRequired));
    assert!(refused.for_person().contains("code"));
    // A week-old session of the owner's, a code passed in it: allowed.
    w.clock.advance(7 * 24 * 3600);
    w.pass("olivia", &mut owner, &phone);
    assert!(w
        .mfa
        .set_mfa_requirement(COMPANY, "olivia", &owner, off)
        .is_ok());
    // The window is the host's to set.
    let strict = Mfa::with_config(
        w.mfa.store().clone(),
        Keyring::new(1, &[2; 32]),
        Config::default()
            .with_clock(w.clock.clone())
            .with_sudo_window(60),
    );
    w.clock.advance(61);
    assert!(matches!(
        strict.set_mfa_requirement(COMPANY, "olivia", &owner, ON),
        Err(MfaError::RecentSecondFactorRequired)
    ));
}

#[test]
fn a_session_from_before_a_reset_removal_or_new_factor_is_over() {
    let w = World::new();
    let mut owner = w.sign_in("olivia");
    w.enroll("olivia", &mut owner);
    // Umar's laptop passed MFA; then it is stolen.
    let mut laptop = w.sign_in("umar");
    let phone = w.enroll("umar", &mut laptop);
    assert!(matches!(w.screen("umar", &laptop), Screen::Continue));
    // The owner resets Umar's MFA: the laptop's session is over, with no
    // bookkeeping by the host. It cannot enroll the thief's phone.
    w.mfa
        .reset_user_mfa(COMPANY, "olivia", &owner, "umar")
        .unwrap();
    assert!(matches!(w.screen("umar", &laptop), Screen::SignInAgain));
    assert!(matches!(
        w.mfa.begin_enrollment(
            "umar",
            &laptop,
            Enrollment::builder("Acme", "umar"),
            EnrollmentCheck::TwoCodes
        ),
        Err(MfaError::SessionEnded)
    ));
    // Umar signs in again with the password and enrolls a new phone: every
    // session from before that is over too.
    w.clock.advance(30);
    let mut desk = w.sign_in("umar");
    let before_new_factor = w.sign_in("umar");
    w.enroll("umar", &mut desk);
    assert!(matches!(
        w.screen("umar", &before_new_factor),
        Screen::SignInAgain
    ));
    assert!(matches!(w.screen("umar", &desk), Screen::Continue));
    // The old phone's codes count for nothing either way.
    w.clock.advance(30);
    let mut fresh = w.sign_in("umar");
    assert!(matches!(
        w.mfa.verify("umar", &mut fresh, &w.app(&phone)),
        Err(MfaError::Mismatch)
    ));
}

#[test]
fn signing_out_everywhere_ends_every_session_and_changes_nothing_else() {
    let w = World::new();
    let mut laptop = w.sign_in("umar");
    let phone = w.enroll("umar", &mut laptop);
    let password_only = w.sign_in("umar");
    // A wrong code counted, to see that the count stays.
    w.clock.advance(30);
    let mut guesser = w.sign_in("umar");
    assert!(w.mfa.verify("umar", &mut guesser, "000000").is_err());
    let before = w.mfa.status("umar").unwrap();

    w.mfa.end_sessions("umar").unwrap();
    for ended in [&laptop, &password_only, &guesser] {
        assert!(matches!(w.screen("umar", ended), Screen::SignInAgain));
    }
    w.clock.advance(30);
    assert!(matches!(
        w.mfa.verify("umar", &mut laptop, &w.app(&phone)),
        Err(MfaError::SessionEnded)
    ));
    // The factor, its codes and the failure count are as they were.
    let after = w.mfa.status("umar").unwrap();
    assert_eq!(after.factor_bound_at, before.factor_bound_at);
    assert_eq!(after.failures, before.failures);
    let mut again = w.sign_in("umar");
    assert!(matches!(w.screen("umar", &again), Screen::EnterCode { .. }));
    w.pass("umar", &mut again, &phone);
    assert!(matches!(w.screen("umar", &again), Screen::Continue));

    // Someone who never set MFA up: their sessions end too.
    let desk = w.sign_in("ursula");
    w.mfa.end_sessions("ursula").unwrap();
    assert!(matches!(
        w.mfa.current_screen("ursula", None, &desk).unwrap(),
        Screen::SignInAgain
    ));
}

#[test]
fn removing_ones_own_factor_keeps_this_session_and_ends_the_others() {
    let w = World::new();
    let mut session = w.sign_in("umar");
    w.enroll("umar", &mut session);
    let other = w.sign_in("umar");
    w.mfa.remove_own_factor("umar", &mut session).unwrap();
    assert!(matches!(w.screen("umar", &session), Screen::Continue));
    assert!(matches!(w.screen("umar", &other), Screen::SignInAgain));
}

#[test]
fn a_session_of_another_user_or_an_altered_one_counts_for_nothing() {
    let w = World::new();
    let mut olivia = w.sign_in("olivia");
    w.enroll("olivia", &mut olivia);
    let mut umar = w.sign_in("umar");
    w.enroll("umar", &mut umar);
    // Umar's own session, past the second factor, handed over for Olivia.
    assert!(matches!(w.screen("olivia", &umar), Screen::SignInAgain));
    assert!(matches!(
        w.mfa.set_mfa_requirement(COMPANY, "olivia", &umar, ON),
        Err(MfaError::SessionEnded)
    ));
    // A token with any character changed: not a session, or not this one.
    let token = olivia.to_token();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for at in 0..token.len() {
        for replacement in alphabet.chars().take(3) {
            let mut altered: Vec<char> = token.chars().collect();
            if altered[at] == replacement {
                continue;
            }
            altered[at] = replacement;
            let altered: String = altered.into_iter().collect();
            if let Ok(session) = MfaSession::from_token(&altered) {
                assert!(
                    matches!(w.screen("olivia", &session), Screen::SignInAgain),
                    "character {at}"
                );
            }
        }
    }
    // A session made by a service with another key (the host's own
    // database forging one): nothing.
    let forger = Mfa::new(Arc::new(MemoryStore::new()), Keyring::new(1, &[3; 32]));
    let forged = forger.start_session("olivia").unwrap();
    assert!(matches!(w.screen("olivia", &forged), Screen::SignInAgain));
}

/// Review finding: a password-only session could tick "I have safely
/// recorded this number" for an active factor's replacement code, so it
/// disappeared before its owner saw it.
#[test]
fn only_a_session_past_the_second_factor_acknowledges_an_active_factors_codes() {
    let w = World::new();
    let mut session = w.sign_in("umar");
    w.enroll("umar", &mut session);
    let codes = w.mfa.regenerate_recovery_codes("umar", &session).unwrap();
    let mut password_only = w.sign_in("umar");
    assert!(matches!(
        w.mfa.acknowledge_recovery("umar", &mut password_only),
        Err(MfaError::SecondFactorRequired)
    ));
    assert!(w.mfa.status("umar").unwrap().recovery_unacknowledged);
    let Screen::RecordRecoveryCode { codes: shown, .. } = w.screen("umar", &session) else {
        panic!("the codes are still there for their owner")
    };
    assert_eq!(shown[0].expose_str(), codes[0].expose_str());
    assert_eq!(
        w.mfa.acknowledge_recovery("umar", &mut session).unwrap(),
        Acknowledged::CodesRecorded
    );
}

#[test]
fn owners_unlock_members_only_in_a_recent_session() {
    let w = World::new();
    let mut owner = w.sign_in("olivia");
    let owner_phone = w.enroll("olivia", &mut owner);
    let mut umar = w.sign_in("umar");
    let phone = w.enroll("umar", &mut umar);
    // Someone with Umar's password spends ten wrong codes.
    let mut attacker = w.sign_in("umar");
    for _ in 0..10 {
        w.clock.advance(900);
        let _ = w.mfa.verify("umar", &mut attacker, "000000");
    }
    assert!(matches!(
        w.mfa.verify("umar", &mut attacker, &w.app(&phone)),
        Err(MfaError::Locked)
    ));
    // The owner's session is hours old: a code first.
    assert!(matches!(
        w.mfa.unlock_member(COMPANY, "olivia", &owner, "umar"),
        Err(MfaError::RecentSecondFactorRequired)
    ));
    assert!(matches!(
        w.mfa.unlock_member(COMPANY, "umar", &umar, "umar"),
        Err(MfaError::NotOwner)
    ));
    w.pass("olivia", &mut owner, &owner_phone);
    w.mfa
        .unlock_member(COMPANY, "olivia", &owner, "umar")
        .unwrap();
    // Umar signs in with his phone again; nothing was reset, nobody could
    // enroll another phone in his place.
    w.clock.advance(30);
    let mut again = w.sign_in("umar");
    assert!(w.mfa.verify("umar", &mut again, &w.app(&phone)).is_ok());
    assert!(matches!(
        w.mfa.unlock_member(COMPANY, "olivia", &owner, "stranger"),
        Err(MfaError::NotMember)
    ));
}
