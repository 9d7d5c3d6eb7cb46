//! What an independent review found, each as a test: records that can be
//! altered or moved, a company rule that depended on the caller naming the
//! right company, a requirement changed without a fresh code, recovery codes
//! that could be starved, short secrets, a rebound secret reopening used
//! codes, and events that did not say who acted.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{code_at, enrollment};
use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::company::MemberMfa;
use twostep::event::{Actor, CollectingSink, Event};
use twostep::otp::Secret;
use twostep::store::{RecordError, RecordKey, SaveOutcome, Version, Versioned};
use twostep::{
    Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, MfaSession, Requirement, Screen, Store,
};

const START: u64 = 1_700_000_000;
const KEY_1: [u8; 32] = [1; 32];
const KEY_2: [u8; 32] = [2; 32];

struct World {
    mfa: Mfa<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    sink: Arc<CollectingSink>,
    /// Each person's browser session, from their first sign-in on.
    sessions: RefCell<HashMap<String, MfaSession>>,
}

const ON: Requirement = Requirement::On { grace_period: 0 };

impl World {
    fn new() -> World {
        World::with_keyring(Keyring::new(1, &KEY_1))
    }

    fn with_keyring(keyring: Keyring) -> World {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(START));
        let sink = Arc::new(CollectingSink::new());
        let mfa = Mfa::with_config(
            store.clone(),
            keyring,
            config(&clock).with_events(sink.clone()),
        );
        World {
            mfa,
            store,
            clock,
            sink,
            sessions: RefCell::default(),
        }
    }

    /// Binds a factor; the clock moves to the next step.
    fn bind(&self, user: &str, seed: u64) -> Enrollment {
        let phone = enrollment(seed);
        self.mfa
            .bind(user, &mut self.session_mut(user), &phone, &self.app(&phone))
            .unwrap();
        self.next_step();
        phone
    }

    /// The person's session: the one they signed in with (a sign-in at
    /// first use).
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

    /// The person passes the code their app shows at the next step, in
    /// their session (what an owner does before an owner's action, once
    /// the sudo window has passed).
    fn pass(&self, user: &str, phone: &Enrollment) {
        let code = self.next_code(phone);
        self.mfa
            .verify(user, &mut self.session_mut(user), &code)
            .unwrap();
    }

    fn app(&self, phone: &Enrollment) -> String {
        code_at(phone, self.clock.now())
    }

    fn next_step(&self) {
        self.clock.advance(30);
    }

    fn bytes(&self, key: RecordKey<'_>) -> Versioned {
        self.store.load(key).unwrap().unwrap()
    }

    /// What someone who can write the table does: any bytes, any record.
    fn overwrite(&self, key: RecordKey<'_>, bytes: &[u8]) {
        let version = self.store.load(key).unwrap().map(|v| v.version);
        let saved = self.store.save(key, version, bytes).unwrap();
        assert!(matches!(saved, SaveOutcome::Saved(_)));
    }

    /// The owner's code at the next step.
    fn next_code(&self, phone: &Enrollment) -> String {
        self.next_step();
        self.app(phone)
    }
}

fn service(
    store: &Arc<MemoryStore>,
    clock: &Arc<ManualClock>,
    keyring: Keyring,
) -> Mfa<Arc<MemoryStore>> {
    Mfa::with_config(store.clone(), keyring, config(clock))
}

/// The tests' settings: their clock, a seeded generator.
fn config(clock: &Arc<ManualClock>) -> Config {
    Config::default()
        .with_clock(clock.clone())
        .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(8))
}

fn unauthentic<T: std::fmt::Debug>(result: Result<T, MfaError<std::convert::Infallible>>) {
    assert!(
        matches!(
            result,
            Err(MfaError::CorruptRecord(RecordError::Unauthentic))
        ),
        "{result:?}"
    );
}

// ---- Records are tamper-evident.

#[test]
fn no_bit_of_a_user_record_can_reopen_a_code_revive_a_recovery_code_or_lift_a_lockout() {
    let w = World::new();
    let phone = w.bind("u", 1);
    let used_code = w.app(&phone);
    w.mfa
        .verify("u", &mut w.session_mut("u"), &used_code)
        .unwrap();
    w.pass("u", &phone);
    let spent = w
        .mfa
        .regenerate_recovery_codes("u", &w.session("u"))
        .unwrap()
        .remove(0);
    w.mfa
        .acknowledge_recovery("u", &mut w.session_mut("u"))
        .unwrap();
    // Spend the single code (its replacement acknowledged: the used one is dead).
    w.mfa
        .use_recovery_code("u", &mut w.session_mut("u"), spent.expose_str())
        .unwrap();
    w.mfa
        .acknowledge_recovery("u", &mut w.session_mut("u"))
        .unwrap();
    for _ in 0..10 {
        w.clock.advance(900);
        let _ = w.mfa.verify("u", &mut w.session_mut("u"), "000000");
    }
    assert!(matches!(
        w.mfa.verify("u", &mut w.session_mut("u"), &w.app(&phone)),
        Err(MfaError::Locked)
    ));
    let honest = w.bytes(RecordKey::User("u")).bytes;
    for bit in 0..honest.len() * 8 {
        let mut flipped = honest.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        w.overwrite(RecordKey::User("u"), &flipped);
        let mut session = w.session("u");
        let results = [
            w.mfa.verify("u", &mut session, &used_code).map(|_| ()),
            w.mfa.verify("u", &mut session, &w.app(&phone)).map(|_| ()),
            w.mfa
                .use_recovery_code("u", &mut session, spent.expose_str())
                .map(|_| ()),
            w.mfa.unlock("u"),
        ];
        for result in results {
            assert!(
                matches!(result, Err(MfaError::CorruptRecord(_) | MfaError::Seal(_))),
                "bit {bit}: {result:?}"
            );
        }
    }
    // The honest record still says what it said.
    w.overwrite(RecordKey::User("u"), &honest);
    assert!(matches!(
        w.mfa.verify("u", &mut w.session_mut("u"), &w.app(&phone)),
        Err(MfaError::Locked)
    ));
}

#[test]
fn no_bit_of_a_company_record_can_add_an_owner_or_lift_the_requirement() {
    let w = World::new();
    w.mfa.create_company("acme", &["olivia"]).unwrap();
    w.mfa.add_member("acme", "umar").unwrap();
    w.bind("olivia", 2);
    w.mfa
        .set_mfa_requirement("acme", "olivia", &w.session("olivia"), ON)
        .unwrap();
    let honest = w.bytes(RecordKey::Company("acme")).bytes;
    for bit in 0..honest.len() * 8 {
        let mut flipped = honest.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        w.overwrite(RecordKey::Company("acme"), &flipped);
        // Fail closed: no screen lets the member past without MFA.
        let screen =
            w.mfa
                .current_screen("umar", Some("acme"), &w.mfa.start_session("umar").unwrap());
        assert!(
            matches!(screen, Err(MfaError::CorruptRecord(_) | MfaError::Seal(_))),
            "bit {bit}: {screen:?}"
        );
        assert!(w.mfa.company_policy("acme").is_err());
    }
    w.overwrite(RecordKey::Company("acme"), &honest);
    assert!(matches!(
        w.mfa
            .current_screen("umar", Some("acme"), &w.mfa.start_session("umar").unwrap())
            .unwrap(),
        Screen::CompanyAccountVerification { .. }
    ));
}

#[test]
fn a_record_moved_to_another_id_or_kind_is_refused() {
    let w = World::new();
    w.bind("alice", 3);
    w.bind("bob", 4);
    w.mfa.create_company("a", &["alice"]).unwrap();
    w.mfa.create_company("b", &["bob"]).unwrap();
    let alice = w.bytes(RecordKey::User("alice")).bytes;
    w.overwrite(RecordKey::User("bob"), &alice);
    unauthentic(w.mfa.status("bob"));
    let company_a = w.bytes(RecordKey::Company("a")).bytes;
    w.overwrite(RecordKey::Company("b"), &company_a);
    unauthentic(w.mfa.company_policy("b"));
    // A user record where a company's should be, with the same id.
    w.overwrite(RecordKey::Company("alice"), &alice);
    unauthentic(w.mfa.company_policy("alice"));
}

#[test]
fn a_record_stripped_of_its_tag_is_refused_unless_the_host_migrates() {
    let w = World::new();
    w.bind("u", 5);
    let tagged = w.bytes(RecordKey::User("u")).bytes;
    // The envelope is "2a", a version, a key id, a 4-byte key check and a
    // 32-byte tag.
    let inner = tagged[43..].to_vec();
    assert_eq!(&inner[..2], b"2s");
    w.overwrite(RecordKey::User("u"), &inner);
    assert!(matches!(
        w.mfa.status("u"),
        Err(MfaError::CorruptRecord(RecordError::NotAuthenticated))
    ));
    let migrating = Mfa::with_config(
        w.store.clone(),
        Keyring::new(1, &KEY_1),
        config(&w.clock).read_legacy_records(),
    );
    assert!(migrating.status("u").unwrap().factor_bound_at.is_some());
    assert_eq!(migrating.reseal_all(&["u"]).resealed, 1);
    assert!(w.mfa.status("u").is_ok(), "tagged again");
}

/// Review finding: with `read_legacy_records`, a record in the legacy
/// format was ignored in favour of what this process remembered of the
/// user (the legacy branch returned before the memory was checked): a
/// stored lockout was ignored and overwritten. Whatever is loaded is what
/// is read.
#[test]
fn a_legacy_record_is_read_from_what_was_loaded_not_from_memory() {
    let w = World::new();
    let migrating = Mfa::with_config(
        w.store.clone(),
        Keyring::new(1, &KEY_1),
        config(&w.clock).read_legacy_records(),
    );
    let phone = enrollment(30);
    let mut session = migrating.start_session("u").unwrap();
    migrating
        .bind("u", &mut session, &phone, &w.app(&phone))
        .unwrap();
    // This server has just read and written the user's record. Another
    // server locks the factor out (ten wrong codes)...
    let other = service(&w.store, &w.clock, Keyring::new(1, &KEY_1));
    let mut guessing = other.start_session("u").unwrap();
    for _ in 0..10 {
        w.clock.advance(900);
        let _ = other.verify("u", &mut guessing, "000000");
    }
    // ...and the row is then put back in the legacy form (a migration
    // restoring an export, say): the same record without its envelope.
    let locked = w.bytes(RecordKey::User("u")).bytes;
    w.overwrite(RecordKey::User("u"), &locked[43..]);
    w.clock.advance(30);
    assert!(matches!(
        migrating.verify("u", &mut session, &w.app(&phone)),
        Err(MfaError::Locked)
    ));
    assert_eq!(migrating.status("u").unwrap().failures, 10);
}

#[test]
fn rotation_and_reseal_carry_the_tags() {
    let w = World::new();
    let phone = w.bind("u", 6);
    w.mfa.create_company("acme", &["u"]).unwrap();
    let rotated = service(
        &w.store,
        &w.clock,
        Keyring::new(2, &KEY_2).with_previous(1, &KEY_1).unwrap(),
    );
    // Key 1 still opens what it tagged; reseal moves records to key 2.
    assert!(rotated.status("u").is_ok());
    let report = rotated.reseal_all(&["u"]);
    assert_eq!((report.resealed, report.failed.len()), (1, 0));
    assert!(rotated.reseal_company("acme").unwrap());
    assert!(!rotated.reseal_company("acme").unwrap());
    // Without key 1 at all, every record still opens; sessions tagged
    // under key 1 are over (a sign-in again under key 2).
    let key_2_only = service(&w.store, &w.clock, Keyring::new(2, &KEY_2));
    assert!(key_2_only.company_policy("acme").is_ok());
    assert!(matches!(
        key_2_only.verify("u", &mut w.session_mut("u"), &w.app(&phone)),
        Err(MfaError::SessionEnded)
    ));
    let mut session = key_2_only.start_session("u").unwrap();
    key_2_only
        .verify("u", &mut session, &w.app(&phone))
        .unwrap();
    // A key missing from the keyring is named.
    let stranger = service(&w.store, &w.clock, Keyring::new(3, &KEY_1));
    assert!(matches!(
        stranger.status("u"),
        Err(MfaError::Seal(twostep::SealError::UnknownKey(2)))
    ));
}

// ---- The company rule holds whichever call is made.

/// Olivia owns A, which requires MFA, and B, which does not; Umar is a
/// member of A; Bea, of B.
fn two_companies() -> (World, Enrollment) {
    let w = World::new();
    w.mfa.create_company("a", &["olivia", "oscar"]).unwrap();
    w.mfa.create_company("b", &["olivia"]).unwrap();
    w.mfa.add_member("a", "umar").unwrap();
    w.mfa.add_member("b", "bea").unwrap();
    let phone = w.bind("olivia", 7);
    w.mfa
        .set_mfa_requirement("a", "olivia", &w.session("olivia"), ON)
        .unwrap();
    (w, phone)
}

#[test]
fn an_owner_cannot_drop_their_factor_through_another_company_or_none() {
    let (w, phone) = two_companies();
    w.pass("olivia", &phone);
    assert!(matches!(
        w.mfa
            .remove_own_factor("olivia", &mut w.session_mut("olivia")),
        Err(MfaError::RequiredByCompany)
    ));
    assert!(matches!(
        w.mfa
            .reset_user_mfa("b", "olivia", &w.session("olivia"), "olivia"),
        Err(MfaError::CannotResetOwner)
    ));
    assert!(w.mfa.status("olivia").unwrap().factor_bound_at.is_some());
}

#[test]
fn an_owner_cannot_reset_a_co_owner_nor_a_stranger() {
    let (w, phone) = two_companies();
    w.bind("oscar", 8);
    w.pass("olivia", &phone);
    assert!(matches!(
        w.mfa
            .reset_user_mfa("a", "olivia", &w.session("olivia"), "oscar"),
        Err(MfaError::CannotResetOwner)
    ));
    // Not a member of A: whatever user id the host passes.
    w.bind("stranger", 9);
    assert!(matches!(
        w.mfa
            .reset_user_mfa("a", "olivia", &w.session("olivia"), "stranger"),
        Err(MfaError::NotMember)
    ));
    assert!(w.mfa.status("stranger").unwrap().factor_bound_at.is_some());
    // A member of A: yes.
    w.bind("umar", 10);
    w.mfa
        .reset_user_mfa("a", "olivia", &w.session("olivia"), "umar")
        .unwrap();
    assert_eq!(w.mfa.status("umar").unwrap().factor_bound_at, None);
}

#[test]
fn no_owner_weakens_another_companys_requirement() {
    let (w, olivia) = two_companies();
    // Bea also joins A, which Bob does not own: Bob owns only C.
    w.mfa.create_company("c", &["bob"]).unwrap();
    w.mfa.add_member("c", "bea").unwrap();
    w.mfa.add_member("a", "bea").unwrap();
    w.bind("bob", 11);
    w.bind("bea", 12);
    assert!(matches!(
        w.mfa.reset_user_mfa("c", "bob", &w.session("bob"), "bea"),
        Err(MfaError::RequiredByCompany)
    ));
    // Olivia owns both of Bea's requiring companies... and B, which does not.
    w.pass("olivia", &olivia);
    w.mfa
        .reset_user_mfa("a", "olivia", &w.session("olivia"), "bea")
        .unwrap();
}

#[test]
fn members_come_and_go_as_the_host_says_and_owners_stay() {
    let (w, _) = two_companies();
    assert!(matches!(
        w.mfa.current_screen(
            "stranger",
            Some("a"),
            &w.mfa.start_session("stranger").unwrap()
        ),
        Err(MfaError::NotMember)
    ));
    assert!(matches!(
        w.mfa
            .current_screen("umar", Some("a"), &w.mfa.start_session("umar").unwrap())
            .unwrap(),
        Screen::CompanyAccountVerification { .. }
    ));
    w.mfa.remove_member("a", "umar").unwrap();
    assert!(matches!(
        w.mfa.sign_in_requirement("umar", Some("a")),
        Err(MfaError::NotMember)
    ));
    assert!(matches!(
        w.mfa.remove_member("a", "olivia"),
        Err(MfaError::OwnerStaysMember)
    ));
    assert!(matches!(
        w.mfa.add_member("nope", "umar"),
        Err(MfaError::NoCompany)
    ));
    let events: Vec<_> = w
        .sink
        .take()
        .into_iter()
        .filter(|e| e.user == "umar")
        .map(|e| (e.by, e.event))
        .collect();
    assert_eq!(
        events,
        [
            (
                Actor::Host,
                Event::MemberAdded {
                    company: "a".into()
                }
            ),
            (
                Actor::Host,
                Event::MemberRemoved {
                    company: "a".into()
                }
            ),
        ]
    );
}

/// A store that runs a hook once, just before the first save of a company
/// record: another server's request landing between two of this one's.
struct Interleaved {
    inner: Arc<MemoryStore>,
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Store for Interleaved {
    type Error = std::convert::Infallible;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, Self::Error> {
        self.inner.load(key)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, Self::Error> {
        if matches!(key, RecordKey::Company(_)) {
            if let Some(hook) = self.hook.lock().unwrap().take() {
                hook();
            }
        }
        self.inner.save(key, expected, bytes)
    }
}

#[test]
fn an_owner_removing_their_factor_while_requiring_mfa_is_asked_to_enroll() {
    let w = World::new();
    w.mfa.create_company("acme", &["olivia"]).unwrap();
    let phone = w.bind("olivia", 13);
    // Two servers: this one saves the requirement; between the owner's
    // check and the policy's save, the other removes the owner's factor.
    // The owner's session, from the binding moments ago, serves both.
    let other = Arc::new(service(&w.store, &w.clock, Keyring::new(1, &KEY_1)));
    let remover = other.clone();
    let mut removing = w.session("olivia");
    let this = Mfa::with_config(
        Interleaved {
            inner: w.store.clone(),
            hook: Mutex::new(Some(Box::new(move || {
                remover.remove_own_factor("olivia", &mut removing).unwrap();
            }))),
        },
        Keyring::new(1, &KEY_1),
        Config::default().with_clock(w.clock.clone()),
    );
    this.set_mfa_requirement("acme", "olivia", &w.session("olivia"), ON)
        .unwrap();
    // The race left a company requiring MFA and an owner without it. It
    // heals: the owner is asked to enroll like any member, cannot switch
    // the requirement off without a factor, and the preview says so.
    assert!(w.mfa.company_policy("acme").unwrap().requires_mfa());
    assert_eq!(w.mfa.status("olivia").unwrap().factor_bound_at, None);
    assert!(matches!(
        w.mfa
            .current_screen(
                "olivia",
                Some("acme"),
                &w.mfa.start_session("olivia").unwrap()
            )
            .unwrap(),
        Screen::CompanyAccountVerification { deadline: None }
    ));
    w.sign_in("olivia");
    assert!(matches!(
        w.mfa
            .set_mfa_requirement("acme", "olivia", &w.session("olivia"), Requirement::Off),
        Err(MfaError::OwnMfaRequired)
    ));
    let _ = phone;
    let preview = w.mfa.enforcement_preview("acme", "olivia").unwrap();
    assert_eq!(preview.count(MemberMfa::NotSetUp), 1);
}

// ---- Changing the requirement re-authenticates.

#[test]
fn the_requirement_changes_only_in_a_session_past_the_owners_second_factor_recently() {
    let w = World::new();
    w.mfa.create_company("acme", &["olivia"]).unwrap();
    let phone = w.bind("olivia", 14);
    let hour_grace = Requirement::On { grace_period: 3600 };
    // The password alone is not enough.
    w.sign_in("olivia");
    assert!(matches!(
        w.mfa
            .set_mfa_requirement("acme", "olivia", &w.session("olivia"), hour_grace),
        Err(MfaError::SecondFactorRequired)
    ));
    w.pass("olivia", &phone);
    let on = w
        .mfa
        .set_mfa_requirement("acme", "olivia", &w.session("olivia"), hour_grace)
        .unwrap();
    assert!(w.mfa.company_policy("acme").unwrap().requires_mfa());
    // "On" again, a day later, with a new grace period: a code first (the
    // second factor is a day old), and then nothing reopens.
    w.clock.advance(24 * 3600);
    let week_grace = Requirement::On {
        grace_period: 7 * 24 * 3600,
    };
    assert!(matches!(
        w.mfa
            .set_mfa_requirement("acme", "olivia", &w.session("olivia"), week_grace),
        Err(MfaError::RecentSecondFactorRequired)
    ));
    w.pass("olivia", &phone);
    let again = w
        .mfa
        .set_mfa_requirement("acme", "olivia", &w.session("olivia"), week_grace)
        .unwrap();
    assert_eq!((again.since(), again.grace_period()), (on.since(), 3600));
    assert_eq!(again.version(), on.version(), "nothing was saved");
}

// ---- Smaller items.

#[test]
fn a_factor_under_128_bits_is_refused_but_can_be_imported() {
    let w = World::new();
    // GitHub hands out 80-bit secrets: readable, inspectable, never bound.
    let uri =
        twostep::otp::KeyUri::parse("otpauth://totp/GitHub:u?secret=JBSWY3DPEHPK3PXP").unwrap();
    let short = Enrollment::builder("GitHub", "u")
        .with_secret(uri.secret().clone())
        .unwrap();
    assert!(matches!(
        w.mfa
            .bind("u", &mut w.session_mut("u"), &short, &w.app(&short)),
        Err(MfaError::WeakSecret { bits: 80 })
    ));
    let just_enough = Secret::from_bytes(&[7; 16]).unwrap();
    let ok = Enrollment::builder("Acme", "u")
        .with_secret(just_enough)
        .unwrap();
    assert!(w
        .mfa
        .bind("u", &mut w.session_mut("u"), &ok, &w.app(&ok))
        .is_ok());
}

#[test]
fn a_secret_bound_again_never_accepts_a_code_used_before() {
    let w = World::new();
    let phone = w.bind("u", 15);
    let used = w.app(&phone);
    w.mfa.verify("u", &mut w.session_mut("u"), &used).unwrap();
    w.mfa.remove_factor("u").unwrap();
    w.sign_in("u");
    // The same secret, the same code: a replay, not a new binding.
    assert!(matches!(
        w.mfa.bind("u", &mut w.session_mut("u"), &phone, &used),
        Err(MfaError::Replayed { .. })
    ));
    // Nor the code of the step before it.
    let older = code_at(&phone, w.clock.now() - 30);
    assert!(matches!(
        w.mfa.bind("u", &mut w.session_mut("u"), &phone, &older),
        Err(MfaError::Replayed { .. })
    ));
    w.next_step();
    assert!(w
        .mfa
        .bind("u", &mut w.session_mut("u"), &phone, &w.app(&phone))
        .is_ok());
    // An owner's reset keeps it too.
    w.mfa.create_company("acme", &["olivia"]).unwrap();
    w.mfa.add_member("acme", "u").unwrap();
    w.bind("olivia", 16);
    let used = w.app(&phone);
    w.mfa.verify("u", &mut w.session_mut("u"), &used).unwrap();
    w.mfa
        .reset_user_mfa("acme", "olivia", &w.session("olivia"), "u")
        .unwrap();
    w.sign_in("u");
    assert!(matches!(
        w.mfa.bind("u", &mut w.session_mut("u"), &phone, &used),
        Err(MfaError::Replayed { .. })
    ));
}

#[test]
fn every_event_names_who_acted() {
    let w = World::new();
    w.mfa.create_company("acme", &["olivia"]).unwrap();
    w.mfa.add_member("acme", "umar").unwrap();
    let owner = w.bind("olivia", 17);
    let umar = w.bind("umar", 18);
    let _ = w.mfa.verify("umar", &mut w.session_mut("umar"), "000000");
    w.mfa.unlock("umar").unwrap();
    w.pass("olivia", &owner);
    w.mfa
        .reset_user_mfa("acme", "olivia", &w.session("olivia"), "umar")
        .unwrap();
    w.sign_in("umar");
    w.mfa
        .bind(
            "umar",
            &mut w.session_mut("umar"),
            &umar,
            &w.next_code(&umar),
        )
        .unwrap();
    w.mfa.remove_factor("umar").unwrap();
    w.pass("olivia", &owner);
    w.mfa
        .remove_own_factor("olivia", &mut w.session_mut("olivia"))
        .unwrap();
    let events: Vec<_> = w
        .sink
        .take()
        .into_iter()
        .map(|e| (e.user, e.by, e.event))
        .collect();
    let has = |user: &str, by: Actor, pick: &dyn Fn(&Event) -> bool| {
        events
            .iter()
            .any(|(u, b, e)| u == user && *b == by && pick(e))
    };
    let olivia = Actor::Owner("olivia".into());
    assert!(has("olivia", Actor::Host, &|e| matches!(
        e,
        Event::CompanyCreated { .. }
    )));
    assert!(has("umar", Actor::Host, &|e| matches!(
        e,
        Event::MemberAdded { .. }
    )));
    assert!(has("umar", Actor::User, &|e| matches!(
        e,
        Event::Rejected { .. }
    )));
    assert!(has("umar", Actor::Host, &|e| *e == Event::Unlocked));
    assert!(has("olivia", Actor::User, &|e| matches!(
        e,
        Event::Verified { .. }
    )));
    assert!(has("umar", olivia, &|e| *e == Event::FactorReset));
    assert!(has("umar", Actor::Host, &|e| *e == Event::FactorRemoved));
    // The owner's own removal: the code that proved it, then the removal.
    let proving_step = owner.totp().step_at(w.clock.now()).unwrap();
    let olivia_last: Vec<&Event> = events
        .iter()
        .filter(|(u, _, _)| u == "olivia")
        .map(|(_, _, e)| e)
        .rev()
        .take(2)
        .collect();
    assert!(
        matches!(
            olivia_last[..],
            [Event::FactorRemoved, Event::Verified { step, .. }] if *step == proving_step
        ),
        "{olivia_last:?}"
    );
}
