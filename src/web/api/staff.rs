//! The staff side of the API, for a staff API key: client search and a client record, the Login
//! as Client log with its filters and ending a live session, and the activity log paged by
//! cursor. Each answers to the permission its page needs.

use super::ProblemBody;
use super::{id_cursor, id_page, limit, next_page, read_cursor, ApiId, ApiQuery, ApiResult, ApiStaff, Listed, Problem};
use crate::domain::impersonation::Consent;
use crate::domain::impersonation::EndReason;
use crate::domain::modules::{Module, Modules};
use crate::domain::permissions::Permission;
use crate::state::AppState;
use crate::store::activity::ActivityRow;
use crate::store::impersonations::Impersonation;
use crate::store::people::ClientListRow;
use crate::web::filters::{ActivityQuery, LogQuery};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /api/v1/admin/clients?q=&cursor=&limit=`: by name or e-mail, in name order.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientSearch {
    /// Part of the name or e-mail address.
    q: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Rows per page, 1 to 100 (20).
    limit: Option<String>,
}

/// `GET /api/v1/admin/clients` (`clients.view`).
#[utoipa::path(get, path = "/api/v1/admin/clients", tag = "staff", security(("api_key" = [])), params(ClientSearch), responses((status = 200, body = Listed<ClientListRow>), (status = 401, description = "No live staff API key", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "The key's owner lacks the permission (`permission-required`), or owes two-factor", body = ProblemBody, content_type = "application/problem+json"), (status = 400, description = "A malformed filter, id or cursor", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn clients(
    State(state): State<AppState>,
    api: ApiStaff,
    ApiQuery(q): ApiQuery<ClientSearch>,
) -> ApiResult<Json<Listed<ClientListRow>>> {
    api.require(Permission::ClientsView)?;
    let text = q.q.as_deref().unwrap_or("");
    if text.chars().count() > 200 {
        return Err(Problem::bad_request("q may have at most 200 characters."));
    }
    let limit = limit(q.limit.as_deref())?;
    // `c1:ID:NAME`: the client the search resumes after.
    let after = read_cursor(q.cursor.as_deref(), "c1", |rest| {
        let (id, name) = rest.split_once(':')?;
        Some((name.to_string(), super::positive_id(id)?))
    })?;
    let rows =
        state.store.search_clients_after(text, after.as_ref().map(|(n, id)| (n.as_str(), *id)), limit + 1).await?;
    let (items, next_cursor) = next_page(rows, limit, "c1", |c| format!("{}:{}", c.id, c.name));
    Ok(Json(Listed { items, next_cursor }))
}

/// A client record as staff see it (never the password).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientRecord {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub company: String,
    pub phone: String,
    pub active: bool,
    /// `unset`, `allowed` or `refused`.
    pub consent: &'static str,
    /// When an allowance ends (Unix seconds); `null` until revoked.
    pub consent_until: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// The portal modules the client sees.
    pub modules: Vec<&'static str>,
    pub stores: Vec<StoreRef>,
}

/// A store by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRef {
    pub id: i64,
    pub name: String,
}

/// A session another staff member ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndedSession {
    pub id: i64,
    pub ended: bool,
    pub end_reason: &'static str,
}

/// `GET /api/v1/admin/clients/{id}` (`clients.view`): the record's facts, never the password.
#[utoipa::path(get, path = "/api/v1/admin/clients/{id}", tag = "staff", security(("api_key" = [])), params(("id" = i64, Path, description = "The record's id")), responses((status = 200, body = ClientRecord), (status = 401, description = "No live staff API key", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "The key's owner lacks the permission (`permission-required`), or owes two-factor", body = ProblemBody, content_type = "application/problem+json"), (status = 400, description = "A malformed filter, id or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn client(State(state): State<AppState>, api: ApiStaff, ApiId(id): ApiId) -> ApiResult<Json<ClientRecord>> {
    api.require(Permission::ClientsView)?;
    let c = state.store.client(id).await?;
    let stores = state.store.client_stores(id).await?;
    let modules = Modules::from_hidden(&c.hidden_modules);
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    Ok(Json(ClientRecord {
        id: c.id,
        email: c.email,
        name: c.name,
        company: c.company,
        phone: c.phone,
        active: c.active,
        consent: consent.as_str(),
        consent_until: consent.until(),
        created_at: c.created_at,
        last_login_at: c.last_login_at,
        modules: Module::ALL.iter().filter(|m| modules.shows(**m)).map(|m| m.key()).collect(),
        stores: stores.into_iter().map(|s| StoreRef { id: s.id, name: s.name }).collect(),
    }))
}

/// `GET /api/v1/admin/impersonations?staff=&client=&from=&to=&state=&cursor=&limit=`
/// (`impersonation.log.view`): the Login as Client log, newest first, with the page's filters.
#[utoipa::path(get, path = "/api/v1/admin/impersonations", tag = "staff", security(("api_key" = [])), params(LogQuery), responses((status = 200, body = Listed<Impersonation>), (status = 401, description = "No live staff API key", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "The key's owner lacks the permission (`permission-required`), or owes two-factor", body = ProblemBody, content_type = "application/problem+json"), (status = 400, description = "A malformed filter, id or cursor", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn impersonations(
    State(state): State<AppState>,
    api: ApiStaff,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> ApiResult<Json<Listed<Impersonation>>> {
    api.require(Permission::ImpersonationLogView)?;
    if q.page.is_some() {
        return Err(Problem::bad_request("Page with cursor, not page."));
    }
    let filter = q.filter()?;
    let limit = limit(q.limit.as_deref())?;
    let before = id_cursor(q.cursor.as_deref(), "i1")?;
    let rows = state.store.impersonations_before(&filter, before, limit + 1).await?;
    let (items, next_cursor) = id_page(rows, limit, "i1", |i| i.id);
    Ok(Json(Listed { items, next_cursor }))
}

/// `POST /api/v1/admin/impersonations/{id}/end` (`impersonation.sessions.end`): 409 when it has
/// ended already.
#[utoipa::path(post, path = "/api/v1/admin/impersonations/{id}/end", tag = "staff", security(("api_key" = [])), params(("id" = i64, Path, description = "The record's id")), responses((status = 200, body = EndedSession), (status = 401, description = "No live staff API key", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "The key's owner lacks the permission (`permission-required`), or owes two-factor", body = ProblemBody, content_type = "application/problem+json"), (status = 400, description = "A malformed filter, id or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found", body = ProblemBody, content_type = "application/problem+json"), (status = 409, description = "It has ended already", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn end_impersonation(
    State(state): State<AppState>,
    api: ApiStaff,
    ApiId(id): ApiId,
) -> ApiResult<Json<EndedSession>> {
    api.require(Permission::ImpersonationSessionsEnd)?;
    state.store.end_impersonation_by_staff(id, &api.0.acting).await?;
    Ok(Json(EndedSession { id, ended: true, end_reason: EndReason::EndedByStaff.as_str() }))
}

/// A page of the activity log with the cursor of the next (older) one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityPage {
    pub items: Vec<ActivityRow>,
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/admin/activity?group=&actor=&client=&cursor=&limit=` (`impersonation.log.view`):
/// newest first; the cursor names the last entry seen, so entries added meanwhile never shift a
/// page.
#[utoipa::path(get, path = "/api/v1/admin/activity", tag = "staff", security(("api_key" = [])), params(ActivityQuery), responses((status = 200, body = ActivityPage), (status = 401, description = "No live staff API key", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "The key's owner lacks the permission (`permission-required`), or owes two-factor", body = ProblemBody, content_type = "application/problem+json"), (status = 400, description = "A malformed filter, id or cursor", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn activity(
    State(state): State<AppState>,
    api: ApiStaff,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<ActivityPage>> {
    api.require(Permission::ImpersonationLogView)?;
    if q.page.is_some() {
        return Err(Problem::bad_request("Page with cursor, not page."));
    }
    let limit = limit(q.limit.as_deref())?;
    let before = id_cursor(q.cursor.as_deref(), "a1")?;
    let Some(filter) = q.filter()? else { return Ok(Json(ActivityPage { items: Vec::new(), next_cursor: None })) };
    let rows = state.store.activity_before(&filter, before, limit + 1).await?;
    let (items, next_cursor) = id_page(rows, limit, "a1", |r| r.id);
    Ok(Json(ActivityPage { items, next_cursor }))
}
