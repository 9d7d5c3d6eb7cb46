//! Records in PostgreSQL: one table, a small pool of connections with
//! prepared statements (or none, behind a transaction pooler), every
//! write one conditional statement.

use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};

use crate::pool::{Pool, PoolError};
use crate::schema::postgres::{
    CLEAR_SCHEMA, CREATE, DURABILITY, FENCE, LOAD, LOCK, MIGRATIONS, MIGRATION_LOCK, READ_SCHEMA,
    SCHEMA_TABLE, UPDATE, WRITE_SCHEMA,
};
use crate::schema::{check_durability, steps_after, versioned, Fence, Write, SCHEMA_VERSION};
use crate::SqlStoreError;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::Store;

/// A pooled connection, with the three statements of loads and saves
/// prepared once, or (behind a transaction pooler) none.
struct Connection {
    client: Client,
    prepared: Option<Prepared>,
}

struct Prepared {
    load: Statement,
    create: Statement,
    update: Statement,
}

impl Connection {
    fn new(mut client: Client, prepare: bool) -> Result<Self, postgres::Error> {
        read_committed(&mut client)?;
        let prepared = if prepare {
            Some(Prepared {
                load: client.prepare(LOAD)?,
                create: client.prepare(CREATE)?,
                update: client.prepare(UPDATE)?,
            })
        } else {
            None
        };
        Ok(Connection { client, prepared })
    }

    /// Runs the prepared `statement`, or `sql` unnamed: then it carries
    /// its parameters' `types` and is parsed, bound and run in one message,
    /// so it never meets a statement prepared earlier, on whichever server
    /// connection a pooler lends. Its rows.
    fn query(
        &mut self,
        statement: fn(&Prepared) -> &Statement,
        (sql, types): (&str, &[Type]),
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        match &self.prepared {
            Some(prepared) => self.client.query(statement(prepared), values),
            None => self.client.query_typed(sql, &typed(values, types)),
        }
    }

    /// As [`query`](Self::query), for a write: the rows it changed.
    fn execute(
        &mut self,
        statement: fn(&Prepared) -> &Statement,
        (sql, types): (&str, &[Type]),
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        match &self.prepared {
            Some(prepared) => self.client.execute(statement(prepared), values),
            None => self.client.execute_typed(sql, &typed(values, types)),
        }
    }
}

/// Parameters with their types, for an unnamed statement.
fn typed<'a>(
    values: &[&'a (dyn ToSql + Sync)],
    types: &[Type],
) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    values.iter().copied().zip(types.iter().cloned()).collect()
}

/// The statements with their parameters' types.
const LOAD_TYPED: (&str, &[Type]) = (LOAD, &[Type::TEXT, Type::TEXT]);
const CREATE_TYPED: (&str, &[Type]) = (CREATE, &[Type::TEXT, Type::TEXT, Type::BYTEA]);
const UPDATE_TYPED: (&str, &[Type]) = (UPDATE, &[Type::BYTEA, Type::TEXT, Type::TEXT, Type::INT8]);

/// Keeps records in PostgreSQL (feature `postgres`), shared by any number
/// of threads, processes and machines.
///
/// - **Why the `postgres` crate**: [`Store`] is synchronous, and the
///   synchronous client needs no runtime from the host; an async host calls
///   the service from `spawn_blocking`, as with any blocking store. (`sqlx`
///   would need an async trait or a runtime inside a sync call.)
/// - **Pool**: at most 16 connections by default
///   ([`with_connect`](Self::with_connect) sets another maximum), opened
///   when needed, each with its three statements prepared once (none
///   [`through_transaction_pooler`](Self::through_transaction_pooler)) and
///   `READ COMMITTED` set; a call waits up to 5 s for a free one. A
///   connection found closed, or whose session the server ended (a killed
///   backend, a restart), is dropped, never handed out again (a load is then
///   retried once on a fresh one; a save answers the error, since it may
///   have happened).
/// - **Durable answers**: [`connect`](Self::connect) refuses a database
///   whose commits would not wait for the WAL flush
///   (`synchronous_commit = off`) or for the standbys declared synchronous
///   (`local` with `synchronous_standby_names`):
///   [`SqlStoreError::CommitNotDurable`]. A save answered as done would be
///   lost in a crash, and its code accepted again. An operator who accepts
///   that sets `twostep.allow_non_durable_commit = on` for the role or
///   database.
/// - **Schema**: created and migrated on [`connect`](Self::connect) inside
///   one transaction holding an advisory lock, so servers starting together
///   migrate once; a database from a newer `twostep` is refused with
///   [`SqlStoreError::SchemaTooNew`]. The tables are `twostep_records`,
///   `twostep_schema` and `twostep_fence` in the connection's `search_path` (set
///   `options=-csearch_path=…` to put them in a schema of their own).
/// - **Writes**: the conditional `UPDATE … WHERE kind = $2 AND id = $3 AND
///   version = $4` is the only way a record changes (one row: saved; none:
///   conflict); a new record is an `INSERT … ON CONFLICT DO NOTHING`. Under
///   `READ COMMITTED`, a concurrent `UPDATE` of the same row waits for the
///   first and then re-checks the version, so exactly one of them writes
///   (where a stricter isolation reports a serialization failure instead,
///   that is a conflict too). One round trip for a load, one for a save.
/// - **Failover**: each load reads the database's timeline with the row;
///   on a new one (a promoted standby, a point-in-time restore) the store
///   raises the fence ([`Fence`](crate::schema::Fence)), and no code
///   accepted before the failover is accepted after it.
///
/// ```no_run
/// use twostep::{Keyring, Mfa};
/// use twostep_sql::PostgresStore;
///
/// let store = PostgresStore::connect("host=/run/postgresql user=app dbname=app")?;
/// let mfa = Mfa::new(store, Keyring::new(1, &[7; 32]));
/// # Ok::<(), twostep_sql::SqlStoreError>(())
/// ```
pub struct PostgresStore {
    pool: Pool<Connection, postgres::Error>,
    fence: Fence,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to a database on this machine (a Unix socket, `localhost`
    /// or a loopback address) with libpq-style parameters (`"host=… user=…
    /// dbname=…"` or a `postgresql://` URL; a `connect_timeout` of 5 s unless
    /// they set one) and brings the schema up to date. Records travel in
    /// plain text, so any other host is refused: use
    /// [`connect_tls`](Self::connect_tls), or
    /// [`connect_plaintext`](Self::connect_plaintext) on a network you trust.
    ///
    /// # Errors
    /// [`SqlStoreError::PlaintextToRemoteHost`] for a host that is not this
    /// machine, [`SqlStoreError::Postgres`] if the parameters are invalid or
    /// the database cannot be reached or migrated,
    /// [`SqlStoreError::SchemaTooNew`] if a newer `twostep` migrated it,
    /// [`SqlStoreError::CommitNotDurable`] if its commits are not durable.
    pub fn connect(params: &str) -> Result<Self, SqlStoreError> {
        outside_async_runtime()?;
        let config = config(params)?;
        if let Some(remote) = remote_host(&config) {
            return Err(SqlStoreError::PlaintextToRemoteHost(remote));
        }
        Self::with_connect(16, move || config.connect(NoTls))
    }

    /// As [`connect`](Self::connect), to any host, in plain text: only for a
    /// network you trust end to end (the records are not secret without the
    /// keyring, but their contents and the traffic can be read and changed
    /// on the way; a changed record is refused, not used).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), but for the refusal.
    pub fn connect_plaintext(params: &str) -> Result<Self, SqlStoreError> {
        outside_async_runtime()?;
        let config = config(params)?;
        Self::with_connect(16, move || config.connect(NoTls))
    }

    /// Connects over TLS (feature `postgres-tls`, rustls), whatever the
    /// parameters' `sslmode` says: the server's certificate is checked
    /// against `tls`'s roots and the host name, and a server without TLS is
    /// refused.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use twostep_sql::PostgresStore;
    /// let mut roots = rustls::RootCertStore::empty();
    /// # let ca_der: rustls::pki_types::CertificateDer<'static> = Vec::new().into();
    /// roots.add(ca_der)?; // your database's CA, e.g. from a PEM file
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let tls = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let store = PostgresStore::connect_tls("host=db.internal user=app dbname=app", tls)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`connect`](Self::connect), but for the refusal; a certificate
    /// that does not check out is a [`SqlStoreError::Postgres`].
    #[cfg(feature = "postgres-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres-tls")))]
    pub fn connect_tls(params: &str, tls: rustls::ClientConfig) -> Result<Self, SqlStoreError> {
        outside_async_runtime()?;
        let mut config = config(params)?;
        config.ssl_mode(postgres::config::SslMode::Require);
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
        Self::with_connect(16, move || config.connect(connector.clone()))
    }

    /// A store whose connections `connect` opens (with the host's own TLS
    /// connector, or any configuration it needs), at most `max_connections`
    /// at once. Opens one at once to migrate the schema. The host decides
    /// what travels in plain text here.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn with_connect(
        max_connections: usize,
        connect: impl Fn() -> Result<Client, postgres::Error> + Send + Sync + 'static,
    ) -> Result<Self, SqlStoreError> {
        Self::build(max_connections, true, connect)
    }

    /// As [`with_connect`](Self::with_connect), for a pooler in
    /// transaction mode that cannot keep prepared statements (PgBouncer
    /// before 1.21, or with `max_prepared_statements = 0`): no statement is
    /// ever prepared by name. Each is sent unnamed with its parameters'
    /// types, parsed, bound and run in one message, so it cannot meet a
    /// statement another client prepared on the server connection the
    /// pooler lends. The server parses each statement again: a verify costs
    /// more (`benches/README.md`). PgBouncer 1.21 or newer with
    /// `max_prepared_statements` above 0 needs none of this: use the other
    /// constructors.
    ///
    /// ```no_run
    /// use twostep_sql::PostgresStore;
    /// let config: postgres::Config = "host=pgbouncer.internal port=6432 user=app dbname=app".parse()?;
    /// # let tls = postgres::NoTls;
    /// let store = PostgresStore::through_transaction_pooler(16, move || config.connect(tls.clone()))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn through_transaction_pooler(
        max_connections: usize,
        connect: impl Fn() -> Result<Client, postgres::Error> + Send + Sync + 'static,
    ) -> Result<Self, SqlStoreError> {
        Self::build(max_connections, false, connect)
    }

    fn build(
        max_connections: usize,
        prepare: bool,
        connect: impl Fn() -> Result<Client, postgres::Error> + Send + Sync + 'static,
    ) -> Result<Self, SqlStoreError> {
        outside_async_runtime()?;
        migrate(&mut connect()?)?;
        let pool = Pool::new(
            max_connections,
            Duration::from_secs(5),
            |conn: &Connection, error| {
                conn.client.is_closed() || error.is_some_and(connection_lost)
            },
            move || Connection::new(connect()?, prepare),
        );
        Ok(PostgresStore {
            pool,
            fence: Fence::default(),
        })
    }

    /// The schema version of the database (after
    /// [`connect`](Self::connect), the newest this build knows).
    ///
    /// # Errors
    /// [`SqlStoreError::Postgres`] if it cannot be read.
    pub fn schema_version(&self) -> Result<i64, SqlStoreError> {
        outside_async_runtime()?;
        let row = self.pool.run(|conn| {
            conn.client
                .query_typed_one("SELECT MAX(version)::bigint FROM twostep_schema", &[])
        })?;
        Ok(row.try_get::<_, i64>(0)?)
    }
}

/// The `postgres` crate blocks on a runtime of its own, which panics on any
/// thread that carries a tokio runtime (a worker, and `spawn_blocking`'s
/// threads too): refuse there, with the error that names the async store.
fn outside_async_runtime() -> Result<(), SqlStoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Err(SqlStoreError::InsideAsyncRuntime),
        Err(_) => Ok(()),
    }
}

/// Closing a connection blocks too: a store dropped inside a runtime hands
/// its connections to a plain thread to close.
impl Drop for PostgresStore {
    fn drop(&mut self) {
        if outside_async_runtime().is_err() {
            let idle = self.pool.drain();
            if !idle.is_empty() {
                let _ = std::thread::Builder::new()
                    .name("twostep-pg-close".into())
                    .spawn(move || drop(idle));
            }
        }
    }
}

/// Parameters parsed, with a `connect_timeout` of 5 s unless they set one.
fn config(params: &str) -> Result<postgres::Config, SqlStoreError> {
    let mut config: postgres::Config = params.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    Ok(config)
}

/// The first host the parameters name that is not this machine: not a
/// Unix socket, `localhost` or a loopback address. (No host at all is the
/// default Unix socket.)
fn remote_host(config: &postgres::Config) -> Option<String> {
    let hosts = config.get_hosts().iter().filter_map(|host| match host {
        postgres::config::Host::Tcp(name) => Some(name.clone()),
        #[cfg(unix)]
        postgres::config::Host::Unix(_) => None,
    });
    let addresses = config
        .get_hostaddrs()
        .iter()
        .map(|address| address.to_string());
    hosts.chain(addresses).find(|host| {
        let loopback = host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback());
        !(loopback || host.eq_ignore_ascii_case("localhost"))
    })
}

/// Whether `error` leaves the connection unusable: closed, an I/O or
/// protocol failure, or the server ending the session (`FATAL`, `PANIC`:
/// a killed backend, a shutdown). Such a connection is never handed out
/// again. A plain `ERROR` leaves it as good as before.
fn connection_lost(error: &postgres::Error) -> bool {
    error.is_closed()
        || error
            .as_db_error()
            .is_none_or(|db| matches!(db.severity(), "FATAL" | "PANIC"))
}

/// `READ COMMITTED` whatever the role's or database's default: a racing
/// `UPDATE` then waits, re-checks the version and changes no row (a
/// conflict), where `REPEATABLE READ` would fail with a serialization
/// error; and the migration sees what another server committed while it
/// waited for the lock.
fn read_committed(client: &mut Client) -> Result<(), postgres::Error> {
    client
        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
}

/// Refuses a session whose commits are not durable, then brings the schema
/// up to [`SCHEMA_VERSION`] in one transaction.
fn migrate(client: &mut Client) -> Result<(), SqlStoreError> {
    read_committed(client)?;
    let settings = client.query_typed_one(DURABILITY, &[])?;
    check_durability(
        settings.try_get(0)?,
        settings.try_get(1)?,
        settings.try_get::<_, Option<&str>>(2)?,
    )?;
    let mut tx = client.transaction()?;
    // Behind a pooler the session's setting may not be this connection's.
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")?;
    tx.execute_typed(LOCK, &[(&MIGRATION_LOCK, Type::INT8)])?;
    tx.batch_execute(SCHEMA_TABLE)?;
    let found: i64 = tx.query_typed_one(READ_SCHEMA, &[])?.try_get(0)?;
    let steps = steps_after(&MIGRATIONS, found)?;
    if found < SCHEMA_VERSION {
        for step in steps {
            tx.batch_execute(step)?;
        }
        tx.execute_typed(CLEAR_SCHEMA, &[])?;
        tx.execute_typed(WRITE_SCHEMA, &[(&SCHEMA_VERSION, Type::INT8)])?;
    }
    tx.commit()?;
    Ok(())
}

impl Store for PostgresStore {
    type Error = SqlStoreError;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlStoreError> {
        outside_async_runtime()?;
        let load = |conn: &mut Connection| {
            let rows = conn.query(|p| &p.load, LOAD_TYPED, &[&key.kind(), &key.id()])?;
            let Some(row) = rows.first() else {
                return Ok((None, None));
            };
            let timeline = row.try_get::<_, &str>(2)?;
            let lost_saves_before = match self.fence.on(timeline) {
                Ok(known) => known,
                Err(()) => {
                    let fence = conn.client.query_typed_one(FENCE, &[])?;
                    self.fence.learn(fence.try_get(0)?, fence.try_get(1)?)
                }
            };
            let record = (row.try_get::<_, i64>(0)?, row.try_get::<_, Vec<u8>>(1)?);
            Ok((Some(record), lost_saves_before))
        };
        let (row, lost_saves_before) = match self.pool.run(load) {
            // A pooled connection the server closed (a restart, an idle
            // timeout, a killed backend) shows only when used; reading
            // again on a fresh one is harmless. (A save is not repeated: it
            // may have happened.)
            Err(PoolError::Database(e)) if connection_lost(&e) => self.pool.run(load),
            first => first,
        }?;
        Ok(versioned(row, lost_saves_before)?)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlStoreError> {
        outside_async_runtime()?;
        let (kind, id) = (key.kind(), key.id());
        let write = Write::at(expected);
        let done = match write {
            Write::Create => self
                .pool
                .run(|conn| conn.execute(|p| &p.create, CREATE_TYPED, &[&kind, &id, &bytes])),
            Write::Update(column) => self.pool.run(|conn| {
                conn.execute(|p| &p.update, UPDATE_TYPED, &[&bytes, &kind, &id, &column])
            }),
            Write::Conflict => Ok(0),
        };
        match done {
            Ok(rows) => Ok(write.outcome(rows)),
            // Under REPEATABLE READ or SERIALIZABLE (a database's default,
            // which a transaction pooler's server connections follow
            // whatever this session set) a concurrent writer of the row is
            // a serialization failure: it won, this one wrote nothing. A
            // conflict, not an error.
            Err(PoolError::Database(e))
                if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE) =>
            {
                Ok(SaveOutcome::Conflict)
            }
            Err(e) => Err(e.into()),
        }
    }
}
