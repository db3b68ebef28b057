//! The staff dashboard: counts of clients, live Login as Client sessions, open tickets and unpaid invoices.

use crate::auth::guards::StaffAuth;
use crate::domain::permissions::Permission;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::layout::admin_page;
use axum::extract::State;
use maud::{html, Markup};

/// `GET /admin`.
pub async fn dashboard(State(state): State<AppState>, auth: StaffAuth) -> AppResult<Markup> {
    let (clients, live, open_tickets, unpaid) = state.store.admin_counts().await?;
    Ok(admin_page(
        &auth,
        "Dashboard",
        html! {
            h1 { "Welcome, " (auth.staff.name) }
            div.cards {
                div.card { div.figure { (clients) } "clients" }
                div.card { div.figure { (live) } "live Login as Client sessions" }
                div.card { div.figure { (open_tickets) } "open tickets" }
                div.card { div.figure { (unpaid) } "unpaid invoices" }
            }
            @if auth.grants.has(Permission::ClientsView) { p { a href="/admin/clients" { "Find a client →" } } }
        },
    ))
}
