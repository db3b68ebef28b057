//! `/admin/webhooks` (`settings.manage`): the endpoints security teams receive signed events at,
//! each with its secret (shown once) and the events it wants; **Send test event**; removing an
//! endpoint; and the delivery log with each attempt's status.

use crate::auth::guards::StaffAuth;
use crate::domain::format_time;
use crate::domain::permissions::Permission;
use crate::domain::webhooks::{endpoint_url, events_text, new_secret, parse_events, EventType};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::webhooks::NewEndpoint;
use crate::web::extract::{Id, Query};
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{admin_page, alert, csrf};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// Query of the page: what was just done.
#[derive(Debug, Deserialize)]
pub struct WebhooksQuery {
    tested: Option<String>,
    removed: Option<String>,
}

/// `GET /admin/webhooks`.
pub async fn list(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<WebhooksQuery>) -> AppResult<Markup> {
    auth.require(Permission::SettingsManage)?;
    let notice = if q.tested.is_some() {
        Some("A test event is queued; it shows in the delivery log below within seconds.")
    } else if q.removed.is_some() {
        Some("The endpoint was removed: nothing more is sent to it.")
    } else {
        None
    };
    page(&state, &auth, notice, None, None, &HashMap::new()).await
}

/// `POST /admin/webhooks`: `url`, `description` and one `event.TYPE=on` per event wanted.
pub async fn add(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<StaffAuth, HashMap<String, String>>,
) -> AppResult<Response> {
    auth.require(Permission::SettingsManage)?;
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let description = field("description").trim();
    let checked = f.keys().filter_map(|k| k.strip_prefix("event."));
    let problem = match (endpoint_url(field("url")), parse_events(checked)) {
        (Err(e), _) => Err(e.to_string()),
        (_, Err(e)) => Err(e),
        (Ok(_), Ok(_)) if description.chars().count() > 200 => {
            Err("The description may have at most 200 characters.".into())
        }
        (Ok(url), Ok(events)) => Ok((url, events)),
    };
    let (url, events) = match problem {
        Ok(v) => v,
        Err(msg) => {
            return Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &auth, None, Some(&msg), None, &f).await?,
            ))
        }
    };
    let secret = new_secret();
    let new = NewEndpoint { url: &url, secret: &secret, events: &events_text(&events), description };
    state.store.add_webhook(&new, &auth.acting).await?;
    Ok(page(&state, &auth, None, None, Some(&secret), &HashMap::new()).await?.into_response())
}

/// `POST /admin/webhooks/{id}/test`: **Send test event**.
pub async fn test(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require(Permission::SettingsManage)?;
    state.store.send_test_webhook(id, &auth.acting).await?;
    Ok(Redirect::to("/admin/webhooks?tested=1").into_response())
}

/// `POST /admin/webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require(Permission::SettingsManage)?;
    state.store.delete_webhook(id, &auth.acting).await?;
    Ok(Redirect::to("/admin/webhooks?removed=1").into_response())
}

async fn page(
    state: &AppState,
    auth: &StaffAuth,
    notice: Option<&str>,
    error: Option<&str>,
    new_secret: Option<&str>,
    f: &HashMap<String, String>,
) -> AppResult<Markup> {
    let endpoints = state.store.webhooks().await?;
    let deliveries = state.store.webhook_deliveries(100).await?;
    let now = crate::domain::now();
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    Ok(admin_page(
        auth,
        "Webhooks",
        html! {
            h1 { "Webhooks" }
            p.muted { "Each event is signed as Standard Webhooks says (the webhook-id, webhook-timestamp and webhook-signature headers, HMAC-SHA256 with the endpoint's secret), written in the same transaction as what it reports, and tried again with backoff for 24 hours until the endpoint answers 2xx." }
            @if let Some(n) = notice { p.notice role="status" #webhooks-notice { (n) } }
            @if let Some(secret) = new_secret {
                div.notice role="status" {
                    p { "The endpoint's signing secret. Copy it into the receiver now: it is not shown again." }
                    p { code #new-webhook-secret { (secret) } }
                }
            }
            h2 { "Endpoints" }
            @if endpoints.is_empty() {
                p #no-webhooks { "No endpoints yet." }
            } @else {
                table #webhooks tabindex="0" {
                    thead { tr { th { "URL" } th { "Events" } th { "Description" } th { "Added" } th { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for e in &endpoints {
                            tr id=(format!("webhook-{}", e.id)) {
                                td { code { (e.url) } }
                                td { (e.events.replace(',', ", ")) }
                                td { (e.description) }
                                td { (format_time(e.created_at)) }
                                td {
                                    form.inline method="post" action=(format!("/admin/webhooks/{}/test", e.id)) {
                                        (csrf(&auth.csrf_token))
                                        button type="submit" id=(format!("test-webhook-{}", e.id)) { "Send test event" }
                                    }
                                    form.inline method="post" action=(format!("/admin/webhooks/{}/delete", e.id)) {
                                        (csrf(&auth.csrf_token))
                                        button type="submit" id=(format!("delete-webhook-{}", e.id)) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Add an endpoint" }
            @if let Some(e) = error { (alert(e)) }
            form #add-webhook method="post" action="/admin/webhooks" {
                (csrf(&auth.csrf_token))
                label for="webhook-url" { "URL" }
                input #webhook-url type="url" name="url" value=(field("url")) required placeholder="https://siem.example.com/behalf";
                label for="webhook-description" { "Description (optional)" }
                input #webhook-description type="text" name="description" value=(field("description")) maxlength="200";
                fieldset {
                    legend { "Events" }
                    @for ev in EventType::CHOOSABLE {
                        label.checkbox {
                            input type="checkbox" id=(format!("event-{}", ev.as_str().replace('.', "-"))) name=(format!("event.{}", ev.as_str())) value="on" checked[f.contains_key(&format!("event.{}", ev.as_str()))];
                            " " (ev.as_str())
                        }
                    }
                }
                p { button #add-webhook-button type="submit" { "Add endpoint" } }
            }
            h2 { "Delivery log" }
            @if deliveries.is_empty() {
                p #no-deliveries { "Nothing delivered yet." }
            } @else {
                table #webhook-deliveries tabindex="0" {
                    thead { tr { th { "#" } th { "Event" } th { "Endpoint" } th { "Queued" } th { "State" } th { "Attempts" } th { "Last response" } th { "Next attempt" } } }
                    tbody {
                        @for d in &deliveries {
                            tr id=(format!("delivery-{}", d.id)) {
                                td { (d.id) }
                                td.event { (d.event_type) }
                                td { code { (d.url) } }
                                td { (format_time(d.created_at)) }
                                td.state { @if d.delivered_at.is_some() { "delivered" } @else if d.gave_up_at.is_some() { "given up" } @else if d.attempts == 0 { "queued" } @else { "retrying" } }
                                td.attempts { (d.attempts) }
                                td.response { @if let Some(s) = d.last_status { (s) " " } (d.last_error.as_deref().unwrap_or("")) }
                                td { @if d.delivered_at.is_none() && d.gave_up_at.is_none() { @if d.next_attempt_at <= now { "due now" } @else { (format_time(d.next_attempt_at)) } } }
                            }
                        }
                    }
                }
            }
        },
    ))
}
