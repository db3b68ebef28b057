//! Login as Client pieces the client pages and the log share: the button and start form with why
//! they are disabled (shown on the client list, the client record and every staff page about one
//! client, all posting to the start handler in `impersonations.rs`), and the table of sessions.

use crate::auth::guards::StaffAuth;
use crate::domain::format_time;
use crate::domain::impersonation::{may_start, Consent, Refusal, TargetClient};
use crate::domain::permissions::{Grants, Permission};
use crate::domain::settings::Settings;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::impersonations::Impersonation;
use crate::web::layout::csrf;
use maud::{html, Markup};
use serde::Deserialize;

/// The Login as Client start form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    pub csrf_token: String,
    pub mode: Option<String>,
    #[serde(default)]
    pub reason: String,
    pub store: Option<String>,
    pub next: Option<String>,
    /// The step-up answer (code or password) when the session's last check is too old.
    pub reauth: Option<String>,
}

/// Why the Login as Client button is disabled, if it is: the start rule's own answer before
/// anything is asked. Staff without the permission see no button, so that refusal is no reason.
pub(crate) fn start_blocker(
    grants: &Grants,
    settings: &Settings,
    active: bool,
    consent: Consent,
    now: i64,
) -> Option<&'static str> {
    match may_start(grants, settings, &TargetClient { active, consent, stores: &[] }, now) {
        Ok(()) | Err(Refusal::NoPermission) => None,
        Err(refusal) => Some(refusal.message()),
    }
}

/// The quick Login as Client button for one client, loading what it needs.
pub async fn quick_login_for(state: &AppState, auth: &StaffAuth, client_id: i64, next: &str) -> AppResult<Markup> {
    if !auth.grants.has(Permission::ClientsImpersonate) {
        return Ok(html! {});
    }
    let c = state.store.client(client_id).await?;
    let settings = state.store.settings().await?;
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    Ok(quick_login_button(auth, &settings, c.id, c.active, consent, next))
}

/// A compact Login as Client button for the places the admin side shows a client (list rows,
/// order, invoice and ticket pages). It posts to the same start endpoint as the record's form, so
/// the same rules apply: blocked here, it is disabled with the reason; when a reason or a store
/// must still be given, the endpoint answers with the record's full form and the message.
/// `next` is the portal page to open, such as `/invoices/7`.
pub fn quick_login_button(
    auth: &StaffAuth,
    settings: &Settings,
    client_id: i64,
    active: bool,
    consent: Consent,
    next: &str,
) -> Markup {
    if !auth.grants.has(Permission::ClientsImpersonate) {
        return html! {};
    }
    let blocker = start_blocker(&auth.grants, settings, active, consent, crate::domain::now());
    html! {
        form.inline.quick-login method="post" action=(format!("/admin/clients/{client_id}/impersonate")) {
            (csrf(&auth.csrf_token))
            input type="hidden" name="next" value=(next);
            button.login-as-client type="submit" data-client=(client_id) disabled[blocker.is_some()] title=[blocker] { "Login as Client" }
        }
    }
}

/// The table of sessions, shared with the client record.
pub fn table(auth: &StaffAuth, items: &[Impersonation]) -> Markup {
    let can_end = auth.grants.has(Permission::ImpersonationSessionsEnd);
    html! {
        table.impersonations tabindex="0" {
            thead { tr { th { "#" } th { "Staff" } th { "Client" } th { "Store" } th { "Reason" } th { "Mode" } th { "IP" }
                th { "Started" } th { "Last seen" } th { "Ended" } th { "End reason" } th { "Actions" } th { span.visually-hidden { "End" } } } }
            tbody {
                @for i in items {
                    tr {
                        td { (i.id) }
                        td { (i.staff_name) }
                        td { a href=(format!("/admin/clients/{}", i.client_id)) { (i.client_name) } }
                        td { (i.store_name.as_deref().unwrap_or("")) }
                        td.reason { (i.reason) }
                        td { (i.mode) @if i.channel == "api" { " · API" } }
                        td { (i.ip) }
                        td { (format_time(i.started_at)) }
                        td { (format_time(i.last_seen_at)) }
                        td { @if let Some(e) = i.ended_at { (format_time(e)) } @else { span.badge.live { "live" } } }
                        td.end-reason { (i.end_reason.as_deref().unwrap_or("")) }
                        td { (i.actions) }
                        td {
                            @if can_end && i.ended_at.is_none() {
                                form.inline method="post" action=(format!("/admin/impersonations/{}/end", i.id)) {
                                    (csrf(&auth.csrf_token))
                                    button.danger type="submit" { "End" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
