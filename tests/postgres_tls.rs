//! `PostgresStore` over TLS (feature `postgres-tls`), against the throw-away
//! cluster of `tools/pg-test-cluster`, with a CA and server certificate this
//! test makes and the cluster switches to at run time.
#![cfg(feature = "postgres-tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use twostep_sql::{PostgresStore, SqlStoreError};

/// A certificate authority made for this run.
fn authority() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A rustls client trusting only `ca`.
fn trusting(ca: &CertifiedIssuer<'_, KeyPair>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Writes the server's certificate and key where the cluster's own user can
/// read them (and no one else the key), and switches TLS on without a restart.
fn enable_tls(url: &str, ca: &CertifiedIssuer<'_, KeyPair>) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = std::path::PathBuf::from(std::env::var("TWOSTEP_PG_DIR").expect("TWOSTEP_PG_DIR"));
    let owner = std::fs::metadata(dir.join("data")).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let (cert_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    for file in [&cert_file, &key_file] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(file, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    for setting in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert_file.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key_file.display()),
        "ALTER SYSTEM SET ssl = on".to_owned(),
    ] {
        admin.batch_execute(&setting).unwrap();
    }
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
}

#[test]
#[cfg_attr(
    no_postgres,
    ignore = "needs PostgreSQL: eval \"$(tools/pg-test-cluster start)\" first; CI starts one"
)]
fn records_travel_encrypted_to_the_server_whose_certificate_checks_out() {
    let url = common::postgres_url();
    let ca = authority();
    enable_tls(&url, &ca);
    let database = common::fresh_database(&url, "tls");
    let config: postgres::Config = database.parse().unwrap();
    let port = config.get_ports().first().copied().unwrap();
    let name = config.get_dbname().unwrap().to_owned();
    // By name, at the loopback address: the name is what the certificate
    // is checked against. `sslmode=disable` is overruled.
    let params = format!(
        "host=localhost hostaddr=127.0.0.1 port={port} user=postgres dbname={name} sslmode=disable"
    );
    // The server reloads its configuration on its own time.
    let deadline = Instant::now() + Duration::from_secs(10);
    let store = loop {
        match PostgresStore::connect_tls(&params, trusting(&ca)) {
            Ok(store) => break store,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for TLS: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("no TLS connection: {e}"),
        }
    };
    twostep::testkit::check_all(&store).unwrap();
    // Every connection the store holds is encrypted, as the server sees it.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*)
               FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
              WHERE a.datname = $1 AND a.backend_type = 'client backend'",
            &[&name],
        )
        .unwrap();
    let (encrypted, all): (i64, i64) = (row.get(0), row.get(1));
    assert!(all > 0);
    assert_eq!(encrypted, all, "{encrypted} of {all} connections use TLS");
    // A client trusting another authority refuses this server.
    let refused = PostgresStore::connect_tls(&params, trusting(&authority()));
    assert!(
        matches!(refused, Err(SqlStoreError::Postgres(_))),
        "{refused:?}"
    );
}
