//! The client's side of the API, for a Login as Client token: the same store calls, the same
//! `Acting` and the same module visibility as the portal's pages (a hidden module answers 404),
//! and writes through `Acting::authorize` (read-only and sensitive refusals are 403 problems).

use super::ProblemBody;
use super::{ApiClient, ApiId, ApiJson, ApiQuery, ApiResult, ListQuery, Listed, Problem};
use crate::domain::acting::Actor;
use crate::domain::acting::WriteKind;
use crate::domain::api::Channel;
use crate::domain::lists::{InvoiceStatus, StatusFilter, TicketStatus};
use crate::domain::modules::Module;
use crate::state::AppState;
use crate::store::files::FileRow;
use crate::store::portal::MAX_BODY_CHARS;
use crate::store::portal::{Invoice, InvoiceLine, Order, Reply, Service, Ticket};
use crate::store::subscriptions::Subscription;
use crate::store::tasks::Task;
use crate::store::tasks::MAX_TASK_BODY_CHARS;
use crate::web::forms::{checked_body, checked_ticket};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

impl ApiClient {
    /// 404 when staff hid this module from the client, as the page answers.
    fn module(&self, m: Module) -> ApiResult<()> {
        Ok(self.0.require_module(m)?)
    }

    /// 403 unless this session may make a write of this kind.
    fn may_write(&self, kind: WriteKind) -> ApiResult<()> {
        self.0.acting.authorize(kind).map_err(Problem::write_refused)
    }

    fn client_id(&self) -> i64 {
        self.0.acting.client_id
    }
}

/// The client behind a token, and the session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub store: Option<MeStore>,
    /// The portal modules the client sees (`services`, `invoices`, …).
    pub modules: Vec<&'static str>,
    pub impersonation: Option<MeSession>,
}

/// The store the session is in.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeStore {
    pub id: i64,
    pub name: String,
    pub currency: String,
}

/// The Login as Client session behind the token.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeSession {
    pub id: i64,
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
    /// `read_only` or `full`.
    pub mode: &'static str,
    /// When it ends at the latest (Unix seconds).
    pub ends_by: i64,
    pub channel: Channel,
}

/// The services.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<Service>,
}

/// An invoice with its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceDetail {
    pub invoice: Invoice,
    pub lines: Vec<InvoiceLine>,
}

/// A ticket with its replies, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub replies: Vec<Reply>,
}

/// A task with its conversation, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDetail {
    pub task: Task,
    pub comments: Vec<Reply>,
}

/// What a write made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// `GET /api/v1/me`: the client, the store, the modules shown, and the Login as Client session.
#[utoipa::path(get, path = "/api/v1/me", tag = "client", security(("token" = [])), responses((status = 200, body = Me), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn me(api: ApiClient) -> Json<Me> {
    let a = api.0.acting;
    let (staff_id, staff_name) = match &a.actor {
        Actor::Staff { id, name } => (Some(*id), Some(name.clone())),
        Actor::Client => (None, None),
    };
    Json(Me {
        id: a.client_id,
        modules: Module::ALL.iter().filter(|m| a.shows(**m)).map(|m| m.key()).collect(),
        store: a.store.map(|s| MeStore { id: s.id, name: s.name, currency: s.currency }),
        impersonation: a.impersonation.map(|i| MeSession {
            id: i.id,
            staff_id,
            staff_name,
            mode: i.mode.as_str(),
            ends_by: i.ends_by,
            channel: i.channel,
        }),
        name: a.client_name,
        email: a.client_email,
    })
}

/// `GET /api/v1/services`.
#[utoipa::path(get, path = "/api/v1/services", tag = "client", security(("token" = [])), responses((status = 200, body = ServiceList), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn services(State(state): State<AppState>, api: ApiClient) -> ApiResult<Json<ServiceList>> {
    api.module(Module::Services)?;
    Ok(Json(ServiceList { items: state.store.services(api.client_id()).await? }))
}

/// Lists without a status filter refuse one rather than ignore it.
fn no_status(q: &ListQuery) -> ApiResult<()> {
    match q.status.as_deref() {
        None | Some("") => Ok(()),
        Some(_) => Err(Problem::bad_request("This list has no status filter.")),
    }
}

fn status_filter<S: StatusFilter>(q: &ListQuery) -> ApiResult<Option<S>> {
    S::from_query(q.status.as_deref()).map_err(Problem::bad_request)
}

/// `GET /api/v1/invoices?status=&cursor=&limit=`, newest first.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "client", security(("token" = [])), params(ListQuery), responses((status = 200, body = Listed<Invoice>), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn invoices(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<Invoice>>> {
    api.module(Module::Invoices)?;
    let (after, limit) = q.after()?;
    let status = status_filter::<InvoiceStatus>(&q)?;
    Ok(Json(Listed::of_slice(state.store.invoices_after(api.client_id(), status, after, limit + 1).await?, limit)))
}

/// `GET /api/v1/invoices/{id}`, with its lines.
#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "client", security(("token" = [])), params(("id" = i64, Path, description = "The record's id")), responses((status = 200, body = InvoiceDetail), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn invoice(
    State(state): State<AppState>,
    api: ApiClient,
    ApiId(id): ApiId,
) -> ApiResult<Json<InvoiceDetail>> {
    api.module(Module::Invoices)?;
    let (invoice, lines) = state.store.invoice(id, Some(api.client_id())).await?;
    Ok(Json(InvoiceDetail { invoice, lines }))
}

/// `GET /api/v1/tickets?status=open|closed&cursor=&limit=`, most recently updated first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "client", security(("token" = [])), params(ListQuery), responses((status = 200, body = Listed<Ticket>), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn tickets(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<Ticket>>> {
    api.module(Module::Tickets)?;
    let (after, limit) = q.after()?;
    let status = status_filter::<TicketStatus>(&q)?;
    Ok(Json(Listed::of_slice(state.store.tickets_after(api.client_id(), status, after, limit + 1).await?, limit)))
}

/// `GET /api/v1/tickets/{id}`, with its replies oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "client", security(("token" = [])), params(("id" = i64, Path, description = "The record's id")), responses((status = 200, body = TicketDetail), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn ticket(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Json<TicketDetail>> {
    api.module(Module::Tickets)?;
    let (ticket, replies) = state.store.ticket(id, Some(api.client_id())).await?;
    Ok(Json(TicketDetail { ticket, replies }))
}

/// A new ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    subject: String,
    body: String,
}

/// A reply or a comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewText {
    body: String,
}

fn created(id: i64) -> Response {
    (StatusCode::CREATED, Json(Created { id })).into_response()
}

/// `POST /api/v1/tickets` (`{"subject": ..., "body": ...}`).
#[utoipa::path(post, path = "/api/v1/tickets", tag = "client", security(("token" = [])), request_body = NewTicket, responses((status = 201, body = Created), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "Read-only session (`read-only`)", body = ProblemBody, content_type = "application/problem+json"), (status = 422, description = "A field is refused (`invalid-field`)", body = ProblemBody, content_type = "application/problem+json")))]
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
#[utoipa::path(post, path = "/api/v1/tickets/{id}/replies", tag = "client", security(("token" = [])), params(("id" = i64, Path, description = "The record's id")), request_body = NewText, responses((status = 201, body = Created), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "Read-only session (`read-only`)", body = ProblemBody, content_type = "application/problem+json"), (status = 422, description = "A field is refused (`invalid-field`)", body = ProblemBody, content_type = "application/problem+json")))]
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
#[utoipa::path(get, path = "/api/v1/orders", tag = "client", security(("token" = [])), params(ListQuery), responses((status = 200, body = Listed<Order>), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn orders(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<Order>>> {
    api.module(Module::Orders)?;
    let (after, limit) = q.after()?;
    no_status(&q)?;
    Ok(Json(Listed::of_slice(state.store.orders_after(api.client_id(), after, limit + 1).await?, limit)))
}

/// `GET /api/v1/subscriptions`, newest first.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "client", security(("token" = [])), params(ListQuery), responses((status = 200, body = Listed<Subscription>), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn subscriptions(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<Subscription>>> {
    api.module(Module::Subscriptions)?;
    let (after, limit) = q.after()?;
    no_status(&q)?;
    Ok(Json(Listed::of_slice(state.store.subscriptions_after(api.client_id(), after, limit + 1).await?, limit)))
}

/// `GET /api/v1/files`, newest first: what the client shared and what staff shared with them.
#[utoipa::path(get, path = "/api/v1/files", tag = "client", security(("token" = [])), params(ListQuery), responses((status = 200, body = Listed<FileRow>), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn files(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<FileRow>>> {
    api.module(Module::Files)?;
    let (after, limit) = q.after()?;
    no_status(&q)?;
    Ok(Json(Listed::of_slice(state.store.files_after(api.client_id(), after, limit + 1).await?, limit)))
}

/// `GET /api/v1/files/{id}/download`: the bytes, streamed from disk.
#[utoipa::path(get, path = "/api/v1/files/{id}/download", tag = "client", security(("token" = [])), params(("id" = i64, Path, description = "The record's id")), responses((status = 200, description = "The file's bytes, with its type and name", content_type = "application/octet-stream"), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn download(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Response> {
    api.module(Module::Files)?;
    let f = state.store.file(id, Some(api.client_id())).await?;
    Ok(crate::web::uploads::download_response(&state, &f).await?)
}

/// `GET /api/v1/tasks`, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "client", security(("token" = [])), params(ListQuery), responses((status = 200, body = Listed<Task>), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn tasks(
    State(state): State<AppState>,
    api: ApiClient,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Listed<Task>>> {
    api.module(Module::Tasks)?;
    let (after, limit) = q.after()?;
    no_status(&q)?;
    Ok(Json(Listed::of_slice(state.store.tasks_after(api.client_id(), after, limit + 1).await?, limit)))
}

/// `GET /api/v1/tasks/{id}`, with its conversation oldest first.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "client", security(("token" = [])), params(("id" = i64, Path, description = "The record's id")), responses((status = 200, body = TaskDetail), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json")))]
pub async fn task(State(state): State<AppState>, api: ApiClient, ApiId(id): ApiId) -> ApiResult<Json<TaskDetail>> {
    api.module(Module::Tasks)?;
    let (task, comments) = state.store.task(id, Some(api.client_id())).await?;
    Ok(Json(TaskDetail { task, comments }))
}

/// `POST /api/v1/tasks/{id}/comments` (`{"body": ...}`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/comments", tag = "client", security(("token" = [])), params(("id" = i64, Path, description = "The record's id")), request_body = NewText, responses((status = 201, body = Created), (status = 400, description = "A malformed id, filter or cursor", body = ProblemBody, content_type = "application/problem+json"), (status = 401, description = "No live Login as Client token", body = ProblemBody, content_type = "application/problem+json"), (status = 404, description = "Not found, or the module is hidden from the client", body = ProblemBody, content_type = "application/problem+json"), (status = 403, description = "Read-only session (`read-only`)", body = ProblemBody, content_type = "application/problem+json"), (status = 422, description = "A field is refused (`invalid-field`)", body = ProblemBody, content_type = "application/problem+json")))]
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
