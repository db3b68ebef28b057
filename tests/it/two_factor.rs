//! Staff two-factor: enrolment, the code step of the sign-in, replay and rate limits, recovery
//! codes, the `security.staff_2fa` policy, the step-up before Login as Client, and reset-2fa.
//! Codes are computed with totp-rs from the secret the setup page shows, as an app would.

use crate::support::*;
use reqwest::StatusCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Secret, TOTP};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// An authenticator app holding one secret. It never gives the same time step twice, as the
/// server would refuse it; when it runs ahead of the clock it waits for the next step.
pub struct Authenticator {
    totp: TOTP,
    last: i64,
}

impl Authenticator {
    pub fn new(secret: &str) -> Self {
        let bytes = Secret::Encoded(secret.to_string()).to_bytes().expect("the page shows base32");
        Authenticator { totp: TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).unwrap(), last: 0 }
    }

    /// A code of a time step later than any given before, valid now (the step of now or the next).
    pub async fn next(&mut self) -> String {
        loop {
            let current = now() / 30;
            let step = (self.last + 1).max(current);
            if step <= current + 1 {
                self.last = step;
                return self.totp.generate((step * 30) as u64);
            }
            tokio::time::sleep(Duration::from_millis(((current + 1) * 30 - now()) as u64 * 1000 + 200)).await;
        }
    }

    /// A code that is certainly wrong now.
    pub fn wrong(&self) -> String {
        let t = (now() / 30) as u64;
        let right: Vec<u32> = (t - 1..=t + 2).map(|s| self.totp.generate(s * 30).parse().unwrap()).collect();
        (0..1_000_000u32).find(|c| !right.contains(c)).map(|c| format!("{c:06}")).unwrap()
    }
}

/// Enrols the signed-in staff member through the setup page; returns their app and recovery codes.
pub async fn enrol(b: &mut Browser) -> (Authenticator, Vec<String>) {
    let page = b.get("/admin/2fa/setup").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = page.text_of("totp-secret").expect("the secret is shown");
    let mut app = Authenticator::new(&secret);
    let code = app.next().await;
    let done = b.post_from("/admin/2fa/setup", "/admin/2fa/setup", &[("code", &code)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let doc = scraper::Html::parse_document(&done.body);
    let sel = scraper::Selector::parse("#recovery-codes li").unwrap();
    let codes: Vec<String> = doc.select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect();
    (app, codes)
}

/// Signs in with the password only: the answer is the way to the code page.
async fn password_step(b: &mut Browser, email: &str) -> Page {
    let p = b.post_from("/admin/login", "/admin/login", &[("email", email), ("password", "behalf-demo")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    p
}

/// Posts an answer on the code page.
async fn code_step(b: &mut Browser, code: &str) -> Page {
    b.post_from("/admin/login/2fa", "/admin/login/2fa", &[("code", code)]).await
}

async fn sign_out(b: &mut Browser) {
    let p = b.post_from("/admin", "/admin/logout", &[]).await;
    assert_eq!(p.location(), Some("/admin/login"));
}

/// The hidden and typed fields of a form in a page, by the form's id.
fn form_fields(page: &Page, form: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse(&format!("#{form} input")).unwrap();
    doc.select(&sel)
        .filter_map(|e| Some((e.value().attr("name")?.to_string(), e.value().attr("value").unwrap_or("").to_string())))
        .collect()
}

async fn activity_has(app: &TestApp, action: &str) -> i64 {
    app.activity_count_of(action).await
}

#[tokio::test]
async fn enrol_then_sign_in_with_password_and_code() {
    let app = TestApp::spawn().await;
    let mut b = app.staff("admin@example.com").await;
    let before = b.cookie("behalf_staff").unwrap();

    // The secret is bound to Alice on the server: reloading shows the same one; a wrong first
    // code turns nothing on.
    let page = b.get("/admin/2fa/setup").await;
    let secret = page.text_of("totp-secret").unwrap();
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(page.body.contains("<svg") && !page.body.contains("<?xml"), "an inline SVG QR code");
    assert!(!page.body.contains("style="), "no inline styles under the CSP");
    assert_eq!(b.get("/admin/2fa/setup").await.text_of("totp-secret").unwrap(), secret);
    let wrong = Authenticator::new(&secret).wrong();
    let p = b.post_from("/admin/2fa/setup", "/admin/2fa/setup", &[("code", &wrong)]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.staff_members().await.iter().filter(|s| s.totp_secret.is_some()).count(), 0);

    // The right code turns it on, shows ten recovery codes once, and rotates the session.
    let (mut phone, codes) = enrol(&mut b).await;
    assert_eq!(codes.len(), 10, "{codes:?}");
    let after = b.cookie("behalf_staff").unwrap();
    assert_ne!(before, after, "the session rotates on enrolment");
    let mut old = app.browser();
    old.put_cookie("behalf_staff", &before);
    assert_eq!(old.get("/admin").await.location(), Some("/admin/login"));
    assert_eq!(b.get("/admin").await.status, StatusCode::OK);
    assert!(b.get("/admin/2fa/setup").await.text_of("two-factor-status").unwrap().contains("10 recovery codes"));
    let stored = app.recovery_code_hashes().await;
    assert_eq!(stored.len(), 10);
    for hash in &stored {
        assert!(codes.iter().all(|c| !hash.contains(&c.replace('-', ""))), "recovery codes are stored hashed");
    }
    assert_eq!(activity_has(&app, "Two-factor enabled").await, 1);

    // Signing in again: the password leads to the code page, and until the code no admin page
    // answers 200, nor does the half session serve any form.
    sign_out(&mut b).await;
    let p = password_step(&mut b, "admin@example.com").await;
    assert_eq!(p.location(), Some("/admin/login/2fa"));
    let half = b.cookie("behalf_staff").unwrap();
    for path in ["/admin", "/admin/clients", &format!("/admin/clients/{JANE}"), "/admin/settings", "/admin/2fa/setup"] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(p.location(), Some("/admin/login/2fa"), "{path}");
    }
    let code_page = b.get("/admin/login/2fa").await;
    assert_eq!(code_page.status, StatusCode::OK);
    let token = code_page.csrf().unwrap();
    let imp = b.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &[("csrf_token", &token)]).await;
    assert_eq!(imp.location(), Some("/admin/login/2fa"));
    let set = b.post_raw("/admin/settings", &[("csrf_token", &token), ("impersonation.enabled", "false")]).await;
    assert_eq!(set.location(), Some("/admin/login/2fa"));
    assert_eq!(app.impersonation_count().await, 0);
    assert_eq!(app.stored_setting("impersonation.enabled").await, None);

    // A wrong code is refused; the right one opens a NEW session.
    let p = code_step(&mut b, &phone.wrong()).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("not right"), "{}", p.body);
    let p = code_step(&mut b, &phone.next().await).await;
    assert_eq!(p.location(), Some("/admin"), "{}", p.body);
    let full = b.cookie("behalf_staff").unwrap();
    assert_ne!(full, half);
    assert_eq!(b.get("/admin").await.status, StatusCode::OK);
    let mut stale = app.browser();
    stale.put_cookie("behalf_staff", &half);
    assert_eq!(stale.get("/admin/login/2fa").await.location(), Some("/admin/login"));
    assert_eq!(stale.get("/admin").await.location(), Some("/admin/login"));
    assert_eq!(activity_has(&app, "Second factor refused").await, 1);
    assert_eq!(activity_has(&app, "Second factor accepted").await, 1);
    let actor = app.activity_rows("Second factor accepted").await[0].actor_staff_id;
    assert_eq!(actor, Some(app.staff_id("admin@example.com").await));

    // Cancelling at the code page drops the half session, and it is recorded like a sign-out.
    sign_out(&mut b).await;
    password_step(&mut b, "admin@example.com").await;
    let half = b.cookie("behalf_staff").unwrap();
    let p = b.post_from("/admin/login/2fa", "/admin/login/2fa/cancel", &[]).await;
    assert_eq!(p.location(), Some("/admin/login"));
    let mut stale = app.browser();
    stale.put_cookie("behalf_staff", &half);
    assert_eq!(stale.get("/admin/login/2fa").await.location(), Some("/admin/login"));
    assert_eq!(activity_has(&app, "Two-factor sign-in cancelled").await, 1);
}

#[tokio::test]
async fn a_used_code_is_refused_and_codes_are_limited_like_passwords() {
    let app = TestApp::spawn().await;
    let mut b = app.staff("admin@example.com").await;
    let (mut phone, _) = enrol(&mut b).await;
    sign_out(&mut b).await;
    password_step(&mut b, "admin@example.com").await;
    let code = phone.next().await;
    assert_eq!(code_step(&mut b, &code).await.location(), Some("/admin"));
    sign_out(&mut b).await;

    // The same code (same time step) a second time is refused, and counts as a failure.
    password_step(&mut b, "admin@example.com").await;
    let p = code_step(&mut b, &code).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("already used"), "{}", p.body);

    // Four more failures make five: then even the right code answers 429.
    for _ in 0..4 {
        assert_eq!(code_step(&mut b, &phone.wrong()).await.status, StatusCode::UNAUTHORIZED);
    }
    let p = code_step(&mut b, &phone.next().await).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(p.body.contains("Too many failed attempts"), "{}", p.body);
    assert_eq!(b.get("/admin").await.location(), Some("/admin/login/2fa"));
    // It is the same limit as the password's.
    let p = b
        .post_from("/admin/login", "/admin/login", &[("email", "admin@example.com"), ("password", "behalf-demo")])
        .await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    // Another staff member from the same address is not affected.
    app.browser().login_staff("manager@example.com").await;
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let mut b = app.staff("admin@example.com").await;
    let (_, codes) = enrol(&mut b).await;
    sign_out(&mut b).await;

    password_step(&mut b, "admin@example.com").await;
    let first = codes[0].to_lowercase();
    assert_eq!(code_step(&mut b, &first).await.location(), Some("/admin"));
    assert_eq!(b.get("/admin").await.status, StatusCode::OK);
    assert_eq!(activity_has(&app, "Recovery code used").await, 1);
    assert!(b.get("/admin/2fa/setup").await.text_of("two-factor-status").unwrap().contains("9 recovery codes"));
    sign_out(&mut b).await;

    password_step(&mut b, "admin@example.com").await;
    let p = code_step(&mut b, &first).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED, "a recovery code works once");
    assert!(p.body.contains("recovery code"), "{}", p.body);
    assert_eq!(activity_has(&app, "Second factor refused").await, 1);
    assert_eq!(code_step(&mut b, &codes[1]).await.location(), Some("/admin"));
}

#[tokio::test]
async fn the_policy_sends_impersonators_to_setup_but_not_support() {
    let app = TestApp::spawn().await;
    app.set("security.staff_2fa", "impersonators").await;
    let mut manager = app.staff("manager@example.com").await;
    for path in ["/admin", "/admin/clients", &format!("/admin/clients/{JANE}")] {
        assert_eq!(manager.get(path).await.location(), Some("/admin/2fa/setup"), "{path}");
    }
    let token = manager.get("/admin/2fa/setup").await.csrf().unwrap();
    let p = manager.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &[("csrf_token", &token)]).await;
    assert_eq!(p.location(), Some("/admin/2fa/setup"));
    assert_eq!(app.impersonation_count().await, 0);
    let setup = manager.get("/admin/2fa/setup").await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.has("two-factor-required"));
    assert_eq!(manager.get("/static/app.css").await.status, StatusCode::OK);

    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.get("/admin").await.location(), Some("/admin/2fa/setup"));
    // Sign-out still works from there.
    let p = admin.post_from("/admin/2fa/setup", "/admin/logout", &[]).await;
    assert_eq!(p.location(), Some("/admin/login"));

    let mut support = app.staff("support@example.com").await;
    assert_eq!(support.get("/admin").await.status, StatusCode::OK);
    assert_eq!(support.get("/admin/clients").await.status, StatusCode::OK);

    // Once enrolled, the manager works as before.
    enrol(&mut manager).await;
    assert_eq!(manager.get("/admin/clients").await.status, StatusCode::OK);

    // `all` covers support too; the setting is also on the settings page and the CLI.
    app.set("security.staff_2fa", "all").await;
    assert_eq!(support.get("/admin").await.location(), Some("/admin/2fa/setup"));
    let mut sam = app.staff("superadmin@example.com").await;
    enrol(&mut sam).await;
    let settings = sam.get("/admin/settings").await;
    assert!(settings.has("setting-security-staff_2fa") && settings.has("setting-impersonation-reauth_within"));
    let p = sam.post_from("/admin/settings", "/admin/settings", &[("security.staff_2fa", "sometimes")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = sam.post_from("/admin/settings", "/admin/settings", &[("security.staff_2fa", "off")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(support.get("/admin").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_stale_session_confirms_with_a_code_then_starts_with_the_same_fields() {
    let app = TestApp::spawn().await;
    let mut b = app.staff("admin@example.com").await;
    let (mut phone, _) = enrol(&mut b).await;
    app.set("impersonation.reauth_within", "1s").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let reason = "Ticket 42: the invoice total looks wrong";
    let ask = b.impersonate(JANE, &[("reason", reason), ("mode", "full"), ("next", "/tickets/1")]).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.has("step-up-form"), "{}", ask.body);
    assert_eq!(app.impersonation_count().await, 0);
    let fields = form_fields(&ask, "step-up-form");
    for (name, value) in [("reason", reason), ("mode", "full"), ("next", "/tickets/1")] {
        assert!(fields.iter().any(|(n, v)| n == name && v == value), "{name} carried: {fields:?}");
    }

    // A wrong code starts nothing and counts against the limit.
    let submit = |answer: String| {
        let mut f = fields.clone();
        f.retain(|(n, _)| n != "reauth");
        f.push(("reauth".into(), answer));
        f
    };
    let wrong = submit(phone.wrong());
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let p = b.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &wrong).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.has("step-up-form"));
    assert_eq!(app.impersonation_count().await, 0);
    assert_eq!(app.login_failures().await.iter().filter(|f| !f.ip.is_empty()).count(), 1);

    // The right code goes on with the same start.
    let right = submit(phone.next().await);
    let right: Vec<(&str, &str)> = right.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let p = b.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &right).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), Some("/tickets/1"));
    let started = app.latest_impersonation().await;
    assert_eq!((started.reason.as_str(), started.mode.as_str()), (reason, "full"));
    assert!(b.get("/dashboard").await.has("impersonation-banner"));

    // The check is fresh now: within the window the next start asks nothing.
    app.set("impersonation.reauth_within", "1h").await;
    assert_eq!(b.impersonate(BOB, &[]).await.location(), Some("/dashboard"));
}

#[tokio::test]
async fn a_stale_session_without_two_factor_confirms_with_the_password() {
    let app = TestApp::spawn().await;
    let mut b = app.staff("manager@example.com").await;
    // Age the session as if it had been open for a day.
    app.age_staff_sessions(86400).await;
    let ask = b.impersonate(JANE, &[("reason", "Walk Jane through checkout")]).await;
    assert!(ask.has("step-up-form"), "{}", ask.body);
    assert!(ask.body.contains("type=\"password\""));
    let fields = form_fields(&ask, "step-up-form");
    let with = |pw: &'static str| {
        let mut f: Vec<(String, String)> = fields.iter().filter(|(n, _)| n != "reauth").cloned().collect();
        f.push(("reauth".into(), pw.into()));
        f
    };
    let path = format!("/admin/clients/{JANE}/impersonate");
    for _ in 0..5 {
        let f = with("not-the-password");
        let f: Vec<(&str, &str)> = f.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(b.post_raw(&path, &f).await.status, StatusCode::UNAUTHORIZED);
    }
    let right = with("behalf-demo");
    let right: Vec<(&str, &str)> = right.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(b.post_raw(&path, &right).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.impersonation_count().await, 0);
    app.age_login_failures(901).await;
    let p = b.post_raw(&path, &right).await;
    assert_eq!(p.location(), Some("/dashboard"), "{}", p.body);
    assert_eq!(app.latest_impersonation().await.reason, "Walk Jane through checkout");
    assert_eq!(activity_has(&app, "Password re-checked").await, 1);
}

#[tokio::test]
async fn reset_2fa_clears_it_and_ends_the_sessions() {
    let app = TestApp::spawn().await;
    let mut b = app.staff("admin@example.com").await;
    enrol(&mut b).await;
    b.impersonate(JANE, &[]).await;
    let (ok, _, err) = app.cli(&["staff", "reset-2fa", "nobody@example.com"]).await;
    assert!(!ok && err.contains("no staff member"), "{err}");
    let (ok, out, err) = app.cli(&["staff", "reset-2fa", "admin@example.com"]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(b.get("/admin").await.location(), Some("/admin/login"), "the session ended");
    assert_eq!(app.last_end_reason().await.as_deref(), Some("revoked"));
    assert_eq!(app.count(Table::StaffRecoveryCodes).await, 0);
    assert_eq!(activity_has(&app, "Two-factor reset").await, 1);
    // The password alone signs in again, and the setup page offers a new secret.
    let p = password_step(&mut b, "admin@example.com").await;
    assert_eq!(p.location(), Some("/admin"));
    assert!(b.get("/admin/2fa/setup").await.has("totp-secret"));
}
