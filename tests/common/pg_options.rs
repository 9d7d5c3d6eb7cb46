//! The test server's `key=value` parameters as sqlx options (sqlx reads
//! URLs, not libpq's `key=value` form). Shared with the benches.

/// Options for the server `params` names (`host`, `port`, `user`, `dbname`).
pub fn pg_options(params: &str) -> sqlx::postgres::PgConnectOptions {
    let mut options = sqlx::postgres::PgConnectOptions::new();
    for pair in params.split_whitespace() {
        let (key, value) = pair.split_once('=').unwrap();
        options = match key {
            "host" if value.starts_with('/') => options.socket(value),
            "host" => options.host(value),
            "port" => options.port(value.parse().unwrap()),
            "user" => options.username(value),
            "dbname" => options.database(value),
            _ => options,
        };
    }
    options
}
