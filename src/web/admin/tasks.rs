//! Tasks on the staff side: a client's task list, creating a task, reading one, commenting, and
//! marking it done or reopening it.

use crate::auth::guards::StaffAuth;
use crate::domain::permissions::Permission;
use crate::domain::{format_date, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::tasks::{NewTask, Task, MAX_TASK_BODY_CHARS, MAX_TITLE_CHARS};
use crate::store::StoreError;
use crate::web::attribution::reply_author_admin;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::CsrfOnly;
use crate::web::forms::{checked_body, BodyForm, PageQuery, Post};
use crate::web::layout::{admin_page, alert, csrf, pager};
use crate::web::views::{completed_by, status_label};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// The create-task form, keeping what was typed.
#[derive(Debug, Default, Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    due: String,
    client_can_complete: Option<String>,
}

fn new_task_form(auth: &StaffAuth, client_id: i64, f: &TaskForm, error: Option<&str>) -> Markup {
    html! {
        h2 { "New task" }
        @if let Some(e) = error { (alert(e)) }
        form #new-task method="post" action=(format!("/admin/clients/{client_id}/tasks")) {
            (csrf(&auth.csrf_token))
            label for="title" { "Title" }
            input #title type="text" name="title" value=(f.title) maxlength=(MAX_TITLE_CHARS) required;
            label for="description" { "Description" }
            textarea #description name="description" maxlength=(MAX_TASK_BODY_CHARS) { (f.description) }
            label for="due" { "Due date (YYYY-MM-DD, optional)" }
            input #due type="text" name="due" value=(f.due) placeholder="2030-01-31";
            div { label.checkbox for="client_can_complete" {
                input #client_can_complete type="checkbox" name="client_can_complete" value="1" checked[f.client_can_complete.is_some()];
                " Client may mark done"
            } }
            p { button #create-task type="submit" { "Create task" } }
        }
    }
}

async fn tasks_page(
    state: &AppState,
    auth: &StaffAuth,
    id: i64,
    page_no: i64,
    form: &TaskForm,
    error: Option<&str>,
) -> AppResult<Markup> {
    let c = state.store.client(id).await?;
    let page = state.store.tasks(id, page_no, 25).await?;
    let quick = super::impersonation_views::quick_login_for(state, auth, id, "/tasks").await?;
    Ok(admin_page(
        auth,
        &format!("Tasks of {}", c.name),
        html! {
            h1 { "Tasks of " a href=(format!("/admin/clients/{id}")) { (c.name) } }
            p { (quick) }
            p.muted { (page.total) " tasks" }
            table #tasks tabindex="0" {
                thead { tr { th { "#" } th { "Title" } th { "Status" } th { "Due" } th { "Client may mark done" } } }
                tbody { @for t in &page.items { tr data-id=(t.id) {
                    td { (t.id) }
                    td { a href=(format!("/admin/tasks/{}", t.id)) { (t.title) } }
                    td { (status_label(&t.status)) }
                    td { (t.due_at.map(format_date).unwrap_or_default()) }
                    td { @if t.client_can_complete { "yes" } @else { "no" } }
                } } }
            }
            (pager(&format!("/admin/clients/{id}/tasks"), page.page, page.pages()))
            @if auth.grants.has(Permission::ClientsManage) { (new_task_form(auth, id, form, error)) }
        },
    ))
}

/// `GET /admin/clients/{id}/tasks` (`clients.view`; the create form needs `clients.manage`).
pub async fn client_tasks(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> AppResult<Markup> {
    auth.require(Permission::ClientsView)?;
    tasks_page(&state, &auth, id, page_number(&q.page)?, &TaskForm::default(), None).await
}

/// Parses a due date typed as `YYYY-MM-DD` (strictly: four-digit year, two-digit month and day,
/// a real calendar date) into Unix seconds at midnight UTC.
pub fn parse_due_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let year: i32 = s[0..4].parse().ok()?;
    let month: u8 = s[5..7].parse().ok()?;
    let day: u8 = s[8..10].parse().ok()?;
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// Checks a create-task form; the message says what to fix.
fn validate_task(f: &TaskForm) -> Result<(String, String, Option<i64>), String> {
    let title = f.title.trim();
    let description = f.description.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("The title must have 1 to {MAX_TITLE_CHARS} characters."));
    }
    if description.chars().count() > MAX_TASK_BODY_CHARS {
        return Err(format!("The description may have at most {MAX_TASK_BODY_CHARS} characters."));
    }
    let due = match f.due.trim() {
        "" => None,
        d => Some(
            parse_due_date(d).ok_or("The due date must be a real date written as YYYY-MM-DD, such as 2030-01-31.")?,
        ),
    };
    Ok((title.to_string(), description.to_string(), due))
}

/// `POST /admin/clients/{id}/tasks` (`clients.manage`).
pub async fn create_task(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<StaffAuth, TaskForm>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    let (title, description, due_at) = match validate_task(&f) {
        Ok(v) => v,
        Err(msg) => {
            return Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                tasks_page(&state, &auth, id, 1, &f, Some(&msg)).await?,
            ))
        }
    };
    let new = NewTask {
        title: &title,
        description: &description,
        due_at,
        client_can_complete: f.client_can_complete.is_some(),
    };
    let task = state.store.create_task(&auth.acting, id, &new).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{task}")).into_response())
}

/// Says who completed a task, as staff see it.
fn completed_by_admin(client_name: &str, t: &Task) -> Markup {
    html! { @if let Some(who) = completed_by(t) { (who.admin(client_name)) } }
}

async fn task_page(state: &AppState, auth: &StaffAuth, id: i64, draft: &str, error: Option<&str>) -> AppResult<Markup> {
    let (t, comments) = state.store.task(id, None).await?;
    let c = state.store.client(t.client_id).await?;
    let quick = super::impersonation_views::quick_login_for(state, auth, c.id, &format!("/tasks/{id}")).await?;
    let may = auth.grants.has(Permission::ClientsManage);
    Ok(admin_page(
        auth,
        &t.title,
        html! {
            h1 { "Task #" (t.id) ": " (t.title) }
            @if let Some(e) = error { (alert(e)) }
            p { "Client: " a href=(format!("/admin/clients/{}", c.id)) { (c.name) }
                " · " a href=(format!("/admin/clients/{}/tasks", c.id)) { "all tasks" } " " (quick) }
            dl.details {
                dt { "Status" } dd #task-status { (status_label(&t.status)) }
                dt { "Due" } dd { (t.due_at.map(format_date).unwrap_or_else(|| "no due date".into())) }
                dt { "Client may mark done" } dd { @if t.client_can_complete { "yes" } @else { "no" } }
                dt { "Created" } dd { (format_time(t.created_at)) }
                @if let Some(at) = t.completed_at { dt { "Completed" } dd #task-completed { (format_time(at)) " by " (completed_by_admin(&c.name, &t)) } }
            }
            @if !t.description.is_empty() { div.description #task-description { (t.description) } }
            @if may {
                @if t.status == "done" {
                    form.inline method="post" action=(format!("/admin/tasks/{id}/reopen")) {
                        (csrf(&auth.csrf_token)) button #reopen-task type="submit" { "Reopen" }
                    }
                } @else {
                    form.inline method="post" action=(format!("/admin/tasks/{id}/done")) {
                        (csrf(&auth.csrf_token)) button #staff-mark-done type="submit" { "Mark done" }
                    }
                }
            }
            h2 { "Comments" }
            div #comments {
                @for cm in &comments {
                    div.reply.comment {
                        div.meta.author { (reply_author_admin(&c.name, cm)) " · " (format_time(cm.created_at)) }
                        div.body { (cm.body) }
                    }
                }
            }
            @if may {
                form method="post" action=(format!("/admin/tasks/{id}/comments")) {
                    (csrf(&auth.csrf_token))
                    label for="comment-body" { "Comment as staff" }
                    textarea #comment-body name="body" maxlength=(MAX_TASK_BODY_CHARS) required { (draft) }
                    p { button #send-comment type="submit" { "Send comment" } }
                }
            }
        },
    ))
}

/// `GET /admin/tasks/{id}` (`clients.view`).
pub async fn task(State(state): State<AppState>, auth: StaffAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require(Permission::ClientsView)?;
    task_page(&state, &auth, id, "", None).await
}

/// `POST /admin/tasks/{id}/comments` (`clients.manage`).
pub async fn comment(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<StaffAuth, BodyForm>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    let body = match checked_body(&f.body, MAX_TASK_BODY_CHARS, "comment") {
        Ok(body) => body,
        Err(msg) => {
            let page = task_page(&state, &auth, id, &f.body, Some(&msg)).await?;
            return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    state.store.staff_comment_on_task(&auth.acting, id, body).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}")).into_response())
}

async fn set_done(state: AppState, auth: StaffAuth, id: i64, done: bool) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    match state.store.set_task_done_by_staff(&auth.acting, id, done).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/tasks/{id}")).into_response()),
        Err(StoreError::Conflict(msg)) => {
            Err(AppError::Page(StatusCode::CONFLICT, task_page(&state, &auth, id, "", Some(&msg.to_string())).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/tasks/{id}/done` (`clients.manage`).
pub async fn mark_done(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    set_done(state, auth, id, true).await
}

/// `POST /admin/tasks/{id}/reopen` (`clients.manage`).
pub async fn reopen(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    set_done(state, auth, id, false).await
}

#[cfg(test)]
mod tests {
    use super::parse_due_date;

    #[test]
    fn due_dates_are_parsed_strictly() {
        assert_eq!(parse_due_date("1970-01-02"), Some(86_400));
        assert!(parse_due_date("2030-02-28").is_some());
        for bad in
            ["2030-02-30", "2030-13-01", "2030-1-01", "+2030-01-01", "2030/01/01", "30-01-2030", "", "2030-01-01 "]
        {
            assert_eq!(parse_due_date(bad), None, "{bad:?}");
        }
    }
}
