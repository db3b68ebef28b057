//! Portal subscription pages: the client's subscriptions, one subscription, and cancelling it at
//! the end of the period (or resuming it before then).

use super::controls::controls;
use super::{authorize, PageQuery};
use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::domain::modules::Module;
use crate::domain::{format_date, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::subscriptions::Subscription;
use crate::store::StoreError;
use crate::web::attribution::on_your_behalf;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::CsrfOnly;
use crate::web::forms::Post;
use crate::web::layout::{alert, pager, portal_page};
use crate::web::views::price_label;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

/// What the "next charge" column says: the date, or when it cancels instead.
fn next_charge(s: &Subscription, now: i64) -> Markup {
    html! {
        @if s.cancelling(now) {
            span.cancels { "Cancels on " (format_date(s.current_period_end)) }
        } @else if s.status_at(now) == "active" {
            (format_date(s.current_period_end))
        } @else {
            "—"
        }
    }
}

/// `GET /subscriptions`.
pub async fn list(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<PageQuery>) -> AppResult<Markup> {
    auth.require_module(Module::Subscriptions)?;
    let page = state.store.subscriptions(auth.acting.client_id, page_number(&q.page)?, 20).await?;
    let now = crate::domain::now();
    Ok(portal_page(
        &auth,
        "Subscriptions",
        html! {
            h1 { "Subscriptions" }
            @if page.items.is_empty() { p #no-subscriptions { "You have no subscriptions." } }
            table #subscriptions tabindex="0" {
                thead { tr { th { "Name" } th { "Price" } th { "Status" } th { "Next charge" } } }
                tbody { @for s in &page.items { tr data-id=(s.id) {
                    td { a href=(format!("/subscriptions/{}", s.id)) { (s.name) } }
                    td { (price_label(s)) }
                    td { (s.status_at(now)) }
                    td { (next_charge(s, now)) }
                } } }
            }
            (pager("/subscriptions", page.page, page.pages()))
        },
    ))
}

fn detail_page(auth: &PortalAuth, s: &Subscription, error: Option<&str>) -> Markup {
    let now = crate::domain::now();
    portal_page(
        auth,
        &s.name,
        html! {
            h1 { (s.name) }
            @if let Some(e) = error { (alert(e)) }
            dl.details {
                dt { "Price" } dd #subscription-price { (price_label(s)) }
                dt { "Status" } dd #subscription-status { (s.status_at(now)) }
                dt { "Started" } dd { (format_date(s.started_at)) }
                @if s.cancelling(now) {
                    dt { "Next charge" } dd #cancels-on { "Cancels on " (format_date(s.current_period_end)) }
                } @else if s.status_at(now) == "active" {
                    dt { "Next charge" } dd #next-charge { (format_date(s.current_period_end)) }
                }
                @if let Some(at) = s.cancelled_at {
                    dt { "Cancelled" } dd #cancelled-by {
                        (format_time(at))
                        (on_your_behalf(s.cancelled_by_staff_name.as_deref()))
                    }
                }
            }
            @if s.cancelling(now) {
                form method="post" action=(format!("/subscriptions/{}/resume", s.id)) {
                    (controls(auth, WriteKind::Ordinary, html! {
                        p { button #resume-subscription type="submit" { "Keep this subscription" } }
                    }))
                }
            } @else if s.status_at(now) == "active" {
                form method="post" action=(format!("/subscriptions/{}/cancel", s.id)) {
                    p { "Cancelling stops the subscription at the end of the current period, on " (format_date(s.current_period_end)) ". Until then it keeps running." }
                    (controls(auth, WriteKind::Ordinary, html! {
                        p { button.danger #cancel-subscription type="submit" { "Cancel at period end" } }
                    }))
                }
            }
            p { a href="/subscriptions" { "All subscriptions" } }
        },
    )
}

/// `GET /subscriptions/{id}`: only the acting client's own subscription; any other id is 404.
pub async fn show(State(state): State<AppState>, auth: PortalAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require_module(Module::Subscriptions)?;
    let s = state.store.subscription(id, Some(auth.acting.client_id)).await?;
    Ok(detail_page(&auth, &s, None))
}

/// Cancels (`resume` false) or resumes one of the acting client's subscriptions, an ordinary
/// write; a refused change shows the subscription page with the reason, as a 409.
async fn change(state: AppState, auth: PortalAuth, id: i64, resume: bool) -> AppResult<Response> {
    auth.require_module(Module::Subscriptions)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let changed = if resume {
        state.store.resume_subscription(&auth.acting, id).await
    } else {
        state.store.cancel_subscription(&auth.acting, id).await
    };
    match changed {
        Ok(()) => Ok(Redirect::to(&format!("/subscriptions/{id}")).into_response()),
        Err(StoreError::Conflict(msg)) => {
            let s = state.store.subscription(id, Some(auth.acting.client_id)).await?;
            Err(AppError::Page(StatusCode::CONFLICT, detail_page(&auth, &s, Some(&msg.to_string()))))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /subscriptions/{id}/cancel`: cancel at period end (an ordinary write).
pub async fn cancel(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    change(state, auth, id, false).await
}

/// `POST /subscriptions/{id}/resume`: undoes a cancellation before the period ends.
pub async fn resume(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    change(state, auth, id, true).await
}
