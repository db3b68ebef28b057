//! `/admin/outbox`: the e-mail not sent yet, with its attempts and last error, and "Retry now".

use crate::auth::guards::StaffAuth;
use crate::domain::duration::describe_remaining;
use crate::domain::format_time;
use crate::domain::permissions::Permission;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{admin_page, csrf, pager};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// Query of the outbox page.
#[derive(Debug, Deserialize)]
pub struct OutboxQuery {
    page: Option<String>,
    retried: Option<String>,
}

/// `GET /admin/outbox`: queued and failing messages, newest first. Bodies are never shown.
pub async fn list(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<OutboxQuery>) -> AppResult<Markup> {
    auth.require(Permission::SettingsManage)?;
    let counts = state.store.outbox_counts().await?;
    let page = state.store.list_outbox(page_number(&q.page)?, 50).await?;
    let now = crate::domain::now();
    let configured = state.config.smtp_url.is_some();
    Ok(admin_page(
        &auth,
        "Mail outbox",
        html! {
            h1 { "Mail outbox" }
            @if q.retried.is_some() { p.notice role="status" #outbox-retried { "The message is due now; the mailer sends it within a few seconds." } }
            @if !configured { p.notice #outbox-no-smtp { "This node has no SMTP server configured (--smtp-url), so it delivers nothing; another node may." } }
            p #outbox-counts { (counts.backlog) " not sent yet, " (counts.failing) " failing." }
            p.muted { "A failed message is tried again after 30 s, then twice as long after each failure, at most an hour apart, until it is sent." }
            table #outbox tabindex="0" {
                thead { tr { th { "#" } th { "Queued" } th { "To" } th { "Subject" } th { "Attempts" } th { "Last error" } th { "Next attempt" } th { span.visually-hidden { "Retry" } } } }
                tbody {
                    @for m in &page.items {
                        tr id=(format!("outbox-{}", m.id)) {
                            td { (m.id) }
                            td { (format_time(m.created_at)) }
                            td.to { (m.to_email) }
                            td.subject { (m.subject) }
                            td.attempts { (m.attempts) }
                            td.error { (m.last_error.as_deref().unwrap_or("")) }
                            td.next { @if m.next_attempt_at <= now { "due now" } @else { (format_time(m.next_attempt_at)) " (in " (describe_remaining(m.next_attempt_at - now)) ")" } }
                            td {
                                form.inline method="post" action=(format!("/admin/outbox/{}/retry", m.id)) {
                                    (csrf(&auth.csrf_token))
                                    button type="submit" id=(format!("retry-{}", m.id)) { "Retry now" }
                                }
                            }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p #outbox-empty { "Nothing is waiting: every message has been sent." } }
            (pager("/admin/outbox", page.page, page.pages()))
        },
    ))
}

/// `POST /admin/outbox/{id}/retry`: makes one message due now, recorded with the staff member.
pub async fn retry(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require(Permission::SettingsManage)?;
    state.store.retry_mail_now(id, &auth.acting).await?;
    Ok(Redirect::to("/admin/outbox?retried=1").into_response())
}
