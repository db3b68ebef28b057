//! Login as Client in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver + fantoccini). Every assertion reads what a person sees on the screen.
//!
//! They are ignored by a plain `cargo test` (the reason names what they need) and run by
//! `.ci/run` with `--include-ignored`; run that way without `/usr/bin/chromium` and
//! `chromedriver` they fail and say how to install them. Nothing here downloads a browser.
//!
//! Every scenario runs twice, as `NAME::desktop` at 1280×900 and `NAME::phone` at 390×844 (see
//! `at_both_widths!`): on a phone the menu is behind its Menu button, and the helpers go through
//! it as a person would.
//!
//! One Chromium per test. A second person (the super admin, the client herself, Sue Support)
//! uses a second tab on `localhost:PORT` instead of `127.0.0.1:PORT`: the same server, but a
//! separate cookie jar, so two people share one browser process without sharing a session.

use crate::support::*;
use fantoccini::elements::Element;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a page may take to load, or chromedriver to start, on a slow CI machine.
const WAIT: Duration = Duration::from_secs(30);
/// Where a screenshot goes: `target/screenshots/` on every run, so tests leave the tree clean;
/// `BEHALF_SCREENSHOTS=docs` refreshes the ones the README shows in `docs/screenshots/`.
fn screenshots_dir(name: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let in_readme = || {
        let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap_or_default();
        readme.contains(&format!("docs/screenshots/{name}"))
    };
    match std::env::var("BEHALF_SCREENSHOTS").as_deref() {
        Ok("docs") if in_readme() => format!("{root}/docs/screenshots/"),
        _ => format!("{root}/target/screenshots/"),
    }
}
const INSTALL_HINT: &str =
    "install Debian's packages: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                            chromium chromium-driver (.ci/run does this)";

fn chromedriver_path() -> PathBuf {
    let fixed = Path::new("/usr/bin/chromedriver");
    if fixed.is_file() {
        return fixed.to_path_buf();
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("chromedriver")).find(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!("chromedriver is not installed (not at /usr/bin/chromedriver nor on PATH): {INSTALL_HINT}")
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A chromedriver child process in its own process group; dropping it kills the group, so a
/// Chromium left behind by a failed test goes too.
struct Driver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Driver {
        let exe = chromedriver_path();
        assert!(Path::new(CHROMIUM).is_file(), "Chromium is not installed at {CHROMIUM}: {INSTALL_HINT}");
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).unwrap();
        let port = free_port();
        let mut cmd = Command::new(&exe);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("could not start {}: {e}; {INSTALL_HINT}", exe.display()));
        let mut driver = Driver { child, port, dir };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status}):\n{}", driver.log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}:\n{}", driver.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0)); Chromium inherits the group.
        let _ =
            Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
            eprintln!("--- last lines of chromedriver's log ---\n{}", tail.join("\n"));
        }
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The two screens every scenario runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Screen {
    /// A laptop: 1280×900.
    Desktop,
    /// A phone: 390×844 CSS pixels, as an iPhone 12 to 15.
    Phone,
}

impl Screen {
    fn size(self) -> (u32, u32) {
        match self {
            Screen::Desktop => (1280, 900),
            Screen::Phone => (390, 844),
        }
    }
}

/// Runs the scenario `async fn NAME(screen: Screen)` as two tests, `NAME::desktop` and
/// `NAME::phone`, so each story is told at both widths.
macro_rules! at_both_widths {
    ($name:ident) => {
        mod $name {
            use super::Screen;
            #[tokio::test]
            #[ignore = "needs Chromium and chromedriver: .ci/run installs them"]
            async fn desktop() {
                super::$name(Screen::Desktop).await
            }
            #[tokio::test]
            #[ignore = "needs Chromium and chromedriver: .ci/run installs them"]
            async fn phone() {
                super::$name(Screen::Phone).await
            }
        }
    };
}

/// One headless Chromium with the app's two host names.
struct Web {
    c: Client,
    /// `http://127.0.0.1:PORT`: the first person's site.
    a: String,
    /// `http://localhost:PORT`: the same server with a separate cookie jar, for a second person.
    b: String,
    screen: Screen,
    driver: Driver,
}

impl Web {
    /// Starts Chromium with a window of `screen`'s size, and checks the page really is that wide.
    async fn start(app: &TestApp, screen: Screen) -> Web {
        let driver = Driver::start().await;
        let profile = driver.dir.path().join("profile");
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--window-size={},{}", screen.size().0, screen.size().1)])
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({ "goog:chromeOptions": { "binary": CHROMIUM, "args": args } });
        let Value::Object(caps) = caps else { unreachable!() };
        let c = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {CHROMIUM}: {e}\n{}", driver.log()));
        let b = app.base.replace("127.0.0.1", "localhost");
        let web = Web { c, a: app.base.clone(), b, screen, driver };
        web.open(&format!("{}/healthz", web.a)).await;
        // The window's size includes what the browser draws around the page: grow it by that,
        // so the page itself has the screen's size.
        let (width, height) = screen.size();
        let (inner_width, inner_height) = web.viewport().await;
        let (outer_width, outer_height) = web.c.get_window_size().await.expect("window size");
        let grow = |outer: u64, inner: f64, want: u32| (outer as f64 + f64::from(want) - inner) as u32;
        web.c
            .set_window_size(grow(outer_width, inner_width, width), grow(outer_height, inner_height, height))
            .await
            .expect("window size");
        assert_eq!(
            web.viewport().await,
            (f64::from(width), f64::from(height)),
            "the page has a {screen:?} screen's size"
        );
        web
    }

    /// The page's width and height in CSS pixels.
    async fn viewport(&self) -> (f64, f64) {
        let v = self.c.execute("return [window.innerWidth, window.innerHeight];", vec![]).await.unwrap();
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }

    /// Opens the menu with its Menu button when it is collapsed (on a phone), as a person must
    /// before using a link in it.
    async fn open_menu(&self) {
        if self.find(".menu-button").await.is_displayed().await.unwrap() {
            if self.find("#site-menu").await.is_displayed().await.unwrap() {
                return;
            }
            self.find(".menu-button").await.click().await.unwrap();
            assert!(self.find("#site-menu nav").await.is_displayed().await.unwrap(), "Menu opens the menu");
        } else {
            assert_eq!(self.screen, Screen::Desktop, "a phone has a Menu button");
        }
    }

    /// Follows the link to `href` in the site's menu.
    async fn menu(&self, href: &str) {
        self.open_menu().await;
        self.press(&format!("#site-menu nav a[href='{href}']")).await;
    }

    /// The names in the site's menu, as shown once it is open.
    async fn menu_texts(&self) -> Vec<String> {
        self.open_menu().await;
        self.texts("#site-menu nav a").await
    }

    /// Who the header says is signed in, as shown once the menu is open.
    async fn who(&self) -> String {
        self.open_menu().await;
        self.text("header .who").await
    }

    /// Ends the WebDriver session (Chromium quits), then chromedriver.
    async fn finish(self) {
        let Web { c, driver, .. } = self;
        let _ = c.close().await;
        drop(driver);
    }

    /// Opens a second tab and returns it; the current tab stays current.
    async fn new_tab(&self) -> WindowHandle {
        let w = self.c.new_window(true).await.expect("new tab");
        w.handle
    }

    async fn tab(&self, w: &WindowHandle) {
        self.c.switch_to_window(w.clone()).await.expect("switch tab");
    }

    async fn current_tab(&self) -> WindowHandle {
        self.c.window().await.expect("current tab")
    }

    /// Loads an absolute URL.
    async fn open(&self, url: &str) {
        self.c.goto(url).await.unwrap_or_else(|e| panic!("loading {url}: {e}"));
    }

    /// Path and query of the page shown.
    async fn path(&self) -> String {
        let u = self.c.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// The HTTP status of the page shown.
    async fn status(&self) -> u64 {
        let v = self
            .c
            .execute("return performance.getEntriesByType('navigation')[0].responseStatus;", vec![])
            .await
            .unwrap();
        v.as_u64().unwrap_or_else(|| panic!("no response status: {v}"))
    }

    async fn find(&self, css: &str) -> Element {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!(
                "no {css} on {} ({e}); the page says:\n{}",
                self.path().await,
                self.c.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default()
            ),
        }
    }

    async fn has(&self, css: &str) -> bool {
        !self.c.find_all(Locator::Css(css)).await.unwrap().is_empty()
    }

    /// The visible text of an element, whitespace squashed.
    async fn text(&self, css: &str) -> String {
        squash(&self.find(css).await.text().await.unwrap())
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap()
    }

    /// The visible text of each element matching `css`.
    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.c.find_all(Locator::Css(css)).await.unwrap() {
            out.push(squash(&e.text().await.unwrap()));
        }
        out
    }

    /// Types into a field after clearing it.
    async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    async fn mark_page(&self) -> String {
        let v = self.c.execute("window.__behalf_old_page = true; return location.href;", vec![]).await.unwrap();
        v.as_str().unwrap_or_default().to_string()
    }

    async fn is_old_page(&self) -> Option<bool> {
        match self
            .c
            .execute("return document.readyState === 'complete' && window.__behalf_old_page === true;", vec![])
            .await
        {
            Ok(Value::Bool(old)) => Some(old),
            _ => None,
        }
    }

    /// Clicks a button or link and waits until a new page has loaded.
    async fn press(&self, css: &str) {
        let before = self.mark_page().await;
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("clicking {css} on {before}: {e}"));
        let deadline = Instant::now() + WAIT;
        loop {
            if self.is_old_page().await == Some(false) {
                let ready = self.c.execute("return document.readyState;", vec![]).await;
                if matches!(ready, Ok(Value::String(s)) if s == "complete") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "pressing {css} on {before} loaded no new page");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks and checks the browser stays on the same page (its own form validation stopped it).
    async fn press_and_stay(&self, css: &str) {
        let before = self.mark_page().await;
        self.find(css).await.click().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(self.is_old_page().await, Some(true), "pressing {css} on {before} should not leave the page");
    }

    /// Signs in at `{base}{login}` (`/admin/login` or `/login`) by typing and pressing Sign in.
    async fn sign_in(&self, base: &str, login: &str, email: &str) {
        self.open(&format!("{base}{login}")).await;
        self.fill("#email", email).await;
        self.fill("#password", "behalf-demo").await;
        self.press("#sign-in").await;
        assert!(!self.path().await.ends_with("login"), "signing in as {email} failed: {}", self.text("body").await);
    }

    /// Saves the screen as `name`, or `phone-NAME` on a phone.
    async fn screenshot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let name = match self.screen {
            Screen::Desktop => name.to_string(),
            Screen::Phone => format!("phone-{name}"),
        };
        let dir = screenshots_dir(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}{name}"), png).unwrap();
    }

    /// Opens the disclosure beside Login as Client (mode, store, reason) unless it is open.
    async fn open_start_options(&self) {
        let options = self.find("#login-as-client-options").await;
        if options.tag_name().await.unwrap() == "details" && options.attr("open").await.unwrap().is_none() {
            self.find("#login-as-client-options > summary").await.click().await.unwrap();
        }
        assert!(self.find("#reason").await.is_displayed().await.unwrap(), "the start options are open");
    }

    /// The top and bottom of an element on the screen, and the screen's height, in CSS pixels.
    async fn on_screen(&self, css: &str) -> (f64, f64, f64) {
        let v = self
            .c
            .execute(
                "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
                 return [r.top, r.bottom, window.innerHeight];",
                vec![json!(css)],
            )
            .await
            .unwrap();
        let n = |i: usize| v[i].as_f64().unwrap_or_else(|| panic!("no position for {css}: {v}"));
        (n(0), n(1), n(2))
    }

    /// On a client record: chooses the mode, types the reason and presses Login as Client.
    async fn login_as_client(&self, client: i64, mode: &str, reason: &str) {
        self.open(&format!("{}/admin/clients/{client}", self.a)).await;
        self.open_start_options().await;
        self.find("#mode").await.select_by_value(mode).await.unwrap();
        self.fill("#reason", reason).await;
        self.press("#login-as-client").await;
        assert_eq!(self.path().await, "/dashboard");
        assert!(self.has("#impersonation-banner").await, "the banner after Login as Client");
    }
}

/// The whole story of the core issue, as Alice Admin sees it, then Sue Support and Jane.
async fn admin_finds_jane_logs_in_as_her_replies_and_returns_to_admin(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let a = web.a.clone();

    // Alice signs in and finds Jane through the search box.
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    assert_eq!(web.path().await, "/admin");
    assert_eq!(web.text("h1").await, "Welcome, Alice Admin");
    web.menu("/admin/clients").await;
    web.fill("#q", "jane").await;
    web.press("form.actions button").await;
    assert_eq!(web.path().await, "/admin/clients?q=jane");
    let list = web.text("#clients").await;
    assert!(list.contains("Jane Smith") && list.contains("jane@example.com"), "{list}");
    assert!(!list.contains("Bob Jones"), "the search narrows the list: {list}");
    web.press(&format!("#clients a[href='/admin/clients/{JANE}']")).await;
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}"));
    assert_eq!(web.text("h1").await, "Jane Smith");
    let last_login = web.text("#last-login").await;
    let button = web.find("#login-as-client").await;
    assert_eq!(squash(&button.text().await.unwrap()), "Login as Client");
    assert!(button.is_enabled().await.unwrap());

    // Full access with a reason, from the options beside the button; she lands on Jane's
    // dashboard under the banner.
    web.open_start_options().await;
    web.find("#mode").await.select_by_value("full").await.unwrap();
    web.fill("#reason", "Ticket 1 follow-up").await;
    web.press("#login-as-client").await;
    assert_eq!(web.path().await, "/dashboard");
    let banner = web.find("#impersonation-banner").await;
    assert!(banner.is_displayed().await.unwrap());
    let banner_text = squash(&banner.text().await.unwrap());
    assert!(banner_text.contains("You are viewing the portal as: Jane Smith (jane@example.com)"), "{banner_text}");
    assert_eq!(web.text("#impersonation-mode").await, "Mode: full access");
    let left = web.text("#impersonation-time-left").await;
    assert!(left.starts_with("Time left: ") && left.ends_with("min"), "{left}");
    assert!(left.contains("59 min") || left.contains("1 h 0 min"), "an hour by default: {left}");
    assert_eq!(banner.attr("title").await.unwrap().as_deref(), Some("Reason: Ticket 1 follow-up"));
    assert_eq!(web.text("#return-to-admin").await, "Return to Admin");
    web.screenshot("banner.png").await;
    assert_eq!(web.who().await, "Jane Smith");

    // She answers ticket 1 as Jane; the portal names her.
    web.menu("/tickets").await;
    assert!(web.has("#impersonation-banner").await, "the banner on the ticket list");
    web.open(&format!("{a}/tickets/1")).await;
    let body = "Checked your invoice settings from the browser";
    web.fill("#reply-body", body).await;
    web.press("#send-reply").await;
    assert_eq!(web.path().await, "/tickets/1");
    let replies = web.texts(".reply").await;
    let mine = replies.iter().find(|r| r.contains(body)).unwrap_or_else(|| panic!("the reply is shown: {replies:?}"));
    assert!(mine.starts_with("You (by Alice Admin on your behalf)"), "{mine}");
    assert!(web.has("#impersonation-banner").await);

    // Return to Admin: back on Jane's record, no banner, last sign-in unchanged.
    web.press("#return-to-admin").await;
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}"));
    assert_eq!(web.text("h1").await, "Jane Smith");
    assert!(!web.has("#impersonation-banner").await);
    assert_eq!(web.text("#last-login").await, last_login, "Login as Client is not Jane's sign-in");

    // The admin side attributes the reply and logs the impersonation.
    web.open(&format!("{a}/admin/tickets/1")).await;
    let replies = web.texts(".reply").await;
    let mine =
        replies.iter().find(|r| r.contains(body)).unwrap_or_else(|| panic!("the reply on the admin side: {replies:?}"));
    assert!(mine.starts_with("Jane Smith (by Alice Admin via Login as Client)"), "{mine}");
    web.menu("/admin/activity").await;
    let rows = web.texts("#activity tbody tr").await;
    assert!(
        rows.iter()
            .any(|r| r.contains("Staff impersonated client") && r.contains("Alice Admin") && r.contains("Jane Smith")),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("Replied to a ticket") && r.contains("Jane Smith (by Alice Admin via Login as Client)")),
        "{rows:#?}"
    );

    // Sue Support, in another tab with her own cookies, sees Jane's record without the button.
    let alice = web.current_tab().await;
    let other = web.new_tab().await;
    web.tab(&other).await;
    let b = web.b.clone();
    web.sign_in(&b, "/admin/login", "support@example.com").await;
    web.open(&format!("{b}/admin/clients/{JANE}")).await;
    assert_eq!(web.text("h1").await, "Jane Smith");
    assert_eq!(web.who().await, "Sue Support (support)");
    assert!(!web.has("#login-as-client").await, "support has no Login as Client button");
    assert!(!web.has("#mode").await && !web.has("#reason").await);

    // Jane herself sees who wrote on her behalf, without any banner.
    web.sign_in(&b, "/login", "jane@example.com").await;
    web.open(&format!("{b}/tickets/1")).await;
    assert!(!web.has("#impersonation-banner").await);
    let replies = web.texts(".reply").await;
    assert!(replies.iter().any(|r| r.contains(body) && r.contains("(by Alice Admin on your behalf)")), "{replies:?}");
    web.tab(&alice).await;
    assert_eq!(web.who().await, "Alice Admin (admin)", "Alice's tab keeps her own session");

    web.finish().await;
}
at_both_widths!(admin_finds_jane_logs_in_as_her_replies_and_returns_to_admin);

/// A client record shows Login as Client on the first screen, on a laptop and on a phone, at the top beside the
/// client's name and badges, with the settings further down; starting from there works, and
/// while Alice is in Jane's portal her record says so to Sam Super until Alice returns.
async fn login_as_client_is_on_the_first_screen_of_the_record_and_starts_from_its_header(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let (a, b) = (web.a.clone(), web.b.clone());
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    web.open(&format!("{a}/admin/clients/{JANE}")).await;
    assert_eq!(web.text("h1").await, "Jane Smith");
    assert_eq!(web.text("#client-status").await, "active");
    assert_eq!(web.text("#support-access").await, "Support access: allowed until revoked");
    assert!(!web.has("#live-badge").await);

    let (top, bottom, height) = web.on_screen("#login-as-client").await;
    assert!(top >= 0.0 && bottom <= height, "the button is on the first screen: {top}..{bottom} of {height}");
    let page = web.c.execute("return document.documentElement.scrollHeight;", vec![]).await.unwrap();
    assert!(page.as_f64().unwrap() > 2.0 * height, "a long record, so the check means something: {page}");
    let (settings, _, _) = web.on_screen("#client-settings").await;
    assert!(settings > height, "the settings are further down: {settings}");
    let (badges, _, _) = web.on_screen("#client-badges").await;
    assert!(badges < height / 4.0, "the badges are at the top: {badges}");
    assert!(!web.find("#reason").await.is_displayed().await.unwrap(), "the options start closed");
    web.screenshot("client-record.png").await;

    // Full access with a reason, from the options beside the button.
    web.open_start_options().await;
    let (top, bottom, _) = web.on_screen("#login-as-client").await;
    assert!(top >= 0.0 && bottom <= height, "still on the first screen when open: {top}..{bottom}");
    web.find("#mode").await.select_by_value("full").await.unwrap();
    web.fill("#reason", "Ticket 1: checking the header").await;
    web.press("#login-as-client").await;
    assert_eq!(web.path().await, "/dashboard");
    assert_eq!(web.text("#impersonation-mode").await, "Mode: full access");

    // Sam Super, in another tab, sees the live badge on Jane's record.
    let alice = web.current_tab().await;
    let other = web.new_tab().await;
    web.tab(&other).await;
    web.sign_in(&b, "/admin/login", "superadmin@example.com").await;
    web.open(&format!("{b}/admin/clients/{JANE}")).await;
    let live = web.text("#live-badge").await;
    assert!(live.starts_with("Live: Alice Admin since ") && live.ends_with("(full access)"), "{live}");
    let (top, bottom, _) = web.on_screen("#live-badge").await;
    assert!(top >= 0.0 && bottom <= height, "the live badge is on the first screen");

    // Alice returns; the badge is gone on the next load.
    web.tab(&alice).await;
    web.press("#return-to-admin").await;
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}"));
    assert!(!web.has("#live-badge").await);
    web.tab(&other).await;
    web.c.refresh().await.unwrap();
    assert!(!web.has("#live-badge").await, "gone for Sam too");

    // With a reason required the options open by themselves, and the button stays on screen.
    app.set("impersonation.require_reason", "true").await;
    web.tab(&alice).await;
    web.c.refresh().await.unwrap();
    assert!(web.find("#reason").await.is_displayed().await.unwrap(), "open when a reason is required");
    let tag = web.find("#login-as-client-options").await.tag_name().await.unwrap();
    assert_eq!(tag, "div", "a required reason is not in a disclosure that could hide it");
    let (top, bottom, _) = web.on_screen("#login-as-client").await;
    assert!(top >= 0.0 && bottom <= height, "on the first screen with the reason asked: {top}..{bottom}");
    web.fill("#reason", "Ticket 1: second look").await;
    web.press("#login-as-client").await;
    assert_eq!(web.path().await, "/dashboard");
    assert_eq!(web.text("#impersonation-mode").await, "Mode: read-only", "the default mode");

    web.finish().await;
}
at_both_widths!(login_as_client_is_on_the_first_screen_of_the_record_and_starts_from_its_header);

/// Two ways a live session is ended from elsewhere, each noticed by the impersonating tab on its
/// next page load: Sam Super presses End in the log; Jane presses End support access.
async fn ending_from_the_log_or_by_the_client_returns_the_impersonating_tab_to_the_record(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let (a, b) = (web.a.clone(), web.b.clone());
    let alice = web.current_tab().await;
    let other = web.new_tab().await;

    // Alice logs in as Jane in her tab.
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    web.login_as_client(JANE, "full", "Invoice INV question from ticket 1").await;

    // Sam Super, in the other tab, finds the live row in the log and ends it.
    web.tab(&other).await;
    web.sign_in(&b, "/admin/login", "superadmin@example.com").await;
    web.menu("/admin/impersonations").await;
    assert_eq!(web.text("h1").await, "Login as Client log");
    let rows = web.texts("table.impersonations tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    for seen in ["Alice Admin", "Jane Smith", "Invoice INV question from ticket 1", "full", "live", "End"] {
        assert!(rows[0].contains(seen), "{seen} in {}", rows[0]);
    }
    web.screenshot("impersonation-log.png").await;
    web.press("table.impersonations form[action$='/end'] button").await;
    assert_eq!(web.path().await, "/admin/impersonations");
    let rows = web.texts("table.impersonations tbody tr").await;
    assert!(rows[0].contains("ended_by_staff"), "{}", rows[0]);
    assert!(!web.has("table.impersonations form[action$='/end']").await, "no End button on an ended session");

    // Alice's tab: the next page load lands on Jane's record with the reason.
    web.tab(&alice).await;
    assert!(web.has("#impersonation-banner").await, "the old page still shows the banner");
    web.menu("/tickets").await;
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}?ended=ended_by_staff"));
    assert_eq!(web.text("#flash").await, "Another staff member ended this Login as Client session.");
    assert!(!web.has("#impersonation-banner").await);
    assert_eq!(web.text("h1").await, "Jane Smith");

    // Again, and this time Jane ends it from her own account page.
    web.login_as_client(JANE, "full", "Ticket 1 follow-up").await;
    web.tab(&other).await;
    web.sign_in(&b, "/login", "jane@example.com").await;
    assert_eq!(web.path().await, "/dashboard");
    assert!(!web.has("#impersonation-banner").await, "Jane's own session has no banner");
    web.menu("/account").await;
    let end = web.find("#end-support-access").await;
    assert_eq!(squash(&end.text().await.unwrap()), "End support access");
    web.press("#end-support-access").await;
    assert_eq!(web.path().await, "/account?saved=1");
    assert_eq!(web.text("p.notice").await, "Saved.");

    web.tab(&alice).await;
    web.c.refresh().await.unwrap();
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}?ended=client_ended"));
    assert_eq!(web.text("#flash").await, "The client ended support access to their account.");
    assert!(!web.has("#impersonation-banner").await);

    // Jane's access page lists both sessions, naming Alice, when, why and how.
    web.tab(&other).await;
    web.open(&format!("{b}/account/access")).await;
    assert_eq!(web.text("h1").await, "Who has accessed my account");
    let rows = web.texts("#access tbody tr").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.contains("Alice Admin") && r.contains("full access")), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("Ticket 1 follow-up")), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("Invoice INV question from ticket 1")), "{rows:?}");
    assert!(!rows.iter().any(|r| r.contains("still open")), "both ended: {rows:?}");
    web.screenshot("account-access.png").await;

    web.finish().await;
}
at_both_widths!(ending_from_the_log_or_by_the_client_returns_the_impersonating_tab_to_the_record);

/// Consent (opt_in blocks Bob until he ticks the box) and a required reason (refused without one,
/// accepted with ten characters or more, then visible in the log and to Bob).
async fn consent_and_required_reason_as_staff_and_client_see_them(screen: Screen) {
    let app = TestApp::spawn().await;
    app.set("impersonation.consent", "opt_in").await;
    let web = Web::start(&app, screen).await;
    let (a, b) = (web.a.clone(), web.b.clone());
    let alice = web.current_tab().await;
    let other = web.new_tab().await;

    // Bob has not allowed support access: the button is there but disabled, and says why.
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    web.open(&format!("{a}/admin/clients/{BOB}")).await;
    assert_eq!(web.text("h1").await, "Bob Jones");
    assert_eq!(web.text("#consent-label").await, "not set");
    assert!(!web.find("#login-as-client").await.is_enabled().await.unwrap(), "disabled without consent");
    assert_eq!(
        web.text("#login-as-client-blocked").await,
        "This client has not allowed support staff to access their account."
    );
    // Jane has allowed it: her button is enabled.
    web.open(&format!("{a}/admin/clients/{JANE}")).await;
    assert!(web.find("#login-as-client").await.is_enabled().await.unwrap());
    assert!(!web.has("#login-as-client-blocked").await);

    // Bob ticks the box on his account page for 7 days.
    web.tab(&other).await;
    web.sign_in(&b, "/login", "bob@example.com").await;
    web.menu("/account").await;
    assert_eq!(web.text("#consent-state").await, "not set");
    let label = web.text("label[for='allow-support']").await;
    assert_eq!(label, "Allow support staff to access my account");
    let checkbox = web.find("#allow-support").await;
    assert!(!checkbox.is_selected().await.unwrap());
    checkbox.click().await.unwrap();
    assert!(checkbox.is_selected().await.unwrap());
    web.find("#consent-for").await.select_by_value("7d").await.unwrap();
    web.press("#save-consent").await;
    assert_eq!(web.path().await, "/account?saved=1");
    let state = web.text("#consent-state").await;
    assert!(state.starts_with("yes, until "), "{state}");
    assert!(web.find("#allow-support").await.is_selected().await.unwrap());

    // Alice reloads Bob's record: enabled, and the start works.
    web.tab(&alice).await;
    web.open(&format!("{a}/admin/clients/{BOB}")).await;
    assert!(web.text("#consent-label").await.starts_with("allowed until "));
    assert!(!web.has("#login-as-client-blocked").await);
    assert!(web.find("#login-as-client").await.is_enabled().await.unwrap());
    web.press("#login-as-client").await;
    assert_eq!(web.path().await, "/dashboard");
    let banner = web.text("#impersonation-banner").await;
    assert!(banner.contains("You are viewing the portal as: Bob Jones (bob@example.com)"), "{banner}");
    assert_eq!(web.text("#impersonation-mode").await, "Mode: read-only", "read-only by default");
    assert_eq!(web.attr("#impersonation-banner", "title").await.as_deref(), Some("No reason given"));
    web.press("#return-to-admin").await;
    assert_eq!(web.path().await, format!("/admin/clients/{BOB}"));

    // Now a reason is required.
    app.set("impersonation.require_reason", "true").await;
    web.c.refresh().await.unwrap();
    assert_eq!(web.text("label[for='reason']").await, "Reason (required)");
    let count = app.impersonation_count().await;
    // Empty: the browser itself refuses to send the form.
    web.fill("#reason", "").await;
    web.press_and_stay("#login-as-client").await;
    let missing = web.c.execute("return document.getElementById('reason').validity.valueMissing;", vec![]).await;
    assert_eq!(missing.unwrap(), Value::Bool(true));
    // Without the browser's check, the server refuses an empty reason and re-shows the record.
    web.c.execute("document.getElementById('reason').removeAttribute('required');", vec![]).await.unwrap();
    web.press("#login-as-client").await;
    assert_eq!(web.status().await, 422);
    assert_eq!(web.path().await, format!("/admin/clients/{BOB}/impersonate"));
    assert_eq!(web.text("h1").await, "Bob Jones");
    assert_eq!(web.text("[role=alert]").await, "Give a reason or ticket reference of at least 10 characters.");
    assert!(!web.has("#impersonation-banner").await);
    // Too short: the same refusal, with what was typed kept in the field.
    web.fill("#reason", "short").await;
    web.press("#login-as-client").await;
    assert_eq!(web.status().await, 422);
    assert_eq!(web.text("[role=alert]").await, "Give a reason or ticket reference of at least 10 characters.");
    assert_eq!(web.find("#reason").await.prop("value").await.unwrap().as_deref(), Some("short"));
    assert_eq!(app.impersonation_count().await, count, "no session from a refused start");
    // Ten characters or more: accepted, and shown in the banner's title.
    let reason = "Ticket 4711: renewal";
    web.fill("#reason", reason).await;
    web.press("#login-as-client").await;
    assert_eq!(web.path().await, "/dashboard");
    assert!(web.text("#impersonation-banner").await.contains("Bob Jones (bob@example.com)"));
    assert_eq!(web.attr("#impersonation-banner", "title").await, Some(format!("Reason: {reason}")));
    web.press("#return-to-admin").await;

    // The reason is in the Login as Client log…
    web.menu("/admin/impersonations").await;
    let rows = web.texts("table.impersonations tbody tr").await;
    let row = rows.iter().find(|r| r.contains(reason)).unwrap_or_else(|| panic!("{rows:#?}"));
    assert!(row.contains("Alice Admin") && row.contains("Bob Jones") && row.contains("returned"), "{row}");

    // …and on Bob's own access page.
    web.tab(&other).await;
    web.open(&format!("{b}/account/access")).await;
    let rows = web.texts("#access tbody tr").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("Alice Admin") && r.contains(reason)), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("Alice Admin") && r.contains("no reason given")), "{rows:?}");

    web.finish().await;
}
at_both_widths!(consent_and_required_reason_as_staff_and_client_see_them);

/// The client's environment through Login as Client: staff hide a module, shop in the client's
/// store, check out, and find the order noted on both sides; the client sees the same sidebar.
async fn staff_shop_for_jane_in_her_store_with_her_modules_and_the_order_is_noted_on_both_sides(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let a = web.a.clone();
    web.sign_in(&a, "/admin/login", "admin@example.com").await;

    // Alice hides Files from Jane's portal.
    web.open(&format!("{a}/admin/clients/{JANE}")).await;
    assert!(web.find("#module-files").await.is_selected().await.unwrap());
    web.press_and_stay("#module-files").await;
    web.press("#save-modules").await;
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}"));
    assert!(!web.find("#module-files").await.is_selected().await.unwrap(), "saved unticked");

    // Login as Client opens Jane's store; the sidebar is hers, without Files.
    web.login_as_client(JANE, "full", "Placing the renewal order she asked for").await;
    let banner = squash(&web.text("#impersonation-banner").await);
    assert!(banner.contains("Store: Behalf Hosting"), "{banner}");
    let links = web.menu_texts().await;
    assert!(links.contains(&"Shop".to_string()) && !links.contains(&"Files".to_string()), "{links:?}");

    // Shop: two of Shared Hosting M, then the cart and checkout.
    web.menu("/shop").await;
    assert_eq!(web.path().await, "/shop");
    assert!(web.has("#impersonation-banner").await);
    let product = app.product_id("HOST-M").await;
    let row = format!("#products tr[data-product='{product}']");
    let had = app.cart_quantity(JANE, product).await.unwrap_or(0);
    web.fill(&format!("{row} input[name='quantity']"), "2").await;
    web.press(&format!("{row} button.add-to-cart")).await;
    assert_eq!(web.path().await, "/cart");
    let cart = squash(&web.text("#cart").await);
    let line = (had + 2) * 999;
    assert!(
        cart.contains("Shared Hosting M") && cart.contains(&format!("{}.{:02} USD", line / 100, line % 100)),
        "two more at 9.99: {cart}"
    );
    let total = web.text("#cart-total").await;
    let expected = app.cart_total_cents(JANE, 1).await;
    assert!(total.contains(&format!("{}.{:02} USD", expected / 100, expected % 100)), "{total}");
    web.screenshot("cart.png").await;
    web.press("#checkout").await;
    let order_path = web.path().await;
    assert!(order_path.starts_with("/orders/"), "{order_path}");
    assert_eq!(web.text("#order-client-note").await, "Placed by support staff on your behalf");
    let page = web.c.source().await.unwrap();
    assert!(!page.contains("using Login as Client"), "the internal note never reaches the portal");

    // Back in admin: the order names both, with the internal note.
    web.press("#return-to-admin").await;
    let order_id = order_path.trim_start_matches("/orders/");
    web.open(&format!("{a}/admin/orders/{order_id}")).await;
    assert_eq!(web.text("#order-placed-by").await, "Jane Smith (by Alice Admin via Login as Client)");
    assert_eq!(web.text("#order-internal-note").await, "Placed by Alice Admin using Login as Client");

    // Jane, in her own browser, sees the same sidebar and her order, and Files is gone for her too.
    let other = web.new_tab().await;
    web.tab(&other).await;
    let b = web.b.clone();
    web.sign_in(&b, "/login", "jane@example.com").await;
    let links = web.menu_texts().await;
    assert!(links.contains(&"Shop".to_string()) && !links.contains(&"Files".to_string()), "{links:?}");
    web.open(&format!("{b}{order_path}")).await;
    assert!(!web.has("#impersonation-banner").await);
    assert_eq!(web.text("#order-client-note").await, "Placed by support staff on your behalf");
    web.open(&format!("{b}/files")).await;
    assert_eq!(web.status().await, 404);

    web.finish().await;
}
at_both_widths!(staff_shop_for_jane_in_her_store_with_her_modules_and_the_order_is_noted_on_both_sides);

/// The rest of Jane's environment as people use it: she pays an invoice with her saved card and
/// shares a file; Alice, logged in as her, cancels a subscription at period end, comments on a
/// task and marks it done; each shows who did it on both sides.
async fn jane_pays_and_shares_a_file_and_alice_cancels_a_plan_and_finishes_a_task_for_her(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let (a, b) = (web.a.clone(), web.b.clone());

    // Jane, on her own: pays her unpaid invoice with the saved card.
    web.sign_in(&b, "/login", "jane@example.com").await;
    let invoice = app.first_invoice_of(JANE, "unpaid").await;
    web.open(&format!("{b}/invoices/{invoice}")).await;
    assert!(web.text("#invoice-status").await.contains("unpaid"));
    assert!(web.has("#payment_method_id").await, "her saved card is offered");
    web.press("#pay").await;
    assert!(web.path().await.starts_with(&format!("/invoices/{invoice}")));
    let status = web.text("#invoice-status").await;
    assert!(status.contains("Status: paid") && status.contains("Paid "), "{status}");
    assert!(web.text("#payments").await.contains("succeeded"), "{}", web.text("#payments").await);

    // She shares a file with support through the file picker.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site-notes.txt");
    std::fs::write(&path, "The staging password is in the vault, not here.\n").unwrap();
    web.open(&format!("{b}/files")).await;
    web.find("#file").await.send_keys(path.to_str().unwrap()).await.unwrap();
    web.press("#upload-file").await;
    assert!(web.text("#files").await.contains("site-notes.txt"), "{}", web.text("#files").await);

    // Alice, in her own tab, logs in as Jane in full mode.
    let jane_tab = web.current_tab().await;
    let alice = web.new_tab().await;
    web.tab(&alice).await;
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    web.login_as_client(JANE, "full", "Cancelling the plan Jane asked about").await;

    // The file Jane shared is there for her too.
    web.menu("/files").await;
    assert!(web.text("#files").await.contains("site-notes.txt"));

    // Cancel a subscription at period end.
    let sub = app.subscriptions().await.into_iter().find(|s| s.client_id == JANE && s.cancel_at_period_end == 0);
    let sub = sub.expect("a running subscription").id;
    web.open(&format!("{a}/subscriptions/{sub}")).await;
    assert!(web.has("#impersonation-banner").await);
    web.press("#cancel-subscription").await;
    assert!(web.text("#cancels-on").await.starts_with("Cancels on "));
    assert!(
        web.text("#cancelled-by").await.contains("by Alice Admin on your behalf"),
        "{}",
        web.text("#cancelled-by").await
    );

    // Comment on a task Jane may finish, then mark it done.
    let task = app.tasks_of(JANE).await.into_iter().find(|t| t.client_can_complete == 1 && t.status != "done");
    let task = task.expect("a task Jane may finish").id;
    web.open(&format!("{a}/tasks/{task}")).await;
    web.fill("#comment-body", "Approved the homepage copy as discussed on the phone.").await;
    web.press("#send-comment").await;
    let comments = web.text("#comments").await;
    assert!(
        comments.contains("Approved the homepage copy") && comments.contains("Alice Admin on your behalf"),
        "{comments}"
    );
    web.press("#mark-done").await;
    assert!(web.text("#task-completed").await.contains("Alice Admin"), "{}", web.text("#task-completed").await);

    // Back in admin, the records name both Jane and Alice.
    web.press("#return-to-admin").await;
    web.open(&format!("{a}/admin/tasks/{task}")).await;
    let page = squash(&web.text("main").await);
    assert!(page.contains("Jane Smith (by Alice Admin via Login as Client)"), "{page}");
    web.open(&format!("{a}/admin/clients/{JANE}/files")).await;
    assert!(web.text("main").await.contains("site-notes.txt"));

    // Jane sees what was done for her.
    web.tab(&jane_tab).await;
    web.open(&format!("{b}/subscriptions/{sub}")).await;
    assert!(!web.has("#impersonation-banner").await);
    assert!(web.text("#cancelled-by").await.contains("by Alice Admin on your behalf"));
    web.screenshot("subscription.png").await;

    web.finish().await;
}
at_both_widths!(jane_pays_and_shares_a_file_and_alice_cancels_a_plan_and_finishes_a_task_for_her);

/// Staff two-factor as Alice sees it: she enrols with a code her app computes from the key on the
/// setup page, signs out, and signs in again with her password and then a code.
async fn alice_enrols_in_two_factor_and_signs_in_with_a_code(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let a = web.a.clone();

    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    web.open(&format!("{a}/admin/2fa/setup")).await;
    assert!(web.has("#totp-qr svg").await, "the QR code is drawn in the page");
    let secret = web.text("#totp-secret").await;
    let mut phone = crate::two_factor::Authenticator::new(&secret);
    web.fill("#code", &phone.next().await).await;
    web.press("#enable-2fa").await;
    assert!(web.text("#two-factor-enabled").await.contains("password and a code"));
    assert_eq!(web.texts("#recovery-codes li").await.len(), 10);
    web.press("#continue").await;
    assert_eq!(web.path().await, "/admin");

    web.open_menu().await;
    web.press("#site-menu form[action='/admin/logout'] button").await;
    assert_eq!(web.path().await, "/admin/login");
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    assert_eq!(web.path().await, "/admin/login/2fa");
    web.open(&format!("{a}/admin/clients")).await;
    assert_eq!(web.path().await, "/admin/login/2fa", "no admin page before the code");
    web.fill("#code", &phone.next().await).await;
    web.press("#verify-code").await;
    assert_eq!(web.path().await, "/admin");
    assert_eq!(web.status().await, 200);
    assert_eq!(web.text("h1").await, "Welcome, Alice Admin");

    web.finish().await;
}
at_both_widths!(alice_enrols_in_two_factor_and_signs_in_with_a_code);

/// No page is wider than the screen; the header takes at most a quarter of it (on a phone the
/// menu is collapsed behind Menu, which opens it with every link 44 px tall); the banner keeps
/// Return to Admin on the first screen; on a phone, controls are big enough to touch.
async fn pages_fit_the_screen(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let a = web.a.clone();
    let (_, height) = web.viewport().await;
    let phone = screen == Screen::Phone;
    let fits = "return [document.documentElement.scrollWidth, window.innerWidth];";
    let number = |v: &Value, i: usize| v[i].as_f64().unwrap_or_else(|| panic!("no number at {i}: {v}"));
    let header_height = "return document.querySelector('header.topbar').getBoundingClientRect().height;";

    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    for page in
        ["/admin", "/admin/clients", &format!("/admin/clients/{JANE}"), "/admin/impersonations", "/admin/activity"]
    {
        web.open(&format!("{a}{page}")).await;
        let v = web.c.execute(fits, vec![]).await.unwrap();
        assert!(number(&v, 0) <= number(&v, 1), "{page} is wider than the screen: {v}");
        let header = web.c.execute(header_height, vec![]).await.unwrap();
        assert!(header.as_f64().unwrap() <= height / 4.0, "{page}: the header takes {header} px of {height}");
    }
    // The menu: collapsed on a phone until Menu is pressed, then every link is there and big.
    web.open(&format!("{a}/admin")).await;
    assert_eq!(
        web.find("#site-menu nav").await.is_displayed().await.unwrap(),
        !phone,
        "the menu shows on a laptop only"
    );
    let links = web.menu_texts().await;
    assert!(links.contains(&"Login as Client log".to_string()) && links.contains(&"Clients".to_string()), "{links:?}");
    if phone {
        let heights = web
            .c
            .execute(
                "return [...document.querySelectorAll('#site-menu nav a, .menu-button')].map(a => a.getBoundingClientRect().height);",
                vec![],
            )
            .await
            .unwrap();
        for h in heights.as_array().unwrap() {
            assert!(h.as_f64().unwrap() >= 44.0, "a menu link is {h} px tall: {heights}");
        }
        web.find(".menu-button").await.click().await.unwrap();
        assert!(!web.find("#site-menu nav").await.is_displayed().await.unwrap(), "Menu closes it again");
    }
    web.open(&format!("{a}/admin/clients/{JANE}")).await;
    let (_, bottom, _) = web.on_screen("#login-as-client").await;
    assert!(bottom <= height, "the record's Login as Client is on the first screen: {bottom} of {height}");

    web.login_as_client(JANE, "read_only", "Checking the pages fit").await;
    for page in ["/dashboard", "/invoices", "/tickets", "/account", "/account/access"] {
        web.open(&format!("{a}{page}")).await;
        let v = web.c.execute(fits, vec![]).await.unwrap();
        assert!(number(&v, 0) <= number(&v, 1), "{page} is wider than the screen: {v}");
        let header = web.c.execute(header_height, vec![]).await.unwrap();
        assert!(header.as_f64().unwrap() <= height / 4.0, "{page}: the header takes {header} px of {height}");
        let back = web
            .c
            .execute(
                "const r = document.getElementById('return-to-admin').getBoundingClientRect(); return [r.top, r.bottom, r.height];",
                vec![],
            )
            .await
            .unwrap();
        assert!(number(&back, 1) <= height, "{page}: Return to Admin below the first screen: {back}");
        if phone {
            assert!(number(&back, 2) >= 44.0, "{page}: Return to Admin is {back} px tall");
            let small = web
                .c
                .execute(
                    "return [...document.querySelectorAll('main button, main input:not([type=hidden]), main select')]
                        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
                        .map(e => e.id || e.name || e.outerHTML.slice(0, 60));",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(small, json!([]), "{page}: controls under 44 px tall");
        }
    }
    // The banner stays in reach when the page scrolls.
    web.open(&format!("{a}/invoices")).await;
    web.c.execute("window.scrollTo(0, document.documentElement.scrollHeight);", vec![]).await.unwrap();
    let (top, bottom, _) = web.on_screen("#return-to-admin").await;
    assert!(top >= 0.0 && bottom <= height, "Return to Admin after scrolling down: {top}..{bottom}");
    web.press("#return-to-admin").await;
    assert_eq!(web.path().await, format!("/admin/clients/{JANE}"));
    web.finish().await;
}
at_both_widths!(pages_fit_the_screen);

/// axe-core, vendored from its npm package (tests/vendor/axe-core): nothing is fetched at test time.
const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

impl Web {
    /// Runs axe-core on the open page and returns its serious and critical violations as
    /// `rule: how many nodes (first target)` lines, with every violation's rule by impact.
    async fn axe(&self) -> (Vec<String>, Value) {
        self.c.execute(AXE, vec![]).await.expect("axe-core loads");
        let result = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
                        target: v.nodes[0] ? v.nodes[0].target.join(' ') : '' }))))
                    .catch(e => done({ error: String(e) }));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        assert!(result.get("error").is_none(), "axe-core failed: {result}");
        let mut serious = Vec::new();
        let mut by_impact = serde_json::Map::new();
        for v in result.as_array().unwrap() {
            let impact = v["impact"].as_str().unwrap_or("unknown").to_string();
            let entry = by_impact.entry(impact.clone()).or_insert_with(|| json!([]));
            entry.as_array_mut().unwrap().push(json!(format!(
                "{} ({} nodes)",
                v["id"].as_str().unwrap_or("?"),
                v["nodes"]
            )));
            if impact == "serious" || impact == "critical" {
                serious.push(format!("{} ({impact}): {} nodes, first {}", v["id"], v["nodes"], v["target"]));
            }
        }
        (serious, Value::Object(by_impact))
    }
}

/// The main pages have no serious or critical accessibility violation (axe-core), for staff,
/// for the client, and for staff inside the client's portal under the banner.
async fn main_pages_pass_axe(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let (a, b) = (web.a.clone(), web.b.clone());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut check = |page: String, (serious, counts): (Vec<String>, Value)| {
        report.push(format!("{page}: {counts}"));
        failures.extend(serious.into_iter().map(|s| format!("{page}: {s}")));
    };

    web.open(&format!("{a}/admin/login")).await;
    check("/admin/login".into(), web.axe().await);
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    for page in [
        "/admin/clients".to_string(),
        format!("/admin/clients/{JANE}"),
        "/admin/impersonations".into(),
        "/admin/activity".into(),
    ] {
        web.open(&format!("{a}{page}")).await;
        check(page, web.axe().await);
    }
    web.login_as_client(JANE, "full", "Accessibility check").await;
    for page in ["/dashboard", "/invoices", "/tickets", "/account", "/account/access"] {
        web.open(&format!("{a}{page}")).await;
        check(format!("{page} (banner)"), web.axe().await);
    }
    web.sign_in(&b, "/login", "jane@example.com").await;
    for page in ["/dashboard", "/invoices", "/tickets", "/account", "/account/access"] {
        web.open(&format!("{b}{page}")).await;
        check(page.to_string(), web.axe().await);
    }
    eprintln!("axe-core violations by impact, per page, at {screen:?} size:\n{}", report.join("\n"));
    assert!(failures.is_empty(), "serious or critical accessibility violations:\n{}", failures.join("\n"));

    // The check itself can fail: the account page with its labels taken away is refused.
    web.open(&format!("{b}/account")).await;
    web.c.execute("document.querySelectorAll('label').forEach(l => l.remove());", vec![]).await.unwrap();
    let (serious, _) = web.axe().await;
    assert!(serious.iter().any(|s| s.contains("label")), "axe-core misses unlabelled fields: {serious:?}");
    web.finish().await;
}
at_both_widths!(main_pages_pass_axe);

/// Read-only Login as Client shows the write controls disabled with the note; Jane, signed in
/// in her own browser meanwhile, sees who from support is in her portal and ends it from there.
async fn read_only_controls_are_disabled_and_jane_sees_live_support(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    let (a, b) = (web.a.clone(), web.b.clone());
    web.sign_in(&a, "/admin/login", "admin@example.com").await;
    let alice = web.current_tab().await;
    web.login_as_client(JANE, "read_only", "Looking at her tickets").await;
    web.open(&format!("{a}/tickets")).await;
    assert!(!web.find("#open-ticket").await.is_enabled().await.unwrap(), "Open ticket is disabled in read-only");
    assert!(!web.find("#subject").await.is_enabled().await.unwrap(), "so is the subject field");
    assert_eq!(web.text("form[action='/tickets'] .control-note").await, "Read-only access: changes need full access");
    assert!(web.find("#return-to-admin").await.is_enabled().await.unwrap(), "the banner's button still works");
    assert!(!web.has("#live-support").await, "staff never see the client's notice");
    web.screenshot("read-only-controls.png").await;

    let jane = web.new_tab().await;
    web.tab(&jane).await;
    web.sign_in(&b, "/login", "jane@example.com").await;
    let notice = web.text("#live-support").await;
    assert!(notice.contains("Alice Admin from support is viewing your account now"), "{notice}");
    web.open(&format!("{b}/tickets")).await;
    assert!(web.find("#open-ticket").await.is_enabled().await.unwrap(), "Jane's own controls are live");
    web.screenshot("live-support.png").await;
    web.press("#live-support-end").await;
    assert_eq!(web.path().await, "/account?saved=1");
    assert!(!web.has("#live-support").await, "the notice goes once support access is ended");

    web.tab(&alice).await;
    web.open(&format!("{a}/dashboard")).await;
    assert!(web.path().await.starts_with(&format!("/admin/clients/{JANE}")), "Alice is back on the admin side");
    web.finish().await;
}
at_both_widths!(read_only_controls_are_disabled_and_jane_sees_live_support);

/// `/api/docs` renders every operation from the binary's own copy of Swagger UI under the site's
/// strict CSP (no CDN: nothing but this server is reached).
async fn the_api_docs_page_shows_every_operation(screen: Screen) {
    let app = TestApp::spawn().await;
    let web = Web::start(&app, screen).await;
    web.open(&format!("{}/api/docs", web.a)).await;
    web.c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".opblock-summary-path"))
        .await
        .unwrap_or_else(|e| panic!("Swagger UI rendered no operation ({e})"));
    assert_eq!(web.path().await, "/api/docs/");
    assert!(web.text(".info .title").await.starts_with("Behalf API"), "{}", web.text(".info .title").await);
    let paths = web.texts(".opblock-summary-path").await;
    let doc: Value = serde_json::from_str(&behalf::web::api::docs::openapi_text()).unwrap();
    let operations: usize = doc["paths"].as_object().unwrap().values().map(|ops| ops.as_object().unwrap().len()).sum();
    assert_eq!(paths.len(), operations, "every operation is listed: {paths:?}");
    assert!(paths.iter().any(|p| p == "/oauth/token") && paths.iter().any(|p| p == "/api/v1/tickets/{id}/replies"));
    // Everything the page loaded came from this server.
    let origins = web
        .c
        .execute("return performance.getEntriesByType('resource').map(e => new URL(e.name).origin);", vec![])
        .await
        .unwrap();
    for o in origins.as_array().unwrap() {
        assert_eq!(o.as_str(), Some(web.a.as_str()), "a resource from elsewhere: {o}");
    }
    // Opening an operation shows its parameters and answers, on the same page.
    web.find(".opblock-summary-path").await.click().await.unwrap();
    web.c.wait().at_most(WAIT).for_element(Locator::Css(".opblock-body")).await.expect("the operation opens");
    web.screenshot("api-docs.png").await;
    web.finish().await;
}
at_both_widths!(the_api_docs_page_shows_every_operation);
