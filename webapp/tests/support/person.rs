//! A person's browser as HTTP requests: sign in, post forms as a browser
//! does, and the steps every test needs (the owner activating MFA and
//! forcing it on everyone).

use super::http::{Answer, Client, Failure};
use super::{Running, PEOPLE};

/// A person's browser: one connection with its cookie.
pub struct Person {
    pub client: Client,
}

impl Person {
    pub async fn new(app: &Running) -> Result<Person, Failure> {
        let addr = app.url.trim_start_matches("http://").parse()?;
        Ok(Person {
            client: Client::connect(addr).await?,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer, Failure> {
        self.client.send("GET", path, &[]).await
    }

    /// Sends `fields` to `path` from the page at `from`, as a browser does
    /// (its request says it comes from the app's own origin).
    pub async fn post(
        &mut self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        self.get(from).await?;
        let same_origin = [("Sec-Fetch-Site", "same-origin")];
        self.client
            .send_with("POST", path, fields, &same_origin)
            .await
    }

    /// [`post`](Self::post), then the page the answer sends the browser to
    /// (every form answers with a redirect: Post/Redirect/Get).
    pub async fn submit(
        &mut self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        let answer = self.post(from, path, fields).await?;
        assert_eq!(answer.status, 303, "{path} answers with a redirect");
        self.get(&answer.location).await
    }

    /// Signs in as seeded person `who`.
    pub async fn sign_in(&mut self, who: usize) -> Result<Answer, Failure> {
        let (email, _, _, password) = PEOPLE[who];
        self.sign_in_as(email, password).await
    }

    /// Sends the sign-in form with `email` and `password`.
    pub async fn sign_in_as(&mut self, email: &str, password: &str) -> Result<Answer, Failure> {
        let fields = [("email", email), ("password", password)];
        self.post("/signin", "/signin", &fields).await
    }

    /// The owner's "Activate": the QR code's key, one code, the tick.
    pub async fn activate_mfa(&mut self, app: &Running) -> Result<String, Failure> {
        self.post("/account", "/account/mfa/activate", &[]).await?;
        let key = key_on(&self.get("/mfa").await?.body);
        self.post("/mfa", "/mfa/enroll/code", &[("code", &app.code_for(&key))])
            .await?;
        self.post("/mfa", "/mfa/acknowledge", &[("recorded", "yes")])
            .await?;
        Ok(key)
    }

    pub fn cookie(&self) -> String {
        self.client.cookie.clone()
    }
}

pub fn header<'a>(answer: &'a Answer, name: &str) -> &'a str {
    answer
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v)
}

pub fn key_on(page: &str) -> String {
    let at = page.find("id=\"secret-key\">").unwrap() + 16;
    let end = page[at..].find('<').unwrap();
    page[at..at + end].to_owned()
}

/// The owner activates MFA (one code, the tick) and forces it on everyone.
pub async fn owner_forces_mfa(app: &Running) -> Result<String, Failure> {
    let mut owner = Person::new(app).await?;
    owner.sign_in(0).await?;
    let key = owner.activate_mfa(app).await?;
    app.wait(30);
    let saved = owner
        .submit(
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
