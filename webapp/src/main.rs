//! `cargo run -p twostep-webapp -- [--port 8080] [--data-dir DIR]
//! [--sqlite FILE | --postgres URL | --postgres-plaintext URL]
//! [--key-file FILE] [--secure-cookies]`: the reference web app on
//! 127.0.0.1, seeded with an owner and two users of one company whose
//! passwords it prints.

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use twostep::clock::SystemClock;
use twostep::Keyring;
use twostep_webapp::{router, AppStore, Config, Database, Directory, PasswordLimits, Role, Seed};

struct Args {
    port: u16,
    database: Option<Database>,
    key_file: Option<PathBuf>,
    data_dir: PathBuf,
    secure_cookies: bool,
}

/// Where the key and the SQLite file go unless named: the user's data
/// directory, never the directory the app is started from (a repository).
fn default_data_dir() -> PathBuf {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data_home.join("twostep-webapp")
}

fn args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        port: 8080,
        database: None,
        key_file: None,
        data_dir: default_data_dir(),
        secure_cookies: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse()?,
            "--data-dir" => args.data_dir = value()?.into(),
            "--sqlite" => args.database = Some(Database::Sqlite(value()?.into())),
            "--postgres" => args.database = Some(Database::Postgres(value()?)),
            "--postgres-plaintext" => {
                args.database = Some(Database::PostgresPlaintext(value()?));
            }
            "--key-file" => args.key_file = Some(value()?.into()),
            "--secure-cookies" => args.secure_cookies = true,
            _ => return Err(format!("unknown argument {flag}; see webapp/README.md").into()),
        }
    }
    Ok(args)
}

/// The application key: read from `path`, or drawn and written there on the
/// first start (owner-only permissions). In production it comes from a
/// secret manager and is never stored beside the records.
fn keyring(path: &Path) -> Result<Keyring, Box<dyn Error>> {
    let mut key = [0u8; 32];
    match std::fs::read(path) {
        Ok(bytes) => {
            key = bytes
                .as_slice()
                .try_into()
                .map_err(|_| format!("{} must hold 32 bytes", path.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            getrandom::fill(&mut key)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            std::io::Write::write_all(&mut options.open(path)?, &key)?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Keyring::new(1, &key))
}

fn password() -> Result<String, Box<dyn Error>> {
    // 12 characters from an alphabet without look-alikes: ~62 bits.
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)?;
    Ok(bytes
        .iter()
        .filter_map(|b| ALPHABET.get(usize::from(*b) % ALPHABET.len()))
        .map(|&c| char::from(c))
        .collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = args()?;
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(&args.data_dir)?;
    let database = args
        .database
        .unwrap_or_else(|| Database::Sqlite(args.data_dir.join("twostep-webapp.sqlite3")));
    let key_file = args
        .key_file
        .unwrap_or_else(|| args.data_dir.join("twostep-webapp.key"));
    let people = [
        ("olivia@acme.test", "Olivia Owner", Role::Owner),
        ("umar@acme.test", "Umar User", Role::User),
        ("ursula@acme.test", "Ursula User", Role::User),
    ];
    let passwords = people
        .iter()
        .map(|_| password())
        .collect::<Result<Vec<_>, _>>()?;
    let seeds: Vec<Seed<'_>> = people
        .iter()
        .zip(&passwords)
        .map(|(&(email, name, role), password)| Seed {
            email,
            name,
            role,
            password,
        })
        .collect();
    let directory = Directory::new("acme", "Acme", &seeds).map_err(|e| e.to_string())?;
    let store = AppStore::open(&database).await?;
    let config = Config {
        store,
        keyring: keyring(&key_file)?,
        clock: Arc::new(SystemClock),
        directory,
        secure_cookies: args.secure_cookies,
        password_limits: PasswordLimits::default(),
    };
    let app = router(config).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("twostep-webapp on http://{}/", listener.local_addr()?);
    match &database {
        Database::Sqlite(path) => println!("records in the SQLite file {}", path.display()),
        Database::Postgres(_) | Database::PostgresPlaintext(_) => {
            println!("records in PostgreSQL");
        }
    }
    println!("application key in {}", key_file.display());
    println!("sign in as (passwords are new at every start):");
    for (seed, _) in seeds.iter().zip(&passwords) {
        let role = if seed.role == Role::Owner {
            "owner"
        } else {
            "user"
        };
        println!("  {:<18} {}   ({role})", seed.email, seed.password);
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
