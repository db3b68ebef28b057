//! Checkout and the client's orders: placing the cart as an order, the order list and one order.

use super::shop::cart_page;
use super::{authorize, PageQuery};
use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::domain::modules::Module;
use crate::domain::{format_date, format_money, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::shop::Checkout;
use crate::store::StoreError;
use crate::web::attribution::on_your_behalf;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::idempotency_key;
use crate::web::forms::Post;
use crate::web::layout::{pager, portal_page};
use crate::web::views::order_lines;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// The checkout form.
#[derive(Debug, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    idempotency_key: String,
}

/// `POST /checkout`: places the order (and its invoice) from the current store's cart; the same
/// form submitted again leads to the order it already made.
pub async fn checkout(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, CheckoutForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Shop)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let store = auth.store()?;
    let Some(key) = idempotency_key(&f.idempotency_key) else {
        let lines = state.store.cart(auth.acting.client_id, store.id).await?;
        let msg = "This checkout form is incomplete. The cart has been reloaded: press Place order again.";
        return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, cart_page(&auth, store, &lines, Some(msg), None)));
    };
    match state.store.checkout(&auth.acting, store, key).await {
        Ok(Checkout::Placed(id) | Checkout::Existing(id)) => Ok(Redirect::to(&format!("/orders/{id}")).into_response()),
        Err(StoreError::Conflict(msg)) => {
            let lines = state.store.cart(auth.acting.client_id, store.id).await?;
            Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                cart_page(&auth, store, &lines, Some(&msg.to_string()), None),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /orders`: the client's orders, newest first, each in its own currency.
pub async fn orders(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<PageQuery>) -> AppResult<Markup> {
    auth.require_module(Module::Orders)?;
    let page = state.store.orders(auth.acting.client_id, page_number(&q.page)?, 20).await?;
    Ok(portal_page(
        &auth,
        "Orders",
        html! {
            h1 { "Orders" }
            table #orders tabindex="0" { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Placed" } } }
                tbody { @for o in &page.items { tr {
                    td { a href=(format!("/orders/{}", o.id)) { (o.number) } }
                    td { (o.status) }
                    td { (format_money(o.total_cents, &o.currency)) }
                    td { (format_date(o.created_at)) }
                } } } }
            (pager("/orders", page.page, page.pages()))
            @if auth.acting.shows(Module::Shop) { p { a href="/shop" { "Order something new" } } }
        },
    ))
}

/// `GET /orders/{id}`: one of the acting client's orders; any other id is 404. The staff-only
/// internal note is never rendered here.
pub async fn order(State(state): State<AppState>, auth: PortalAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require_module(Module::Orders)?;
    let (o, lines) = state.store.order_detail(id, Some(auth.acting.client_id)).await?;
    Ok(portal_page(
        &auth,
        &o.number,
        html! {
            h1 { "Order " (o.number) }
            p #order-status { "Status: " strong { (o.status) } " · Placed " (format_time(o.created_at))
                @if let Some(s) = &o.store_name { " · " (s) } }
            p #order-placed-by { "Placed by you" (on_your_behalf(o.actor_staff_name.as_deref())) }
            @if !o.client_note.is_empty() { p.notice #order-client-note { (o.client_note) } }
            (order_lines(&o, &lines))
            @if let Some(inv) = o.invoice_id {
                @if auth.acting.shows(Module::Invoices) { p { a #order-invoice href=(format!("/invoices/{inv}")) { "View the invoice" } } }
            }
        },
    ))
}
