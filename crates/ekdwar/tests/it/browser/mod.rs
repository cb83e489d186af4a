//! A real browser: headless Chromium (Debian's `chromium` and `chromium-driver`) driven over
//! WebDriver, with JavaScript on or off, against the real server. Every page a flow reaches can
//! be audited: axe-core's WCAG 2.1 A/AA rules, no horizontal scrolling at 320 px, the GOV.UK error
//! pattern, the page's `lang`, and no request to any other host.

mod assurance;
mod flows;
mod journey;
mod locker;
mod pages;
mod passkeys;
mod payments;
mod services;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{TempDir, free_port};

/// The database a browser journey runs on. The journeys drive pages, and the HTTP-level tests
/// run every behaviour on both databases; so each journey runs once with JavaScript, on
/// PostgreSQL when it is configured, and once without, on SQLite: together they cover both, in
/// half the time of each on both.
pub fn journey_backends(js: bool) -> Vec<&'static str> {
    let all = crate::support::backends();
    let one = if js { all.last() } else { all.first() };
    one.copied().into_iter().collect()
}

/// Phone-sized viewport for every test; audits also check 320 px.
pub const PHONE: (u32, u32) = (360, 740);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// axe-core from `e2e/node_modules`, installed on first use (`npm ci`).
fn axe_source() -> &'static str {
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let dir = repo().join("e2e");
        let file = dir.join("node_modules/axe-core/axe.min.js");
        if !file.exists() {
            let lock = dir.join(".lock");
            let start = Instant::now();
            while !file.exists() && start.elapsed() < Duration::from_secs(300) {
                if std::fs::create_dir(&lock).is_ok() {
                    let ok = file.exists()
                        || Command::new("npm")
                            .args(["ci", "--no-audit", "--no-fund"])
                            .current_dir(&dir)
                            .status()
                            .is_ok_and(|s| s.success());
                    let _ = std::fs::remove_dir(&lock);
                    assert!(ok, "npm ci failed in e2e/");
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        std::fs::read_to_string(&file).expect("axe-core is installed in e2e/node_modules")
    })
}

/// A ChromeDriver command for the DevTools protocol (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.0, "params": self.1}).to_string()),
        )
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    pub js: bool,
    driver: Child,
    /// ChromeDriver's port and session, to end the session (and so Chromium) on drop.
    session: (u16, String),
    _profile: TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing ChromeDriver alone leaves Chromium running: end the session first, which
        // makes ChromeDriver quit the browser. Plain blocking HTTP, as a drop cannot await.
        use std::io::Write;
        let (port, id) = &self.session;
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", *port)) {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                conn,
                "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            // ChromeDriver answers once Chromium has quit, and keeps the connection open
            // after: read the one response, not to the end of the stream.
            let _ = read_response(&mut conn);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Reads one HTTP response with a `Content-Length` body from `conn`.
fn read_response(conn: &mut impl std::io::Read) -> std::io::Result<()> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if got.len() >= end + 4 + length {
            return Ok(());
        }
    }
}

impl Browser {
    /// Starts Chromium at phone size, with or without JavaScript, pointed at `base`.
    pub async fn start(base: &str, js: bool) -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (Debian: chromium-driver)");
        let profile = TempDir(std::env::temp_dir().join(format!("ekdwar-chromium-{port}")));
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--disable-renderer-backgrounding".into(),
            "--disable-background-timer-throttling".into(),
            "--disable-backgrounding-occluded-windows".into(),
            "--password-store=basic".into(),
            format!("--window-size={},{}", PHONE.0, PHONE.1),
            format!("--user-data-dir={}", profile.0.display()),
        ];
        args.push("--lang=en".into());
        let mut prefs = serde_json::Map::new();
        if !js {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args, "prefs": prefs}),
        );
        // ChromeDriver does not wait for navigations (on a loaded machine its wait for the
        // renderer timed out); every step that leads to a page waits for it itself
        // (`wait_new_page`).
        caps.insert("pageLoadStrategy".into(), json!("none"));
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            let conn = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(conn)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if start.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("could not start Chromium through chromedriver: {e}"),
            }
        };
        // A page that never finishes loading fails the step with a message instead of
        // holding the test.
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        // A headless window never has the system's focus; emulate it, so that `:focus` styles
        // apply as they do for a person with a keyboard.
        client
            .issue_cmd(Cdp(
                "Emulation.setFocusEmulationEnabled",
                json!({"enabled": true}),
            ))
            .await
            .unwrap();
        let id = client.session_id().await.unwrap().unwrap_or_default();
        Self {
            client,
            base: base.to_string(),
            js,
            driver,
            session: (port, id),
            _profile: profile,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn open(&self, path: &str) {
        self.mark_page().await;
        self.client.goto(&self.url(path)).await.unwrap();
        self.wait_new_page().await;
    }

    /// Opens an address outside the portal (a file saved to disk).
    pub async fn open_url(&self, url: &str) {
        self.mark_page().await;
        self.client.goto(url).await.unwrap();
        self.wait_new_page().await;
    }

    /// What a download link at `path` gives this browser: fetched with its cookies, as the
    /// browser's own download would be.
    pub async fn download(&self, path: &str) -> (u16, Vec<u8>) {
        let cookies = self.client.get_all_cookies().await.unwrap();
        let header = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = reqwest::Client::new()
            .get(self.url(path))
            .header("cookie", header)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.bytes().await.unwrap().to_vec())
    }

    /// Chooses `file` in the file field named `name`.
    pub async fn attach(&self, name: &str, file: &std::path::Path) {
        self.client
            .find(Locator::Css(&format!("input[type=file][name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no file field {name}: {e}"))
            .send_keys(&file.display().to_string())
            .await
            .unwrap();
    }

    /// Path of the current page.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Path and query of the current page.
    pub async fn path_and_query(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    pub async fn current_url(&self) -> url::Url {
        self.client.current_url().await.unwrap()
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The visible text of the first element `css` matches.
    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    /// Types into the field named `name`, replacing what is there.
    pub async fn fill(&self, name: &str, value: &str) {
        let el = self
            .client
            .find(Locator::Css(&format!("[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no field {name}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    /// Types a date (`YYYY-MM-DD`) into the day, month and year boxes of the date question
    /// `name`, as a person would: `14`, `8`, `1995`.
    pub async fn fill_date(&self, name: &str, iso: &str) {
        let d: jiff::civil::Date = iso.parse().expect("a date");
        for (part, value) in [("day", d.day()), ("month", d.month())] {
            self.fill(&format!("{name}[{part}]"), &value.to_string())
                .await;
        }
        self.fill(&format!("{name}[year]"), &d.year().to_string())
            .await;
    }

    /// Picks the option with `value` in the list named `name`.
    pub async fn choose(&self, name: &str, value: &str) {
        self.client
            .find(Locator::Css(&format!("select[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no list {name}: {e}"))
            .select_by_value(value)
            .await
            .unwrap();
    }

    pub async fn value(&self, name: &str) -> String {
        self.client
            .find(Locator::Css(&format!("[name=\"{name}\"]")))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Gives the browser a platform authenticator (Chromium's virtual one, through DevTools):
    /// it keeps discoverable passkeys and verifies its user without asking.
    pub async fn add_authenticator(&self) {
        self.client
            .issue_cmd(Cdp("WebAuthn.enable", json!({})))
            .await
            .unwrap();
        self.client
            .issue_cmd(Cdp(
                "WebAuthn.addVirtualAuthenticator",
                json!({"options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserVerified": true,
                    "automaticPresenceSimulation": true,
                }}),
            ))
            .await
            .unwrap();
    }

    /// Clicks the first submit button (or link) `css` matches — not a script's own buttons,
    /// such as "Show password" — and waits for the page it leads to.
    pub async fn submit(&self, css: &str) {
        self.mark_page().await;
        let mut target = None;
        for el in self.client.find_all(Locator::Css(css)).await.unwrap() {
            let kind = el.attr("type").await.unwrap();
            if kind.as_deref() != Some("button") {
                target = Some(el);
                break;
            }
        }
        target
            .unwrap_or_else(|| panic!("nothing to submit matches {css}"))
            .click()
            .await
            .unwrap();
        self.wait_new_page().await;
    }

    /// Marks the current document, so that `wait_new_page` can tell when another has loaded.
    async fn mark_page(&self) {
        let start = Instant::now();
        while self.try_eval("window.__ekdwarSeen = true").await != Some(json!(true)) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the page never became scriptable"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until a document other than the marked one has loaded.
    async fn wait_new_page(&self) {
        let start = Instant::now();
        loop {
            let done = self
                .try_eval("window.__ekdwarSeen === undefined && document.readyState === 'complete'")
                .await;
            if done == Some(json!(true)) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no new page after 15 s at {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Presses the button (or link) whose visible text is `text`, and waits for the next page.
    pub async fn press(&self, text: &str) {
        let xpath = format!(
            "//*[(self::button or self::a) and normalize-space()={}]",
            xpath_literal(text)
        );
        let Ok(el) = self.client.find(Locator::XPath(&xpath)).await else {
            panic!("no button or link {text:?} on {}", self.path().await);
        };
        self.mark_page().await;
        el.click().await.unwrap();
        self.wait_new_page().await;
    }

    /// Attribute `name` of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .ok()?
            .attr(name)
            .await
            .unwrap()
    }

    /// Runs JavaScript in the page through DevTools: works with the page's scripts disabled and
    /// is not subject to its CSP (axe, measurements).
    pub async fn eval(&self, expression: &str) -> Value {
        let cmd = self.client.issue_cmd(Cdp(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        ));
        let r = tokio::time::timeout(Duration::from_secs(60), cmd)
            .await
            .unwrap_or_else(|_| panic!("no answer in 60 s from the page to {:.60}", expression))
            .unwrap();
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("script failed: {ex}");
        }
        r["result"]["value"].clone()
    }

    /// `eval` while a page may be changing: `None` when there is no document to ask.
    async fn try_eval(&self, expression: &str) -> Option<Value> {
        let r = self
            .client
            .issue_cmd(Cdp(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            ))
            .await
            .ok()?;
        r.get("exceptionDetails")
            .is_none()
            .then(|| r["result"]["value"].clone())
    }

    pub async fn set_width(&self, width: u32) {
        self.client
            .issue_cmd(Cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": PHONE.1, "deviceScaleFactor": 1, "mobile": true}),
            ))
            .await
            .unwrap();
    }

    pub async fn screenshot(&self, file: &std::path::Path) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, png).unwrap();
    }

    /// Waits (up to 10 s) until the page's script has solved the challenge, if there is one.
    pub async fn challenge_solved(&self) {
        if !self.js || !self.has("[data-pow-nonce]").await {
            return;
        }
        let start = Instant::now();
        while self.value("pow").await.is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the page never solved its challenge"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The text of what `css` matches once the page's scripts have put some there.
    pub async fn wait_for_text(&self, css: &str) -> String {
        let start = Instant::now();
        let js = format!(
            "(document.querySelector({}) || {{}}).textContent || ''",
            serde_json::to_string(css).unwrap()
        );
        loop {
            let text = self
                .eval(&js)
                .await
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !text.is_empty() {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nothing appeared in {css}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Answers the typed question of a challenge as a person without JavaScript does.
    pub async fn answer_challenge(&self) {
        if self.js {
            return self.challenge_solved().await;
        }
        if !self.has("#captcha_text").await {
            return;
        }
        let label = self
            .client
            .find(Locator::Css("label[for=captcha_text]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let digits: Vec<u32> = label
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(digits.len(), 2, "a sum of two numbers: {label}");
        self.fill("captcha_text", &(digits[0] + digits[1]).to_string())
            .await;
    }

    /// Checks what a person with assistive technology and a small phone depends on, on the
    /// current page; panics with every problem found. `label` names the page in the report.
    pub async fn audit(&self, label: &str) -> PageWeight {
        let (problems, weight) = self.audit_report(label).await;
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        weight
    }

    /// What `audit` checks, as a list of problems (empty when the page passes).
    pub async fn audit_report(&self, label: &str) -> (Vec<String>, PageWeight) {
        let mut problems = Vec::new();
        // axe-core, WCAG 2.1 A and AA.
        let axe = axe_source();
        let injected = self
            .eval(&format!(
                "(function(){{ if (!window.axe) {{ {axe} }} return !!window.axe; }})()"
            ))
            .await;
        assert_eq!(injected, json!(true), "axe-core loaded");
        let violations = self
            .eval(
                "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}, resultTypes: ['violations']}).then(r => r.violations.map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0,3).map(n => n.target.join(' ') + ' ' + (n.failureSummary||'').replace(/\\s+/g,' ')).join(' | ')))",
            )
            .await;
        for v in violations.as_array().unwrap() {
            problems.push(format!("axe {}", v.as_str().unwrap()));
        }
        // What axe does not check: the GOV.UK error pattern and the document's language.
        let checks = self
            .eval(
                r#"(function(){
  var p = [];
  if (!document.documentElement.lang) p.push('no lang on <html>');
  document.querySelectorAll('input:not([type=hidden]),select,textarea').forEach(function(i){
    var field = i.closest('.field, fieldset');
    if (!field) return;
    var ids = (i.getAttribute('aria-describedby') || '').split(/\s+/);
    field.querySelectorAll('.hint, .field-error').forEach(function(h){
      if (h.closest('.field, fieldset') !== field) return;
      if (!h.id || ids.indexOf(h.id) < 0) p.push('#' + i.id + ' is not described by its ' + h.className + ' "' + h.textContent.trim().slice(0,40) + '"');
    });
    var inError = !!field.querySelector(".field-error");
    if (inError && i.getAttribute('aria-invalid') !== 'true') p.push('#' + i.id + ' is in error without aria-invalid');
    if (!inError && i.getAttribute('aria-invalid') === 'true') p.push('#' + i.id + ' has aria-invalid without an error');
  });
  // Controls as tall as the text inputs on a phone (40 px), selects and dates included.
  document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]),select,textarea').forEach(function(i){
    var h = i.getBoundingClientRect().height;
    if (h > 0 && h < 39.5) p.push('#' + i.id + ' is ' + Math.round(h) + ' px tall');
  });
  document.querySelectorAll('.field-error').forEach(function(e){
    var hidden = e.querySelector('.visually-hidden');
    if (!hidden || !hidden.textContent.trim()) p.push('error without a hidden prefix: ' + e.textContent.trim().slice(0,40));
  });
  var summary = document.querySelector('.error-summary');
  if (summary) {
    if (document.activeElement !== summary) p.push('focus is not on the error summary');
    var first = document.querySelector('.field-error .visually-hidden');
    var prefix = first ? first.textContent.trim() : '';
    if (!prefix || document.title.indexOf(prefix) !== 0) p.push('the title does not start with the error prefix: ' + document.title);
    summary.querySelectorAll('a').forEach(function(a){
      var id = a.getAttribute('href').slice(1);
      if (!document.getElementById(id)) p.push('the summary links to a missing field #' + id);
    });
  }
  return p;
})()"#,
            )
            .await;
        for v in checks.as_array().unwrap() {
            problems.push(v.as_str().unwrap().to_string());
        }
        // Keyboard focus is always visible (WCAG 2.4.7): every control drawn differently when
        // focused. Focus goes back where it was.
        let unseen = self
            .eval(
                r#"(function(){
  var before = document.activeElement, out = [];
  var look = function(e){ var s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.boxShadow, s.backgroundColor, s.textDecorationLine].join(' '); };
  document.querySelectorAll('a[href],button,input:not([type=hidden]),select,textarea,[tabindex]').forEach(function(e){
    if (e.offsetParent === null && getComputedStyle(e).position !== 'fixed') return;
    if (e === document.activeElement) e.blur();
    var plain = look(e);
    e.focus();
    if (document.activeElement === e && look(e) === plain) out.push((e.id ? '#' + e.id : e.tagName.toLowerCase()) + ' "' + (e.textContent || e.name || '').trim().slice(0, 30) + '"');
    e.blur();
  });
  if (before && before.focus) before.focus();
  return out.slice(0, 5);
})()"#,
            )
            .await;
        for v in unseen.as_array().unwrap() {
            problems.push(format!("no visible focus on {}", v.as_str().unwrap()));
        }
        // Reflow: nothing wider than the screen at 320 px (WCAG 1.4.10).
        self.set_width(320).await;
        let wide = self
            .eval(
                r#"(function(){
  var w = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > w) out.push('page scrolls sideways: ' + document.documentElement.scrollWidth + 'px wide');
  document.querySelectorAll('body *').forEach(function(e){
    var r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1 && getComputedStyle(e).position !== 'absolute') out.push((e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + e.className) + ' ends at ' + Math.round(r.right) + 'px');
  });
  return out.slice(0, 5);
})()"#,
            )
            .await;
        self.set_width(PHONE.0).await;
        for v in wide.as_array().unwrap() {
            problems.push(format!("at 320 px: {}", v.as_str().unwrap()));
        }
        let weight = self.weight().await;
        if !weight.foreign.is_empty() {
            problems.push(format!("requests to other hosts: {:?}", weight.foreign));
        }
        println!(
            "page {label:<40} {:>6} bytes {:>2} requests",
            weight.bytes, weight.requests
        );
        if problems.is_empty() {
            (problems, weight)
        } else {
            let head = format!(
                "{label} ({}):\n  {}",
                self.path_and_query().await,
                problems.join("\n  ")
            );
            (vec![head], weight)
        }
    }

    /// Bytes on the wire and requests made by the current page, and any to other hosts.
    pub async fn weight(&self) -> PageWeight {
        let v = self
            .eval(
                r#"(function(){
  var all = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
  return {bytes: all.reduce(function(s,e){ return s + (e.transferSize || e.encodedBodySize || 0); }, 0),
          requests: all.length,
          foreign: all.map(function(e){ return new URL(e.name).host; }).filter(function(h){ return h !== location.host; })};
})()"#,
            )
            .await;
        PageWeight {
            bytes: v["bytes"].as_u64().unwrap_or(0),
            requests: v["requests"].as_u64().unwrap_or(0),
            foreign: v["foreign"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|h| h.as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PageWeight {
    pub bytes: u64,
    pub requests: u64,
    pub foreign: Vec<String>,
}

fn xpath_literal(s: &str) -> String {
    if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}
