//! Marks the tests that need the test PostgreSQL ignored, with the reason,
//! where `TWOSTEP_POSTGRES_URL` is not set — unless
//! `TWOSTEP_REQUIRE_POSTGRES` is (as in CI): there they run, and fail
//! without a server.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_postgres)");
    println!("cargo::rerun-if-env-changed=TWOSTEP_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=TWOSTEP_REQUIRE_POSTGRES");
    if std::env::var_os("TWOSTEP_POSTGRES_URL").is_none()
        && std::env::var_os("TWOSTEP_REQUIRE_POSTGRES").is_none()
    {
        println!("cargo::rustc-cfg=no_postgres");
    }
}
