//! `/admin/account/api-keys`: a staff member's own API keys. A new key is shown once, on the
//! page that made it; the list shows each key's name, start, expiry and last use, and Revoke.

use super::step_up::Guarded;
use crate::auth::api_keys::{issue_api_key, IssueError};
use crate::auth::guards::StaffAuth;
use crate::domain::format_time;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Id, Query};
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{admin_page, alert, csrf};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// The form that makes a key.
#[derive(Debug, Deserialize, Default)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires: String,
    /// The step-up's answer, when the session's last check is old.
    reauth: Option<String>,
}

/// Query of the page: `?revoked=1` after a revocation.
#[derive(Debug, Deserialize)]
pub struct KeysQuery {
    revoked: Option<String>,
}

/// `GET /admin/account/api-keys`.
pub async fn list(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<KeysQuery>) -> AppResult<Markup> {
    let notice = q.revoked.is_some().then_some("The key was revoked: it opens nothing from now on.");
    page(&state, &auth, None, notice, None, &NewKeyForm::default()).await
}

/// `POST /admin/account/api-keys`: makes a key and shows it once. A key can start Login as
/// Client, so making one asks for the same fresh check as the button does.
pub async fn create(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<StaffAuth, NewKeyForm>,
) -> AppResult<Response> {
    let settings = state.store.settings().await?;
    let guarded = Guarded {
        action: "/admin/account/api-keys".into(),
        fields: vec![("name", f.name.as_str()), ("expires", f.expires.as_str())],
        doing: "make an API key",
        button: "Confirm and make the key",
        answer: f.reauth.as_deref(),
        what: "making an API key".into(),
    };
    if let Some(ask) = super::step_up::step_up(&state, &auth, &settings, &guarded).await? {
        return Ok(ask);
    }
    match issue_api_key(&state.store, auth.staff.id, &f.name, &f.expires, &auth.acting).await {
        Ok(key) => Ok(page(&state, &auth, Some(&key), None, None, &NewKeyForm::default()).await?.into_response()),
        Err(IssueError::Invalid(msg)) => {
            Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page(&state, &auth, None, None, Some(msg), &f).await?))
        }
        Err(IssueError::Store(e)) => Err(e.into()),
    }
}

/// `POST /admin/account/api-keys/{id}/revoke`: only the key's owner revokes it here.
pub async fn revoke(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    state.store.revoke_api_key(auth.staff.id, id, &auth.acting).await?;
    Ok(Redirect::to("/admin/account/api-keys?revoked=1").into_response())
}

async fn page(
    state: &AppState,
    auth: &StaffAuth,
    new_key: Option<&str>,
    notice: Option<&str>,
    error: Option<&str>,
    f: &NewKeyForm,
) -> AppResult<Markup> {
    let keys = state.store.api_keys_of(auth.staff.id).await?;
    let now = crate::domain::now();
    Ok(admin_page(
        auth,
        "API keys",
        html! {
            h1 { "API keys" }
            p.muted { "A key acts with your role (" (auth.staff.role_name) ") through the API: Login as Client by token exchange at /oauth/token and the staff endpoints. Disabling your account or changing your role applies to your keys at once." }
            @if let Some(key) = new_key {
                div.notice role="status" {
                    p { "Your new key. Copy it now: it is not shown again, and only its fingerprint is kept." }
                    p { code #new-api-key { (key) } }
                }
            }
            @if let Some(n) = notice { p.notice role="status" #keys-notice { (n) } }
            h2 { "New key" }
            @if let Some(e) = error { (alert(e)) }
            form method="post" action="/admin/account/api-keys" {
                (csrf(&auth.csrf_token))
                label for="key-name" { "Name" }
                input #key-name type="text" name="name" value=(f.name) maxlength="100" required placeholder="Support desk integration";
                label for="key-expires" { "Last day it works (optional)" }
                input #key-expires type="date" name="expires" value=(f.expires);
                p { button #create-api-key type="submit" { "Create key" } }
            }
            h2 { "Your keys" }
            @if keys.is_empty() {
                p #no-api-keys { "You have no API keys." }
            } @else {
                table #api-keys tabindex="0" {
                    thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "Expires" } th { "Last used" } th { "State" } th { span.visually-hidden { "Revoke" } } } }
                    tbody {
                        @for k in &keys {
                            tr id=(format!("api-key-{}", k.id)) {
                                td { (k.name) }
                                td { code { (k.prefix) "…" } }
                                td { (format_time(k.created_at)) }
                                td { (k.expires_at.map(format_time).unwrap_or_else(|| "never".into())) }
                                td { @match (k.last_used_at, &k.last_used_ip) { (Some(t), Some(ip)) => { (format_time(t)) " from " (ip) } _ => { "never" } } }
                                td.state { @if k.revoked_at.is_some() { "revoked" } @else if k.is_live(now) { "active" } @else { "expired" } }
                                td {
                                    @if k.revoked_at.is_none() {
                                        form.inline method="post" action=(format!("/admin/account/api-keys/{}/revoke", k.id)) {
                                            (csrf(&auth.csrf_token))
                                            button type="submit" id=(format!("revoke-api-key-{}", k.id)) { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
