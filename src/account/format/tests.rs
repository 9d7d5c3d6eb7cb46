//! The record's bytes: round trips, damage, arbitrary input.

use super::*;
use crate::seal::{Keyring, NONCE_LEN};
use crate::secret::Secret;

fn record() -> MfaRecord {
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let keyring = Keyring::new(1, &[1; 32]);
    let code = |n: u8| StoredCode {
        salt: [n; SALT_LEN],
        hash: [n + 1; HASH_LEN],
        spent: false,
    };
    MfaRecord {
        factor: Some(Factor {
            sealed: keyring.seal([2; NONCE_LEN], "u", &secret),
            params: TotpParams::default()
                .with_algorithm(Algorithm::Sha512)
                .with_t0(5),
            last_accepted: Some(12345),
            bound_at: 1_700_000_000,
        }),
        failures: 3,
        last_failure_at: 99,
        recovery: Some(RecoveryState {
            mode: RecoveryMode::Set(SetSize::new(2).unwrap()),
            key_id: 1,
            codes: vec![
                StoredCode {
                    spent: true,
                    ..code(1)
                },
                code(3),
            ],
        }),
        enrollment: Some(Box::new(EnrollmentState {
            sealed: keyring.seal([3; NONCE_LEN], "u", &secret),
            params: TotpParams::default(),
            label: Label {
                issuer: "Acme Co".into(),
                account: "ümlaut@example.com".into(),
            },
            check: EnrollmentCheck::TwoCodes,
            stage: Stage::SecondCode { first_step: 77 },
            failures: 2,
            last_failure_at: 88,
        })),
        shown: Some(Box::new(ShownCodes {
            sealed: Some(keyring.seal_codes([4; NONCE_LEN], "u", b"K7QF3M9X2HRAWP4D")),
            replaced: Some(ReplacedCode {
                key_id: 1,
                code: code(5),
                until: 66,
            }),
        })),
        clock: ClockEstimate {
            low: -40,
            high: -31,
            samples: 3,
            streak: -2,
        },
        companies: vec!["acme".into(), "ünïcode co".into()],
        used_until: 1_700_000_030,
    }
}

#[test]
fn encoding_round_trips() {
    let bytes = record().encode();
    let back = MfaRecord::decode(&bytes).unwrap();
    assert_eq!(back.encode().as_slice(), bytes.as_slice());
    let factor = back.factor.unwrap();
    assert_eq!(factor.last_accepted, Some(12345));
    assert_eq!(factor.params.algorithm(), Algorithm::Sha512);
    assert_eq!(factor.params.t0(), 5);
    assert_eq!(back.failures, 3);
    let enrollment = back.enrollment.unwrap();
    assert_eq!(enrollment.label.account, "ümlaut@example.com");
    assert_eq!(enrollment.stage, Stage::SecondCode { first_step: 77 });
    assert_eq!((enrollment.failures, enrollment.last_failure_at), (2, 88));
    assert_eq!(back.clock.streak, -2);
    assert_eq!(back.shown.unwrap().replaced.unwrap().until, 66);
    assert_eq!(back.companies, ["acme", "ünïcode co"]);
    assert_eq!(back.used_until, 1_700_000_030);
    let empty = MfaRecord::default().encode();
    assert!(MfaRecord::decode(&empty).unwrap().factor.is_none());
}

#[test]
fn damaged_bytes_are_typed_errors() {
    let bytes = record().encode();
    for len in 0..bytes.len() {
        assert!(
            MfaRecord::decode(&bytes[..len]).is_err(),
            "prefix of {len} bytes"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_eq!(
        MfaRecord::decode(&longer).unwrap_err(),
        RecordError::TrailingBytes
    );
    let mut newer = bytes.to_vec();
    newer[2] = 9;
    assert_eq!(
        MfaRecord::decode(&newer).unwrap_err(),
        RecordError::UnsupportedFormat(9)
    );
    assert_eq!(
        MfaRecord::decode(b"{}").unwrap_err(),
        RecordError::NotARecord
    );
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160)) {
        for format in [2, 3, 4] {
            let mut tagged = vec![b'2', b's', format];
            tagged.extend(&bytes);
            let _ = MfaRecord::decode(&tagged);
        }
        let _ = MfaRecord::decode(&bytes);
    }
}
