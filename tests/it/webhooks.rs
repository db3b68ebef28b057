//! Signed webhooks against a real local receiver: signatures it verifies on its own, payloads
//! naming who did what, retries after failures, a hanging receiver that holds nothing else up,
//! **Send test event**, and the page's permission.

use crate::support::{TestApp, BOB, JANE};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a receiver does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    Accept,
    /// Answers 500 to the first N requests, then 200.
    FailFirst(usize),
    /// Never answers.
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on a free local port.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let handler = move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let n = {
                    let mut g = seen.lock().unwrap();
                    g.push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    g.len()
                };
                match behaviour {
                    Behaviour::Accept => StatusCode::NO_CONTENT,
                    Behaviour::FailFirst(k) if n <= k => StatusCode::INTERNAL_SERVER_ERROR,
                    Behaviour::FailFirst(_) => StatusCode::OK,
                    Behaviour::Hang => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        StatusCode::OK
                    }
                }
            }
        };
        let app = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (at most 30 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "the receiver got {} of {n} requests: {got:?}", got.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The text of each delivery log row's `td.CLASS`, newest first.
fn cells(html: &str, class: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("#webhook-deliveries td.{class}")).unwrap();
    doc.select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect()
}

/// The receiver's own check of a Standard Webhooks signature.
fn verifies(secret: &str, r: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

async fn quick_app() -> TestApp {
    TestApp::with_config(|c| {
        c.webhooks.timeout = Duration::from_secs(1);
        c.webhooks.retry_base_seconds = 1;
    })
    .await
}

/// Registers `url` for `events` on the admin page as Sam; answers the secret shown once.
async fn register(app: &TestApp, url: &str, events: &[&str]) -> String {
    let mut sam = app.staff("superadmin@example.com").await;
    let mut form = vec![("url", url), ("description", "SIEM")];
    let names: Vec<String> = events.iter().map(|e| format!("event.{e}")).collect();
    form.extend(names.iter().map(|n| (n.as_str(), "on")));
    let page = sam.post_from("/admin/webhooks", "/admin/webhooks", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = page.text_of("new-webhook-secret").expect("the secret is shown once");
    assert!(!sam.get("/admin/webhooks").await.body.contains(&secret), "and never again");
    secret
}

#[tokio::test]
async fn events_are_signed_and_name_who_did_what() {
    let app = quick_app().await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let secret =
        register(&app, &rx.url, &["impersonation.started", "impersonation.ended", "impersonation.refused"]).await;
    let mut alice = app.staff("admin@example.com").await;
    alice.impersonate(JANE, &[("reason", "Ticket 12: billing address"), ("mode", "full")]).await;
    alice.return_to_admin().await;
    app.set("impersonation.consent", "opt_in").await;
    let refused = alice.impersonate(BOB, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let got = rx.wait_for(3).await;
    for r in &got {
        assert!(verifies(&secret, r), "a signature the receiver accepts: {r:?}");
        assert!(r.id.starts_with("msg_"));
        assert!((r.timestamp.parse::<i64>().unwrap() - behalf::domain::now()).abs() < 60);
    }
    let mut forged = got[0].clone();
    forged.body = forged.body.replace("Ticket 12", "Ticket 13");
    assert!(!verifies(&secret, &forged), "the check means something");
    let by_type = |t: &str| got.iter().map(Received::json).find(|j| j["type"] == t).unwrap_or_else(|| panic!("no {t}"));
    let started = by_type("impersonation.started");
    let i = &started["data"]["impersonation"];
    assert_eq!(i["staff"]["name"], "Alice Admin");
    assert_eq!(i["client"]["id"], JANE);
    assert_eq!(i["reason"], "Ticket 12: billing address");
    assert_eq!(i["mode"], "full");
    assert_eq!(i["channel"], "page");
    assert_eq!(i["ip"], "127.0.0.1");
    let ended = by_type("impersonation.ended");
    assert_eq!(ended["data"]["impersonation"]["end_reason"], "returned");
    let refusal = by_type("impersonation.refused");
    assert_eq!(refusal["data"]["refusal"], "no_consent");
    assert_eq!(refusal["data"]["client"]["id"], BOB);
    assert_eq!(refusal["data"]["staff"]["email"], "admin@example.com");
    // Only the events asked for: a settings change is not sent here.
    app.set("impersonation.idle_timeout", "20m").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rx.received().len(), 3);
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_is_retried_until_it_succeeds() {
    let app = quick_app().await;
    let rx = Receiver::start(Behaviour::FailFirst(3)).await;
    register(&app, &rx.url, &["settings.changed"]).await;
    app.set("impersonation.idle_timeout", "20m").await;
    let got = rx.wait_for(4).await;
    assert!(got.iter().all(|r| r.id == got[0].id), "one message, retried under one webhook-id");
    assert_eq!(got[0].json()["type"], "settings.changed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sam = app.staff("superadmin@example.com").await;
    loop {
        let page = sam.get("/admin/webhooks").await;
        let state = cells(&page.body, "state");
        if state == ["delivered"] {
            assert_eq!(cells(&page.body, "event"), ["settings.changed"]);
            assert_eq!(cells(&page.body, "attempts"), ["4"], "three failures, then the success");
            assert_eq!(cells(&page.body, "response"), ["200"]);
            break;
        }
        assert!(Instant::now() < deadline, "not recorded as delivered: {state:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_hanging_receiver_times_out_without_holding_up_another() {
    let app = quick_app().await;
    let hanging = Receiver::start(Behaviour::Hang).await;
    let healthy = Receiver::start(Behaviour::Accept).await;
    register(&app, &hanging.url, &["settings.changed"]).await;
    register(&app, &healthy.url, &["settings.changed"]).await;
    let started = Instant::now();
    app.set("impersonation.idle_timeout", "20m").await;
    healthy.wait_for(1).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the healthy receiver waited {:?}", started.elapsed());
    hanging.wait_for(1).await;
    let mut sam = app.staff("superadmin@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = sam.get("/admin/webhooks").await;
        let responses = cells(&page.body, "response");
        if responses.iter().any(|r| r == "no answer before the timeout") {
            let mut states = cells(&page.body, "state");
            states.sort();
            assert_eq!(states, ["delivered", "retrying"], "{responses:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the hang was not recorded as a timeout: {responses:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn send_test_event_and_the_page_needs_settings_manage() {
    let app = quick_app().await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let secret = register(&app, &rx.url, &["role.changed"]).await;
    let mut sam = app.staff("superadmin@example.com").await;
    let listed = sam.get("/admin/webhooks").await;
    let id: String =
        listed.body.split("/admin/webhooks/").nth(1).unwrap().chars().take_while(|c| c.is_ascii_digit()).collect();
    let pressed = sam.post_from("/admin/webhooks", &format!("/admin/webhooks/{id}/test"), &[]).await;
    assert_eq!(pressed.status, StatusCode::SEE_OTHER);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].json()["type"], "webhook.test");
    assert!(verifies(&secret, &got[0]));
    assert_eq!(app.activity_count_of("Webhook test event sent").await, 1);
    let mut sue = app.staff("support@example.com").await;
    assert_eq!(sue.get("/admin/webhooks").await.status, StatusCode::FORBIDDEN);
    let bad =
        sam.post_from("/admin/webhooks", "/admin/webhooks", &[("url", "ftp://x"), ("event.role.changed", "on")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let none = sam.post_from("/admin/webhooks", "/admin/webhooks", &[("url", &rx.url)]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY, "at least one event");
    let removed = sam.post_from("/admin/webhooks", &format!("/admin/webhooks/{id}/delete"), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let added = app.newest_activity("Webhook endpoint added").await.unwrap();
    assert!(!added.detail.contains("/hook"), "only the URL's origin is recorded: {}", added.detail);
    assert_eq!(
        sam.post_from("/admin/webhooks", &format!("/admin/webhooks/{id}/test"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_api_start_is_told_with_its_channel() {
    let app = quick_app().await;
    let rx = Receiver::start(Behaviour::Accept).await;
    register(&app, &rx.url, &["impersonation.started"]).await;
    let (ok, key, _) = app.cli(&["staff", "api-key", "admin@example.com", "--name", "hooks"]).await;
    assert!(ok);
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("actor_token", key.trim()),
        ("actor_token_type", "urn:behalf:token-type:api-key"),
        ("subject_token", "1"),
        ("subject_token_type", "urn:behalf:token-type:client-id"),
    ];
    let r = reqwest::Client::new().post(format!("{}/oauth/token", app.base)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].json()["data"]["impersonation"]["channel"], "api");
}
