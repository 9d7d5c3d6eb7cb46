//! What the app guarantees at the HTTP level, without a browser: forms
//! from another site are refused, the session cookie's attributes and
//! renewal, the headers every page carries, and that nothing past the
//! password is reachable before the help page's steps are done, in order.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the tests' helpers: a failure is the test's failure"
)]

mod support;

use support::http::Failure;
use support::person::{header, key_on, owner_forces_mfa, Person};
use support::{start, PEOPLE};

#[tokio::test]
async fn forms_from_another_site_are_refused_and_change_nothing() -> Result<(), Failure> {
    let app = start(None, false);
    let mut owner = Person::new(&app).await?;
    let (email, _, _, password) = PEOPLE[0];
    let credentials = [("email", email), ("password", password)];
    for from_elsewhere in [
        [
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ],
        [
            ("Sec-Fetch-Site", "same-site"),
            ("Origin", "https://evil.app"),
        ],
    ] {
        let forged = owner
            .client
            .send_with("POST", "/signin", &credentials, &from_elsewhere)
            .await?;
        assert_eq!(forged.status, 403, "{from_elsewhere:?}");
    }
    // An older browser that sends only Origin.
    let forged = owner
        .client
        .send_with(
            "POST",
            "/signin",
            &credentials,
            &[("Origin", "https://evil.example")],
        )
        .await?;
    assert_eq!(forged.status, 403);
    assert_eq!(
        owner.get("/account").await?.location,
        "/signin",
        "not signed in"
    );

    owner.sign_in(0).await?;
    let activate = owner
        .client
        .send_with(
            "POST",
            "/account/mfa/activate",
            &[],
            &[("Sec-Fetch-Site", "cross-site")],
        )
        .await?;
    assert_eq!(activate.status, 403);
    let account = owner.get("/account").await?;
    assert!(
        account.body.contains("id=\"mfa-state\">Not active"),
        "no enrollment began"
    );
    Ok(())
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_renewed_at_each_factor() -> Result<(), Failure> {
    let app = start(None, false);
    let mut owner = Person::new(&app).await?;
    let form = owner.get("/signin").await?;
    assert_eq!(
        header(&form, "set-cookie"),
        "",
        "no session before the password"
    );
    // A session id planted before sign-in is worth nothing.
    let planted = "AAAAAAAAAAAAAAAAAAAAAA";
    owner.client.cookie = planted.into();
    let signed_in = owner.sign_in(0).await?;
    let cookie = header(&signed_in, "set-cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let signed_in = owner.cookie();
    assert_ne!(signed_in, planted, "a new session id at sign-in");

    owner.activate_mfa(&app).await?;
    assert_ne!(
        owner.cookie(),
        signed_in,
        "a new session id after the second factor"
    );

    let behind_tls = start(None, true);
    let mut person = Person::new(&behind_tls).await?;
    let signed_in = person.sign_in(0).await?;
    assert!(header(&signed_in, "set-cookie").contains("; Secure"));
    Ok(())
}

#[tokio::test]
async fn every_page_forbids_framing_caching_and_foreign_resources() -> Result<(), Failure> {
    let app = start(None, false);
    let mut person = Person::new(&app).await?;
    for path in ["/signin", "/mfa", "/account"] {
        let page = person.get(path).await?;
        let policy = header(&page, "content-security-policy");
        assert!(
            policy.starts_with("default-src 'none'; script-src 'self'; style-src 'self';"),
            "{path}: {policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"));
        assert_eq!(header(&page, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&page, "x-content-type-options"), "nosniff");
        assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    }
    let page = person.get("/signin").await?.body;
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external resource"
    );
    Ok(())
}

#[tokio::test]
async fn a_user_of_a_forcing_company_reaches_nothing_until_every_step_is_done_in_order(
) -> Result<(), Failure> {
    let app = start(None, false);
    owner_forces_mfa(&app).await?;
    let mut user = Person::new(&app).await?;
    assert_eq!(user.sign_in(1).await?.location, "/mfa");
    let verification = user.get("/mfa").await?;
    assert!(verification
        .body
        .contains("<h1>Company Account Verification</h1>"));
    for path in ["/account", "/company", "/users"] {
        assert_eq!(
            user.get(path).await?.location,
            "/mfa",
            "{path} before enrolling"
        );
    }

    user.post("/mfa", "/mfa/begin", &[]).await?;
    let key = key_on(&user.get("/mfa").await?.body);
    // A later step while an earlier one is open: refused, in words.
    let early = user
        .submit("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
        .await?;
    assert!(early
        .body
        .contains("Scan the QR code and enter the code from your app first."));
    let early = user
        .submit(
            "/mfa",
            "/mfa/enroll/second",
            &[("code", &app.code_for(&key))],
        )
        .await?;
    assert!(early.body.contains("role=\"alert\""), "{}", early.body);
    // The refusal is shown once: a reload shows the screen without it.
    assert!(!user.get("/mfa").await?.body.contains("role=\"alert\""));

    user.post("/mfa", "/mfa/enroll/code", &[("code", &app.code_for(&key))])
        .await?;
    assert_eq!(
        user.get("/account").await?.location,
        "/mfa",
        "second code still open"
    );
    app.wait(30);
    user.post(
        "/mfa",
        "/mfa/enroll/second",
        &[("code", &app.code_for(&key))],
    )
    .await?;
    assert_eq!(
        user.get("/account").await?.location,
        "/mfa",
        "the tick still open"
    );
    let no_tick = user.submit("/mfa", "/mfa/acknowledge", &[]).await?;
    assert!(no_tick
        .body
        .contains("<h1>Copy provided recovery code</h1>"));
    assert!(no_tick
        .body
        .contains("Tick \u{201c}I have safely recorded this number\u{201d} to continue."));
    assert!(no_tick
        .body
        .contains("aria-invalid=\"true\" aria-describedby=\"notice\""));
    user.post("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
        .await?;
    assert_eq!(user.get("/account").await?.status, 200);
    assert_eq!(user.get("/company").await?.status, 403, "owners only");
    Ok(())
}
