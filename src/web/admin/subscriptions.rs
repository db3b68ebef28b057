//! A client's subscriptions on the staff side, with who cancelled them.

use crate::auth::guards::StaffAuth;
use crate::domain::permissions::Permission;
use crate::domain::{format_date, format_time};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::attribution::via_login_as_client;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::PageQuery;
use crate::web::layout::{admin_page, pager};
use crate::web::views::price_label;
use axum::extract::State;
use maud::{html, Markup};

/// `GET /admin/clients/{id}/subscriptions` (`billing.manage` or `clients.view`).
pub async fn client_subscriptions(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> AppResult<Markup> {
    if !auth.grants.has(Permission::BillingManage) {
        auth.require(Permission::ClientsView)?;
    }
    let c = state.store.client(id).await?;
    let page = state.store.subscriptions(id, page_number(&q.page)?, 25).await?;
    let quick = super::impersonation_views::quick_login_for(&state, &auth, id, "/subscriptions").await?;
    let now = crate::domain::now();
    Ok(admin_page(
        &auth,
        &format!("Subscriptions of {}", c.name),
        html! {
            h1 { "Subscriptions of " a href=(format!("/admin/clients/{id}")) { (c.name) } }
            p { (quick) }
            table #subscriptions tabindex="0" {
                thead { tr { th { "#" } th { "Name" } th { "Price" } th { "Status" } th { "Period ends" } th { "Cancellation" } } }
                tbody { @for s in &page.items { tr #(format!("subscription-{}", s.id)) {
                    td { (s.id) }
                    td { (s.name) }
                    td { (price_label(s)) }
                    td { (s.status_at(now)) }
                    td { (format_date(s.current_period_end)) }
                    td.cancelled-by {
                        @if let Some(at) = s.cancelled_at {
                            @if s.cancelling(now) { "Cancels on " (format_date(s.current_period_end)) } @else { "Cancelled" }
                            "; requested " (format_time(at)) " by " (c.name) (via_login_as_client(s.cancelled_by_staff_name.as_deref()))
                        }
                    }
                } } }
            }
            (pager(&format!("/admin/clients/{id}/subscriptions"), page.page, page.pages()))
        },
    ))
}
