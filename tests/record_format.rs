//! Records written by an earlier format still load and keep working, when
//! the host allows records from before records were authenticated
//! (`Config::read_legacy_records`, for a migration); without it they are
//! refused.
//!
//! The bytes below were written by twostep's record format 2 (the format
//! before the stored enrollment stages), through `Mfa` with the keyring
//! `Keyring::new(1, &[0x42; 32])` at Unix time 1,700,000,000:
//! - `ada`: bound with `common::enrollment(21)`, signed in with her
//!   recovery code (replacement not yet acknowledged), then two wrong codes;
//! - `pat`: an enrollment begun, waiting for its first code;
//! - `cory`: an enrollment confirmed, its recovery code shown, no tick yet.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use twostep::clock::{Clock, ManualClock};
use twostep::otp::Secret;
use twostep::screen::{Acknowledged, EnrollmentCheck};
use twostep::store::RecordKey;
use twostep::{Config, Enrollment, Keyring, MemoryStore, Mfa, MfaError, Screen, Store};

const WRITTEN_AT: u64 = 1_700_000_000;

const ADA: &[&str] = &[
    "32730200000002000000006553f1000100000001c51b8a31c98b9fe13065b485",
    "c9f8658c194c430843570cca14238be218a48167c66aca7a32ceff53df361039",
    "aeb6280d51954b6a1b34ca257558d1a4130106000000000000001e0000000000",
    "00000001000000000360aa2a000000006553f10001000000000101e0f4c35bf5",
    "bb0b2c8212a911ad749b3a044992298b3ef7414e372329c6fd082d8e44f66ab6",
    "29cf8f0b2220fa3b642e69000001",
];
const ADA_SECRET: &str = "7T7OAXYKFDCHPF3FEL22EJ2MTY5DQPVM";
const ADA_REPLACEMENT: &str = "B9NR-3VH3-Q875-9SB9";

const PAT: &[&str] = &[
    "32730200000000000000000000000000000100000001ca194e4f356fc85f5219",
    "decdb294bde5135909022d0ff86e145be5e1333c63b60f4f4dddd1b1c13b2e67",
    "84db6c714d4d3d5011aa8172387df38be568c80106000000000000001e000000",
    "0000000000000000006553f35800",
];

const CORY: &[&str] = &[
    "3273020000000000000000000000000001000000000101e30669b121eca88b6e",
    "1af82b07c9946d5925a657614393f9b5fb888897569de9712d2ca135be317847",
    "6a25fce7f1321e000200000001992f05f62577f4af48a1a7de39af51da645cb3",
    "2a87b3f503140c2d93d602db6d695ff9c4bfb1a533c37f26f80a1beeb1f32bf9",
    "755d50d7732c0f5037f90106000000000000001e000000000000000000000000",
    "0360aa2a01",
];
const CORY_SECRET: &str = "6NBBWGVHUUK32TRA6O3HIMCX54WKGRG6";
const CORY_RECOVERY: &str = "PKCW-5G5B-6K99-6GB6";

fn bytes(hex: &[&str]) -> Vec<u8> {
    let hex = hex.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A service over a store holding the three format-2 records, an hour later.
fn service() -> (Mfa<Arc<MemoryStore>>, Arc<MemoryStore>, Arc<ManualClock>) {
    let store = Arc::new(MemoryStore::new());
    for (user, hex) in [("ada", ADA), ("pat", PAT), ("cory", CORY)] {
        let bytes = bytes(hex);
        assert_eq!(bytes[2], 2, "{user} is a format-2 record");
        let _ = store.save(RecordKey::User(user), None, &bytes).unwrap();
    }
    let clock = Arc::new(ManualClock::new(WRITTEN_AT + 3600));
    let mfa = Mfa::with_config(
        store.clone(),
        Keyring::new(1, &[0x42; 32]),
        Config::default()
            .with_clock(clock.clone())
            .read_legacy_records(),
    );
    (mfa, store, clock)
}

fn app(secret: &str, now: u64) -> String {
    let secret = Secret::from_base32(secret).unwrap();
    let enrollment = Enrollment::builder("Acme", "user")
        .with_secret(secret)
        .unwrap();
    common::code_at(&enrollment, now)
}

#[test]
fn an_active_factor_keeps_its_failures_codes_and_unacknowledged_replacement() {
    let (mfa, store, clock) = service();
    let status = mfa.status("ada").unwrap();
    assert_eq!(status.factor_bound_at, Some(WRITTEN_AT));
    assert_eq!(status.failures, 2);
    assert!(status.recovery_unacknowledged);
    let mut session = mfa.start_session("ada").unwrap();
    mfa.verify("ada", &mut session, &app(ADA_SECRET, clock.now()))
        .unwrap();
    // Format 2 kept no copy of the replacement: nothing to show again.
    assert!(matches!(
        mfa.current_screen("ada", None, &session).unwrap(),
        Screen::Continue
    ));
    // Saved in this version's envelope, and still working; the legacy
    // switch is not needed for it any more.
    let saved = store.load(RecordKey::User("ada")).unwrap().unwrap().bytes;
    assert_eq!(&saved[..3], b"2a\x02");
    let strict = Mfa::with_config(
        store.clone(),
        Keyring::new(1, &[0x42; 32]),
        Config::default().with_clock(clock.clone()),
    );
    assert_eq!(strict.status("ada").unwrap().failures, 0);
    assert!(matches!(
        strict.status("cory"),
        Err(MfaError::CorruptRecord(
            twostep::store::RecordError::NotAuthenticated
        ))
    ));
    assert_eq!(
        mfa.acknowledge_recovery("ada", &mut session).unwrap(),
        Acknowledged::CodesRecorded
    );
    assert_eq!(
        mfa.use_recovery_code("ada", &mut session, ADA_REPLACEMENT)
            .unwrap()
            .remaining,
        1
    );
}

#[test]
fn a_pending_enrollment_of_format_2_starts_again() {
    let (mfa, _, _) = service();
    // Its QR code cannot be shown again (format 2 kept no names): the
    // person begins again, as after an expiry.
    assert_eq!(mfa.status("pat").unwrap().enrollment, None);
    assert!(matches!(
        mfa.current_screen("pat", None, &mfa.start_session("pat").unwrap())
            .unwrap(),
        Screen::Continue
    ));
    assert!(matches!(
        mfa.confirm_enrollment("pat", &mfa.start_session("pat").unwrap(), "123456"),
        Err(MfaError::NoEnrollment)
    ));
    assert!(mfa
        .begin_enrollment(
            "pat",
            &mfa.start_session("pat").unwrap(),
            Enrollment::builder("Acme", "pat"),
            EnrollmentCheck::OneCode
        )
        .is_ok());
}

#[test]
fn a_confirmed_enrollment_of_format_2_waits_for_its_tick() {
    let (mfa, _, clock) = service();
    assert!(matches!(
        mfa.current_screen("cory", None, &mfa.start_session("cory").unwrap()).unwrap(),
        Screen::RecordRecoveryCode { codes, .. } if codes.is_empty()
    ));
    assert!(matches!(
        mfa.verify(
            "cory",
            &mut mfa.start_session("cory").unwrap(),
            &app(CORY_SECRET, clock.now())
        ),
        Err(MfaError::NoFactor)
    ));
    assert_eq!(
        mfa.acknowledge_recovery("cory", &mut mfa.start_session("cory").unwrap())
            .unwrap(),
        Acknowledged::FactorActivated
    );
    mfa.verify(
        "cory",
        &mut mfa.start_session("cory").unwrap(),
        &app(CORY_SECRET, clock.now()),
    )
    .unwrap();
    assert!(mfa
        .use_recovery_code(
            "cory",
            &mut mfa.start_session("cory").unwrap(),
            CORY_RECOVERY
        )
        .is_ok());
}
