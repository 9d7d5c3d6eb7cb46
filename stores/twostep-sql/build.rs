//! Marks the tests that need the test PostgreSQL (or the PgBouncer in
//! front of it) ignored, with the reason, where `TWOSTEP_POSTGRES_URL`
//! (`TWOSTEP_PGBOUNCER_URL`) is not set — unless `TWOSTEP_REQUIRE_POSTGRES`
//! is (as in CI): there they run, and fail without a server.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_postgres, no_pgbouncer)");
    println!("cargo::rerun-if-env-changed=TWOSTEP_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=TWOSTEP_PGBOUNCER_URL");
    println!("cargo::rerun-if-env-changed=TWOSTEP_REQUIRE_POSTGRES");
    let set = |name: &str| std::env::var_os(name).is_some();
    let required = set("TWOSTEP_REQUIRE_POSTGRES");
    if !set("TWOSTEP_POSTGRES_URL") && !required {
        println!("cargo::rustc-cfg=no_postgres");
    }
    if !set("TWOSTEP_PGBOUNCER_URL") && !required {
        println!("cargo::rustc-cfg=no_pgbouncer");
    }
}
