//! Support tickets: the list, opening one, reading it and replying.

use super::authorize;
use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::domain::format_time;
use crate::domain::lists::{StatusFilter, TicketStatus};
use crate::domain::modules::Module;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::portal::{Reply, MAX_BODY_CHARS, MAX_SUBJECT_CHARS};
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::{checked_body, checked_ticket, BodyForm, Post, StatusQuery};
use crate::web::layout::{alert, filtered, pager, portal_page, status_links};
use crate::web::portal::controls::controls;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// `POST /tickets/{id}/replies`.
pub async fn reply(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<PortalAuth, BodyForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Tickets)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let body = match checked_body(&f.body, MAX_BODY_CHARS, "reply") {
        Ok(body) => body,
        Err(msg) => {
            let (t, replies) = state.store.ticket(id, Some(auth.acting.client_id)).await?;
            let page = ticket_page(&auth, &t, &replies, &f.body, Some(&msg));
            return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    state.store.reply_to_ticket(&auth.acting, id, body).await?;
    Ok(axum::response::Redirect::to(&format!("/tickets/{id}")).into_response())
}

/// `GET /tickets/{id}`.
pub async fn ticket(State(state): State<AppState>, auth: PortalAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require_module(Module::Tickets)?;
    let (t, replies) = state.store.ticket(id, Some(auth.acting.client_id)).await?;
    Ok(ticket_page(&auth, &t, &replies, "", None))
}

fn ticket_page(
    auth: &PortalAuth,
    t: &crate::store::portal::Ticket,
    replies: &[Reply],
    draft: &str,
    error: Option<&str>,
) -> Markup {
    portal_page(
        auth,
        &t.subject,
        html! {
            h1 { (t.subject) }
            p.muted { "Ticket #" (t.id) " · " (t.status) }
            @for r in replies {
                div.reply {
                    div.meta.author { (crate::web::attribution::reply_author_portal(r)) " · " (format_time(r.created_at)) }
                    div.body { (r.body) }
                }
            }
            h2 { "Reply" }
            @if let Some(e) = error { (alert(e)) }
            form method="post" action=(format!("/tickets/{}/replies", t.id)) {
                (controls(auth, WriteKind::Ordinary, html! {
                    textarea #reply-body name="body" required { (draft) }
                    p { button #send-reply type="submit" { "Send reply" } }
                }))
            }
        },
    )
}

/// `POST /tickets`.
pub async fn create_ticket(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, TicketForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Tickets)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let (subject, body) = match checked_ticket(&f.subject, &f.body) {
        Ok(v) => v,
        Err(msg) => {
            return Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                portal_page(
                    &auth,
                    "Open a ticket",
                    html! { (alert(&msg)) (new_ticket_form(&auth, &f.subject, &f.body)) },
                ),
            ));
        }
    };
    let id = state.store.create_ticket(&auth.acting, subject, body).await?;
    Ok(axum::response::Redirect::to(&format!("/tickets/{id}")).into_response())
}

/// A new ticket.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

/// `GET /tickets`, most recently updated first; `?status=open` shows the tickets not closed
/// (`closed` the others), and an unknown status answers 400.
pub async fn tickets(
    State(state): State<AppState>,
    auth: PortalAuth,
    Query(q): Query<StatusQuery>,
) -> AppResult<Markup> {
    auth.require_module(Module::Tickets)?;
    let status = TicketStatus::from_query(q.status.as_deref()).map_err(AppError::bad_request)?;
    let page = state.store.tickets(auth.acting.client_id, status, page_number(&q.page)?, 20).await?;
    let title = match status {
        Some(TicketStatus::Open) => "Open tickets",
        Some(TicketStatus::Closed) => "Closed tickets",
        None => "Tickets",
    };
    Ok(portal_page(
        &auth,
        title,
        html! {
            h1 { (title) }
            (status_links("/tickets", status))
            @if page.items.is_empty() {
                p #no-tickets { @match status { Some(s) => { "You have no " (s.as_str()) " tickets." } None => { "You have no tickets yet." } } }
            } @else {
                table #tickets tabindex="0" { thead { tr { th { "Subject" } th { "Status" } th { "Updated" } } }
                    tbody { @for t in &page.items { tr { td { a href=(format!("/tickets/{}", t.id)) { (t.subject) } } td { (t.status) } td { (format_time(t.updated_at)) } } } } }
            }
            (pager(&filtered("/tickets", status), page.page, page.pages()))
            (new_ticket_form(&auth, "", ""))
        },
    ))
}

fn new_ticket_form(auth: &PortalAuth, subject: &str, body: &str) -> Markup {
    html! {
        h2 { "Open a ticket" }
        form method="post" action="/tickets" {
            (controls(auth, WriteKind::Ordinary, html! {
                label for="subject" { "Subject" }
                input #subject type="text" name="subject" value=(subject) maxlength=(MAX_SUBJECT_CHARS) required;
                label for="body" { "Message" }
                textarea #body name="body" required { (body) }
                p { button #open-ticket type="submit" { "Open ticket" } }
            }))
        }
    }
}
