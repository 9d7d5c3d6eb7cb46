//! The sync and the async service cannot drift: each method of both is one
//! call of the same core function, and here one arbitrary
//! sequence of operations runs through both, in lockstep, on equal stores,
//! with equal clocks, keys and randomness: every answer, every event and
//! every stored byte must be the same. The same holds for what a service
//! remembers between calls (prepared keys): two servers taking turns on one
//! store tell the story of one server remembering nothing. Each person has
//! one browser session, which they may sign in again with.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use twostep::clock::{Clock, ManualClock};
use twostep::event::CollectingSink;
use twostep::screen::EnrollmentCheck;
use twostep::store::RecordKey;
use twostep::{AsyncMfa, Enrollment, Keyring, MemoryStore, Mfa, MfaSession, Requirement, Store};

const NOW: u64 = 1_700_000_000;
const USERS: [&str; 2] = ["ann", "bo"];

#[derive(Debug, Clone)]
enum Op {
    Begin(usize, bool),
    First(usize, u8),
    Second(usize, u8),
    Acknowledge(usize),
    Verify(usize, u8),
    Recover(usize, u8),
    Regenerate(usize),
    Require(bool),
    Reset(usize),
    Screen(usize),
    SignIn(usize),
    Unlock(usize),
    EndSessions(usize),
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..USERS.len();
    prop_oneof![
        (who.clone(), any::<bool>()).prop_map(|(u, two)| Op::Begin(u, two)),
        (who.clone(), any::<u8>()).prop_map(|(u, t)| Op::First(u, t)),
        (who.clone(), any::<u8>()).prop_map(|(u, t)| Op::Second(u, t)),
        who.clone().prop_map(Op::Acknowledge),
        (who.clone(), any::<u8>()).prop_map(|(u, t)| Op::Verify(u, t)),
        (who.clone(), any::<u8>()).prop_map(|(u, t)| Op::Recover(u, t)),
        who.clone().prop_map(Op::Regenerate),
        any::<bool>().prop_map(Op::Require),
        who.clone().prop_map(Op::Reset),
        who.clone().prop_map(Op::Screen),
        who.clone().prop_map(Op::SignIn),
        who.clone().prop_map(Op::Unlock),
        who.prop_map(Op::EndSessions),
        (0u16..1200).prop_map(Op::Advance),
    ]
}

/// One driver's world: its store, clock and events.
struct Side {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    sink: Arc<CollectingSink>,
}

impl Side {
    fn new() -> Side {
        Side {
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(ManualClock::new(NOW)),
            sink: Arc::new(CollectingSink::new()),
        }
    }

    fn bytes(&self) -> Vec<Option<Vec<u8>>> {
        let users = USERS.iter().map(|u| RecordKey::User(u));
        users
            .chain([RecordKey::Company("co")])
            .map(|key| Store::load(&*self.store, key).unwrap().map(|v| v.bytes))
            .collect()
    }
}

/// A side's settings: its clock, its sink, a seeded generator (shared by
/// every service made from one value).
fn config(side: &Side) -> twostep::Config {
    twostep::Config::default()
        .with_clock(side.clock.clone())
        .with_events(side.sink.clone())
        .with_rng(rand_chacha::ChaCha8Rng::seed_from_u64(21))
}

macro_rules! service {
    ($driver:ident, $side:expr) => {
        service!($driver, $side, config(&$side))
    };
    ($driver:ident, $side:expr, $config:expr) => {
        $driver::with_config($side.store.clone(), Keyring::new(1, &[6; 32]), $config)
    };
}

/// What a person types: the app's current or previous code, or anything.
fn typed(apps: &[Option<Enrollment>], user: usize, pick: u8, now: u64) -> String {
    match (&apps[user], pick % 4) {
        (Some(app), 0) => common::code_at(app, now),
        (Some(app), 1) => common::code_at(app, now.saturating_sub(30)),
        (_, 2) => "12 34".into(),
        _ => format!("{:06}", u32::from(pick) * 3_907 % 1_000_000),
    }
}

/// Runs `op` through a driver, in the people's `$sessions`; the answer as
/// text. `$wrap` awaits `$f`, or takes it as it is.
macro_rules! apply {
    ($mfa:expr, $op:expr, $apps:expr, $sessions:expr, $now:expr, |$f:ident| $wrap:expr) => {{
        let mfa = &$mfa;
        match $op.clone() {
            Op::Begin(u, two) => {
                let check = if two {
                    EnrollmentCheck::TwoCodes
                } else {
                    EnrollmentCheck::OneCode
                };
                let builder = Enrollment::builder("Acme", USERS[u]);
                let $f = mfa.begin_enrollment(USERS[u], &$sessions[u], builder, check);
                let result = $wrap;
                if let Ok(app) = &result {
                    $apps[u] = Some(app.clone());
                }
                format!("{:?}", result.map(|e| e.uri().expose_uri().to_string()))
            }
            Op::First(u, t) => {
                let input = typed(&$apps, u, t, $now);
                let $f = mfa.confirm_enrollment(USERS[u], &$sessions[u], &input);
                format!("{:?}", $wrap)
            }
            Op::Second(u, t) => {
                let input = typed(&$apps, u, t, $now);
                let $f = mfa.confirm_second_code(USERS[u], &$sessions[u], &input);
                format!("{:?}", $wrap)
            }
            Op::Acknowledge(u) => {
                let $f = mfa.acknowledge_recovery(USERS[u], &mut $sessions[u]);
                format!("{:?}", $wrap)
            }
            Op::Verify(u, t) => {
                let input = typed(&$apps, u, t, $now);
                let $f = mfa.verify(USERS[u], &mut $sessions[u], &input);
                format!("{:?}", $wrap)
            }
            Op::Recover(u, t) => {
                let input = format!("{t:025}");
                let $f = mfa.use_recovery_code(USERS[u], &mut $sessions[u], &input);
                format!("{:?}", $wrap)
            }
            Op::Regenerate(u) => {
                let $f = mfa.regenerate_recovery_codes(USERS[u], &$sessions[u]);
                format!(
                    "{:?}",
                    $wrap.map(|c| c
                        .iter()
                        .map(|c| c.expose_str().to_owned())
                        .collect::<Vec<_>>())
                )
            }
            Op::Require(on) => {
                let requirement = if on {
                    Requirement::On { grace_period: 60 }
                } else {
                    Requirement::Off
                };
                let $f = mfa.set_mfa_requirement("co", "ann", &$sessions[0], requirement);
                format!("{:?}", $wrap)
            }
            Op::Reset(u) => {
                let $f = mfa.reset_user_mfa("co", "ann", &$sessions[0], USERS[u]);
                format!("{:?}", $wrap)
            }
            Op::SignIn(u) => {
                let $f = mfa.start_session(USERS[u]);
                let result = $wrap;
                if let Ok(session) = &result {
                    $sessions[u] = session.clone();
                }
                format!("{:?}", result)
            }
            Op::Screen(u) => {
                let $f = mfa.current_screen(USERS[u], Some("co"), &$sessions[u]);
                let result = $wrap;
                format!(
                    "{}",
                    match result {
                        Ok(twostep::Screen::ScanQr { enrollment, .. }) =>
                            enrollment.uri().expose_uri().to_string(),
                        Ok(twostep::Screen::RecordRecoveryCode { codes, .. }) => format!(
                            "{:?}",
                            codes
                                .iter()
                                .map(|c| c.expose_str().to_owned())
                                .collect::<Vec<_>>()
                        ),
                        other => format!("{other:?}"),
                    }
                )
            }
            Op::Unlock(u) => {
                let $f = mfa.unlock(USERS[u]);
                format!("{:?}", $wrap)
            }
            Op::EndSessions(u) => {
                let $f = mfa.end_sessions(USERS[u]);
                format!("{:?}", $wrap)
            }
            Op::Advance(_) => String::new(),
        }
    }};
}

/// Each person's session, signed in at the start.
fn sessions(mut start: impl FnMut(&str) -> MfaSession) -> Vec<MfaSession> {
    USERS.iter().map(|user| start(user)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn one_sequence_through_both_drivers_gives_one_story(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (a, b) = (Side::new(), Side::new());
        let sync = service!(Mfa, a);
        let asynchronous = service!(AsyncMfa, b);
        sync.create_company("co", &["ann"]).unwrap();
        rt.block_on(asynchronous.create_company("co", &["ann"])).unwrap();
        sync.add_member("co", "bo").unwrap();
        rt.block_on(asynchronous.add_member("co", "bo")).unwrap();
        let mut apps_a: Vec<Option<Enrollment>> = vec![None, None];
        let mut apps_b: Vec<Option<Enrollment>> = vec![None, None];
        let mut sessions_a = sessions(|user| sync.start_session(user).unwrap());
        let mut sessions_b = sessions(|user| rt.block_on(asynchronous.start_session(user)).unwrap());
        for op in &ops {
            if let Op::Advance(secs) = op {
                a.clock.advance(u64::from(*secs));
                b.clock.advance(u64::from(*secs));
                continue;
            }
            let now = a.clock.now();
            let answer_a = apply!(sync, op, apps_a, sessions_a, now, |f| f);
            let answer_b = apply!(asynchronous, op, apps_b, sessions_b, now, |f| rt.block_on(f));
            prop_assert_eq!(&answer_a, &answer_b, "{:?}", op);
            prop_assert_eq!(a.bytes(), b.bytes(), "after {:?}", op);
            prop_assert_eq!(a.sink.take(), b.sink.take(), "after {:?}", op);
        }
    }

    #[test]
    fn two_servers_remembering_tell_the_story_of_one_remembering_nothing(
        ops in proptest::collection::vec((op(), any::<bool>()), 1..60),
    ) {
        let (a, b) = (Side::new(), Side::new());
        // Two servers on one store, sharing the clock and randomness but each
        // with its own memory (the second's one set of four entries holds
        // both users side by side); against one server with none.
        let shared = config(&a);
        let servers = [
            service!(Mfa, a, shared.clone()),
            service!(Mfa, a, shared.with_key_cache(4)),
        ];
        let forgetful = service!(Mfa, b, config(&b).with_key_cache(0));
        servers[0].create_company("co", &["ann"]).unwrap();
        forgetful.create_company("co", &["ann"]).unwrap();
        servers[1].add_member("co", "bo").unwrap();
        forgetful.add_member("co", "bo").unwrap();
        let mut apps_a: Vec<Option<Enrollment>> = vec![None, None];
        let mut apps_b: Vec<Option<Enrollment>> = vec![None, None];
        let mut sessions_a = sessions(|user| servers[0].start_session(user).unwrap());
        let mut sessions_b = sessions(|user| forgetful.start_session(user).unwrap());
        for (op, second) in &ops {
            if let Op::Advance(secs) = op {
                a.clock.advance(u64::from(*secs));
                b.clock.advance(u64::from(*secs));
                continue;
            }
            let now = a.clock.now();
            let answer_a = apply!(servers[usize::from(*second)], op, apps_a, sessions_a, now, |f| f);
            let answer_b = apply!(forgetful, op, apps_b, sessions_b, now, |f| f);
            prop_assert_eq!(&answer_a, &answer_b, "{:?}", op);
            prop_assert_eq!(a.bytes(), b.bytes(), "after {:?}", op);
            prop_assert_eq!(a.sink.take(), b.sink.take(), "after {:?}", op);
        }
    }
}
