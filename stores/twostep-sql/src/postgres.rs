//! Records in PostgreSQL: one table, a small pool of connections with
//! prepared statements (or none, behind a transaction pooler), every
//! write one conditional statement, every call with a deadline.

use std::future::Future;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, Socket, Statement};

use crate::pool::{Pool, PoolError};
use crate::schema::postgres::{
    CLEAR_SCHEMA, CREATE, DURABILITY, FENCE, LOAD, LOCK, MIGRATIONS, MIGRATION_LOCK, READ_SCHEMA,
    SCHEMA_TABLE, UPDATE, WRITE_SCHEMA,
};
use crate::schema::{
    check_durability, steps_after, versioned, Fence, Timeline, Write, SCHEMA_VERSION,
};
use crate::SqlStoreError;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::Store;

/// How a [`PostgresStore`] connects: how many connections, how long a call
/// may take, and whether statements are prepared.
///
/// ```
/// use std::time::Duration;
/// use twostep_sql::PostgresOptions;
/// let options = PostgresOptions::new()
///     .max_connections(32)
///     .call_timeout(Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    max_connections: usize,
    call_timeout: Duration,
    prepared: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions::new()
    }
}

impl PostgresOptions {
    /// 16 connections, calls answered within 10 s, statements prepared.
    pub const fn new() -> Self {
        PostgresOptions {
            max_connections: 16,
            call_timeout: Duration::from_secs(10),
            prepared: true,
        }
    }

    /// At most `n` connections open at once (at least 1); a call waits up
    /// to 5 s for a free one.
    pub const fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a call (a load or a save, and opening a connection) may
    /// take before it is an error. A call that overruns gives up its
    /// connection, which is closed and never used again: nothing is
    /// cancelled on the server, so a commit waiting for a synchronous
    /// standby is not turned into one that did not wait; a save that
    /// overran is an error ("may have happened"), never `Saved`. The
    /// default, 10 s, is far above a healthy call (under a millisecond)
    /// and below what a person waits for before trying again.
    pub const fn call_timeout(mut self, limit: Duration) -> Self {
        self.call_timeout = limit;
        self
    }

    /// For a pooler in transaction mode that cannot keep prepared
    /// statements (PgBouncer before 1.21, or with `max_prepared_statements
    /// = 0`): no statement is ever prepared by name. Each is sent unnamed
    /// with its parameters' types, parsed, bound and run in one message,
    /// so it cannot meet a statement another client prepared on the server
    /// connection the pooler lends. The server parses each statement
    /// again: a verify costs more (`benches/README.md`). Not needed for
    /// PgBouncer 1.21 or newer with `max_prepared_statements` above 0.
    pub const fn transaction_pooler(mut self) -> Self {
        self.prepared = false;
        self
    }
}

/// What a call on a connection fails with.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The server or the client library answered with an error.
    Db(tokio_postgres::Error),
    /// No answer within the call timeout.
    TimedOut(Duration),
    /// The connection's runtime could not be made.
    Runtime(std::io::Error),
}

impl From<tokio_postgres::Error> for CallError {
    fn from(error: tokio_postgres::Error) -> Self {
        CallError::Db(error)
    }
}

impl CallError {
    /// Whether the call leaves the connection unusable: closed, an I/O or
    /// protocol failure, the server ending the session (`FATAL`, `PANIC`:
    /// a killed backend, a shutdown), or an answer that never came. Such a
    /// connection is never handed out again. A plain `ERROR` leaves it as
    /// good as before.
    fn connection_lost(&self) -> bool {
        match self {
            CallError::Db(error) => {
                error.is_closed()
                    || error
                        .as_db_error()
                        .is_none_or(|db| matches!(db.severity(), "FATAL" | "PANIC"))
            }
            CallError::TimedOut(_) | CallError::Runtime(_) => true,
        }
    }
}

/// A pooled connection: the client, the runtime its I/O runs on (only
/// while a call waits, on the calling thread), and the three statements
/// of loads and saves prepared once, or none.
struct Connection {
    runtime: tokio::runtime::Runtime,
    client: Client,
    prepared: Option<Prepared>,
    limit: Duration,
}

struct Prepared {
    load: Statement,
    create: Statement,
    update: Statement,
}

/// Runs `call` on `runtime` until it answers or `limit` passes.
fn within<R>(
    runtime: &tokio::runtime::Runtime,
    limit: Duration,
    call: impl Future<Output = Result<R, tokio_postgres::Error>>,
) -> Result<R, CallError> {
    runtime
        .block_on(async { tokio::time::timeout(limit, call).await })
        .map_err(|_| CallError::TimedOut(limit))?
        .map_err(CallError::Db)
}

impl Connection {
    /// Opens a connection with `READ COMMITTED` set, and prepares the
    /// statements unless told not to.
    fn open<T>(config: &Config, tls: T, options: PostgresOptions) -> Result<Self, CallError>
    where
        T: MakeTlsConnect<Socket> + Send + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CallError::Runtime)?;
        let limit = options.call_timeout;
        let (client, connection) = within(&runtime, limit, config.connect(tls))?;
        // Its I/O runs whenever a call on this runtime waits.
        runtime.spawn(connection);
        within(&runtime, limit, read_committed(&client))?;
        let prepared = if options.prepared {
            Some(within(&runtime, limit, async {
                Ok(Prepared {
                    load: client.prepare(LOAD).await?,
                    create: client.prepare(CREATE).await?,
                    update: client.prepare(UPDATE).await?,
                })
            })?)
        } else {
            None
        };
        Ok(Connection {
            runtime,
            client,
            prepared,
            limit,
        })
    }

    /// Runs the prepared `statement`, or `sql` unnamed: then it carries
    /// its parameters' `types` and is parsed, bound and run in one message,
    /// so it never meets a statement prepared earlier, on whichever server
    /// connection a pooler lends. Its rows.
    fn query(
        &self,
        statement: fn(&Prepared) -> &Statement,
        (sql, types): (&str, &[Type]),
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, CallError> {
        match &self.prepared {
            Some(prepared) => within(
                &self.runtime,
                self.limit,
                self.client.query(statement(prepared), values),
            ),
            None => within(
                &self.runtime,
                self.limit,
                self.client.query_typed(sql, &typed(values, types)),
            ),
        }
    }

    /// As [`query`](Self::query), for a write: the rows it changed.
    fn execute(
        &self,
        statement: fn(&Prepared) -> &Statement,
        (sql, types): (&str, &[Type]),
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, CallError> {
        match &self.prepared {
            Some(prepared) => within(
                &self.runtime,
                self.limit,
                self.client.execute(statement(prepared), values),
            ),
            None => within(
                &self.runtime,
                self.limit,
                self.client.execute_typed(sql, &typed(values, types)),
            ),
        }
    }

    /// The one row of an unnamed statement without parameters.
    fn query_one(&self, sql: &str) -> Result<Row, CallError> {
        within(
            &self.runtime,
            self.limit,
            self.client.query_typed_one(sql, &[]),
        )
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
const UPDATE_TYPED: (&str, &[Type]) = (
    UPDATE,
    &[Type::BYTEA, Type::TEXT, Type::TEXT, Type::INT8, Type::TEXT],
);

/// Keeps records in PostgreSQL (feature `postgres`), shared by any number
/// of threads, processes and machines.
///
/// - **Blocking, with no runtime from the host**: [`Store`] is
///   synchronous; each connection runs `tokio-postgres` on a small runtime
///   of its own, only while a call waits on the calling thread (what the
///   `postgres` crate does), so that each call has a deadline. An async
///   host uses `SqlxPgStore` (crate `twostep-sqlx`).
/// - **Pool**: at most 16 connections by default ([`PostgresOptions`]),
///   opened when needed, each with its three statements prepared once
///   (none with [`PostgresOptions::transaction_pooler`]) and `READ
///   COMMITTED` set; a call waits up to 5 s for a free one. A connection
///   found closed, whose session the server ended (a killed backend, a
///   restart), or whose call overran its timeout (10 s by default), is
///   closed, never handed out again (a load is then retried once on a fresh
///   one; a save answers the error, since it may have happened).
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
    pool: Pool<Connection, CallError>,
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
        let config = config(params)?;
        if let Some(remote) = remote_host(&config) {
            return Err(SqlStoreError::PlaintextToRemoteHost(remote));
        }
        Self::with_config(config, NoTls, PostgresOptions::new())
    }

    /// As [`connect`](Self::connect), to any host, in plain text: only for a
    /// network you trust end to end (the records are not secret without the
    /// keyring, but their contents and the traffic can be read and changed
    /// on the way; a changed record is refused, not used).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), but for the refusal.
    pub fn connect_plaintext(params: &str) -> Result<Self, SqlStoreError> {
        Self::with_config(config(params)?, NoTls, PostgresOptions::new())
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
        let mut config = config(params)?;
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
        Self::with_config(config, connector, PostgresOptions::new())
    }

    /// A store on `config` (parsed from libpq-style parameters, or built;
    /// several hosts with `target_session_attrs=read-write` follow a
    /// failover), connecting with `tls` (the host decides what travels in
    /// plain text here), as `options` say. Opens one connection at once to
    /// migrate the schema.
    ///
    /// ```no_run
    /// use twostep_sql::{PostgresOptions, PostgresStore};
    /// // Behind PgBouncer 1.18 in transaction mode, on a network you trust:
    /// let config = "host=pgbouncer.internal port=6432 user=app dbname=app".parse()?;
    /// let options = PostgresOptions::new().transaction_pooler();
    /// let store = PostgresStore::with_config(config, twostep_sql::tokio_postgres::NoTls, options)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`connect`](Self::connect); [`SqlStoreError::PostgresTimedOut`]
    /// if the server does not answer in time.
    pub fn with_config<T>(
        mut config: Config,
        tls: T,
        options: PostgresOptions,
    ) -> Result<Self, SqlStoreError>
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        outside_async_runtime()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.call_timeout);
        }
        let first = Connection::open(&config, tls.clone(), options.transaction_pooler())?;
        migrate(&first)?;
        let pool = Pool::new(
            options.max_connections,
            Duration::from_secs(5),
            |conn: &Connection, error| {
                conn.client.is_closed() || error.is_some_and(CallError::connection_lost)
            },
            move || Connection::open(&config, tls.clone(), options),
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
        let row = self
            .pool
            .run(|conn| conn.query_one("SELECT MAX(version)::bigint FROM twostep_schema"))?;
        Ok(row.try_get::<_, i64>(0)?)
    }
}

/// Each connection blocks on a runtime of its own, which panics on any
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

/// Parameters parsed.
fn config(params: &str) -> Result<Config, SqlStoreError> {
    Ok(params.parse()?)
}

/// The first host the parameters name that is not this machine: not a
/// Unix socket, `localhost` or a loopback address. (No host at all is the
/// default Unix socket.)
fn remote_host(config: &Config) -> Option<String> {
    let hosts = config.get_hosts().iter().filter_map(|host| match host {
        tokio_postgres::config::Host::Tcp(name) => Some(name.clone()),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => None,
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

/// `READ COMMITTED` whatever the role's or database's default: a racing
/// `UPDATE` then waits, re-checks the version and changes no row (a
/// conflict), where `REPEATABLE READ` would fail with a serialization
/// error; and the migration sees what another server committed while it
/// waited for the lock.
async fn read_committed(client: &Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
}

/// Refuses a session whose commits are not durable, then brings the schema
/// up to [`SCHEMA_VERSION`] in one transaction. Every statement unnamed, so
/// this runs behind any pooler.
fn migrate(conn: &Connection) -> Result<(), SqlStoreError> {
    let settings = conn.query_one(DURABILITY)?;
    check_durability(
        settings.try_get(0)?,
        settings.try_get(1)?,
        settings.try_get::<_, Option<&str>>(2)?,
    )?;
    let client = &conn.client;
    let done = within(&conn.runtime, conn.limit, async {
        // Behind a pooler the session's setting may not be this
        // connection's: the transaction says it.
        client
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?;
        client
            .execute_typed(LOCK, &[(&MIGRATION_LOCK, Type::INT8)])
            .await?;
        client.batch_execute(SCHEMA_TABLE).await?;
        let found: i64 = client.query_typed_one(READ_SCHEMA, &[]).await?.try_get(0)?;
        Ok(found)
    });
    let found = match done {
        Ok(found) => found,
        Err(error) => {
            rollback(conn);
            return Err(error.into());
        }
    };
    let steps = match steps_after(&MIGRATIONS, found) {
        Ok(steps) => steps,
        Err(too_new) => {
            rollback(conn);
            return Err(too_new.into());
        }
    };
    let done = within(&conn.runtime, conn.limit, async {
        if found < SCHEMA_VERSION {
            for step in steps {
                client.batch_execute(step).await?;
            }
            client.execute_typed(CLEAR_SCHEMA, &[]).await?;
            client
                .execute_typed(WRITE_SCHEMA, &[(&SCHEMA_VERSION, Type::INT8)])
                .await?;
        }
        client.batch_execute("COMMIT").await
    });
    if done.is_err() {
        rollback(conn);
    }
    Ok(done?)
}

/// Ends a failed migration's transaction (the connection is not reused
/// either way).
fn rollback(conn: &Connection) {
    let _ = within(
        &conn.runtime,
        conn.limit,
        conn.client.batch_execute("ROLLBACK"),
    );
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
                    let fence = conn.query_one(FENCE)?;
                    self.fence.learn(fence.try_get(0)?, fence.try_get(1)?)
                }
            };
            let record = (row.try_get::<_, i64>(0)?, row.try_get::<_, Vec<u8>>(1)?);
            Ok((Some((record, timeline.to_owned())), lost_saves_before))
        };
        let (row, lost_saves_before) = match self.pool.run(load) {
            // A pooled connection the server closed (a restart, an idle
            // timeout, a killed backend) shows only when used; reading
            // again on a fresh one is harmless. (A save is not repeated: it
            // may have happened.)
            Err(PoolError::Database(e)) if e.connection_lost() => self.pool.run(load),
            first => first,
        }?;
        let Some((record, timeline)) = row else {
            return Ok(None);
        };
        let timeline = Timeline::parse(&timeline)?;
        Ok(versioned(Some(record), timeline, lost_saves_before)?)
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
                .run(|conn| {
                    let rows = conn.query(|p| &p.create, CREATE_TYPED, &[&kind, &id, &bytes])?;
                    Ok(rows
                        .first()
                        .map(|row| row.try_get::<_, String>(0))
                        .transpose()?)
                })
                .map(|timeline| Write::created(timeline.as_deref())),
            Write::Update { column, timeline } => self
                .pool
                .run(|conn| {
                    let timeline = timeline.text();
                    let values: [&(dyn ToSql + Sync); 5] = [&bytes, &kind, &id, &column, &timeline];
                    conn.execute(|p| &p.update, UPDATE_TYPED, &values)
                })
                .map(|rows| Ok(write.outcome(rows))),
        };
        match done {
            Ok(outcome) => Ok(outcome?),
            // Under REPEATABLE READ or SERIALIZABLE (a database's default,
            // which a transaction pooler's server connections follow
            // whatever this session set) a concurrent writer of the row is
            // a serialization failure: it won, this one wrote nothing. A
            // conflict, not an error.
            Err(PoolError::Database(CallError::Db(e)))
                if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE) =>
            {
                Ok(SaveOutcome::Conflict)
            }
            Err(e) => Err(e.into()),
        }
    }
}
