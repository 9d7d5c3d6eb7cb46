//! Marks the browser tests ignored (with the reason) where Chromium's
//! WebDriver is missing — unless TWOSTEP_REQUIRE_BROWSER is set, as in CI,
//! where they then fail.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_browser)");
    println!("cargo::rerun-if-env-changed=TWOSTEP_REQUIRE_BROWSER");
    println!("cargo::rerun-if-changed=/usr/bin/chromedriver");
    let present = std::path::Path::new("/usr/bin/chromedriver").exists();
    if !present && std::env::var_os("TWOSTEP_REQUIRE_BROWSER").is_none() {
        println!("cargo::rustc-cfg=no_browser");
    }
}
