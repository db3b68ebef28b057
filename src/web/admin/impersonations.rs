//! Login as Client on the staff side: the button and why it is disabled, starting a session,
//! the log at `/admin/impersonations` with its CSV export, and ending a live session.

use super::clients::client_record;
use super::impersonation_views::{table, StartForm};
use super::step_up::Guarded;
use crate::auth::guards::{cookie, StaffAuth};
use crate::auth::login_as_client::{self, Start, StartError};
use crate::auth::FreshSession;
use crate::auth::{hash_token, CLIENT_COOKIE};
use crate::domain::api::Channel;
use crate::domain::format_time;
use crate::domain::impersonation::{Refusal, StartAsk};
use crate::domain::lists::noun;
use crate::domain::permissions::Permission;
use crate::error::{see_other, AppError, AppResult};
use crate::state::AppState;
use crate::web::export::csv_row;
use crate::web::extract::{page_number, Id, Query};
use crate::web::filters::LogQuery;
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{admin_page, pager};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

/// `GET /admin/impersonations`.
pub async fn list(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<LogQuery>) -> AppResult<Markup> {
    auth.require(Permission::ImpersonationLogView)?;
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
                div { label for="f-client" { "Client (name, e-mail or id)" } input #f-client type="text" name="client" value=(v(&q.client)) size="20"; }
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
            p.muted { (page.total) " " (noun(page.total, "session", "sessions")) }
            (table(&auth, &page.items))
            (pager(&format!("/admin/impersonations?{qs}"), page.page, page.pages()))
        },
    ))
}

/// `GET /admin/impersonations.csv`: the same filters, every matching row.
pub async fn csv(State(state): State<AppState>, auth: StaffAuth, Query(q): Query<LogQuery>) -> AppResult<Response> {
    auth.require(Permission::ImpersonationLogView)?;
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
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require(Permission::ImpersonationSessionsEnd)?;
    state.store.end_impersonation_by_staff(id, &auth.acting).await?;
    Ok(Redirect::to("/admin/impersonations").into_response())
}

/// `POST /admin/clients/{id}/impersonate`: Login as Client.
pub async fn impersonate(
    State(state): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
    Post { auth, form: f }: Post<StaffAuth, StartForm>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsImpersonate)?;
    let next = safe_next(f.next.as_deref());
    let client = state.store.client(id).await?;
    let settings = state.store.settings().await?;
    if let Some(ask) = super::step_up::step_up(&state, &auth, &settings, &Guarded::start(id, &f)).await? {
        return Ok(ask);
    }
    let store = match f.store.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, Refusal::StoreRequired.message().into())
        })?),
    };
    let fresh = FreshSession::new();
    let old = cookie(&headers, CLIENT_COOKIE).map(|t| hash_token(&t));
    let started = login_as_client::start(
        &state.store,
        &settings,
        Start {
            staff: &auth.staff,
            grants: &auth.grants,
            by: &auth.acting,
            client: &client,
            ask: StartAsk { mode: f.mode.as_deref(), reason: &f.reason, store },
            channel: Channel::Page,
            api_key_id: None,
            session: &fresh,
            replaces_token_hash: old.as_deref(),
        },
    )
    .await;
    match started {
        Ok(_) => {}
        Err(StartError::Refused(r)) if r.status() == 422 => {
            return Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                client_record(&state, &auth, id, None, Some(r.message()), Some(&f)).await?,
            ));
        }
        Err(StartError::Refused(r)) => return Err(AppError::forbidden(r.message())),
        Err(StartError::Store(e)) => return Err(e.into()),
    }
    Ok(see_other(&next, &[fresh.cookie(CLIENT_COOKIE, state.config.secure_cookies)]))
}

/// Keeps `next` only if it is a plain path of this site's portal: `/` followed by URL-safe
/// printable ASCII (after the form's decoding), never `//` or a backslash that browsers read as
/// another host, never a control or space character that would break or bend `Location`.
fn safe_next(next: Option<&str>) -> String {
    let plain = |n: &str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.starts_with("/admin")
            && n.len() < 500
            && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    };
    match next {
        Some(n) if plain(n) => n.to_string(),
        _ => "/dashboard".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_same_site() {
        assert_eq!(safe_next(Some("/tickets/4")), "/tickets/4");
        assert_eq!(safe_next(Some("https://evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("//evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\\evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/admin/staff")), "/dashboard");
        assert_eq!(safe_next(None), "/dashboard");
        // Control and space characters that the form decoding gives back (%09, %0B, %20, %7F).
        for bad in ["/\t/evil.example", "/\u{b}/x", "/ /evil.example", "/x\u{7f}", "/\r\nSet-Cookie: a=b", "/é"] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/tickets?status=open&page=2")), "/tickets?status=open&page=2");
    }
}
