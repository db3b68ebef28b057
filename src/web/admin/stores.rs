//! Admin pages for stores: the stores with their catalogues, and which stores a client belongs to.

use crate::auth::guards::StaffAuth;
use crate::domain::format_money;
use crate::domain::permissions::Permission;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::people::StoreRow;
use crate::web::extract::Id;
use crate::web::forms::Post;
use crate::web::layout::{admin_page, csrf};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use std::collections::HashMap;

/// `GET /admin/stores`: every store with its colour, currency, clients and catalogue.
pub async fn list(State(state): State<AppState>, auth: StaffAuth) -> AppResult<Markup> {
    auth.require(Permission::ClientsView)?;
    let stores = state.store.store_summaries().await?;
    let mut catalogues = Vec::with_capacity(stores.len());
    for s in &stores {
        catalogues.push(state.store.store_catalogue(s.id).await?);
    }
    Ok(admin_page(
        &auth,
        "Stores",
        html! {
            h1 { "Stores" }
            @for (s, products) in stores.iter().zip(&catalogues) {
                section.store id=(format!("store-{}", s.id)) {
                    h2 { span class=(format!("swatch store-{}", s.id)) {} " " (s.name) }
                    p.muted { "Currency " (s.currency) " · colour " (s.color) " · " (s.clients) " clients · " (s.products) " products" }
                    table tabindex="0" { thead { tr { th { "SKU" } th { "Product" } th { "Price" } th { "Billing" } th { "Status" } } }
                        tbody { @for p in products { tr {
                            td { (p.sku) } td { (p.name) } td { (format_money(p.price_cents, &s.currency)) }
                            td { @if p.billing_interval.is_empty() { "one-off" } @else { (p.billing_interval) } }
                            td { @if p.active { "on sale" } @else { "withdrawn" } }
                        } } } }
                }
            }
        },
    ))
}

/// The client record's store section: checkboxes for `clients.manage`, else the list.
pub fn client_stores_section(auth: &StaffAuth, client_id: i64, all: &[StoreRow], member: &[StoreRow]) -> Markup {
    let is_member = |id: i64| member.iter().any(|m| m.id == id);
    html! {
        h3 { "Stores" }
        @if auth.grants.has(Permission::ClientsManage) {
            form.actions #stores-form method="post" action=(format!("/admin/clients/{client_id}/stores")) {
                (csrf(&auth.csrf_token))
                @for s in all {
                    label.checkbox { input type="checkbox" id=(format!("client-store-{}", s.id)) name=(format!("store.{}", s.id)) value="on" checked[is_member(s.id)]; " " (s.name) }
                }
                button #save-stores type="submit" { "Save stores" }
            }
        } @else {
            p #client-stores { (member.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")) }
        }
    }
}

/// `POST /admin/clients/{id}/stores`: fields `store.ID=on` for each store the client belongs to.
pub async fn set_client_stores(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<StaffAuth, HashMap<String, String>>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    let mut ids = Vec::new();
    for key in f.keys().filter(|k| k.as_str() != "csrf_token") {
        let store = key.strip_prefix("store.").and_then(|n| n.parse::<i64>().ok()).ok_or_else(|| {
            AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, format!("“{key}” is not a store of this form."))
        })?;
        ids.push(store);
    }
    if ids.is_empty() {
        return Err(AppError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Tick at least one store: a client always belongs to one.".into(),
        ));
    }
    ids.sort_unstable();
    state.store.set_client_stores(id, &ids, &auth.acting).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
}
