//! The staff side of the API, for a staff API key: client search and a client record, the Login
//! as Client log with its filters and ending a live session, and the activity log paged by
//! cursor. Each answers to the permission its page needs.

use super::{ApiId, ApiQuery, ApiResult, ApiStaff, ListQuery, Listed, Problem};
use crate::domain::impersonation::Consent;
use crate::domain::modules::{Module, Modules};
use crate::domain::permissions::Permission;
use crate::state::AppState;
use crate::store::activity::ActivityRow;
use crate::store::impersonations::Impersonation;
use crate::store::people::ClientListRow;
use crate::web::filters::{ActivityQuery, LogQuery};
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `GET /api/v1/admin/clients?q=&cursor=&limit=`: by name or e-mail, in name order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSearch {
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/admin/clients` (`clients.view`).
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
    let c = ListQuery { cursor: q.cursor, limit: q.limit, status: None }.cursor()?;
    Ok(Json(Listed::of(state.store.search_clients(text, c.page, c.per_page).await?)))
}

/// `GET /api/v1/admin/clients/{id}` (`clients.view`): the record's facts, never the password.
pub async fn client(State(state): State<AppState>, api: ApiStaff, ApiId(id): ApiId) -> ApiResult<Json<Value>> {
    api.require(Permission::ClientsView)?;
    let c = state.store.client(id).await?;
    let stores = state.store.client_stores(id).await?;
    let modules = Modules::from_hidden(&c.hidden_modules);
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    Ok(Json(json!({
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "company": c.company,
        "phone": c.phone,
        "active": c.active,
        "consent": consent.as_str(),
        "consent_until": consent.until(),
        "created_at": c.created_at,
        "last_login_at": c.last_login_at,
        "modules": Module::ALL.iter().filter(|m| modules.shows(**m)).map(|m| m.key()).collect::<Vec<_>>(),
        "stores": stores.iter().map(|s| json!({ "id": s.id, "name": s.name })).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/admin/impersonations?staff=&client=&from=&to=&state=&cursor=&limit=`
/// (`impersonation.log.view`): the Login as Client log, newest first, with the page's filters.
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
    let c = ListQuery { cursor: q.cursor.clone(), limit: q.limit.clone(), status: None }.cursor()?;
    Ok(Json(Listed::of(state.store.list_impersonations(&filter, c.page, c.per_page).await?)))
}

/// `POST /api/v1/admin/impersonations/{id}/end` (`impersonation.sessions.end`): 409 when it has
/// ended already.
pub async fn end_impersonation(
    State(state): State<AppState>,
    api: ApiStaff,
    ApiId(id): ApiId,
) -> ApiResult<Json<Value>> {
    api.require(Permission::ImpersonationSessionsEnd)?;
    state.store.end_impersonation_by_staff(id, &api.0.acting).await?;
    Ok(Json(json!({ "id": id, "ended": true, "end_reason": "ended_by_staff" })))
}

/// A page of the activity log with the cursor of the next (older) one.
#[derive(Debug, Serialize)]
pub struct ActivityPage {
    pub items: Vec<ActivityRow>,
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/admin/activity?group=&actor=&client=&cursor=&limit=` (`impersonation.log.view`):
/// newest first; the cursor names the last entry seen, so entries added meanwhile never shift a
/// page.
pub async fn activity(
    State(state): State<AppState>,
    api: ApiStaff,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<ActivityPage>> {
    api.require(Permission::ImpersonationLogView)?;
    if q.page.is_some() {
        return Err(Problem::bad_request("Page with cursor, not page."));
    }
    let limit = ListQuery { cursor: None, limit: q.limit.clone(), status: None }.cursor()?.per_page;
    let before = match q.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| t.strip_prefix("a1:").and_then(|id| id.parse::<i64>().ok()))
                .filter(|id| *id > 0)
                .ok_or_else(|| Problem::bad_request("The cursor is not one this API gave."))?,
        ),
    };
    let Some(filter) = q.filter()? else { return Ok(Json(ActivityPage { items: Vec::new(), next_cursor: None })) };
    // One more than asked tells whether an older page exists.
    let mut items = state.store.activity_before(&filter, before, limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more.then(|| items.last().map(|r| URL_SAFE_NO_PAD.encode(format!("a1:{}", r.id)))).flatten();
    Ok(Json(ActivityPage { items, next_cursor }))
}
