//! `/admin/settings`: every impersonation setting, validated together, recorded when changed.

use crate::auth::guards::StaffAuth;
use crate::domain::permissions::Permission;
use crate::domain::settings::{validate, DEFS};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::Query;
use crate::web::forms::Post;
use crate::web::layout::{admin_page, alert, csrf};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// Query of the settings page.
#[derive(Debug, Deserialize)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// The choices a select offers for a key, or none for a free text field.
fn choices(key: &str) -> Option<&'static [&'static str]> {
    match key {
        "impersonation.enabled" | "impersonation.require_reason" | "impersonation.notify_client" => {
            Some(&["true", "false"])
        }
        "impersonation.consent" => Some(&["not_required", "opt_in", "opt_out"]),
        "impersonation.default_mode" => Some(&["read_only", "full"]),
        "impersonation.store_selection" => Some(&["automatic", "manual"]),
        "security.staff_2fa" => Some(&["off", "impersonators", "all"]),
        _ => None,
    }
}

fn field_id(key: &str) -> String {
    format!("setting-{}", key.replace('.', "-"))
}

fn page(auth: &StaffAuth, values: &HashMap<String, String>, errors: &HashMap<String, String>, saved: bool) -> Markup {
    admin_page(
        auth,
        "Settings",
        html! {
            h1 { "Settings" }
            p { "Outgoing e-mail, and any that failed: " a #outbox-link href="/admin/outbox" { "Mail outbox" } "." }
            @if saved { p.notice role="status" #settings-saved { "Settings saved. They apply from the next request." } }
            @if !errors.is_empty() { (alert("Some values are not valid; nothing was saved. Correct them and save again.")) }
            form #settings-form method="post" action="/admin/settings" {
                (csrf(&auth.csrf_token))
                @for d in DEFS {
                    @let value = values.get(d.key).map(String::as_str).unwrap_or(d.default);
                    @let id = field_id(d.key);
                    label for=(id) { code { (d.key) } }
                    @if let Some(options) = choices(d.key) {
                        select id=(id) name=(d.key) {
                            @if !options.contains(&value) { option value=(value) selected { (value) } }
                            @for o in options { option value=(o) selected[*o == value] { (o) } }
                        }
                    } @else {
                        input id=(id) type="text" name=(d.key) value=(value) maxlength="20";
                    }
                    @if let Some(e) = errors.get(d.key) { p.message role="alert" id=(format!("{id}-error")) { (e) } }
                    p.muted { (d.help) " (default " (d.default) ")" }
                }
                p { button #save-settings type="submit" { "Save settings" } }
            }
        },
    )
}

/// `GET /admin/settings`.
pub async fn show(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<SettingsQuery>) -> AppResult<Markup> {
    auth.require(Permission::SettingsManage)?;
    let values: HashMap<String, String> = state.store.setting_pairs().await?.into_iter().collect();
    Ok(page(&auth, &values, &HashMap::new(), q.saved.is_some()))
}

/// `POST /admin/settings`: validates every field first; saves only if all are valid.
pub async fn save(
    State(state): State<AppState>,
    Post { auth, form: fields }: Post<StaffAuth, Vec<(String, String)>>,
) -> AppResult<Response> {
    auth.require(Permission::SettingsManage)?;
    let current: HashMap<String, String> = state.store.setting_pairs().await?.into_iter().collect();
    let mut typed = HashMap::new();
    let mut errors = HashMap::new();
    let mut valid = Vec::new();
    for d in DEFS {
        let Some(raw) = fields.iter().find(|(k, _)| k == d.key).map(|(_, v)| v) else { continue };
        typed.insert(d.key.to_string(), raw.chars().take(200).collect::<String>());
        match validate(d.key, raw) {
            Ok(v) => valid.push((d.key, v)),
            Err(e) => {
                errors.insert(d.key.to_string(), e);
            }
        }
    }
    if !errors.is_empty() {
        let mut values = current;
        values.extend(typed);
        return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page(&auth, &values, &errors, false)));
    }
    for (key, value) in valid {
        let old = current
            .get(key)
            .cloned()
            .unwrap_or_else(|| DEFS.iter().find(|d| d.key == key).map(|d| d.default.to_string()).unwrap_or_default());
        if old != value {
            state.store.set_setting(key, &value, &auth.acting).await?;
        }
    }
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}
