//! Portal task pages: the work the agency does for the client, its comments, commenting and
//! marking a task done where the agency allows it.

use super::authorize;
use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::domain::modules::Module;
use crate::domain::{format_date, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::tasks::{Task, TaskComment, MAX_TASK_BODY_CHARS};
use crate::web::attribution::{Who, AGENCY};
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::{checked_body, BodyForm, CsrfOnly, PageQuery, Post};
use crate::web::layout::{alert, pager, portal_page};
use crate::web::portal::controls::controls;
use crate::web::views::{completed_by, status_label};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

/// The refusal when the agency keeps completion to itself.
pub const AGENCY_ONLY: &str = "This task can only be completed by the agency.";

/// `GET /tasks`.
pub async fn list(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<PageQuery>) -> AppResult<Markup> {
    auth.require_module(Module::Tasks)?;
    let page = state.store.tasks(auth.acting.client_id, page_number(&q.page)?, 20).await?;
    Ok(portal_page(
        &auth,
        "Tasks",
        html! {
            h1 { "Tasks" }
            @if page.items.is_empty() { p #no-tasks { "There are no tasks yet." } }
            table #tasks tabindex="0" {
                thead { tr { th { "Title" } th { "Status" } th { "Due" } } }
                tbody { @for t in &page.items { tr data-id=(t.id) {
                    td { a href=(format!("/tasks/{}", t.id)) { (t.title) } }
                    td { (status_label(&t.status)) }
                    td { (t.due_at.map(format_date).unwrap_or_default()) }
                } } }
            }
            (pager("/tasks", page.page, page.pages()))
        },
    ))
}

/// Says who completed a task, as the client sees it.
fn completed_by_portal(t: &Task) -> Markup {
    html! { @if let Some(who) = completed_by(t) { (who.portal("you", ("the agency", "agency"))) } }
}

fn task_page(auth: &PortalAuth, t: &Task, comments: &[TaskComment], draft: &str, error: Option<&str>) -> Markup {
    portal_page(
        auth,
        &t.title,
        html! {
            h1 { (t.title) }
            @if let Some(e) = error { (alert(e)) }
            dl.details {
                dt { "Status" } dd #task-status { (status_label(&t.status)) }
                @if let Some(due) = t.due_at { dt { "Due" } dd #task-due { (format_date(due)) } }
                @if let Some(at) = t.completed_at { dt { "Completed" } dd #task-completed { (format_time(at)) " by " (completed_by_portal(t)) } }
            }
            @if !t.description.is_empty() { div.description #task-description { (t.description) } }
            @if t.status != "done" {
                @if t.client_can_complete {
                    form method="post" action=(format!("/tasks/{}/done", t.id)) {
                        (controls(auth, WriteKind::Ordinary, html! {
                            p { button #mark-done type="submit" { "Mark as done" } }
                        }))
                    }
                } @else {
                    p.muted #agency-completes { "The agency marks this task done when it is finished." }
                }
            }
            h2 { "Comments" }
            div #comments {
                @for c in comments {
                    div.reply.comment {
                        div.meta.author { (Who::of_reply(c).portal("You", AGENCY)) " · " (format_time(c.created_at)) }
                        div.body { (c.body) }
                    }
                }
            }
            form method="post" action=(format!("/tasks/{}/comments", t.id)) {
                (controls(auth, WriteKind::Ordinary, html! {
                    label for="comment-body" { "Add a comment" }
                    textarea #comment-body name="body" maxlength=(MAX_TASK_BODY_CHARS) required { (draft) }
                    p { button #send-comment type="submit" { "Send comment" } }
                }))
            }
            p { a href="/tasks" { "All tasks" } }
        },
    )
}

/// `GET /tasks/{id}`: only the acting client's own task; any other id is 404.
pub async fn show(State(state): State<AppState>, auth: PortalAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require_module(Module::Tasks)?;
    let (t, comments) = state.store.task(id, Some(auth.acting.client_id)).await?;
    Ok(task_page(&auth, &t, &comments, "", None))
}

/// `POST /tasks/{id}/comments`.
pub async fn comment(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<PortalAuth, BodyForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Tasks)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let body = match checked_body(&f.body, MAX_TASK_BODY_CHARS, "comment") {
        Ok(body) => body,
        Err(msg) => {
            let (t, comments) = state.store.task(id, Some(auth.acting.client_id)).await?;
            let page = task_page(&auth, &t, &comments, &f.body, Some(&msg));
            return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    state.store.comment_on_task(&auth.acting, id, body).await?;
    Ok(Redirect::to(&format!("/tasks/{id}")).into_response())
}

/// `POST /tasks/{id}/done`: only where the agency lets the client complete the task.
pub async fn done(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require_module(Module::Tasks)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let (t, comments) = state.store.task(id, Some(auth.acting.client_id)).await?;
    let refusal = if !t.client_can_complete {
        Some((StatusCode::FORBIDDEN, AGENCY_ONLY.to_string()))
    } else if t.status == "done" {
        Some((StatusCode::CONFLICT, "This task is already done.".to_string()))
    } else {
        state
            .store
            .complete_task_as_client(&auth.acting, id)
            .await
            .err()
            .map(|e| match e {
                crate::store::StoreError::Conflict(c) => Ok((StatusCode::CONFLICT, c.to_string())),
                e => Err(e),
            })
            .transpose()?
    };
    if let Some((status, msg)) = refusal {
        return Err(AppError::Page(status, task_page(&auth, &t, &comments, "", Some(&msg))));
    }
    Ok(Redirect::to(&format!("/tasks/{id}")).into_response())
}
