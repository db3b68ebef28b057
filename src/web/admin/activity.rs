//! The activity log: every recorded change, filtered by group, actor and client.

use crate::auth::guards::StaffAuth;
use crate::domain::activity::ActivityGroup;
use crate::domain::api::Channel;
use crate::domain::format_time;
use crate::domain::permissions::Permission;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::activity::ActivityRow;
use crate::store::Page;
use crate::web::extract::{page_number, Query};
use crate::web::filters::ActivityQuery;
use crate::web::layout::{admin_page, pager};
use axum::extract::State;
use maud::{html, Markup};

fn enc(v: Option<&str>) -> String {
    url::form_urlencoded::byte_serialize(v.unwrap_or("").as_bytes()).collect()
}

/// `GET /admin/activity`.
pub async fn activity(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(q): Query<ActivityQuery>,
) -> AppResult<Markup> {
    auth.require(Permission::ImpersonationLogView)?;
    let staff = state.store.list_staff().await?;
    let filter = q.filter()?;
    let page_no = page_number(&q.page)?;
    let page = match filter {
        None => Page { items: Vec::new(), page: page_no, per_page: 50, total: 0 },
        Some(f) => state.store.list_activity(&f, page_no, 50).await?,
    };
    let base = format!(
        "/admin/activity?group={}&actor={}&client={}",
        enc(q.group.as_deref()),
        enc(q.actor.as_deref()),
        enc(q.client.as_deref())
    );
    Ok(admin_page(
        &auth,
        "Activity",
        html! {
            h1 { "Activity log" }
            form.actions method="get" action="/admin/activity" {
                div { label for="group" { "Group" }
                    select #group name="group" {
                        option value="" { "All groups" }
                        @for g in ActivityGroup::ALL { option value=(g.as_str()) selected[q.group.as_deref() == Some(g.as_str())] { (g.as_str()) } }
                    } }
                div { label for="actor" { "Actor" }
                    select #actor name="actor" {
                        option value="" { "Anyone" }
                        @if let Some(a) = q.actor.as_deref().filter(|a| a.starts_with("client:")) { option value=(a) selected { (a) } }
                        @for s in &staff { @let v = format!("staff:{}", s.id); option value=(v) selected[q.actor.as_deref() == Some(v.as_str())] { (s.name) " (staff)" } }
                    } }
                div { label for="client" { "Client id" } input #client type="text" name="client" value=(q.client.as_deref().unwrap_or("")); }
                button type="submit" { "Filter" }
            }
            p.muted { (page.total) " entries" }
            table #activity tabindex="0" {
                thead { tr { th { "#" } th { "Time" } th { "Who" } th { "Client" } th { "Group" } th { "Action" } th { "Target" } th { "Details" } th { "Session" } th { "IP" } } }
                tbody {
                    @for r in &page.items {
                        tr {
                            td { (r.id) }
                            td { (format_time(r.at)) }
                            td.who { (describe_actor(r)) }
                            td.subject { @if let (Some(id), Some(name)) = (r.subject_client_id, &r.subject_name) { a href=(format!("/admin/clients/{id}")) { (name) } } }
                            td { (r.group) }
                            td.action { (r.action) }
                            td { (r.target) }
                            td.detail { (r.detail) }
                            td { @if let Some(i) = r.impersonation_id { "Login as Client #" (i) @if r.channel == Channel::Api { " (API)" } } }
                            td { (r.ip) }
                        }
                    }
                }
            }
            (pager(&base, page.page, page.pages()))
        },
    ))
}

/// How an activity row names who acted.
pub fn describe_actor(r: &ActivityRow) -> String {
    let staff = r.actor_staff_name.clone().unwrap_or_else(|| format!("staff #{}", r.actor_staff_id.unwrap_or(0)));
    match (r.actor_kind.as_str(), &r.subject_name, r.impersonation_id) {
        ("staff", Some(client), Some(_)) if r.group != ActivityGroup::LoginAsClient.as_str() => {
            format!("{client} (by {staff} via {})", r.channel.via())
        }
        ("staff", _, _) => format!("{staff} (staff)"),
        ("client", Some(client), _) => client.clone(),
        _ => "System".into(),
    }
}
