//! `cargo run -p twostep-webapp -- [--port 8080] [--sqlite FILE | --postgres URL]
//! [--key-file FILE] [--secure-cookies]`: the reference web app on
//! 127.0.0.1, seeded with an owner and two users of one company whose
//! passwords it prints.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;

use twostep::clock::SystemClock;
use twostep::Keyring;
use twostep_webapp::{router, AppStore, Config, Database, Directory, Role, Seed};

struct Args {
    port: u16,
    database: Database,
    key_file: PathBuf,
    secure_cookies: bool,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        port: 8080,
        database: Database::Sqlite("twostep-webapp.sqlite3".into()),
        key_file: "twostep-webapp.key".into(),
        secure_cookies: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse()?,
            "--sqlite" => args.database = Database::Sqlite(value()?.into()),
            "--postgres" => args.database = Database::Postgres(value()?),
            "--key-file" => args.key_file = value()?.into(),
            "--secure-cookies" => args.secure_cookies = true,
            _ => return Err(format!("unknown argument {flag}; see webapp/README.md").into()),
        }
    }
    Ok(args)
}

/// The application key: read from `path`, or drawn and written there on the
/// first start (owner-only permissions). In production it comes from a
/// secret manager and is never stored beside the records.
fn keyring(path: &PathBuf) -> Result<Keyring, Box<dyn Error>> {
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
    let args = args()?;
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
    let store = AppStore::open(&args.database).await?;
    let config = Config {
        store,
        keyring: keyring(&args.key_file)?,
        clock: Arc::new(SystemClock),
        directory,
        secure_cookies: args.secure_cookies,
    };
    let app = router(config).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("twostep-webapp on http://{}/", listener.local_addr()?);
    match &args.database {
        Database::Sqlite(path) => println!("records in the SQLite file {}", path.display()),
        Database::Postgres(_) => println!("records in PostgreSQL"),
    }
    println!("sign in as (passwords are new at every start):");
    for (seed, _) in seeds.iter().zip(&passwords) {
        let role = if seed.role == Role::Owner {
            "owner"
        } else {
            "user"
        };
        println!("  {:<18} {}   ({role})", seed.email, seed.password);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
