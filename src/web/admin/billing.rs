//! Admin order and invoice pages: lines, both order notes, who placed or paid what (naming the
//! staff member behind a Login as Client write) and a quick Login as Client button.

use super::impersonation_views::quick_login_for;
use crate::auth::guards::StaffAuth;
use crate::domain::permissions::Permission;
use crate::domain::{format_date, format_money, format_time};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::attribution::Who;
use crate::web::extract::Id;
use crate::web::layout::admin_page;
use crate::web::views::order_lines;
use axum::extract::State;
use maud::{html, Markup};

/// "Jane Smith (by Alice Admin via Login as Client)", or just the client's name.
fn client_with_actor(client_name: &str, actor: Option<&str>) -> Markup {
    Who::Client { actor }.admin(client_name)
}

/// `GET /admin/orders/{id}` (`orders.manage`).
pub async fn order(State(state): State<AppState>, auth: StaffAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require(Permission::OrdersManage)?;
    let (o, lines) = state.store.order_detail(id, None).await?;
    let quick = quick_login_for(&state, &auth, o.client_id, &format!("/orders/{}", o.id)).await?;
    Ok(admin_page(
        &auth,
        &o.number,
        html! {
            h1 { "Order " (o.number) }
            (quick)
            dl.details {
                dt { "Client" } dd { a href=(format!("/admin/clients/{}", o.client_id)) { (o.client_name) } }
                dt { "Placed by" } dd #order-placed-by { (client_with_actor(&o.client_name, o.actor_staff_name.as_deref())) }
                @if let Some(imp) = o.impersonation_id { dt { "Login as Client session" } dd { "#" (imp) } }
                dt { "Store" } dd { (o.store_name.as_deref().unwrap_or("-")) }
                dt { "Status" } dd #order-status { (o.status) }
                dt { "Total" } dd { (format_money(o.total_cents, &o.currency)) }
                dt { "Placed" } dd { (format_time(o.created_at)) }
                @if let Some(inv) = o.invoice_id { dt { "Invoice" } dd { a #order-invoice href=(format!("/admin/invoices/{inv}")) { "Invoice #" (inv) } } }
                dt { "Note to the client" } dd #order-client-note { @if o.client_note.is_empty() { "-" } @else { (o.client_note) } }
                dt { "Internal note (staff only)" } dd #order-internal-note { @if o.internal_note.is_empty() { "-" } @else { (o.internal_note) } }
            }
            (order_lines(&o, &lines))
        },
    ))
}

/// `GET /admin/invoices/{id}` (`billing.manage`): lines and every payment attempt with its actor.
pub async fn invoice(State(state): State<AppState>, auth: StaffAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require(Permission::BillingManage)?;
    let (inv, lines) = state.store.invoice(id, None).await?;
    let c = state.store.client(inv.client_id).await?;
    let payments = state.store.invoice_payments(id).await?;
    let paid_at = state.store.invoice_paid_at(id).await?;
    let quick = quick_login_for(&state, &auth, c.id, &format!("/invoices/{}", inv.id)).await?;
    Ok(admin_page(
        &auth,
        &inv.number,
        html! {
            h1 { "Invoice " (inv.number) }
            (quick)
            p #invoice-status { "Client: " a href=(format!("/admin/clients/{}", c.id)) { (c.name) } " · Status: " (inv.status)
                " · Due " (format_date(inv.due_at)) @if let Some(t) = paid_at { " · Paid " (format_time(t)) } }
            (crate::web::views::invoice_lines(&inv, &lines))
            h2 { "Payments" }
            @if payments.is_empty() { p #no-payments { "No payment attempts." } } @else {
                table #payments tabindex="0" { thead { tr { th { "When" } th { "Amount" } th { "Result" } th { "By" } th { "Provider" } th { "Reference" } } }
                    tbody { @for p in &payments { tr {
                        td { (format_time(p.created_at)) }
                        td { (format_money(p.amount_cents, &p.currency)) }
                        td { (p.status) @if !p.message.is_empty() { ": " (p.message) } }
                        td.author { (client_with_actor(&c.name, p.actor_staff_name.as_deref())) }
                        td { (p.provider) }
                        td { code { (p.provider_reference) } }
                    } } } }
            }
        },
    ))
}
