//! The OpenAPI document: generated from the code, checked in as `docs/openapi.json`, covering
//! every API route of the route table, and every operation in it answering as it says.

use crate::support::{TestApp, JANE};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn generated() -> Value {
    serde_json::from_str(&behalf::web::api::docs::openapi_text()).unwrap()
}

#[tokio::test]
async fn the_document_matches_docs_openapi_json_and_is_served() {
    let text = behalf::web::api::docs::openapi_text();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let want = std::fs::read_to_string(&file).unwrap_or_default();
    if text != want {
        if std::env::var_os("BEHALF_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&file, &text).unwrap();
        } else {
            panic!(
                "the API changed and docs/openapi.json was not updated; run \
                 BEHALF_UPDATE_SNAPSHOTS=1 cargo test --test it openapi and review the change"
            );
        }
    }
    let doc = generated();
    assert_eq!(doc["openapi"], "3.1.0");
    let app = TestApp::spawn().await;
    let served: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base)).await.unwrap().json().await.unwrap();
    assert_eq!(served, doc, "the server serves the same document");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["token"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert!(doc["info"]["description"].as_str().unwrap().contains("urn:behalf:problem:"));
}

#[test]
fn every_api_route_is_documented_and_nothing_else() {
    let doc = generated();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let routed: BTreeSet<(String, String)> = crate::architecture::route_table()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/") || p.starts_with("/oauth/") || p.starts_with("/.well-known/"))
        .collect();
    assert_eq!(documented, routed, "documented operations against the route table");
}

/// Sample values for each path's `{id}`: a row of Jane's that the call may read or change.
async fn sample_id(app: &TestApp, path: &str, live_imp: i64) -> String {
    let id = if path.contains("/tickets/") {
        app.first_ticket_of(JANE).await
    } else if path.contains("/invoices/") {
        app.first_invoice_of(JANE, "paid").await
    } else if path.contains("/tasks/") {
        app.tasks_of(JANE).await[0].id
    } else if path.contains("/files/") {
        app.files().await.iter().find(|f| f.client_id == JANE).unwrap().id
    } else if path.contains("/impersonations/") {
        live_imp
    } else {
        JANE
    };
    path.replace("{id}", &id.to_string())
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let app = TestApp::spawn().await;
    let (ok, key, err) = app.cli(&["staff", "api-key", "superadmin@example.com", "--name", "openapi"]).await;
    assert!(ok, "{err}");
    let key = key.trim().to_string();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let exchange_form = |key: &str| {
        [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange".to_string()),
            ("actor_token", key.to_string()),
            ("actor_token_type", "urn:behalf:token-type:api-key".to_string()),
            ("subject_token", JANE.to_string()),
            ("subject_token_type", "urn:behalf:token-type:client-id".to_string()),
            ("scope", "portal:write".to_string()),
        ]
    };
    let exchange = || async {
        let form = exchange_form(&key);
        let r = http.post(format!("{}/oauth/token", app.base)).form(&form).send().await.unwrap();
        r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
    };
    let doc = generated();
    let mut exercised = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            // A fresh session for each call: some operations end it (revoke, end).
            let token = exchange().await;
            let imp = app.latest_impersonation().await.id;
            let url = format!("{}{}", app.base, sample_id(&app, path, imp).await);
            let mut req = http.request(method.to_uppercase().parse().unwrap(), &url);
            match op["security"].as_array().and_then(|s| s[0].as_object()).and_then(|s| s.keys().next().cloned()) {
                Some(s) if s == "token" => req = req.bearer_auth(&token),
                Some(s) if s == "api_key" => req = req.bearer_auth(&key),
                _ => {}
            }
            let body = &op["requestBody"]["content"];
            if let Some(json) = body.get("application/json") {
                // Every property of the body's schema, as text.
                let name = json["schema"]["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                let props = doc["components"]["schemas"][name]["properties"].as_object().unwrap();
                let fields: serde_json::Map<String, Value> =
                    props.keys().map(|k| (k.clone(), Value::from("From the OpenAPI check"))).collect();
                req = req.json(&fields);
            } else if body.get("application/x-www-form-urlencoded").is_some() {
                req = if path == "/oauth/token" {
                    req.form(&exchange_form(&key))
                } else {
                    req.form(&[("token", token.as_str())])
                };
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let documented: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
            assert!(
                status.is_success() && documented.contains(&&status.as_u16().to_string()),
                "{} {path} answered {status}, documented {documented:?}: {}",
                method.to_uppercase(),
                r.text().await.unwrap_or_default()
            );
            exercised += 1;
        }
    }
    assert!(exercised >= 25, "{exercised} operations");
    assert!(app.ticket_replies().await.iter().any(|r| r.body == "From the OpenAPI check"));
}
