//! A client's ticket as staff read it.

use super::impersonation_views::quick_login_button;
use crate::auth::guards::StaffAuth;
use crate::domain::format_time;
use crate::domain::impersonation::Consent;
use crate::domain::permissions::Permission;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::extract::Id;
use crate::web::layout::admin_page;
use axum::extract::State;
use maud::{html, Markup};

/// `GET /admin/tickets/{id}`.
pub async fn ticket(State(state): State<AppState>, auth: StaffAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require(Permission::TicketsManage)?;
    let (t, replies) = state.store.ticket(id, None).await?;
    let c = state.store.client(t.client_id).await?;
    let settings = state.store.settings().await?;
    Ok(admin_page(
        &auth,
        &t.subject,
        html! {
            h1 { "Ticket #" (t.id) ": " (t.subject) }
            p { "Client: " a href=(format!("/admin/clients/{}", c.id)) { (c.name) } " · Status: " (t.status) }
            (quick_login_button(&auth, &settings, c.id, c.active, Consent::from_stored(&c.consent, c.consent_until), &format!("/tickets/{}", t.id)))
            @for r in &replies {
                div.reply {
                    div.meta.author { (crate::web::attribution::reply_author_admin(&c.name, r)) " · " (format_time(r.created_at)) }
                    div.body { (r.body) }
                }
            }
        },
    ))
}
