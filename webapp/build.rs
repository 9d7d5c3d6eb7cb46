//! Marks tests ignored, with the reason, where what they need is missing:
//! Chromium's WebDriver (`no_browser`), a test PostgreSQL (`no_postgres`).
//! Not in CI (`TWOSTEP_REQUIRE_BROWSER`, `TWOSTEP_REQUIRE_POSTGRES`): there
//! they run, and fail without it.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_browser, no_postgres)");
    println!("cargo::rerun-if-env-changed=TWOSTEP_REQUIRE_BROWSER");
    println!("cargo::rerun-if-env-changed=TWOSTEP_REQUIRE_POSTGRES");
    println!("cargo::rerun-if-env-changed=TWOSTEP_POSTGRES_URL");
    println!("cargo::rerun-if-changed=/usr/bin/chromedriver");
    let required = |name: &str| std::env::var_os(name).is_some();
    if !std::path::Path::new("/usr/bin/chromedriver").exists()
        && !required("TWOSTEP_REQUIRE_BROWSER")
    {
        println!("cargo::rustc-cfg=no_browser");
    }
    if !required("TWOSTEP_POSTGRES_URL") && !required("TWOSTEP_REQUIRE_POSTGRES") {
        println!("cargo::rustc-cfg=no_postgres");
    }
}
