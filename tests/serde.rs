//! What hosts put in sessions, JSON APIs and audit logs survives a trip
//! through JSON unchanged, in a documented shape, and never carries a
//! secret or a code (feature `serde`).
#![cfg(all(feature = "serde", feature = "getrandom"))]
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use std::sync::Arc;

use common::code_at;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use twostep::clock::{Clock, ManualClock};
use twostep::company::SignInRequirement;
use twostep::event::CollectingSink;
use twostep::screen::{Acknowledged, EnrollmentCheck};
use twostep::throttle::Gate;
use twostep::{Config, Enrollment, MemoryStore, Mfa, Requirement};

/// `value` to JSON and back: equal, and the JSON it made.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) -> serde_json::Value {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_whole_story_of_events_and_answers_round_trips_without_a_secret() {
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let sink = Arc::new(CollectingSink::new());
    let mfa = Mfa::with_config(
        MemoryStore::new(),
        twostep::Keyring::new(1, &[9; 32]),
        Config::default()
            .with_clock(clock.clone())
            .with_events(sink.clone()),
    );
    mfa.create_company("acme", &["olivia"]).unwrap();
    mfa.add_member("acme", "umar").unwrap();

    let preview = mfa.enforcement_preview("acme", "olivia").unwrap();
    assert_eq!(
        round_trip(&preview),
        json!({"members": [["olivia", "not_set_up"], ["umar", "not_set_up"]], "unavailable": "own_mfa_not_active", "required": false})
    );

    let mut session = mfa.start_session("olivia").unwrap();
    let phone = mfa
        .begin_enrollment(
            "olivia",
            &session,
            Enrollment::builder("Acme", "olivia"),
            EnrollmentCheck::OneCode,
        )
        .unwrap();
    let status = mfa.status("olivia").unwrap();
    assert_eq!(round_trip(&status)["enrollment"], json!("first_code"));
    let first = code_at(&phone, clock.now());
    mfa.confirm_enrollment("olivia", &session, &first).unwrap();
    let ack = mfa.acknowledge_recovery("olivia", &mut session).unwrap();
    assert_eq!(round_trip(&ack), json!("factor_activated"));
    clock.advance(30);
    let second = code_at(&phone, clock.now());
    mfa.verify("olivia", &mut session, &second).unwrap();
    let on = Requirement::On { grace_period: 3600 };
    assert_eq!(round_trip(&on), json!({"kind": "on", "grace_period": 3600}));
    let policy = mfa
        .set_mfa_requirement("acme", "olivia", &session, on)
        .unwrap();
    let shape = round_trip(&policy);
    assert_eq!(shape["owners"], json!(["olivia"]));
    assert_eq!(shape["require_mfa"], json!(true));
    assert_eq!(shape["grace_period"], json!(3600));

    let required = mfa.sign_in_requirement("umar", Some("acme")).unwrap();
    assert_eq!(
        round_trip(&required),
        json!({"kind": "enrollment_required_by", "deadline": 1_700_000_030 + 3600})
    );
    clock.advance(30);
    assert!(mfa
        .verify(
            "olivia",
            &mut mfa.start_session("olivia").unwrap(),
            "000000"
        )
        .is_err());
    let status = mfa.status("olivia").unwrap();
    let shape = round_trip(&status);
    assert_eq!(shape["failures"], json!(1));
    assert_eq!(shape["gate"], json!({"kind": "open"}));

    let events = sink.take();
    assert!(events.len() >= 8, "{events:?}");
    let secret = phone.secret().expose_base32().to_string();
    for event in &events {
        let shape = round_trip(event);
        let text = shape.to_string();
        for leaked in [secret.as_str(), &first, &second] {
            assert!(!text.contains(leaked), "{text} carries a secret or a code");
        }
    }
    // A session as its token: one string, from which it comes back whole.
    let token = serde_json::to_value(&session).unwrap();
    assert_eq!(token, json!(session.to_token()));
    let back: twostep::MfaSession = serde_json::from_value(token).unwrap();
    assert!(matches!(
        mfa.current_screen("olivia", Some("acme"), &back).unwrap(),
        twostep::Screen::Continue
    ));
    assert!(serde_json::from_value::<twostep::MfaSession>(json!("not a session")).is_err());
    let changed = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .find(|v| v["event"]["kind"] == "company_policy_changed")
        .unwrap();
    assert_eq!(changed["user"], json!("olivia"));
    assert_eq!(changed["by"], json!({"owner": "olivia"}));
    assert_eq!(changed["event"]["company"], json!("acme"));
}

#[test]
fn every_small_answer_round_trips_in_snake_case() {
    assert_eq!(round_trip(&Requirement::Off), json!({"kind": "off"}));
    assert_eq!(round_trip(&EnrollmentCheck::TwoCodes), json!("two_codes"));
    assert_eq!(
        round_trip(&Acknowledged::CodesRecorded),
        json!("codes_recorded")
    );
    assert_eq!(
        round_trip(&Gate::Wait { retry_after: 15 }),
        json!({"kind": "wait", "retry_after": 15})
    );
    assert_eq!(round_trip(&Gate::Locked), json!({"kind": "locked"}));
    assert_eq!(
        round_trip(&SignInRequirement::SecondFactor),
        json!({"kind": "second_factor"})
    );
    assert_eq!(
        round_trip(&SignInRequirement::Nothing),
        json!({"kind": "nothing"})
    );
}
