//! The client's dashboard, services and invoice list.

use super::access::{mode_label, reason_text};
use crate::auth::guards::PortalAuth;
use crate::domain::lists::{noun, InvoiceStatus, StatusFilter};
use crate::domain::modules::Module;
use crate::domain::{format_date, format_money, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{page_number, Query};
use crate::web::forms::StatusQuery;
use crate::web::layout::{csrf, filtered, pager, portal_page, status_links};
use axum::extract::State;
use maud::{html, Markup};

/// `GET /invoices`, newest first; `?status=unpaid` (or `paid`, `cancelled`) shows only those,
/// and an unknown status answers 400.
pub async fn invoices(
    State(state): State<AppState>,
    auth: PortalAuth,
    Query(q): Query<StatusQuery>,
) -> AppResult<Markup> {
    auth.require_module(Module::Invoices)?;
    let status = InvoiceStatus::from_query(q.status.as_deref()).map_err(AppError::bad_request)?;
    let page = state.store.invoices(auth.acting.client_id, status, page_number(&q.page)?, 20).await?;
    let title = match status {
        Some(s) => format!("{} invoices", capitalized(s.as_str())),
        None => "Invoices".to_string(),
    };
    Ok(portal_page(
        &auth,
        &title,
        html! {
            h1 { (title) }
            (status_links("/invoices", status))
            @if page.items.is_empty() {
                p #no-invoices { @match status { Some(s) => { "You have no " (s.as_str()) " invoices." } None => { "You have no invoices yet." } } }
            } @else {
                table #invoices tabindex="0" { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Issued" } th { "Due" } } }
                    tbody { @for i in &page.items { tr { td { a href=(format!("/invoices/{}", i.id)) { (i.number) } } td { (i.status) } td { (format_money(i.total_cents, &i.currency)) } td { (format_date(i.issued_at)) } td { (format_date(i.due_at)) } } } } }
            }
            (pager(&filtered("/invoices", status), page.page, page.pages()))
        },
    ))
}

/// `word` with its first letter in capitals, for a heading.
pub(super) fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
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
            table #services tabindex="0" { thead { tr { th { "Name" } th { "Product" } th { "Status" } th { "Price" } th { "Next due" } } }
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
                @if a.shows(Module::Services) { div.card { div.figure #active-services { (s.active_services) } a href="/services" { (noun(s.active_services, "active service", "active services")) } } }
                @if a.shows(Module::Invoices) {
                    div.card { div.figure #unpaid-invoices { (s.unpaid_invoices) } a #unpaid-invoices-link href="/invoices?status=unpaid" { (noun(s.unpaid_invoices, "unpaid invoice", "unpaid invoices")) } }
                    div.card {
                        div.figure #amount-due {
                            @if s.due_currencies > 1 { "in " (s.due_currencies) " currencies" }
                            @else { (format_money(s.amount_due_cents, s.due_currency.as_deref().or(a.store.as_ref().map(|st| st.currency.as_str())).unwrap_or("USD"))) }
                        }
                        "amount due"
                    }
                }
                @if a.shows(Module::Tickets) { div.card { div.figure #open-tickets { (s.open_tickets) } a #open-tickets-link href="/tickets?status=open" { (noun(s.open_tickets, "open ticket", "open tickets")) } } }
                @if a.shows(Module::Orders) { div.card { div.figure { (s.orders) } a href="/orders" { (noun(s.orders, "order", "orders")) } } }
            }
        },
    ))
}
