//! The client's dashboard, services and invoice list.

use super::access::{mode_label, reason_text};
use crate::auth::guards::PortalAuth;
use crate::domain::modules::Module;
use crate::domain::{format_date, format_money, format_time};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::extract::{page_number, Query};
use crate::web::forms::PageQuery;
use crate::web::layout::{csrf, pager, portal_page};
use axum::extract::State;
use maud::{html, Markup};

/// `GET /invoices`.
pub async fn invoices(
    State(state): State<AppState>,
    auth: PortalAuth,
    Query(q): Query<PageQuery>,
) -> AppResult<Markup> {
    auth.require_module(Module::Invoices)?;
    let page = state.store.invoices(auth.acting.client_id, page_number(&q.page)?, 20).await?;
    Ok(portal_page(
        &auth,
        "Invoices",
        html! {
            h1 { "Invoices" }
            table #invoices { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Issued" } th { "Due" } } }
                tbody { @for i in &page.items { tr { td { a href=(format!("/invoices/{}", i.id)) { (i.number) } } td { (i.status) } td { (format_money(i.total_cents, &i.currency)) } td { (format_date(i.issued_at)) } td { (format_date(i.due_at)) } } } } }
            (pager("/invoices", page.page, page.pages()))
        },
    ))
}

/// `GET /services`.
pub async fn services(State(state): State<AppState>, auth: PortalAuth) -> AppResult<Markup> {
    auth.require_module(Module::Services)?;
    let list = state.store.services(auth.acting.client_id).await?;
    Ok(portal_page(
        &auth,
        "Services",
        html! {
            h1 { "Services" }
            table #services { thead { tr { th { "Name" } th { "Product" } th { "Status" } th { "Price" } th { "Next due" } } }
                tbody { @for s in &list { tr { td { (s.name) } td { (s.product) } td { (s.status) } td { (format_money(s.price_cents, "USD")) " / " (s.billing_cycle) } td { (s.next_due_at.map(format_date).unwrap_or_default()) } } } } }
        },
    ))
}

/// `GET /dashboard`.
pub async fn dashboard(State(state): State<AppState>, auth: PortalAuth) -> AppResult<Markup> {
    let s = state.store.dashboard_summary(auth.acting.client_id).await?;
    let a = &auth.acting;
    // Only the client's own session sees (and may dismiss) the notices; staff never do.
    let notices = if s.unseen_access > 0 && auth.acting.impersonation.is_none() {
        state.store.unseen_access(auth.acting.client_id).await?
    } else {
        Vec::new()
    };
    Ok(portal_page(
        &auth,
        "Dashboard",
        html! {
            @if !notices.is_empty() {
                div.notice #access-notice role="status" {
                    p { strong { "Support staff accessed your account." } }
                    ul { @for i in &notices {
                        li { (i.staff_name) " on " (format_time(i.started_at)) ", " (mode_label(&i.mode)) ". Reason: " (reason_text(&i.reason)) "." }
                    } }
                    p { a href="/account/access" { "See what was done" } " · you can end support access at any time on " a href="/account" { "your account page" } "." }
                    form.inline method="post" action="/account/access/seen" {
                        (csrf(&auth.csrf_token))
                        button #dismiss-access-notice type="submit" { "Dismiss" }
                    }
                }
            }
            h1 { "Hello, " (auth.acting.client_name) }
            div.cards {
                @if a.shows(Module::Services) { div.card { div.figure #active-services { (s.active_services) } a href="/services" { "active services" } } }
                @if a.shows(Module::Invoices) {
                    div.card { div.figure #unpaid-invoices { (s.unpaid_invoices) } a href="/invoices" { "unpaid invoices" } }
                    div.card {
                        div.figure #amount-due {
                            @if s.due_currencies > 1 { "in " (s.due_currencies) " currencies" }
                            @else { (format_money(s.amount_due_cents, s.due_currency.as_deref().or(a.store.as_ref().map(|st| st.currency.as_str())).unwrap_or("USD"))) }
                        }
                        "amount due"
                    }
                }
                @if a.shows(Module::Tickets) { div.card { div.figure #open-tickets { (s.open_tickets) } a href="/tickets" { "open tickets" } } }
                @if a.shows(Module::Orders) { div.card { div.figure { (s.orders) } a href="/orders" { "orders" } } }
            }
        },
    ))
}
