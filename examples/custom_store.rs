//! A host keeps MFA records in its own table. All `twostep` needs is
//! `Store`: load a row with its version, and write a row only if the version
//! is still the one loaded — the compare-and-swap that makes every code count
//! once, however many servers check it.
//!
//! The "table" here is a vector of rows behind a mutex, shaped like the SQL
//! a real host would run:
//!
//! ```sql
//! CREATE TABLE mfa_records (kind TEXT, id TEXT, version BIGINT, bytes BLOB,
//!                           PRIMARY KEY (kind, id));
//! -- load:   SELECT version, bytes FROM mfa_records WHERE kind = ? AND id = ?
//! -- update: UPDATE mfa_records SET bytes = ?, version = version + 1
//! --         WHERE kind = ? AND id = ? AND version = ?      -- 1 row: Saved, 0: Conflict
//! -- create: INSERT INTO mfa_records VALUES (?, ?, 1, ?)    -- duplicate key: Conflict
//! ```
//!
//! Run: `cargo run --example custom_store`

use std::error::Error;
use std::sync::{Arc, Mutex};

use twostep::clock::ManualClock;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::{Config, Enrollment, Keyring, Mfa, MfaError, Store};

struct Row {
    kind: &'static str,
    id: String,
    version: u64,
    bytes: Vec<u8>,
}

/// The host's own table.
#[derive(Default)]
struct Table {
    rows: Mutex<Vec<Row>>,
}

/// The host's own error type; `twostep` hands it back inside `MfaError::Store`.
#[derive(Debug, thiserror::Error)]
#[error("the records table is unavailable")]
struct TableError;

impl Store for Table {
    type Error = TableError;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, TableError> {
        let rows = self.rows.lock().map_err(|_| TableError)?;
        Ok(rows
            .iter()
            .find(|row| row.kind == key.kind() && row.id == key.id())
            .map(|row| Versioned::new(Version(row.version), row.bytes.clone())))
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, TableError> {
        // The check and the write happen under one lock: atomic, as the
        // contract requires (in SQL, one conditional UPDATE or INSERT).
        let mut rows = self.rows.lock().map_err(|_| TableError)?;
        let row = rows
            .iter_mut()
            .find(|row| row.kind == key.kind() && row.id == key.id());
        match (row, expected) {
            (None, None) => {
                rows.push(Row {
                    kind: key.kind(),
                    id: key.id().to_owned(),
                    version: 1,
                    bytes: bytes.to_vec(),
                });
                Ok(SaveOutcome::Saved(Version(1)))
            }
            (Some(row), Some(expected)) if row.version == expected.0 => {
                row.version += 1;
                row.bytes = bytes.to_vec();
                Ok(SaveOutcome::Saved(Version(row.version)))
            }
            // Someone else wrote first (or created the row): nothing written.
            _ => Ok(SaveOutcome::Conflict),
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let now = 1_700_000_020;
    let clock = Arc::new(ManualClock::new(now));
    let table = Arc::new(Table::default());
    // The application key lives outside the table (here: generated for the
    // demo; in production: from a secret manager), shared by all servers.
    let keyring = Keyring::generate_os()?;
    // Two "servers" sharing one table.
    let server_a = Mfa::with_config(
        table.clone(),
        keyring.clone(),
        Config::default().with_clock(clock.clone()),
    );
    let server_b = Mfa::with_config(
        table.clone(),
        keyring,
        Config::default().with_clock(clock.clone()),
    );

    let enrollment = Enrollment::builder("Acme", "alice@example.com").build_os()?;
    let app = |t| -> Result<String, Box<dyn Error>> {
        Ok(enrollment.totp().generate(t)?.expose().to_string())
    };
    let mut session = server_a.start_session("alice")?; // after the password
    server_a.bind("alice", &mut session, &enrollment, &app(now)?)?;
    println!(
        "bound alice's factor: row version {}",
        table
            .load(RecordKey::User("alice"))?
            .map_or(0, |r| r.version.0)
    );

    clock.advance(30);
    let code = app(now + 30)?;
    // Two sign-ins, one on each server, with the same code.
    let (mut on_server_a, mut on_server_b) = (
        server_a.start_session("alice")?,
        server_b.start_session("alice")?,
    );
    let on_a = server_a.verify("alice", &mut on_server_a, &code);
    let on_b = server_b.verify("alice", &mut on_server_b, &code);
    println!("same code on server A: {on_a:?}");
    println!("same code on server B: {on_b:?}");
    if !(on_a.is_ok() && matches!(on_b, Err(MfaError::Replayed { .. }))) {
        return Err("the code should be accepted exactly once".into());
    }

    // A stale write is refused: this is the version check at work.
    let stale = table.save(RecordKey::User("alice"), Some(Version(1)), b"stale")?;
    println!("write with an old version: {stale:?}");
    if stale != SaveOutcome::Conflict {
        return Err("a stale version must conflict".into());
    }
    println!(
        "row version now {}",
        table
            .load(RecordKey::User("alice"))?
            .map_or(0, |r| r.version.0)
    );
    Ok(())
}
