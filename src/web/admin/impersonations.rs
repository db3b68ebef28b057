//! The Login as Client log: `/admin/impersonations`, its CSV export, and ending a live session.

use super::CsrfOnly;
use crate::auth::guards::StaffAuth;
use crate::domain::impersonation::EndReason;
use crate::domain::{format_time, permissions as perm};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::impersonations::{Impersonation, ImpersonationFilter};
use crate::web::export::csv_row;
use crate::web::extract::{optional_id, page_number, Form, Id, Query};
use crate::web::layout::{admin_page, csrf, pager};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// Filters of the log and its export (SPEC §4).
#[derive(Debug, Deserialize, Default)]
pub struct LogQuery {
    staff: Option<String>,
    client: Option<String>,
    from: Option<String>,
    to: Option<String>,
    state: Option<String>,
    page: Option<String>,
}

fn parse_date(value: &Option<String>, name: &str) -> AppResult<Option<i64>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(v, &fmt)
                .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
                .map_err(|_| AppError::bad_request(format!("The {name} date must look like 2026-11-23.")))
        }
    }
}

impl LogQuery {
    fn filter(&self) -> AppResult<ImpersonationFilter> {
        let live = match self.state.as_deref() {
            None | Some("") => None,
            Some("live") => Some(true),
            Some("ended") => Some(false),
            Some(_) => return Err(AppError::bad_request("The state filter must be live or ended.")),
        };
        Ok(ImpersonationFilter {
            staff: optional_id(&self.staff, "staff")?,
            client: optional_id(&self.client, "client")?,
            from: parse_date(&self.from, "from")?,
            // `to` is inclusive: everything started before the next midnight.
            to: parse_date(&self.to, "to")?.map(|t| t + 86400),
            live,
        })
    }

    fn query_string(&self) -> String {
        let pairs = [
            ("staff", &self.staff),
            ("client", &self.client),
            ("from", &self.from),
            ("to", &self.to),
            ("state", &self.state),
        ];
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v))))
            .finish()
    }
}

/// The table of sessions, shared with the client record.
pub fn table(auth: &StaffAuth, items: &[Impersonation]) -> Markup {
    let can_end = auth.grants.has(perm::IMPERSONATION_SESSIONS_END);
    html! {
        table.impersonations {
            thead { tr { th { "#" } th { "Staff" } th { "Client" } th { "Store" } th { "Reason" } th { "Mode" } th { "IP" }
                th { "Started" } th { "Last seen" } th { "Ended" } th { "End reason" } th { "Actions" } th {} } }
            tbody {
                @for i in items {
                    tr {
                        td { (i.id) }
                        td { (i.staff_name) }
                        td { a href=(format!("/admin/clients/{}", i.client_id)) { (i.client_name) } }
                        td { (i.store_name.as_deref().unwrap_or("")) }
                        td.reason { (i.reason) }
                        td { (i.mode) }
                        td { (i.ip) }
                        td { (format_time(i.started_at)) }
                        td { (format_time(i.last_seen_at)) }
                        td { @if let Some(e) = i.ended_at { (format_time(e)) } @else { span.badge.live { "live" } } }
                        td.end-reason { (i.end_reason.as_deref().unwrap_or("")) }
                        td { (i.actions) }
                        td {
                            @if can_end && i.ended_at.is_none() {
                                form.inline method="post" action=(format!("/admin/impersonations/{}/end", i.id)) {
                                    (csrf(&auth.csrf_token))
                                    button.danger type="submit" { "End" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /admin/impersonations`.
pub async fn list(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<LogQuery>) -> AppResult<Markup> {
    auth.require(perm::IMPERSONATION_LOG_VIEW)?;
    let filter = q.filter()?;
    let page = state.store.list_impersonations(&filter, page_number(&q.page)?, 50).await?;
    let staff = state.store.list_staff().await?;
    let qs = q.query_string();
    let today = crate::domain::format_date(crate::domain::now());
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    Ok(admin_page(
        &auth,
        "Login as Client log",
        html! {
            h1 { "Login as Client log" }
            form.actions #log-filters method="get" action="/admin/impersonations" {
                div { label for="f-staff" { "Staff" }
                    select #f-staff name="staff" {
                        option value="" { "Anyone" }
                        @for s in &staff { option value=(s.id) selected[q.staff.as_deref() == Some(s.id.to_string().as_str())] { (s.name) } }
                    } }
                div { label for="f-client" { "Client id" } input #f-client type="text" name="client" value=(v(&q.client)) size="6"; }
                div { label for="f-from" { "From" } input #f-from type="date" name="from" value=(v(&q.from)); }
                div { label for="f-to" { "To" } input #f-to type="date" name="to" value=(v(&q.to)); }
                div { label for="f-state" { "State" }
                    select #f-state name="state" {
                        option value="" { "Live and ended" }
                        option value="live" selected[q.state.as_deref() == Some("live")] { "Live" }
                        option value="ended" selected[q.state.as_deref() == Some("ended")] { "Ended" }
                    } }
                button type="submit" { "Filter" }
                a #today href=(format!("/admin/impersonations?from={today}&to={today}")) { "Today" }
                a #export-csv href=(format!("/admin/impersonations.csv?{qs}")) { "Export CSV" }
            }
            p.muted { (page.total) " sessions" }
            (table(&auth, &page.items))
            (pager(&format!("/admin/impersonations?{qs}"), page.page, page.pages()))
        },
    ))
}

/// `GET /admin/impersonations.csv`: the same filters, every matching row.
pub async fn csv(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<LogQuery>) -> AppResult<Response> {
    auth.require(perm::IMPERSONATION_LOG_VIEW)?;
    let filter = q.filter()?;
    let mut out = String::from("id,staff_id,staff,client_id,client,store,reason,mode,ip,user_agent,started,last_seen,ends_by,ended,end_reason,actions\n");
    let mut page = 1;
    loop {
        let rows = state.store.list_impersonations(&filter, page, 500).await?;
        for i in &rows.items {
            let cells = [
                i.id.to_string(),
                i.staff_id.to_string(),
                i.staff_name.clone(),
                i.client_id.to_string(),
                i.client_name.clone(),
                i.store_name.clone().unwrap_or_default(),
                i.reason.clone(),
                i.mode.clone(),
                i.ip.clone(),
                i.user_agent.clone(),
                format_time(i.started_at),
                format_time(i.last_seen_at),
                format_time(i.ends_by),
                i.ended_at.map(format_time).unwrap_or_default(),
                i.end_reason.clone().unwrap_or_default(),
                i.actions.to_string(),
            ];
            out.push_str(&csv_row(&cells));
            out.push('\n');
        }
        if page >= rows.pages() {
            break;
        }
        page += 1;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"impersonations.csv\""),
        ],
        out,
    )
        .into_response())
}

/// `POST /admin/impersonations/{id}/end`: another staff member ends a live session.
pub async fn end(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    auth.check_csrf(&f.csrf_token)?;
    auth.require(perm::IMPERSONATION_SESSIONS_END)?;
    let imp = state.store.impersonation(id).await?;
    if imp.ended_at.is_some() {
        return Err(AppError::Status(StatusCode::CONFLICT, "That Login as Client session has already ended.".into()));
    }
    state.store.end_impersonation(id, EndReason::EndedByStaff, auth.actor(), &auth.info.ip).await?;
    Ok(Redirect::to("/admin/impersonations").into_response())
}
