//! What the app guarantees at the HTTP level, without a browser: forms
//! need the session's CSRF token, the session cookie's attributes and
//! renewal, the headers every page carries, and that nothing past the
//! password is reachable before the help page's steps are done, in order.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the tests' helpers: a failure is the test's failure"
)]

mod support;

use support::http::{csrf, Answer, Client, Failure};
use support::{start, Running, PEOPLE};

/// A person's browser: one connection with its cookie.
struct Person {
    client: Client,
}

impl Person {
    async fn new(app: &Running) -> Result<Person, Failure> {
        let addr = app.url.trim_start_matches("http://").parse()?;
        Ok(Person {
            client: Client::connect(addr).await?,
        })
    }

    async fn get(&mut self, path: &str) -> Result<Answer, Failure> {
        self.client.send("GET", path, &[]).await
    }

    /// Sends `fields` to `path` with the CSRF token of the page at `from`.
    async fn post(
        &mut self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        let token = csrf(&self.get(from).await?.body)?;
        let mut form = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.client.send("POST", path, &form).await
    }

    async fn sign_in(&mut self, who: usize) -> Result<Answer, Failure> {
        let (email, _, _, password) = PEOPLE[who];
        self.post(
            "/signin",
            "/signin",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// The owner's "Activate": the QR code's key, one code, the tick.
    async fn activate_mfa(&mut self, app: &Running) -> Result<String, Failure> {
        self.post("/account", "/account/mfa/activate", &[]).await?;
        let key = key_on(&self.get("/mfa").await?.body);
        self.post("/mfa", "/mfa/enroll/code", &[("code", &app.code_for(&key))])
            .await?;
        self.post("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
            .await?;
        Ok(key)
    }

    fn cookie(&self) -> String {
        self.client.cookie.clone()
    }
}

fn header<'a>(answer: &'a Answer, name: &str) -> &'a str {
    answer
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v)
}

fn key_on(page: &str) -> String {
    let at = page.find("id=\"secret-key\">").unwrap() + 16;
    let end = page[at..].find('<').unwrap();
    page[at..at + end].to_owned()
}

/// The owner activates MFA (one code, the tick) and forces it on everyone.
async fn owner_forces_mfa(app: &Running) -> Result<String, Failure> {
    let mut owner = Person::new(app).await?;
    owner.sign_in(0).await?;
    let key = owner.activate_mfa(app).await?;
    app.wait(30);
    let saved = owner
        .post(
            "/company",
            "/company",
            &[("force", "yes"), ("code", &app.code_for(&key))],
        )
        .await?;
    assert!(
        saved.body.contains("Saved. Every user must use MFA"),
        "{}",
        saved.body
    );
    Ok(key)
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing(
) -> Result<(), Failure> {
    let app = start(None, false);
    let mut owner = Person::new(&app).await?;
    owner.get("/signin").await?;
    let (email, _, _, password) = PEOPLE[0];
    let forged = owner
        .client
        .send(
            "POST",
            "/signin",
            &[("email", email), ("password", password)],
        )
        .await?;
    assert_eq!(forged.status, 403);
    let wrong = [
        ("csrf", "0".repeat(64)),
        ("email", email.into()),
        ("password", password.into()),
    ];
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        owner.client.send("POST", "/signin", &wrong).await?.status,
        403
    );
    assert_eq!(
        owner.get("/account").await?.location,
        "/signin",
        "not signed in"
    );

    owner.sign_in(0).await?;
    let activate = owner
        .client
        .send("POST", "/account/mfa/activate", &[])
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
    let first = owner.get("/signin").await?;
    assert_eq!(
        header(&first, "set-cookie"),
        format!("sid={}; Path=/; HttpOnly; SameSite=Lax", owner.cookie())
    );
    let anonymous = owner.cookie();
    owner.sign_in(0).await?;
    let signed_in = owner.cookie();
    assert_ne!(signed_in, anonymous, "a new session id at sign-in");

    // The id from before sign-in is worth nothing now.
    let mut planted = Person::new(&app).await?;
    planted.client.cookie = anonymous;
    assert_eq!(planted.get("/account").await?.location, "/signin");

    owner.activate_mfa(&app).await?;
    assert_ne!(
        owner.cookie(),
        signed_in,
        "a new session id after the second factor"
    );

    let behind_tls = start(None, true);
    let mut person = Person::new(&behind_tls).await?;
    let page = person.get("/signin").await?;
    assert!(header(&page, "set-cookie").ends_with("; HttpOnly; SameSite=Lax; Secure"));
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
        .post("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
        .await?;
    assert_eq!(early.status, 422);
    assert!(early
        .body
        .contains("Scan the QR code and enter the code from your app first."));
    let early = user
        .post(
            "/mfa",
            "/mfa/enroll/second",
            &[("code", &app.code_for(&key))],
        )
        .await?;
    assert_eq!(early.status, 422);

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
    let no_tick = user.post("/mfa", "/mfa/acknowledge", &[]).await?;
    assert_eq!(no_tick.status, 422);
    assert!(no_tick
        .body
        .contains("<h1>Copy provided recovery code</h1>"));
    user.post("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
        .await?;
    assert_eq!(user.get("/account").await?.status, 200);
    assert_eq!(user.get("/company").await?.status, 403, "owners only");
    Ok(())
}
