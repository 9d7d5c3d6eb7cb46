//! Secrets at rest: sealed, bound to their user, rotated.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use common::{code_at as code, enrollment, sign_in};

use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use twostep::clock::Clock;
use twostep::clock::ManualClock;
use twostep::screen::EnrollmentCheck;
use twostep::store::{RecordError, RecordKey};
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, Screen, SealError, Store};

const START: u64 = 1_700_000_000;
const KEY_1: [u8; 32] = [1; 32];
const KEY_2: [u8; 32] = [2; 32];

fn service(
    store: &Arc<MemoryStore>,
    keyring: Keyring,
    clock: &Arc<ManualClock>,
) -> Mfa<Arc<MemoryStore>> {
    Mfa::with_config(
        store.clone(),
        keyring,
        Config::default()
            .with_clock(clock.clone())
            .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(99)),
    )
}

/// What an attacker with write access to the database does: copies one
/// user's stored record over another's.
fn copy_record(store: &MemoryStore, from: &str, to: &str) {
    let version = store.load(RecordKey::User(to)).unwrap().unwrap().version;
    let saved = store
        .save(RecordKey::User(to), Some(version), &record(store, from))
        .unwrap();
    assert!(matches!(saved, twostep::store::SaveOutcome::Saved(_)));
}

fn record(store: &MemoryStore, user: &str) -> Vec<u8> {
    store.load(RecordKey::User(user)).unwrap().unwrap().bytes
}

#[test]
fn a_stored_record_holds_no_usable_secret() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let mfa = service(&store, Keyring::new(1, &KEY_1), &clock);
    let enrollment = enrollment(1);
    mfa.bind(
        "alice",
        &mut mfa.start_session("alice").unwrap(),
        &enrollment,
        &code(&enrollment, START),
    )
    .unwrap();
    let bytes = record(&store, "alice");
    let secret = enrollment.secret().expose_bytes();
    let base32 = enrollment.secret().expose_base32();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let dump = String::from_utf8_lossy(&bytes).to_string();
    let dump_hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret),
        "raw secret in record"
    );
    assert!(
        !dump.contains(base32.as_str()) && !dump.to_lowercase().contains(&base32.to_lowercase())
    );
    assert!(!dump_hex.contains(&hex));
    let b64 = base64(secret);
    assert!(
        !dump.contains(b64.trim_end_matches('=')),
        "base64 secret in record"
    );
    // Nor any 6-byte run of it (a partial leak).
    assert!(!secret
        .windows(6)
        .any(|run| bytes.windows(6).any(|w| w == run)));
}

/// Standard base64 (RFC 4648 §4), enough for this check.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[test]
fn in_memory_service_works_out_of_the_box() {
    let mfa = Mfa::in_memory().unwrap();
    let enrollment = enrollment(9);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(mfa
        .bind(
            "x",
            &mut mfa.start_session("x").unwrap(),
            &enrollment,
            &code(&enrollment, now)
        )
        .is_ok());
}

/// The record's tag, bound to the user's id, refuses a moved record before
/// anything in it is used (`src/keys/` checks that the sealed secret
/// alone, bound to the user too, would not open either).
#[test]
fn a_record_moved_to_another_user_is_refused() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let mfa = service(&store, Keyring::new(1, &KEY_1), &clock);
    let (alice, bob) = (enrollment(1), enrollment(2));
    mfa.bind(
        "alice",
        &mut mfa.start_session("alice").unwrap(),
        &alice,
        &code(&alice, START),
    )
    .unwrap();
    mfa.bind(
        "bob",
        &mut mfa.start_session("bob").unwrap(),
        &bob,
        &code(&bob, START),
    )
    .unwrap();
    // Bob's prepared key is now in the service's cache.
    clock.advance(30);
    sign_in(&mfa, "bob", &code(&bob, START + 30)).unwrap();
    // An attacker with write access copies Alice's record over Bob's, hoping
    // to sign in as Bob with Alice's phone.
    copy_record(&store, "alice", "bob");
    clock.advance(30);
    assert!(matches!(
        sign_in(&mfa, "bob", &code(&alice, START + 60)),
        Err(MfaError::CorruptRecord(RecordError::Unauthentic))
    ));
    // A wrong application key under the record's key id fails closed too,
    // and says so: an operator's mistake, not a forged record.
    let wrong = service(&store, Keyring::new(1, &KEY_2), &clock);
    assert!(matches!(
        sign_in(&wrong, "alice", &code(&alice, START + 60)),
        Err(MfaError::Seal(SealError::WrongKey(1)))
    ));

    assert!(sign_in(&mfa, "alice", &code(&alice, START + 60)).is_ok());
}

#[test]
fn recovery_codes_copied_to_another_user_do_not_work() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let mfa = service(&store, Keyring::new(1, &KEY_1), &clock);
    let (alice, bob) = (enrollment(1), enrollment(2));
    let alice_codes = mfa
        .bind(
            "alice",
            &mut mfa.start_session("alice").unwrap(),
            &alice,
            &code(&alice, START),
        )
        .unwrap()
        .recovery_codes;
    mfa.bind(
        "bob",
        &mut mfa.start_session("bob").unwrap(),
        &bob,
        &code(&bob, START),
    )
    .unwrap();
    copy_record(&store, "alice", "bob");
    assert!(matches!(
        mfa.start_session("bob")
            .and_then(|mut s| mfa.use_recovery_code("bob", &mut s, alice_codes[0].expose_str())),
        Err(MfaError::CorruptRecord(RecordError::Unauthentic))
    ));
}

/// A service keeps the prepared key of the factor it last checked; a lost
/// phone replaced must not leave the old phone's key in use.
#[test]
fn a_new_phone_is_never_checked_with_the_key_kept_for_the_old_one() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let mfa = service(&store, Keyring::new(1, &KEY_1), &clock);
    let old_phone = enrollment(4);
    mfa.bind(
        "dan",
        &mut mfa.start_session("dan").unwrap(),
        &old_phone,
        &code(&old_phone, clock.now()),
    )
    .unwrap();
    clock.advance(30);
    sign_in(&mfa, "dan", &code(&old_phone, clock.now())).unwrap();

    mfa.remove_factor("dan").unwrap();
    let new_phone = enrollment(5);
    clock.advance(30);
    mfa.bind(
        "dan",
        &mut mfa.start_session("dan").unwrap(),
        &new_phone,
        &code(&new_phone, clock.now()),
    )
    .unwrap();
    clock.advance(30);
    assert!(matches!(
        sign_in(&mfa, "dan", &code(&old_phone, clock.now())),
        Err(MfaError::Mismatch)
    ));
    sign_in(&mfa, "dan", &code(&new_phone, clock.now())).unwrap();
}

#[test]
fn rotation_reseals_on_the_next_check() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let enrollment = enrollment(3);
    let old = service(&store, Keyring::new(1, &KEY_1), &clock);
    old.bind(
        "carol",
        &mut old.start_session("carol").unwrap(),
        &enrollment,
        &code(&enrollment, START),
    )
    .unwrap();
    let sealed_under_1 = record(&store, "carol");

    // Rotate: key 2 seals, key 1 still opens.
    let rotated = service(
        &store,
        Keyring::new(2, &KEY_2).with_previous(1, &KEY_1).unwrap(),
        &clock,
    );
    clock.advance(30);
    sign_in(&rotated, "carol", &code(&enrollment, START + 30)).unwrap();
    assert_ne!(record(&store, "carol"), sealed_under_1);

    // Now only key 2 is needed; key 1 alone no longer opens it.
    let only_2 = service(&store, Keyring::new(2, &KEY_2), &clock);
    let only_1 = service(&store, Keyring::new(1, &KEY_1), &clock);
    clock.advance(30);
    assert!(matches!(
        sign_in(&only_1, "carol", &code(&enrollment, START + 60)),
        Err(MfaError::Seal(SealError::UnknownKey(2)))
    ));
    sign_in(&only_2, "carol", &code(&enrollment, START + 60)).unwrap();
}

#[test]
fn reseal_migrates_eagerly_and_only_once() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START));
    let (dave, other) = (enrollment(4), enrollment(5));
    service(&store, Keyring::new(1, &KEY_1), &clock)
        .bind(
            "dave",
            &mut service(&store, Keyring::new(1, &KEY_1), &clock)
                .start_session("dave")
                .unwrap(),
            &dave,
            &code(&dave, START),
        )
        .unwrap();
    let rotated = service(
        &store,
        Keyring::new(2, &KEY_2).with_previous(1, &KEY_1).unwrap(),
        &clock,
    );
    service(&store, Keyring::new(1, &KEY_1), &clock)
        .bind(
            "erin",
            &mut service(&store, Keyring::new(1, &KEY_1), &clock)
                .start_session("erin")
                .unwrap(),
            &other,
            &code(&other, START),
        )
        .unwrap();
    assert!(rotated.reseal("dave").unwrap());
    assert!(!rotated.reseal("dave").unwrap());
    assert!(!rotated.reseal("nobody").unwrap());
    let report = rotated.reseal_all(&["dave", "erin", "nobody"]);
    assert_eq!(
        (report.resealed, report.current, report.failed.len()),
        (1, 2, 0)
    );
    // Their recovery codes were hashed under key 1's pepper: key 1 stays needed.
    assert_eq!(report.recovery_on_old_key, ["dave", "erin"]);
    // A pending enrollment sealed under key 1 is resealed too.
    let grace = service(&store, Keyring::new(1, &KEY_1), &clock);
    let pending = grace
        .begin_enrollment(
            "gina",
            &grace.start_session("gina").unwrap(),
            Enrollment::builder("Acme", "gina"),
            EnrollmentCheck::OneCode,
        )
        .unwrap();
    assert!(rotated.reseal("gina").unwrap());
    let key_2_only = service(&store, Keyring::new(2, &KEY_2), &clock);
    let twostep::screen::Confirmed::RecordRecoveryCode { codes: shown } = key_2_only
        .confirm_enrollment(
            "gina",
            &key_2_only.start_session("gina").unwrap(),
            &code(&pending, clock.now()),
        )
        .unwrap()
    else {
        panic!("the recovery code screen comes next")
    };
    // Recovery codes kept to be shown again, sealed under key 1, move too.
    let hank = enrollment(6);
    let mut hanks = grace.start_session("hank").unwrap();
    grace
        .bind("hank", &mut hanks, &hank, &code(&hank, START))
        .unwrap();
    let regenerated = grace.regenerate_recovery_codes("hank", &hanks).unwrap();
    // Without key 1, nothing of Hank's opens, not even to sign in.
    clock.advance(30);
    assert!(matches!(
        sign_in(&key_2_only, "hank", &code(&hank, clock.now())),
        Err(MfaError::Seal(SealError::UnknownKey(1)))
    ));
    assert!(rotated.reseal("hank").unwrap());
    let mut hanks = key_2_only.start_session("hank").unwrap();
    key_2_only
        .verify("hank", &mut hanks, &code(&hank, clock.now()))
        .unwrap();
    let ginas = key_2_only.start_session("gina").unwrap();
    for (user, session, codes) in [("gina", &ginas, &shown), ("hank", &hanks, &regenerated)] {
        let Screen::RecordRecoveryCode { codes: again, .. } =
            key_2_only.current_screen(user, None, session).unwrap()
        else {
            panic!("{user}: codes to acknowledge")
        };
        assert_eq!(again[0].expose_str(), codes[0].expose_str());
    }
    // Without the old key, what was not migrated cannot be, and says so.
    service(&store, Keyring::new(1, &KEY_1), &clock)
        .bind(
            "frank",
            &mut service(&store, Keyring::new(1, &KEY_1), &clock)
                .start_session("frank")
                .unwrap(),
            &other,
            &code(&other, START),
        )
        .unwrap();
    let report = service(&store, Keyring::new(2, &KEY_2), &clock).reseal_all(&["frank"]);
    assert!(matches!(
        report.failed[..],
        [(_, MfaError::Seal(SealError::UnknownKey(1)))]
    ));
    clock.advance(30);
    sign_in(
        &service(&store, Keyring::new(2, &KEY_2), &clock),
        "dave",
        &code(&dave, START + 30),
    )
    .unwrap();
}
