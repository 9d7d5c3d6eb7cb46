//! Just enough of the W3C WebDriver protocol to drive Debian's Chromium
//! through chromedriver: open pages, fill and click, read, screenshot.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium, closed on drop.
pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
    profile: std::path::PathBuf,
}

/// An element of the current page.
#[derive(Clone)]
pub struct Element(String);

/// WebDriver's keys.
pub const TAB: &str = "\u{E004}";
/// Enter.
pub const ENTER: &str = "\u{E007}";
/// Escape.
pub const ESCAPE: &str = "\u{E00C}";

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a
    /// new profile, with no network beyond loopback.
    pub fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        // chromedriver answers /status once it listens: wait for that (a
        // process starting, not the behaviour under test).
        let started = Instant::now();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile =
            std::env::temp_dir().join(format!("twostep-chromium-{}-{port}", std::process::id()));
        let mut browser = Browser {
            driver,
            base,
            agent,
            profile,
        };
        let session = browser.send(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--window-size=1100,1000", "--hide-scrollbars",
                        format!("--user-data-dir={}", browser.profile.display()),
                    ]
                }
            }}}),
        );
        let id = session["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    fn send(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        }
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap();
        let value = answer["value"].clone();
        if let Some(error) = value.get("error") {
            panic!("WebDriver {method} {path}: {error} {}", value["message"]);
        }
        value
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.send("POST", "/url", json!({ "url": url }));
    }

    /// Reloads the page (as the person presses F5).
    pub fn reload(&self) {
        self.send("POST", "/refresh", json!({}));
    }

    /// The first element `css` selects; fails the test if there is none.
    pub fn find(&self, css: &str) -> Element {
        let found = self.send(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        Element(found[ELEMENT].as_str().unwrap().to_owned())
    }

    /// How many elements `css` selects.
    pub fn count(&self, css: &str) -> usize {
        let found = self.send(
            "POST",
            "/elements",
            json!({"using": "css selector", "value": css}),
        );
        found.as_array().map_or(0, Vec::len)
    }

    /// Types `text` into the element.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.send("POST", &format!("/element/{}/clear", element.0), json!({}));
        self.send(
            "POST",
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        );
    }

    /// Clicks the element.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.send("POST", &format!("/element/{}/click", element.0), json!({}));
    }

    /// Clicks the element and waits for the page it leads to (a form's
    /// answer, a link's target) to be loaded.
    pub fn click_to_page(&self, css: &str) {
        self.to_next_page(css, || self.click(css));
    }

    /// Types `keys` where the focus is (`TAB`, `ENTER`, `SPACE` and
    /// `ESCAPE` among them), as a person at a keyboard does.
    pub fn press(&self, keys: &str) {
        let active = self.send("GET", "/element/active", json!({}));
        let id = active
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("a focused element")
            .to_owned();
        self.send(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": keys }),
        );
    }

    /// [`press`](Self::press), and waits for the page it leads to.
    pub fn press_to_page(&self, keys: &str) {
        self.to_next_page(keys, || self.press(keys));
    }

    /// Presses Tab until the focus is on `css` (at most 20 times).
    pub fn tab_to(&self, css: &str) {
        let focused = format!("return document.activeElement.matches({css:?});");
        for _ in 0..20 {
            if self.run(&focused) == Value::Bool(true) {
                return;
            }
            self.press(TAB);
        }
        panic!("Tab never reaches {css}");
    }

    /// Runs `script` at the start of every page from now on, before the
    /// page's own.
    pub fn before_every_page(&self, script: &str) {
        let command = json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": { "source": script },
        });
        self.send("POST", "/goog/cdp/execute", command);
    }

    fn to_next_page(&self, what: &str, act: impl FnOnce()) {
        self.run("window.twostepOldPage = true;");
        act();
        let started = Instant::now();
        loop {
            let loaded = self.run(
                "return window.twostepOldPage === undefined && document.readyState === 'complete';",
            );
            if loaded == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no page after {what:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The element's rendered text.
    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        let text = self.send("GET", &format!("/element/{}/text", element.0), json!({}));
        text.as_str().unwrap().to_owned()
    }

    /// Whether the element is enabled.
    pub fn enabled(&self, css: &str) -> bool {
        let element = self.find(css);
        self.send("GET", &format!("/element/{}/enabled", element.0), json!({}))
            .as_bool()
            .unwrap()
    }

    /// The page's `<h1>`.
    pub fn heading(&self) -> String {
        self.text("h1")
    }

    /// Runs `script` in the page and returns what it returns.
    pub fn run(&self, script: &str) -> Value {
        self.send(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// What axe-core (`source`: its `axe.min.js`) finds against WCAG 2.1 A
    /// and AA on the page: one line per rule broken, with where.
    pub fn axe(&self, source: &str) -> Value {
        let run = "const done = arguments[arguments.length - 1]; \
             axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }) \
             .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));";
        self.send(
            "POST",
            "/execute/async",
            json!({ "script": format!("{source}\n;{run}"), "args": [] }),
        )
    }

    /// Lays the page out as a phone `width` CSS pixels wide would (Chrome's
    /// device emulation), or as the window again (`None`).
    pub fn emulate_width(&self, width: Option<u32>) {
        let command = match width {
            Some(width) => json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": { "width": width, "height": 700, "deviceScaleFactor": 1, "mobile": true },
            }),
            None => json!({ "cmd": "Emulation.clearDeviceMetricsOverride", "params": {} }),
        };
        self.send("POST", "/goog/cdp/execute", command);
    }

    /// The browser's cookie `name`, with its attributes.
    pub fn cookie(&self, name: &str) -> Value {
        self.send("GET", &format!("/cookie/{name}"), json!({}))
    }

    /// Forgets every cookie (a new visitor).
    pub fn clear_cookies(&self) {
        self.send("DELETE", "/cookie", json!({}));
    }

    /// Saves what the window shows as PNG at `path`.
    pub fn screenshot(&self, path: &std::path::Path) {
        let data = self.send("GET", "/screenshot", json!({}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
