//! The API over HTTP: staff API keys, Login as Client by token exchange, the client's side with
//! the token, every end of the session stopping the token on its next request, revocation,
//! introspection, the keys and metadata, and bad input answered with 4xx problems.

use crate::support::{Table, TestApp, BOB, IVAN, JANE, RITA};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A key for the staff member, made as an operator would: `behalf staff api-key`.
async fn api_key(app: &TestApp, email: &str) -> String {
    let (ok, out, err) = app.cli(&["staff", "api-key", email, "--name", "tests"]).await;
    assert!(ok, "behalf staff api-key {email}: {out}{err}");
    let key = out.trim().to_string();
    assert!(key.starts_with("bhk_") && !key.contains('\n'), "the key alone on standard output: {out:?}");
    key
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// `POST /oauth/token` for `client` with `scope` and extra fields; answers the status and JSON.
async fn exchange(app: &TestApp, key: &str, client: i64, scope: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let client = client.to_string();
    let mut form = vec![
        ("grant_type", GRANT),
        ("actor_token", key),
        ("actor_token_type", "urn:behalf:token-type:api-key"),
        ("subject_token", client.as_str()),
        ("subject_token_type", "urn:behalf:token-type:client-id"),
        ("scope", scope),
    ];
    form.extend_from_slice(extra);
    let r = http().post(format!("{}/oauth/token", app.base)).form(&form).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A token for Jane from Alice Admin (who may write).
async fn token(app: &TestApp, scope: &str) -> String {
    let key = api_key(app, "admin@example.com").await;
    let (status, body) = exchange(app, &key, JANE, scope, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// The claims of a JWT, read without checking it (the server checks it).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let mut r = http().request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = r.text().await.unwrap();
    assert!(status.as_u16() < 500, "{path}: {status} {text}");
    (status, kind, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = call(app, token, reqwest::Method::GET, path, None).await;
    (status, body)
}

#[tokio::test]
async fn a_key_made_on_the_staff_page_is_shown_once_and_stored_hashed() {
    let app = TestApp::spawn().await;
    let mut alice = app.staff("admin@example.com").await;
    let page = alice
        .post_from("/admin/account/api-keys", "/admin/account/api-keys", &[("name", "Help desk"), ("expires", "")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let key = page.text_of("new-api-key").expect("the new key is shown");
    assert!(key.starts_with("bhk_"), "{key}");
    let hashes = app.api_key_hashes().await;
    assert_eq!(hashes.len(), 1);
    assert!(!hashes[0].contains(&key[4..]), "only a hash is stored");
    let again = alice.get("/admin/account/api-keys").await;
    assert!(!again.body.contains(&key), "the key is never shown again");
    assert!(again.body.contains("Help desk") && again.body.contains(&key[..12]));
    // A key made on the page works for the exchange.
    let (status, body) = exchange(&app, &key, JANE, "portal:read", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A name is required; the form comes back with the message and nothing is stored.
    let bad = alice.post_from("/admin/account/api-keys", "/admin/account/api-keys", &[("name", " ")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let past = alice
        .post_from("/admin/account/api-keys", "/admin/account/api-keys", &[("name", "x"), ("expires", "2001-01-01")])
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.api_key_hashes().await.len(), 1);
    assert_eq!(app.activity_count_of("API key created").await, 1);
}

#[tokio::test]
async fn token_exchange_starts_login_as_client_and_the_token_acts_as_the_client() {
    let app = TestApp::spawn().await;
    let alice = app.staff_id("admin@example.com").await;
    let key = api_key(&app, "admin@example.com").await;
    let outbox_before = app.count(Table::Outbox).await;
    let (status, body) = exchange(&app, &key, JANE, "portal:write", &[("reason", "API test of ticket 42")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "portal:write");
    assert_eq!(body["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!((3500..=3600).contains(&expires_in), "the session's 60 minutes: {expires_in}");
    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    let imp = app.latest_impersonation().await;
    assert_eq!(c["sub"], JANE.to_string());
    assert_eq!(c["act"]["sub"], format!("staff:{alice}"));
    assert_eq!(c["act"]["email"], "admin@example.com");
    assert_eq!(c["imp"], imp.id);
    assert_eq!(c["scope"], "portal:write");
    assert_eq!(c["aud"], "behalf-api");
    assert_eq!(c["iss"], app.base);
    assert_eq!(imp.mode, "full");
    assert_eq!(imp.reason, "API test of ticket 42");
    assert_eq!(app.impersonation_channel(imp.id).await, "api");
    let started = app.newest_activity("Staff impersonated client").await.unwrap();
    assert!(started.detail.contains("channel: api"), "{}", started.detail);
    assert_eq!(app.count(Table::Outbox).await, outbox_before + 1, "the client is told, as for the button");

    let (status, me) = get(&app, token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "jane@example.com");
    assert_eq!(me["impersonation"]["mode"], "full");
    assert_eq!(me["impersonation"]["channel"], "api");
    let (status, invoices) = get(&app, token, "/api/v1/invoices?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invoices["items"].as_array().unwrap().len(), 2);
    let next = invoices["next_cursor"].as_str().expect("Jane has more than two invoices");
    let (_, second) = get(&app, token, &format!("/api/v1/invoices?limit=2&cursor={next}")).await;
    assert_ne!(second["items"][0]["id"], invoices["items"][0]["id"]);
    // Walking every page by cursor gives each invoice once, newest issued first, ties by id.
    let mut seen: Vec<(i64, i64)> = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get(&app, token, &format!("/api/v1/invoices?limit=7&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["issued_at"].as_i64().unwrap(), i["id"].as_i64().unwrap())),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let mut want: Vec<(i64, i64)> = seen.clone();
    want.sort_by(|a, b| b.cmp(a));
    want.dedup();
    assert_eq!(seen, want, "in order, none twice");
    assert_eq!(seen.len(), app.invoices_of(JANE).await.len(), "and none left out");
    let ticket = app.first_ticket_of(JANE).await;
    let (status, t) = get(&app, token, &format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["ticket"]["id"], ticket);
    // Another client's ticket is not found.
    let bobs = app.first_ticket_of(BOB).await;
    assert_eq!(get(&app, token, &format!("/api/v1/tickets/{bobs}")).await.0, StatusCode::NOT_FOUND);

    let (status, _, reply) = call(
        &app,
        token,
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{ticket}/replies"),
        Some(serde_json::json!({ "body": "Replied through the API" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let stored = app.ticket_replies().await.into_iter().find(|r| r.body == "Replied through the API").unwrap();
    assert_eq!(stored.actor_staff_id, Some(alice), "the write names the staff member");
    assert_eq!(stored.impersonation_id, Some(imp.id));
    let mut sam = app.staff("superadmin@example.com").await;
    let log = sam.get("/admin/activity?group=tickets").await;
    assert!(log.body.contains("Jane Smith (by Alice Admin via the API)"), "the write is shown as made via the API");
    let mut jane = app.client("jane@example.com").await;
    let access = jane.get("/account/access").await;
    assert!(access.text_of("access").unwrap().contains("Alice Admin (through a support tool)"), "Jane sees it");
    let sessions = sam.get("/admin/impersonations").await;
    assert!(sessions.body.contains("full · API"), "the log marks the session as the API's");
    // Sensitive actions are not in the API at all, and a browser cookie is never set.
    for path in ["/api/v1/account/password", "/api/v1/account/consent", "/api/v1/payment-methods"] {
        let (status, _, _) = call(&app, token, reqwest::Method::POST, path, Some(serde_json::json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn refusals_are_oauth_errors_and_create_nothing() {
    let app = TestApp::spawn().await;
    let admin = api_key(&app, "admin@example.com").await;
    let manager = api_key(&app, "manager@example.com").await;
    let support = api_key(&app, "support@example.com").await;
    let before = app.impersonation_count().await;
    let expect = |status: StatusCode, body: &Value, want: StatusCode, error: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert!(body["error_description"].as_str().is_some_and(|d| d.len() > 10), "{body}");
    };
    let (s, b) = exchange(&app, &manager, JANE, "portal:write", &[]).await;
    expect(s, &b, StatusCode::FORBIDDEN, "access_denied");
    let (s, b) = exchange(&app, &support, JANE, "portal:read", &[]).await;
    expect(s, &b, StatusCode::FORBIDDEN, "access_denied");
    let (s, b) = exchange(&app, &support, 999_999, "portal:read", &[]).await;
    expect(s, &b, StatusCode::FORBIDDEN, "access_denied");
    assert_eq!(b["refusal"], "no_permission", "no word on whether client 999999 exists");
    let (s, b) = exchange(&app, &admin, IVAN, "portal:read", &[]).await;
    expect(s, &b, StatusCode::FORBIDDEN, "access_denied");
    app.set("impersonation.consent", "opt_out").await;
    let (s, b) = exchange(&app, &admin, RITA, "portal:read", &[]).await;
    expect(s, &b, StatusCode::FORBIDDEN, "access_denied");
    assert!(b["error_description"].as_str().unwrap().contains("not allowed support staff"));
    assert_eq!(b["refusal"], "no_consent", "a stable name for the refusal");
    app.set("impersonation.require_reason", "true").await;
    let (s, b) = exchange(&app, &admin, JANE, "portal:read", &[]).await;
    expect(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(b["refusal"], "reason_required");
    let (s, b) = exchange(&app, &admin, 999_999, "portal:read", &[("reason", "a long enough reason")]).await;
    expect(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, b) = exchange(&app, "bhk_0000", JANE, "portal:read", &[("reason", "a long enough reason")]).await;
    expect(s, &b, StatusCode::BAD_REQUEST, "invalid_grant");
    let (s, b) = exchange(&app, &admin, JANE, "admin:everything", &[("reason", "a long enough reason")]).await;
    expect(s, &b, StatusCode::BAD_REQUEST, "invalid_scope");
    app.set("impersonation.enabled", "false").await;
    let (s, b) = exchange(&app, &admin, JANE, "portal:read", &[("reason", "a long enough reason")]).await;
    expect(s, &b, StatusCode::FORBIDDEN, "access_denied");
    let r = http().post(format!("{}/oauth/token", app.base)).form(&[("grant_type", "password")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unsupported_grant_type");
    assert_eq!(app.impersonation_count().await, before, "no refusal created a session");
}

#[tokio::test]
async fn a_read_only_token_cannot_write_and_says_why() {
    let app = TestApp::spawn().await;
    let token = token(&app, "portal:read").await;
    let ticket = app.first_ticket_of(JANE).await;
    let replies = app.count(Table::TicketReplies).await;
    let (status, kind, body) = call(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{ticket}/replies"),
        Some(serde_json::json!({ "body": "not allowed" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(kind, "application/problem+json");
    assert_eq!(body["type"], "urn:behalf:problem:read-only");
    assert_eq!(body["status"], 403);
    assert_eq!(app.count(Table::TicketReplies).await, replies);
}

#[tokio::test]
async fn every_end_of_the_session_stops_its_token_on_the_next_request() {
    let app = TestApp::spawn().await;
    // Revocation (RFC 7009): the staff member's return.
    let t = token(&app, "portal:read").await;
    assert_eq!(get(&app, &t, "/api/v1/me").await.0, StatusCode::OK);
    let r = http().post(format!("{}/oauth/revoke", app.base)).form(&[("token", t.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = get(&app, &t, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "urn:behalf:problem:session-ended");
    assert_eq!(app.last_end_reason().await.as_deref(), Some("returned"));
    // Revoking again, or a garbage token, still answers 200.
    let r = http().post(format!("{}/oauth/revoke", app.base)).form(&[("token", t.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The client's End support access.
    let t = token(&app, "portal:read").await;
    let mut jane = app.client("jane@example.com").await;
    jane.post_from("/account", "/account/end-support-access", &[]).await;
    let (status, body) = get(&app, &t, "/api/v1/invoices").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("client_ended"), "{body}");

    // Another staff member ends it from the log.
    let t = token(&app, "portal:read").await;
    let imp = claims(&t)["imp"].as_i64().unwrap();
    let mut sam = app.staff("superadmin@example.com").await;
    sam.post_from("/admin/impersonations", &format!("/admin/impersonations/{imp}/end"), &[]).await;
    assert_eq!(get(&app, &t, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);

    // Idle past the timeout.
    let t = token(&app, "portal:read").await;
    let imp = claims(&t)["imp"].as_i64().unwrap();
    app.idle_impersonation(imp, 16 * 60).await;
    assert_eq!(get(&app, &t, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.last_end_reason().await.as_deref(), Some("idle"));

    // The staff member loses the permission, then is disabled.
    let t = token(&app, "portal:read").await;
    app.revoke_permission("admin", "clients.impersonate").await;
    assert_eq!(get(&app, &t, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.last_end_reason().await.as_deref(), Some("revoked"));
    app.grant_permission("admin", "clients.impersonate").await;
    let t = token(&app, "portal:read").await;
    app.disable_staff("admin@example.com").await;
    assert_eq!(get(&app, &t, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_key_or_a_disabled_owner_exchanges_nothing() {
    let app = TestApp::spawn().await;
    let mut alice = app.staff("admin@example.com").await;
    let page = alice.post_from("/admin/account/api-keys", "/admin/account/api-keys", &[("name", "ci")]).await;
    let key = page.text_of("new-api-key").unwrap();
    let (status, made) = exchange(&app, &key, JANE, "portal:read", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let token = made["access_token"].as_str().unwrap().to_string();
    assert_eq!(get(&app, &token, "/api/v1/me").await.0, StatusCode::OK);
    let listed = alice.get("/admin/account/api-keys").await;
    let form = listed.body.split("/admin/account/api-keys/").nth(1).unwrap();
    let id: String = form.chars().take_while(|c| c.is_ascii_digit()).collect();
    let revoked =
        alice.post_from("/admin/account/api-keys", &format!("/admin/account/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let (status, body) = exchange(&app, &key, JANE, "portal:read", &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // Revoking the key also ended the session its token acts in.
    let (status, body) = get(&app, &token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(app.last_end_reason().await.as_deref(), Some("revoked"));
    // Another staff member cannot revoke Alice's key from their page.
    let key2 = api_key(&app, "admin@example.com").await;
    let mut max = app.staff("manager@example.com").await;
    let other = max
        .post_from(
            "/admin/account/api-keys",
            &format!("/admin/account/api-keys/{}/revoke", id.parse::<i64>().unwrap() + 1),
            &[],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(exchange(&app, &key2, JANE, "portal:read", &[]).await.0, StatusCode::OK);
    app.disable_staff("admin@example.com").await;
    assert_eq!(exchange(&app, &key2, JANE, "portal:read", &[]).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn introspection_keys_and_metadata() {
    let app = TestApp::spawn().await;
    let owner = api_key(&app, "admin@example.com").await;
    let support = api_key(&app, "support@example.com").await;
    let (_, body) = exchange(&app, &owner, JANE, "portal:read", &[]).await;
    let t = body["access_token"].as_str().unwrap().to_string();
    let introspect = |key: String, token: String| {
        let base = app.base.clone();
        async move {
            let r = http()
                .post(format!("{base}/oauth/introspect"))
                .bearer_auth(key)
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let seen = introspect(owner.clone(), t.clone()).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["sub"], JANE.to_string());
    assert_eq!(seen["act"]["sub"], format!("staff:{}", app.staff_id("admin@example.com").await));
    assert!(seen["exp"].as_i64().unwrap() > claims(&t)["iat"].as_i64().unwrap());
    assert_eq!(introspect(support, t.clone()).await["active"], false, "not theirs, and no log permission");
    let r = http().post(format!("{}/oauth/introspect", app.base)).form(&[("token", t.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "introspection needs a staff key");
    http().post(format!("{}/oauth/revoke", app.base)).form(&[("token", t.as_str())]).send().await.unwrap();
    assert_eq!(introspect(owner, t.clone()).await["active"], false);

    let jwks: Value =
        http().get(format!("{}/.well-known/jwks.json", app.base)).send().await.unwrap().json().await.unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let key = &jwks["keys"][0];
    assert_eq!((key["kty"].as_str(), key["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!(key["kid"], header["kid"]);
    let meta: Value = http()
        .get(format!("{}/.well-known/oauth-authorization-server", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], app.base);
    assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", app.base));
    assert_eq!(meta["jwks_uri"], format!("{}/.well-known/jwks.json", app.base));
}

#[tokio::test]
async fn bad_input_gets_a_4xx_problem_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = token(&app, "portal:write").await;
    let ticket = app.first_ticket_of(JANE).await;
    let path = format!("{}/api/v1/tickets/{ticket}/replies", app.base);
    let replies = app.count(Table::TicketReplies).await;
    let cases: Vec<(&str, &str, StatusCode)> = vec![
        ("application/json", "{not json", StatusCode::BAD_REQUEST),
        ("application/json", r#"{"body": 5}"#, StatusCode::BAD_REQUEST),
        ("application/json", r#"{"body": "x", "admin": true}"#, StatusCode::BAD_REQUEST),
        ("application/json", r#"{}"#, StatusCode::BAD_REQUEST),
        ("application/json", r#"{"body": "   "}"#, StatusCode::UNPROCESSABLE_ENTITY),
        ("application/json", r#"{"body": "a\u0000b"}"#, StatusCode::UNPROCESSABLE_ENTITY),
        ("text/plain", r#"{"body": "x"}"#, StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ];
    for (kind, body, want) in cases {
        let r = http().post(&path).bearer_auth(&token).header("content-type", kind).body(body).send().await.unwrap();
        assert_eq!(r.status(), want, "{kind} {body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{body}");
        let p: Value = r.json().await.unwrap();
        assert!(p["type"].as_str().unwrap().starts_with("urn:behalf:problem:") && p["detail"].is_string(), "{p}");
    }
    let huge = format!(r#"{{"body": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let r = http()
        .post(&path)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let long = serde_json::json!({ "body": "x".repeat(20_001) });
    let r = http().post(&path).bearer_auth(&token).json(&long).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count(Table::TicketReplies).await, replies);
    for bad in [
        "/api/v1/invoices?cursor=forged",
        "/api/v1/invoices?limit=0",
        "/api/v1/invoices?status=lost",
        "/api/v1/tickets/abc",
        "/api/v1/invoices?page=2",
    ] {
        assert_eq!(get(&app, &token, bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    for bad_token in ["garbage", "a.b.c", &token[..token.len() - 2]] {
        let (status, body) = get(&app, bad_token, "/api/v1/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad_token}");
        assert_eq!(body["type"], "urn:behalf:problem:invalid-token");
    }
    let r = http().get(format!("{}/api/v1/me", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn a_portal_cookie_opens_no_api_route_and_a_token_opens_no_page() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let r = jane.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a cookie is not a bearer token");
    let token = token(&app, "portal:read").await;
    let jti = claims(&token)["jti"].as_str().unwrap().to_string();
    let mut thief = app.browser();
    thief.put_cookie("behalf_client", &jti);
    assert_eq!(thief.get("/dashboard").await.status, StatusCode::SEE_OTHER, "the token's session is API only");
    thief.put_cookie("behalf_client", &token);
    assert_eq!(thief.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn hidden_modules_answer_404_through_the_api_too() {
    let app = TestApp::spawn().await;
    app.hide_modules(JANE, "invoices,tickets").await;
    let token = token(&app, "portal:read").await;
    assert_eq!(get(&app, &token, "/api/v1/invoices").await.0, StatusCode::NOT_FOUND);
    let ticket = app.first_ticket_of(JANE).await;
    assert_eq!(get(&app, &token, &format!("/api/v1/tickets/{ticket}")).await.0, StatusCode::NOT_FOUND);
    let (status, me) = get(&app, &token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!me["modules"].as_array().unwrap().iter().any(|m| m == "invoices"));
    assert_eq!(get(&app, &token, "/api/v1/services").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_staff_side_answers_to_the_permissions_of_its_pages() {
    let app = TestApp::spawn().await;
    let support = api_key(&app, "support@example.com").await;
    let admin = api_key(&app, "admin@example.com").await;
    let (status, found) = get(&app, &support, "/api/v1/admin/clients?q=jane").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"][0]["email"], "jane@example.com");
    let (status, jane) = get(&app, &support, &format!("/api/v1/admin/clients/{JANE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jane["consent"], "allowed");
    assert!(jane.get("password_hash").is_none() && !jane.to_string().contains("argon2"), "{jane}");
    assert_eq!(get(&app, &support, "/api/v1/admin/clients/999999").await.0, StatusCode::NOT_FOUND);
    // Every client once, in name order, page by page.
    let mut names = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get(&app, &support, &format!("/api/v1/admin/clients?limit=3&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        names.extend(page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(names.len(), app.clients().await.len(), "{names:?}");
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    for path in ["/api/v1/admin/impersonations", "/api/v1/admin/activity"] {
        let (status, body) = get(&app, &support, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body["type"], "urn:behalf:problem:permission-required");
    }
    // A live API session shows in the log with its channel, and staff end it through the API.
    let (_, body) = exchange(&app, &admin, JANE, "portal:read", &[]).await;
    let t = body["access_token"].as_str().unwrap().to_string();
    let imp = claims(&t)["imp"].as_i64().unwrap();
    let (status, live) = get(&app, &admin, &format!("/api/v1/admin/impersonations?state=live&client={JANE}")).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["items"][0]["id"], imp);
    assert_eq!(live["items"][0]["channel"], "api");
    assert_eq!(get(&app, &admin, "/api/v1/admin/impersonations?state=sideways").await.0, StatusCode::BAD_REQUEST);
    let (status, _, _) =
        call(&app, &support, reqwest::Method::POST, &format!("/api/v1/admin/impersonations/{imp}/end"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "support may not end sessions");
    let (status, _, ended) =
        call(&app, &admin, reqwest::Method::POST, &format!("/api/v1/admin/impersonations/{imp}/end"), None).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(get(&app, &t, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let (status, _, again) =
        call(&app, &admin, reqwest::Method::POST, &format!("/api/v1/admin/impersonations/{imp}/end"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(app.last_end_reason().await.as_deref(), Some("ended_by_staff"));

    // The activity log pages by cursor, newest first, without overlap, even as entries are added.
    for _ in 0..4 {
        exchange(&app, &admin, JANE, "portal:read", &[]).await;
    }
    let (status, first) = get(&app, &admin, "/api/v1/admin/activity?limit=5").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let ids = |v: &Value| v["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let page1 = ids(&first);
    assert_eq!(page1.len(), 5);
    assert!(page1.windows(2).all(|w| w[0] > w[1]));
    exchange(&app, &admin, JANE, "portal:read", &[]).await; // new entries meanwhile
    let next = first["next_cursor"].as_str().unwrap();
    let (_, second) = get(&app, &admin, &format!("/api/v1/admin/activity?limit=5&cursor={next}")).await;
    let page2 = ids(&second);
    assert_eq!(page2.len(), 5);
    assert!(page2[0] < *page1.last().unwrap(), "{page1:?} then {page2:?}");
    // The Login as Client log pages by cursor too: every session once, newest first.
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get(&app, &admin, &format!("/api/v1/admin/impersonations?limit=2&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        ids.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(ids.len() as i64, app.impersonation_count().await, "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let (_, group) = get(&app, &admin, "/api/v1/admin/activity?group=login_as_client").await;
    assert!(group["items"].as_array().unwrap().iter().all(|r| r["group"] == "login_as_client"));
    assert_eq!(get(&app, &admin, "/api/v1/admin/activity?cursor=nope").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, &admin, "/api/v1/admin/activity?actor=robot").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, "bhk_nope", "/api/v1/admin/activity").await.0, StatusCode::UNAUTHORIZED);
    // A Login as Client token is not a staff key, and a staff key is not a token.
    assert_eq!(get(&app, &t, "/api/v1/admin/clients").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, &admin, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn making_a_key_in_a_stale_session_asks_for_the_password_first() {
    let app = TestApp::spawn().await;
    let mut alice = app.staff("admin@example.com").await;
    app.set("impersonation.reauth_within", "1s").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let ask = alice.post_from("/admin/account/api-keys", "/admin/account/api-keys", &[("name", "Help desk")]).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.has("step-up-form") && !ask.has("new-api-key"), "{}", ask.body);
    assert!(app.api_key_hashes().await.is_empty());
    let token = ask.csrf().unwrap();
    let wrong = alice
        .post_raw("/admin/account/api-keys", &[("csrf_token", &token), ("name", "Help desk"), ("reauth", "not-it")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(app.api_key_hashes().await.is_empty());
    let right = alice
        .post_raw(
            "/admin/account/api-keys",
            &[("csrf_token", &token), ("name", "Help desk"), ("reauth", "behalf-demo")],
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    assert!(right.text_of("new-api-key").unwrap().starts_with("bhk_"));
    assert_eq!(app.api_key_hashes().await.len(), 1);
}
