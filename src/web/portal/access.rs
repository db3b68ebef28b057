//! Support access: who logged in as this client and when, the consent choice, and ending support access.

use super::{authorize, unprocessable};
use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::domain::format_time;
use crate::domain::impersonation::parse_consent_choice;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::impersonations::ImpersonationFilter;
use crate::web::extract::{page_number, Query};
use crate::web::forms::{CsrfOnly, PageQuery, Post};
use crate::web::layout::{pager, portal_page};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// `POST /account/end-support-access` (sensitive): ends every live impersonation of this account.
pub async fn end_support_access(
    State(state): State<AppState>,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    state.store.end_client_impersonations(&auth.acting).await?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// `POST /account/consent` (sensitive).
pub async fn set_consent(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, ConsentForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    // An unticked checkbox sends nothing: that is a refusal.
    let consent = f.consent.as_deref().unwrap_or(if f.from_checkbox == "1" { "refuse" } else { "" });
    let consent = parse_consent_choice(consent, &f.duration, crate::domain::now())
        .map_err(|m| unprocessable(&auth, "Support access", m))?;
    state.store.set_consent(&auth.acting, consent).await?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// Consent change: either the checkbox form (`from_checkbox=1`, `consent=allow` when ticked) or
/// an explicit `consent` of allow / refuse / unset.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    consent: Option<String>,
    #[serde(default, rename = "for")]
    duration: String,
    #[serde(default)]
    from_checkbox: String,
}

/// `POST /account/access/seen`: the client dismisses the access notices.
pub async fn access_seen(
    State(state): State<AppState>,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    state.store.mark_access_seen(&auth.acting).await?;
    Ok(axum::response::Redirect::to("/dashboard").into_response())
}

/// `GET /account/access`: every Login as Client session of this account, with what was done.
pub async fn access(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<PageQuery>) -> AppResult<Markup> {
    let client = auth.acting.client_id;
    let f = ImpersonationFilter { client: Some(client), ..Default::default() };
    let page = state.store.list_impersonations(&f, page_number(&q.page)?, 20).await?;
    let ids: Vec<i64> = page.items.iter().map(|i| i.id).collect();
    let actions = state.store.impersonation_actions(client, &ids).await?;
    Ok(portal_page(
        &auth,
        "Account access",
        html! {
            h1 { "Who has accessed my account" }
            p { "Every time a member of staff used Login as Client on your account, it is listed here with what they did." }
            table #access tabindex="0" { thead { tr { th { "Who" } th { "When" } th { "How long" } th { "Why" } th { "Mode" } th { "What was done" } } }
                tbody { @for i in &page.items { tr {
                    td { (i.staff_name) @if i.channel == "api" { span.muted { " (through a support tool)" } } }
                    td { (format_time(i.started_at)) }
                    td { @if let Some(e) = i.ended_at { (crate::domain::duration::describe_remaining(e - i.started_at)) } @else { "still open" } }
                    td { (reason_text(&i.reason)) }
                    td { (mode_label(&i.mode)) }
                    td.actions-taken {
                        @let done: Vec<_> = actions.iter().filter(|a| a.0 == i.id).collect();
                        @if done.is_empty() { "Looked only; changed nothing." } @else {
                            ul { @for a in done { li { (format_time(a.1)) ": " (a.2) @if !a.3.is_empty() { " (" (a.3) ")" } } } }
                        }
                    }
                } } } }
            (pager("/account/access", page.page, page.pages()))
        },
    ))
}

pub(crate) fn reason_text(reason: &str) -> &str {
    if reason.is_empty() {
        "no reason given"
    } else {
        reason
    }
}

pub(crate) fn mode_label(mode: &str) -> &'static str {
    crate::domain::impersonation::Mode::parse(mode).map(|m| m.label()).unwrap_or("unknown mode")
}
