//! The SQL the stores share, one copy per dialect: the tables, the
//! migrations, the statements, and how a save becomes one conditional
//! statement. `twostep-sqlx` runs the same text over sqlx, so a database
//! written by one crate is read and updated by the other; a host can read
//! the tables with it too.
//!
//! ```sql
//! UPDATE twostep_records SET bytes = $1, version = version + 1, updated_at = now()
//!  WHERE kind = $2 AND id = $3 AND version = $4           -- 1 row: Saved, 0 rows: Conflict
//!    AND left(pg_walfile_name(pg_current_wal_lsn()), 8) = $5;  -- on the timeline it was read on
//! INSERT INTO twostep_records (kind, id, version, bytes, updated_at)
//!  VALUES ($2, $3, 1, $1, now()) ON CONFLICT DO NOTHING;   -- 0 rows: Conflict
//! ```

use twostep::store::{SaveOutcome, Version, Versioned};

/// The schema version this build writes. Each store migrates an older
/// database up to it, and refuses a newer one.
///
/// 1. `twostep_records (kind, id, version, bytes)`, keyed by kind and id.
/// 2. adds `updated_at`: when the record was last written, by the
///    database's clock (find records no one has used in a year, audit a
///    burst of writes) — never read by `twostep`.
/// 3. PostgreSQL only: `twostep_fence (timeline, lost_saves_before)`, one
///    row ([`Fence`]). SQLite's schema 3 is schema 2.
pub const SCHEMA_VERSION: i64 = 3;

/// A database migrated by a newer `twostep` than this build knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the database's twostep schema is version {found}; this build supports up to {supported}")]
pub struct SchemaTooNew {
    /// The database's schema version.
    pub found: i64,
    /// The newest this build knows.
    pub supported: i64,
}

/// A stored row with a version no `twostep` writes (negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a stored record has the impossible version {0}")]
pub struct BadVersion(pub i64);

/// A timeline the server named that this build cannot keep in a version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the database reports the timeline {0:?}, which this build cannot keep")]
pub struct BadTimeline(pub String);

/// A PostgreSQL session whose commits do not wait for what the operator
/// declared durable: a save answered as done could be lost in a crash (or
/// a failover), and the one-time code it accepted accepted again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "PostgreSQL commits here do not wait for {waits_for} (synchronous_commit = {synchronous_commit}): \
     a code accepted just before a crash could be accepted again. Set synchronous_commit = on \
     for this role or database, or accept the risk by name: twostep.allow_non_durable_commit = on"
)]
pub struct CommitNotDurable {
    /// The session's `synchronous_commit`.
    pub synchronous_commit: String,
    /// What a commit should wait for and does not: "the local WAL flush",
    /// or "the synchronous standbys".
    pub waits_for: &'static str,
}

/// Whether a PostgreSQL session with these settings makes an acknowledged
/// save durable: `synchronous_commit`, `synchronous_standby_names`, and the
/// opt-out `twostep.allow_non_durable_commit` (`on` to accept the risk).
/// `off` loses the last commits in a crash; `local` does not wait for the
/// standbys the operator declared synchronous. `on`, `remote_write` and
/// `remote_apply` wait for both.
///
/// # Errors
/// [`CommitNotDurable`], saying what to set.
pub fn check_durability(
    synchronous_commit: &str,
    synchronous_standby_names: &str,
    allow_non_durable_commit: Option<&str>,
) -> Result<(), CommitNotDurable> {
    if allow_non_durable_commit.is_some_and(|v| matches!(v.trim(), "on" | "true" | "yes" | "1")) {
        return Ok(());
    }
    let waits_for = match synchronous_commit {
        "off" => "the local WAL flush",
        "local" if !synchronous_standby_names.trim().is_empty() => "the synchronous standbys",
        _ => return Ok(()),
    };
    Err(CommitNotDurable {
        synchronous_commit: synchronous_commit.to_owned(),
        waits_for,
    })
}

/// The steps of `migrations` (schema version, SQL) that take a database at
/// schema `found` to [`SCHEMA_VERSION`], in order.
///
/// # Errors
/// [`SchemaTooNew`] for a database past [`SCHEMA_VERSION`].
pub fn steps_after<'a>(
    migrations: &'a [(i64, &'a str)],
    found: i64,
) -> Result<impl Iterator<Item = &'a str>, SchemaTooNew> {
    if found > SCHEMA_VERSION {
        return Err(SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(migrations
        .iter()
        .filter(move |(version, _)| *version > found)
        .map(|(_, step)| *step))
}

/// The PostgreSQL timeline a row was read on: the first 8 hex digits of
/// the server's WAL file names ([`postgres::LOAD`]'s third column). A
/// promoted standby runs on a new one. SQLite has none ([`Timeline::NONE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline(u32);

/// The bits of a [`Version`] that hold the row's version column; the
/// timeline is above them.
const COLUMN_BITS: u32 = 40;
const COLUMN_MASK: u64 = (1 << COLUMN_BITS) - 1;

impl Timeline {
    /// No timeline: SQLite.
    pub const NONE: Timeline = Timeline(0);

    /// Reads the server's text (8 hex digits).
    ///
    /// # Errors
    /// [`BadTimeline`] for anything else, or a timeline of 2^24 or more
    /// (after millions of failovers).
    pub fn parse(text: &str) -> Result<Timeline, BadTimeline> {
        // `from_str_radix` takes a sign too: only 8 hex digits are the
        // server's, and only they come back the same from `text`.
        let digits = text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit());
        u32::from_str_radix(text, 16)
            .ok()
            .filter(|timeline| digits && *timeline < 1 << (64 - COLUMN_BITS))
            .map(Timeline)
            .ok_or_else(|| BadTimeline(text.to_owned()))
    }

    /// The server's text, for [`postgres::UPDATE`]'s `$5`.
    pub fn text(self) -> String {
        format!("{:08X}", self.0)
    }
}

/// A loaded row (its version column and bytes) as a record, read on
/// `timeline`, with the fence of the database it was read from ([`Fence`];
/// `None` for SQLite).
///
/// The record's [`Version`] holds the timeline too, so a save planned on a
/// record read from the old primary cannot land on a promoted standby (a
/// pool's next connection may go there): its `UPDATE` names the timeline,
/// finds no row, and the service loads again, fenced.
///
/// # Errors
/// [`BadVersion`] for a negative version, or one of 2^40 or more.
pub fn versioned(
    row: Option<(i64, Vec<u8>)>,
    timeline: Timeline,
    lost_saves_before: Option<u64>,
) -> Result<Option<Versioned>, BadVersion> {
    row.map(|(version, bytes)| {
        let column = u64::try_from(version)
            .ok()
            .filter(|column| *column <= COLUMN_MASK)
            .ok_or(BadVersion(version))?;
        Ok(Versioned {
            version: Version(column | (u64::from(timeline.0) << COLUMN_BITS)),
            bytes,
            lost_saves_before,
        })
    })
    .transpose()
}

/// What a PostgreSQL store knows of the database's timeline and of the
/// fence raised on it ([`postgres::FENCE`]).
///
/// A promoted standby, or a cluster restored to a point in time, runs on
/// a new timeline, and may lack saves the old one acknowledged: the codes
/// they accepted would be accepted again. Every load reads the timeline
/// with the row ([`postgres::LOAD`]'s third column, nearly free); the
/// first load that sees a timeline this store has not, runs
/// [`postgres::FENCE`], which raises the fence once for every server
/// (`lost_saves_before`: when the new timeline was first seen) and
/// answers it. Records then carry it
/// ([`Versioned::lost_saves_before`]), and the service counts the codes
/// the lost saves could have accepted as used.
#[derive(Debug, Default)]
pub struct Fence(std::sync::Mutex<Option<(String, Option<u64>)>>);

impl Fence {
    /// The fence for a row read on `timeline`: `Err(())` when it is not
    /// known yet, and [`postgres::FENCE`] must be run first.
    #[allow(clippy::result_unit_err, reason = "one answer: not known")]
    pub fn on(&self, timeline: &str) -> Result<Option<u64>, ()> {
        match &*self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some((known, lost_saves_before)) if known == timeline => Ok(*lost_saves_before),
            _ => Err(()),
        }
    }

    /// Remembers [`postgres::FENCE`]'s answer (the timeline and
    /// `lost_saves_before`), and returns the fence.
    pub fn learn(&self, timeline: String, lost_saves_before: Option<i64>) -> Option<u64> {
        let lost_saves_before = lost_saves_before.and_then(|at| u64::try_from(at).ok());
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((timeline, lost_saves_before));
        lost_saves_before
    }
}

/// A save as one conditional statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// `INSERT … ON CONFLICT DO NOTHING` ([`sqlite::CREATE`],
    /// [`postgres::CREATE`]): there was no record.
    Create,
    /// `UPDATE … WHERE version = ?` ([`sqlite::UPDATE`],
    /// [`postgres::UPDATE`]) with the expected version as the column holds
    /// it, on the timeline the record was read on (PostgreSQL).
    Update {
        /// The version column's expected value.
        column: i64,
        /// The timeline the record was read on.
        timeline: Timeline,
    },
}

impl Write {
    /// The statement a save at `expected` takes.
    pub fn at(expected: Option<Version>) -> Write {
        match expected {
            None => Write::Create,
            Some(Version(expected)) => Write::Update {
                // Both fit: the column has 40 bits, the timeline the rest.
                column: (expected & COLUMN_MASK) as i64,
                timeline: Timeline((expected >> COLUMN_BITS) as u32),
            },
        }
    }

    /// The answer to a PostgreSQL [`Write::Create`]: saved at version 1 on
    /// the timeline [`postgres::CREATE`] returned, or a conflict if it
    /// returned none.
    ///
    /// # Errors
    /// [`BadTimeline`] if the server's timeline cannot be kept.
    pub fn created(timeline: Option<&str>) -> Result<SaveOutcome, BadTimeline> {
        Ok(match timeline {
            Some(text) => SaveOutcome::Saved(Version(
                1 | (u64::from(Timeline::parse(text)?.0) << COLUMN_BITS),
            )),
            None => SaveOutcome::Conflict,
        })
    }

    /// The answer, from the rows the statement changed: one is `Saved` at
    /// the next version, none a conflict.
    pub fn outcome(&self, rows: u64) -> SaveOutcome {
        let next = match self {
            Write::Create => Version(1),
            Write::Update { column, timeline } => Version(
                ((*column as u64).wrapping_add(1) & COLUMN_MASK)
                    | (u64::from(timeline.0) << COLUMN_BITS),
            ),
        };
        if rows == 1 {
            SaveOutcome::Saved(next)
        } else {
            SaveOutcome::Conflict
        }
    }
}

/// SQLite's text (positional `?1`…), for `SqliteStore` and `SqlxSqliteStore`.
pub mod sqlite {
    /// The schema steps, each taking the database from the version before.
    pub const MIGRATIONS: [(i64, &str); 2] = [
        (
            1,
            "CREATE TABLE twostep_records (
                 kind TEXT NOT NULL,
                 id TEXT NOT NULL,
                 version INTEGER NOT NULL,
                 bytes BLOB NOT NULL,
                 PRIMARY KEY (kind, id)
             ) WITHOUT ROWID;",
        ),
        (
            2,
            "ALTER TABLE twostep_records ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;",
        ),
    ];

    /// A record and its version, by kind and id.
    pub const LOAD: &str = "SELECT version, bytes FROM twostep_records WHERE kind = ?1 AND id = ?2";
    /// A new record at version 1, unless one exists (then 0 rows: a conflict).
    pub const CREATE: &str = "INSERT INTO twostep_records (kind, id, version, bytes, updated_at)
         VALUES (?1, ?2, 1, ?3, unixepoch()) ON CONFLICT DO NOTHING";
    /// The record at the next version, only if it is still at the expected one.
    pub const UPDATE: &str = "UPDATE twostep_records
         SET bytes = ?1, version = version + 1, updated_at = unixepoch()
         WHERE kind = ?2 AND id = ?3 AND version = ?4";

    /// The schema table: one row, the schema version.
    pub const SCHEMA_TABLE: &str =
        "CREATE TABLE IF NOT EXISTS twostep_schema (version INTEGER NOT NULL)";
    /// The schema version (0 before any migration).
    pub const READ_SCHEMA: &str = "SELECT COALESCE(MAX(version), 0) FROM twostep_schema";
    /// Empties the schema table before the new version is written.
    pub const CLEAR_SCHEMA: &str = "DELETE FROM twostep_schema";
    /// Writes the schema version.
    pub const WRITE_SCHEMA: &str = "INSERT INTO twostep_schema (version) VALUES (?1)";
}

/// PostgreSQL's text (`$1`…), for `PostgresStore` and `SqlxPgStore`.
pub mod postgres {
    /// The schema steps, each taking the database from the version before.
    pub const MIGRATIONS: [(i64, &str); 3] = [
        (
            1,
            "CREATE TABLE twostep_records (
                 kind text NOT NULL,
                 id text NOT NULL,
                 version bigint NOT NULL,
                 bytes bytea NOT NULL,
                 PRIMARY KEY (kind, id)
             );",
        ),
        (
            2,
            "ALTER TABLE twostep_records
                 ADD COLUMN updated_at timestamptz NOT NULL DEFAULT 'epoch';",
        ),
        (
            3,
            "CREATE TABLE twostep_fence (
                 one boolean PRIMARY KEY DEFAULT true CHECK (one),
                 timeline text NOT NULL,
                 lost_saves_before bigint
             );
             INSERT INTO twostep_fence (timeline) VALUES (left(pg_walfile_name(pg_current_wal_lsn()), 8));",
        ),
    ];

    /// Serializes migrations of one database across processes (an arbitrary
    /// constant: "2step" in ASCII).
    pub const MIGRATION_LOCK: i64 = 0x32_73_74_65_70;

    /// A record and its version, by kind and id, and the timeline the
    /// database is on (the first 8 hex digits of its WAL file names); on
    /// a standby it fails, so no record is ever read from a replica.
    pub const LOAD: &str = "SELECT version, bytes, left(pg_walfile_name(pg_current_wal_lsn()), 8)
         FROM twostep_records WHERE kind = $1 AND id = $2";
    /// The timeline and the fence on it: raised (to now, by the database's
    /// clock) the first time any server asks on a new timeline. A server
    /// that loses that race answers its own now: as safe, a moment later.
    pub const FENCE: &str = "WITH here AS (
             SELECT left(pg_walfile_name(pg_current_wal_lsn()), 8) AS timeline,
                    extract(epoch FROM statement_timestamp())::bigint AS now
         ), raised AS (
             UPDATE twostep_fence f SET timeline = here.timeline, lost_saves_before = here.now
               FROM here WHERE f.timeline <> here.timeline
         )
         SELECT here.timeline,
                CASE WHEN f.timeline = here.timeline THEN f.lost_saves_before ELSE here.now END
           FROM here LEFT JOIN twostep_fence f ON true";
    /// A new record at version 1, unless one exists (then no row: a
    /// conflict); the timeline it was written on ([`Write::created`]).
    pub const CREATE: &str = "INSERT INTO twostep_records (kind, id, version, bytes, updated_at)
         VALUES ($1, $2, 1, $3, now()) ON CONFLICT DO NOTHING
         RETURNING left(pg_walfile_name(pg_current_wal_lsn()), 8)";
    /// The record at the next version, only if it is still at the expected
    /// one, on the timeline it was read on (`$5`, as [`LOAD`] reads it):
    /// after a failover, a save planned on the old primary finds no row.
    pub const UPDATE: &str = "UPDATE twostep_records
         SET bytes = $1, version = version + 1, updated_at = now()
         WHERE kind = $2 AND id = $3 AND version = $4
           AND left(pg_walfile_name(pg_current_wal_lsn()), 8) = $5";

    /// The schema table: one row, the schema version.
    pub const SCHEMA_TABLE: &str =
        "CREATE TABLE IF NOT EXISTS twostep_schema (version bigint NOT NULL)";
    /// The schema version (0 before any migration).
    pub const READ_SCHEMA: &str = "SELECT COALESCE(MAX(version), 0)::bigint FROM twostep_schema";
    /// Empties the schema table before the new version is written.
    pub const CLEAR_SCHEMA: &str = "DELETE FROM twostep_schema";
    /// Writes the schema version.
    pub const WRITE_SCHEMA: &str = "INSERT INTO twostep_schema (version) VALUES ($1)";
    /// Takes the migration lock until the transaction ends.
    pub const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
    /// What the session's commits wait for, for
    /// [`check_durability`](super::check_durability).
    pub const DURABILITY: &str = "SELECT current_setting('synchronous_commit'), \
         current_setting('synchronous_standby_names'), \
         current_setting('twostep.allow_non_durable_commit', true)";
}

#[cfg(test)]
mod tests {
    use super::{check_durability, versioned, Timeline, Write};
    use twostep::store::SaveOutcome;

    #[test]
    fn a_version_carries_the_timeline_it_was_read_on_to_the_save() {
        let timeline = Timeline::parse("0000002A").unwrap();
        assert_eq!(timeline.text(), "0000002A");
        let read = versioned(Some((7, vec![1])), timeline, None)
            .unwrap()
            .unwrap();
        let write = Write::at(Some(read.version));
        assert_eq!(
            write,
            Write::Update {
                column: 7,
                timeline
            }
        );
        // The next version: the column's next value, on the same timeline.
        let SaveOutcome::Saved(next) = write.outcome(1) else {
            panic!("one row is a save");
        };
        assert_eq!(
            Write::at(Some(next)),
            Write::Update {
                column: 8,
                timeline
            }
        );
        assert_eq!(write.outcome(0), SaveOutcome::Conflict);
        // SQLite's versions are the column itself.
        let sqlite = versioned(Some((7, vec![])), Timeline::NONE, None)
            .unwrap()
            .unwrap();
        assert_eq!(sqlite.version.0, 7);
        assert!(Timeline::parse("1000000").is_err() && Timeline::parse("01000000").is_err());
        assert!(Timeline::parse("+0000001").is_err());
        assert!(versioned(Some((1 << 40, vec![])), timeline, None).is_err());
    }

    #[test]
    fn commits_are_durable_unless_off_or_local_before_declared_standbys() {
        let durable =
            |commit, standbys, allowed| check_durability(commit, standbys, allowed).is_ok();
        for waits in ["on", "remote_write", "remote_apply"] {
            assert!(
                durable(waits, "", None) && durable(waits, "standby1", None),
                "{waits}"
            );
        }
        assert!(durable("local", "", None));
        assert!(!durable("local", "FIRST 1 (standby1)", None));
        assert!(!durable("off", "", None));
        assert!(!durable("off", "", Some("")) && !durable("off", "", Some("off")));
        assert!(durable("off", "", Some("on")) && durable("local", "s", Some("true")));
    }
}
