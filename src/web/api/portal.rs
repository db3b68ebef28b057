//! The client's side of the API, for a Login as Client token: the same store calls, the same
//! `Acting` and the same module visibility as the portal's pages (a hidden module answers 404),
//! and writes through `Acting::authorize` (read-only and sensitive refusals are 403 problems).

use super::{ApiClient, ApiId, ApiJson, ApiQuery, ApiResult, ListQuery, Listed, Problem};
use crate::domain::acting::WriteKind;
use crate::domain::lists::{InvoiceStatus, StatusFilter, TicketStatus};
use crate::domain::modules::Module;
use crate::state::AppState;
use crate::store::portal::MAX_BODY_CHARS;
use crate::store::tasks::MAX_TASK_BODY_CHARS;
use crate::web::forms::{checked_body, checked_ticket};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

impl ApiClient {
    /// 404 when staff hid this module from the client, as the page answers.
    fn module(&self, m: Module) -> ApiResult<()> {
        if self.0.acting.shows(m) {
            Ok(())
        } else {
            Err(Problem::not_found())
        }
    }

    /// 403 unless this session may make a write of this kind.
    fn may_write(&self, kind: WriteKind) -> ApiResult<()> {
        self.0.acting.authorize(kind).map_err(Problem::write_refused)
    }

    fn client_id(&self) -> i64 {
        self.0.acting.client_id
    }
}

/// `GET /api/v1/me`: the client, the store, the modules shown, and the Login as Client session.
pub async fn me(api: ApiClient) -> Json<Value> {
    let a = &api.0.acting;
    let modules: Vec<&str> = Module::ALL.iter().filter(|m| a.shows(**m)).map(|m| m.key()).collect();
    Json(json!({
        "id": a.client_id,
        "name": a.client_name,
        "email": a.client_email,
        "store": a.store.as_ref().map(|s| json!({ "id": s.id, "name": s.name, "currency": s.currency })),
        "modules": modules,
        "impersonation": a.impersonation.as_ref().map(|i| json!({
            "id": i.id,
            "staff": match &a.actor { crate::domain::acting::Actor::Staff { id, name } => json!({ "id": id, "name": name }), _ => Value::Null },
            "mode": i.mode.as_str(),
            "ends_by": i.ends_by,
            "channel": i.channel.as_str(),
        })),
    }))
}

/// `GET /api/v1/services`.
pub async fn services(State(state): State<AppState>, api: ApiClient) -> ApiResult<Json<Value>> {
    api.module(Module::Services)?;
    Ok(Json(json!({ "items": state.store.services(api.client_id()).await? })))
}

fn status_filter<S: StatusFilter>(q: &ListQuery) -> ApiResult<Option<S>> {
    S::from_query(q.status.as_deref()).map_err(Problem::bad_request)
}

/// `GET /api/v1/invoices?status=&cursor=&limit=`, newest first.
pub async fn invoices(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<crate::store::portal::Invoice>>> {
    api.module(Module::Invoices)?;
    let c = q.cursor()?;
    let status = status_filter::<InvoiceStatus>(&q)?;
    Ok(Json(Listed::of(state.store.invoices(api.client_id(), status, c.page, c.per_page).await?)))
}

/// `GET /api/v1/invoices/{id}`, with its lines.
pub async fn invoice(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Json<Value>> {
    api.module(Module::Invoices)?;
    let (invoice, lines) = state.store.invoice(id, Some(api.client_id())).await?;
    Ok(Json(json!({ "invoice": invoice, "lines": lines })))
}

/// `GET /api/v1/tickets?status=open|closed&cursor=&limit=`, most recently updated first.
pub async fn tickets(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<crate::store::portal::Ticket>>> {
    api.module(Module::Tickets)?;
    let c = q.cursor()?;
    let status = status_filter::<TicketStatus>(&q)?;
    Ok(Json(Listed::of(state.store.tickets(api.client_id(), status, c.page, c.per_page).await?)))
}

/// `GET /api/v1/tickets/{id}`, with its replies oldest first.
pub async fn ticket(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Json<Value>> {
    api.module(Module::Tickets)?;
    let (ticket, replies) = state.store.ticket(id, Some(api.client_id())).await?;
    Ok(Json(json!({ "ticket": ticket, "replies": replies })))
}

/// A new ticket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    subject: String,
    body: String,
}

/// A reply or a comment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewText {
    body: String,
}

fn created(id: i64) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

/// `POST /api/v1/tickets` (`{"subject": ..., "body": ...}`).
pub async fn create_ticket(
    State(state): State<AppState>,
    api: ApiClient,
    ApiJson(t): ApiJson<NewTicket>,
) -> ApiResult<Response> {
    api.module(Module::Tickets)?;
    api.may_write(WriteKind::Ordinary)?;
    let (subject, body) = checked_ticket(&t.subject, &t.body).map_err(Problem::invalid_field)?;
    Ok(created(state.store.create_ticket(&api.0.acting, subject, body).await?))
}

/// `POST /api/v1/tickets/{id}/replies` (`{"body": ...}`).
pub async fn reply(
    State(state): State<AppState>,
    api: ApiClient,
    ApiId(id): ApiId,
    ApiJson(r): ApiJson<NewText>,
) -> ApiResult<Response> {
    api.module(Module::Tickets)?;
    api.may_write(WriteKind::Ordinary)?;
    let body = checked_body(&r.body, MAX_BODY_CHARS, "reply").map_err(Problem::invalid_field)?;
    Ok(created(state.store.reply_to_ticket(&api.0.acting, id, body).await?))
}

/// `GET /api/v1/orders`, newest first.
pub async fn orders(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<crate::store::portal::Order>>> {
    api.module(Module::Orders)?;
    let c = q.cursor()?;
    Ok(Json(Listed::of(state.store.orders(api.client_id(), c.page, c.per_page).await?)))
}

/// `GET /api/v1/subscriptions`, newest first.
pub async fn subscriptions(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<crate::store::subscriptions::Subscription>>> {
    api.module(Module::Subscriptions)?;
    let c = q.cursor()?;
    Ok(Json(Listed::of(state.store.subscriptions(api.client_id(), c.page, c.per_page).await?)))
}

/// `GET /api/v1/files`, newest first: what the client shared and what staff shared with them.
pub async fn files(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<crate::store::files::FileRow>>> {
    api.module(Module::Files)?;
    let c = q.cursor()?;
    Ok(Json(Listed::of(state.store.files(api.client_id(), c.page, c.per_page).await?)))
}

/// `GET /api/v1/files/{id}/download`: the bytes, streamed from disk.
pub async fn download(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Response> {
    api.module(Module::Files)?;
    let f = state.store.file(id, Some(api.client_id())).await?;
    Ok(crate::web::uploads::download_response(&state, &f).await?)
}

/// `GET /api/v1/tasks`, newest first.
pub async fn tasks(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<crate::store::tasks::Task>>> {
    api.module(Module::Tasks)?;
    let c = q.cursor()?;
    Ok(Json(Listed::of(state.store.tasks(api.client_id(), c.page, c.per_page).await?)))
}

/// `GET /api/v1/tasks/{id}`, with its conversation oldest first.
pub async fn task(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Json<Value>> {
    api.module(Module::Tasks)?;
    let (task, comments) = state.store.task(id, Some(api.client_id())).await?;
    Ok(Json(json!({ "task": task, "comments": comments })))
}

/// `POST /api/v1/tasks/{id}/comments` (`{"body": ...}`).
pub async fn comment(
    State(state): State<AppState>,
    api: ApiClient,
    ApiId(id): ApiId,
    ApiJson(c): ApiJson<NewText>,
) -> ApiResult<Response> {
    api.module(Module::Tasks)?;
    api.may_write(WriteKind::Ordinary)?;
    let body = checked_body(&c.body, MAX_TASK_BODY_CHARS, "comment").map_err(Problem::invalid_field)?;
    Ok(created(state.store.comment_on_task(&api.0.acting, id, body).await?))
}
