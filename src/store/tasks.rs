//! Tasks: work the agency does for a client, with comments from both sides and completion by the
//! client (where allowed) or by staff; every portal read is scoped by client.

use super::activity::NewActivity;
use super::{ClientTable, Page, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::{Acting, StaffActing};
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;

/// Longest task title accepted.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest task description or comment accepted.
pub const MAX_TASK_BODY_CHARS: usize = 5000;

/// A task with the name of whoever completed it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    pub client_id: i64,
    pub title: String,
    pub description: String,
    /// `open`, `in_progress` or `done`.
    pub status: String,
    pub client_can_complete: bool,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    /// `client` (possibly through Login as Client) or `staff`.
    pub completed_by_kind: Option<String>,
    pub completed_by_staff_name: Option<String>,
    pub completed_impersonation_id: Option<i64>,
}
from_row!(Task {
    id,
    client_id,
    title,
    description,
    status,
    client_can_complete,
    due_at,
    created_at,
    completed_at,
    completed_by_kind,
    completed_by_staff_name,
    completed_impersonation_id
});

/// A task comment: the same columns as a ticket reply, with the names needed to say who wrote
/// it and who acted.
pub type TaskComment = super::portal::Reply;

/// A task staff create for a client.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub due_at: Option<i64>,
    pub client_can_complete: bool,
}

const TASK_COLS: &str = "SELECT t.id, t.client_id, t.title, t.description, t.status, t.client_can_complete, t.due_at,
        t.created_at, t.completed_at, t.completed_by_kind, x.name AS completed_by_staff_name, t.completed_impersonation_id
     FROM tasks t LEFT JOIN staff x ON x.id = t.completed_by_staff_id";

const TASKS: ClientTable =
    ClientTable { select: TASK_COLS, table: "tasks", client_col: "t.client_id", id_col: "t.id", sort: "t.created_at" };

impl Store {
    /// A client's tasks, newest first, paged (the count and the page both use the client index).
    pub async fn tasks(&self, client_id: i64, page: i64, per_page: i64) -> StoreResult<Page<Task>> {
        self.client_page(&TASKS, client_id, page, per_page).await
    }

    /// [`Store::tasks`] after a cursor's position (the API).
    pub async fn tasks_after(
        &self,
        client_id: i64,
        after: Option<super::Position>,
        limit: i64,
    ) -> StoreResult<Vec<Task>> {
        self.client_slice_where(&TASKS, None, client_id, after, limit).await
    }

    /// One task with its comments; `client_id` scopes it (None for staff).
    pub async fn task(&self, id: i64, client_id: Option<i64>) -> StoreResult<(Task, Vec<TaskComment>)> {
        let t: Task = self.client_row(&TASKS, id, client_id).await?;
        let comments = query_as(
            "SELECT c.id, c.author_kind, a.name AS author_staff_name, x.name AS actor_staff_name, c.impersonation_id,
                    c.body, c.created_at
             FROM task_comments c LEFT JOIN staff a ON a.id = c.author_staff_id LEFT JOIN staff x ON x.id = c.actor_staff_id
             WHERE c.task_id = $1 ORDER BY c.id",
        )
        .bind(id)
        .fetch_all(&self.db)
        .await?;
        Ok((t, comments))
    }

    /// Comments on one of the acting client's tasks; the comment, its actor and the activity entry
    /// commit together.
    pub async fn comment_on_task(&self, acting: &Acting, task_id: i64, body: &str) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            let owned = query("SELECT id FROM tasks WHERE id = $1 AND client_id = $2")
                .bind(task_id)
                .bind(acting.client_id)
                .fetch_optional(&mut *tx)
                .await?;
            if owned.is_none() {
                return Err(StoreError::NotFound);
            }
            let id: i64 = query(
                "INSERT INTO task_comments (task_id, author_kind, actor_staff_id, impersonation_id, body, created_at)
             VALUES ($1, 'client', $2, $3, $4, $5) RETURNING id",
            )
            .bind(task_id)
            .bind(acting.staff_id())
            .bind(acting.impersonation_id())
            .bind(body)
            .bind(crate::domain::now())
            .fetch_scalar(&mut *tx)
            .await?;
            Ok((
                tx,
                id,
                NewActivity::from_acting(
                    acting,
                    ActivityGroup::Tasks,
                    "Commented on a task",
                    format!("task #{task_id}"),
                ),
            ))
        })
        .await
    }

    /// Marks one of the acting client's tasks done, when the agency lets the client do so.
    /// `Conflict` when it is already done or the client may not complete it (the caller checks
    /// both first to pick the message; this guards against a concurrent change).
    pub async fn complete_task_as_client(&self, acting: &Acting, task_id: i64) -> StoreResult<()> {
        let query = query(
            "UPDATE tasks SET status = 'done', completed_at = $1, completed_by_kind = 'client',
                    completed_by_staff_id = $2, completed_impersonation_id = $3
             WHERE id = $4 AND client_id = $5 AND client_can_complete = 1 AND status <> 'done'",
        )
        .bind(crate::domain::now())
        .bind(acting.staff_id())
        .bind(acting.impersonation_id())
        .bind(task_id)
        .bind(acting.client_id);
        let entry =
            NewActivity::from_acting(acting, ActivityGroup::Tasks, "Marked a task done", format!("task #{task_id}"));
        self.change_or(query, entry, |_| async { StoreError::Conflict(Conflict::TaskNotCompletable) }).await
    }

    /// Creates a task for a client (staff side).
    pub async fn create_task(&self, by: &StaffActing, client_id: i64, t: &NewTask<'_>) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            super::client_exists(&mut tx, client_id).await?;
            let id: i64 = query(
                "INSERT INTO tasks (client_id, title, description, status, client_can_complete, due_at, created_by_staff_id, created_at)
                 VALUES ($1, $2, $3, 'open', $4, $5, $6, $7) RETURNING id",
            )
            .bind(client_id)
            .bind(t.title)
            .bind(t.description)
            .bind(t.client_can_complete as i64)
            .bind(t.due_at)
            .bind(by.staff_id)
            .bind(crate::domain::now())
            .fetch_scalar(&mut *tx).await?;
            Ok((tx, id, staff_activity(by, client_id, "Created a task", id)))
        })
        .await
    }

    /// A staff comment on any task.
    pub async fn staff_comment_on_task(&self, by: &StaffActing, task_id: i64, body: &str) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            let client_id = task_client(&mut tx, task_id).await?;
            let id: i64 = query(
                "INSERT INTO task_comments (task_id, author_kind, author_staff_id, body, created_at)
             VALUES ($1, 'staff', $2, $3, $4) RETURNING id",
            )
            .bind(task_id)
            .bind(by.staff_id)
            .bind(body)
            .bind(crate::domain::now())
            .fetch_scalar(&mut *tx)
            .await?;
            Ok((tx, id, staff_activity(by, client_id, "Commented on a task", task_id)))
        })
        .await
    }

    /// Staff mark a task done (`done = true`) or reopen it; `Conflict` when it already is so.
    pub async fn set_task_done_by_staff(&self, by: &StaffActing, task_id: i64, done: bool) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let client_id = task_client(&mut tx, task_id).await?;
            let n = if done {
                query(
                    "UPDATE tasks SET status = 'done', completed_at = $1, completed_by_kind = 'staff',
                        completed_by_staff_id = $2, completed_impersonation_id = NULL
                 WHERE id = $3 AND status <> 'done'",
                )
                .bind(crate::domain::now())
                .bind(by.staff_id)
                .bind(task_id)
                .execute(&mut *tx)
                .await?
            } else {
                query(
                    "UPDATE tasks SET status = 'open', completed_at = NULL, completed_by_kind = NULL,
                        completed_by_staff_id = NULL, completed_impersonation_id = NULL
                 WHERE id = $1 AND status = 'done'",
                )
                .bind(task_id)
                .execute(&mut *tx)
                .await?
            };
            if n.rows_affected() == 0 {
                return Err(StoreError::Conflict(if done { Conflict::TaskAlreadyDone } else { Conflict::TaskNotDone }));
            }
            let action = if done { "Marked a task done" } else { "Reopened a task" };
            Ok((tx, (), staff_activity(by, client_id, action, task_id)))
        })
        .await
    }
}

async fn task_client(tx: &mut Tx, task_id: i64) -> StoreResult<i64> {
    query("SELECT client_id FROM tasks WHERE id = $1")
        .bind(task_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .get(0)
        .map_err(Into::into)
}

fn staff_activity(by: &StaffActing, client_id: i64, action: &'static str, task_id: i64) -> NewActivity {
    NewActivity::by_staff(by, Some(client_id), ActivityGroup::Tasks, action, format!("task #{task_id}"))
}

/// Demo tasks for one client: one the client may mark done, one done, one in progress with a staff
/// comment, and one open that only the agency completes.
pub(crate) async fn seed_demo_tasks(tx: &mut Tx, client_id: i64, staff_id: i64, now: i64) -> StoreResult<()> {
    let day = 86_400;
    let staff = (staff_id > 0).then_some(staff_id);
    // (title, description, status, client_can_complete, due in days, age in days)
    let rows: [(&str, &str, &str, i64, i64, i64); 4] = [
        (
            "Send us your logo files",
            "Upload or send the logo in SVG or PNG so we can finish the header.",
            "open",
            1,
            7,
            3,
        ),
        ("Set up daily backups", "Configure off-site backups with 30 days of retention.", "done", 0, -10, 30),
        (
            "Redesign the home page",
            "New hero section, testimonials and a clearer call to action.",
            "in_progress",
            0,
            14,
            12,
        ),
        ("Renew the TLS certificate", "Move the site to automatic certificate renewal.", "open", 0, 21, 1),
    ];
    for (title, description, status, can, due, age) in rows {
        let done = status == "done";
        let id: i64 = query(
            "INSERT INTO tasks (client_id, title, description, status, client_can_complete, due_at, created_by_staff_id,
                    created_at, completed_at, completed_by_kind, completed_by_staff_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(client_id)
        .bind(title)
        .bind(description)
        .bind(status)
        .bind(can)
        .bind(now + due * day)
        .bind(staff)
        .bind(now - age * day)
        .bind(done.then_some(now - 11 * day))
        .bind(done.then_some("staff"))
        .bind(if done { staff } else { None })
        .fetch_scalar(&mut **tx).await?;
        if status == "in_progress" && staff.is_some() {
            query(
                "INSERT INTO task_comments (task_id, author_kind, author_staff_id, body, created_at) VALUES ($1, 'staff', $2, $3, $4)",
            )
            .bind(id)
            .bind(staff)
            .bind("First draft is ready for review; we will share it this week.")
            .bind(now - 2 * day)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

impl super::Positioned for Task {
    fn position(&self) -> super::Position {
        super::Position { at: self.created_at, id: self.id }
    }
}
