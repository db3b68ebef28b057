//! Portal shop pages: the current store's catalogue and store switcher, the cart, checkout and
//! the client's orders. Cart and checkout are ordinary writes (refused in read-only Login as Client).

use super::authorize;
use super::controls::{controls, page_note, row_controls};
use crate::auth::guards::PortalAuth;
use crate::domain::acting::{StoreInfo, WriteKind};
use crate::domain::conflict::Conflict;
use crate::domain::format_money;
use crate::domain::modules::Module;
use crate::domain::money::{self, MAX_QUANTITY};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::shop::CartLine;
use crate::store::StoreError;
use crate::web::extract::Id;
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{alert, csrf, portal_page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// Parses a product id typed into a form; anything but a positive whole number is refused.
fn parse_product_id(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|id| *id > 0)
}

/// How a billing interval reads next to a price.
fn per_interval(interval: &str) -> &'static str {
    match interval {
        "monthly" => " / month",
        "yearly" => " / year",
        _ => "",
    }
}

/// What the shop page needs besides the catalogue.
struct ShopView<'a> {
    error: Option<&'a str>,
    /// The product and quantity typed into a refused add-to-cart form.
    typed: Option<(i64, &'a str)>,
}

async fn shop_page(state: &AppState, auth: &PortalAuth, store: &StoreInfo, view: ShopView<'_>) -> AppResult<Markup> {
    let products = state.store.products(store.id).await?;
    let stores = state.store.client_stores(auth.acting.client_id).await?;
    let own = auth.acting.impersonation.is_none();
    Ok(portal_page(
        auth,
        "Shop",
        html! {
            h1 { "Shop" }
            p #current-store { "Store: " strong { (store.name) } " · prices in " (store.currency) }
            @if stores.len() > 1 {
                @if own {
                    form.inline #store-switcher method="post" action="/shop/store" {
                        (csrf(&auth.csrf_token))
                        label for="store_id" { "Shop in" }
                        select #store_id name="store_id" {
                            @for s in &stores { option value=(s.id) selected[s.id == store.id] { (s.name) } }
                        }
                        button type="submit" { "Switch store" }
                    }
                } @else {
                    p.muted #store-fixed { "The store of a Login as Client session is fixed when it starts." }
                }
            }
            @if let Some(e) = view.error { (alert(e)) }
            (page_note(auth, WriteKind::Ordinary))
            table #products tabindex="0" { thead { tr { th { "Product" } th { "Price" } th { "Add to cart" } } }
                tbody { @for p in &products {
                    tr data-product=(p.id) {
                        td { strong { (p.name) } br; span.muted { (p.description) } }
                        td { (format_money(p.price_cents, &store.currency)) (per_interval(&p.billing_interval)) }
                        td {
                            form.inline method="post" action="/cart/items" {
                                @let qty = view.typed.filter(|t| t.0 == p.id).map(|t| t.1).unwrap_or("1");
                                (row_controls(auth, WriteKind::Ordinary, html! {
                                    input type="hidden" name="product_id" value=(p.id);
                                    input type="number" name="quantity" value=(qty) min="1" max=(MAX_QUANTITY) aria-label="Quantity";
                                    button.add-to-cart type="submit" { "Add to cart" }
                                }))
                            }
                        }
                    }
                } }
            }
            @if products.is_empty() { p #no-products { "This store has nothing for sale yet." } }
        },
    ))
}

/// `GET /shop`: the current store's active products, each with an add-to-cart form.
pub async fn shop(State(state): State<AppState>, auth: PortalAuth) -> AppResult<Markup> {
    auth.require_module(Module::Shop)?;
    let store = auth.store()?.clone();
    shop_page(&state, &auth, &store, ShopView { error: None, typed: None }).await
}

/// The store switcher.
#[derive(Debug, Deserialize)]
pub struct StoreForm {
    #[serde(default)]
    store_id: String,
}

/// `POST /shop/store`: the client's own session switches store; a Login as Client session keeps
/// the store it started with.
pub async fn choose_store(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, StoreForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Shop)?;
    if auth.acting.impersonation.is_some() {
        return Err(AppError::Page(
            StatusCode::FORBIDDEN,
            portal_page(
                &auth,
                "Not allowed",
                html! { h1 { "Not allowed" } (alert("The store of a Login as Client session is chosen when it starts and cannot be switched.")) },
            ),
        ));
    }
    let Some(store_id) = parse_product_id(&f.store_id) else {
        return Err(super::unprocessable(&auth, "Shop", "Choose one of your stores."));
    };
    state.store.set_session_store(auth.session_id, auth.acting.client_id, store_id).await.map_err(|e| match e {
        StoreError::NotFound => AppError::forbidden("You do not shop in that store."),
        e => e.into(),
    })?;
    Ok(Redirect::to("/shop").into_response())
}

/// Adding to the cart.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    quantity: String,
}

/// `POST /cart/items`: adds a product of the current store (to its line if there is one).
pub async fn add_to_cart(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, AddForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Shop)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let store = auth.store()?.clone();
    let Some(product_id) = parse_product_id(&f.product_id) else {
        return Err(AppError::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            shop_page(&state, &auth, &store, ShopView { error: Some("Choose a product from the list."), typed: None })
                .await?,
        ));
    };
    let result = match money::parse_add_quantity(&f.quantity) {
        Ok(quantity) => state.store.add_to_cart(&auth.acting, store.id, product_id, quantity).await,
        Err(e) => Err(StoreError::Conflict(Conflict::Money(e))),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/cart").into_response()),
        Err(StoreError::Conflict(c)) => {
            let msg = c.to_string();
            let view = ShopView { error: Some(&msg), typed: Some((product_id, &f.quantity)) };
            Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, shop_page(&state, &auth, &store, view).await?))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn cart_page(
    auth: &PortalAuth,
    store: &StoreInfo,
    lines: &[CartLine],
    error: Option<&str>,
    typed: Option<(i64, &str)>,
) -> Markup {
    let amounts: Vec<Result<i64, money::MoneyError>> =
        lines.iter().map(|l| money::line_amount(l.unit_cents, l.quantity)).collect();
    let total = money::total(amounts.iter().filter_map(|a| a.ok())).ok().filter(|_| amounts.iter().all(Result::is_ok));
    portal_page(
        auth,
        "Cart",
        html! {
            h1 { "Your cart" }
            p.muted { "Store: " (store.name) }
            @if let Some(e) = error { (alert(e)) }
            (page_note(auth, WriteKind::Ordinary))
            @if lines.is_empty() {
                p #cart-empty { "Your cart is empty. " a href="/shop" { "Browse the shop" } }
            } @else {
                table #cart tabindex="0" { thead { tr { th { "Product" } th { "Unit price" } th { "Quantity" } th { "Amount" } th { span.visually-hidden { "Remove" } } } }
                    tbody { @for (l, amount) in lines.iter().zip(&amounts) {
                        tr data-product=(l.product_id) {
                            td.name { (l.name) }
                            td { (format_money(l.unit_cents, &store.currency)) (per_interval(&l.billing_interval)) }
                            td {
                                form.inline method="post" action=(format!("/cart/items/{}", l.product_id)) {
                                    @let qty = typed.filter(|t| t.0 == l.product_id).map(|t| t.1.to_string()).unwrap_or_else(|| l.quantity.to_string());
                                    (row_controls(auth, WriteKind::Ordinary, html! {
                                        input type="number" name="quantity" value=(qty) min="0" max=(MAX_QUANTITY) aria-label="Quantity";
                                        button type="submit" { "Update" }
                                    }))
                                }
                            }
                            td.amount { @match amount { Ok(a) => (format_money(*a, &store.currency)), Err(_) => "too large" } }
                            td {
                                form.inline method="post" action=(format!("/cart/items/{}/remove", l.product_id)) {
                                    (row_controls(auth, WriteKind::Ordinary, html! { button type="submit" { "Remove" } }))
                                }
                            }
                        }
                    } }
                    tfoot { tr { th colspan="3" { "Total" } th #cart-total colspan="2" {
                        @match total { Some(t) => (format_money(t, &store.currency)), None => "too large to order" }
                    } } }
                }
                form #checkout-form method="post" action="/checkout" {
                    (controls(auth, WriteKind::Ordinary, html! {
                        // One key per rendering of this form: a double submit or a retry places one order.
                        input type="hidden" name="idempotency_key" value=(crate::auth::new_token());
                        p { button #checkout type="submit" { "Place order" } " An unpaid invoice is created with the order." }
                    }))
                }
            }
        },
    )
}

/// `GET /cart`: the current store's cart with line totals, quantity forms and the checkout form.
pub async fn cart(State(state): State<AppState>, auth: PortalAuth) -> AppResult<Markup> {
    auth.require_module(Module::Shop)?;
    let store = auth.store()?;
    let lines = state.store.cart(auth.acting.client_id, store.id).await?;
    Ok(cart_page(&auth, store, &lines, None, None))
}

/// A new quantity for a cart line.
#[derive(Debug, Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    quantity: String,
}

/// `POST /cart/items/{product_id}`: sets a line's quantity; 0 removes the line.
pub async fn set_quantity(
    State(state): State<AppState>,
    Id(product_id): Id,
    Post { auth, form: f }: Post<PortalAuth, QuantityForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Shop)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let store = auth.store()?;
    match money::parse_set_quantity(&f.quantity) {
        Ok(q) => {
            state.store.set_cart_quantity(&auth.acting, store.id, product_id, q).await?;
            Ok(Redirect::to("/cart").into_response())
        }
        Err(e) => {
            let lines = state.store.cart(auth.acting.client_id, store.id).await?;
            if !lines.iter().any(|l| l.product_id == product_id) {
                return Err(AppError::not_found());
            }
            let page = cart_page(&auth, store, &lines, Some(&e.message()), Some((product_id, &f.quantity)));
            Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
    }
}

/// `POST /cart/items/{product_id}/remove`.
pub async fn remove_from_cart(
    State(state): State<AppState>,
    Id(product_id): Id,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require_module(Module::Shop)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let store = auth.store()?;
    state.store.remove_from_cart(&auth.acting, store.id, product_id).await?;
    Ok(Redirect::to("/cart").into_response())
}
