//! The app on loopback for tests, with a clock the test moves, and the
//! authenticator app that computes codes from the key a page shows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    reason = "test helpers: a failure is the test's failure; not every test uses each"
)]

pub mod http;
pub mod person;
pub mod webdriver;

use std::sync::Arc;

use twostep::clock::ManualClock;
use twostep::otp::{Secret, Totp, TotpParams};
use twostep::Keyring;
use twostep_webapp::{router, AppStore, Config, Database, Directory, PasswordLimits, Role, Seed};

/// The seeded people: email, name, role, password.
pub const PEOPLE: [(&str, &str, Role, &str); 3] = [
    (
        "olivia@acme.test",
        "Olivia Owner",
        Role::Owner,
        "owner-password-1",
    ),
    ("umar@acme.test", "Umar User", Role::User, "user-password-2"),
    (
        "ursula@acme.test",
        "Ursula User",
        Role::User,
        "user-password-3",
    ),
];

/// The app serving on 127.0.0.1 from its own runtime thread.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The app's clock: time passes when the test says so.
    pub clock: Arc<ManualClock>,
    /// Where the SQLite file is (removed at the end).
    pub dir: TempDir,
}

/// Starts the app over `database` (a new SQLite file when `None`), its
/// cookies `Secure` if `secure_cookies`.
pub fn start(database: Option<Database>, secure_cookies: bool) -> Running {
    start_with(database, secure_cookies, PasswordLimits::default())
}

/// [`start`] with the password throttle's allowances.
pub fn start_with(
    database: Option<Database>,
    secure_cookies: bool,
    password_limits: PasswordLimits,
) -> Running {
    let dir = TempDir::new();
    let database = database.unwrap_or_else(|| Database::Sqlite(dir.0.join("app.sqlite3")));
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let app_clock = clock.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let seeds: Vec<Seed<'_>> = PEOPLE
                .iter()
                .map(|&(email, name, role, password)| Seed {
                    email,
                    name,
                    role,
                    password,
                })
                .collect();

            let directory = Directory::new("acme", "Acme", &seeds).unwrap();
            let config = Config {
                store: AppStore::open(&database).await.unwrap(),
                keyring: Keyring::new(1, &[42; 32]),
                clock: app_clock,
                directory,
                secure_cookies,
                password_limits,
            };
            let app = router(config).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    Running {
        url: format!("http://{addr}"),
        clock,
        dir,
    }
}

impl Running {
    /// What an authenticator app holding `key` (as the page shows it, in
    /// groups) displays now.
    pub fn code_for(&self, key: &str) -> String {
        self.code_for_phone(key, 0)
    }

    /// As [`code_for`](Self::code_for), from a phone whose clock is
    /// `ahead` seconds fast (negative: slow).
    pub fn code_for_phone(&self, key: &str, ahead: i64) -> String {
        let secret = Secret::from_base32(&key.replace(' ', "")).unwrap();
        let totp = Totp::new(&secret, TotpParams::default());
        let now = twostep::clock::Clock::now(&*self.clock)
            .checked_add_signed(ahead)
            .unwrap();
        totp.generate(now).unwrap().expose().to_string()
    }

    /// Lets `seconds` pass.
    pub fn wait(&self, seconds: u64) {
        self.clock.advance(seconds);
    }
}

/// A new, empty database on the test PostgreSQL (`TWOSTEP_POSTGRES_URL` as
/// `tools/pg-test-cluster start` prints it: `host=… port=… user=…
/// dbname=…`), as a URL for `--postgres`: each run starts from nothing.
pub fn postgres() -> Database {
    let params = std::env::var("TWOSTEP_POSTGRES_URL").expect("TWOSTEP_POSTGRES_URL");
    let get = |key: &str| {
        params
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    let host = get("host");
    let (host, socket) = match host.starts_with('/') {
        true => ("localhost".to_owned(), format!("?host={host}")),
        false => (host, String::new()),
    };
    let url = |dbname: &str| {
        format!(
            "postgres://{}@{host}:{}/{dbname}{socket}",
            get("user"),
            get("port")
        )
    };
    let fresh = format!(
        "twostep_webapp_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let server = url(&get("dbname"));
    let create = format!("CREATE DATABASE {fresh}");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&server).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut connection)
                .await
                .unwrap();
        });
    Database::Postgres(url(&fresh))
}

/// A directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("twostep-webapp-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
