//! Tasks: the client's list and pages, comments and completion by the client and through Login
//! as Client, the staff side (create, comment, done, reopen), refusals and bad input.

use crate::support::*;
use reqwest::StatusCode;

/// The first of a client's tasks that `pick` accepts.
async fn task_where(app: &TestApp, client: i64, pick: impl Fn(&TaskRow) -> bool) -> i64 {
    app.tasks_of(client).await.into_iter().find(|t| pick(t)).expect("a matching task").id
}

#[tokio::test]
async fn client_comments_and_completes_only_what_the_agency_allows() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let list = jane.get("/tasks").await;
    assert_eq!(list.status, StatusCode::OK);
    let table = list.text_of("tasks").unwrap();
    for title in ["Send us your logo files", "Set up daily backups", "Redesign the home page"] {
        assert!(table.contains(title), "{table}");
    }
    assert!(table.contains("in progress") && table.contains("done"));

    // The seeded task in progress shows the staff comment with its author.
    let wip = task_where(&app, JANE, |t| t.status == "in_progress").await;
    let page = jane.get(&format!("/tasks/{wip}")).await;
    assert!(page.text_of("comments").unwrap().contains("Sue Support (agency)"));
    assert!(page.has("agency-completes") && !page.has("mark-done"));

    let c = jane.portal_post(&format!("/tasks/{wip}/comments"), &[("body", "  Looks great, thanks!  ")]).await;
    assert_eq!(c.status, StatusCode::SEE_OTHER);
    let page = jane.get(&format!("/tasks/{wip}")).await;
    assert!(page.text_of("comments").unwrap().contains("You"));
    assert_eq!(
        app.task_comments(wip)
            .await
            .iter()
            .filter(|c| c.author_kind == "client"
                && c.body == "Looks great, thanks!"
                && c.actor_staff_id.is_none()
                && c.impersonation_id.is_none())
            .count(),
        1
    );
    let target = format!("task #{wip}");
    assert_eq!(
        app.activity_rows("Commented on a task")
            .await
            .iter()
            .filter(|r| r.group == "tasks" && r.actor_client_id == Some(JANE) && r.target == target)
            .count(),
        1
    );

    // The agency's task: 403 with the message, nothing stored.
    let entries = app.activity_count().await;
    let refused = jane.portal_post(&format!("/tasks/{wip}/done"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("This task can only be completed by the agency."));
    assert_eq!(app.task(wip).await.status, "in_progress");
    assert_eq!(app.activity_count().await, entries);

    // The task the client may complete.
    let mine = task_where(&app, JANE, |t| t.client_can_complete == 1).await;
    assert!(jane.get(&format!("/tasks/{mine}")).await.has("mark-done"));
    let done = jane.portal_post(&format!("/tasks/{mine}/done"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = jane.get(&format!("/tasks/{mine}")).await;
    assert_eq!(page.text_of("task-status").as_deref(), Some("done"));
    assert!(page.text_of("task-completed").unwrap().contains("by you"));
    let task = app.task(mine).await;
    assert_eq!((task.status.as_str(), task.completed_by_kind.as_deref()), ("done", Some("client")));
    assert!(task.completed_at.is_some(), "the completion time is kept");
    assert_eq!((task.completed_by_staff_id, task.completed_impersonation_id), (None, None), "Jane did it herself");
    let entries = app.activity_count().await;
    let again = jane.portal_post(&format!("/tasks/{mine}/done"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("This task is already done."));
    assert_eq!(app.activity_count().await, entries);
}

#[tokio::test]
async fn full_mode_comment_and_done_record_the_actor_and_show_it_on_both_sides() {
    let app = TestApp::spawn().await;
    let alice = app.staff_id("admin@example.com").await;
    let mine = task_where(&app, JANE, |t| t.client_can_complete == 1).await;
    let mut admin = app.staff("admin@example.com").await;
    // The quick button on the admin task page opens this task in the portal.
    let staff_view = admin.get(&format!("/admin/tasks/{mine}")).await;
    assert!(staff_view.body.contains(&format!("value=\"/tasks/{mine}\"")));
    assert!(staff_view.body.contains("class=\"login-as-client\""));
    let start = admin
        .post_from(
            &format!("/admin/tasks/{mine}"),
            &format!("/admin/clients/{JANE}/impersonate"),
            &[("mode", "full"), ("reason", "Helping with the logo upload"), ("next", &format!("/tasks/{mine}"))],
        )
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.location(), Some(format!("/tasks/{mine}").as_str()));
    let imp = app.latest_impersonation().await.id;

    assert_eq!(
        admin.portal_post(&format!("/tasks/{mine}/comments"), &[("body", "Uploaded the SVG for you")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(admin.portal_post(&format!("/tasks/{mine}/done"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.task_comments(mine)
            .await
            .iter()
            .filter(|c| c.author_kind == "client" && c.actor_staff_id == Some(alice) && c.impersonation_id == Some(imp))
            .count(),
        1
    );
    let task = app.task(mine).await;
    assert_eq!((task.status.as_str(), task.completed_by_kind.as_deref()), ("done", Some("client")));
    assert_eq!((task.completed_by_staff_id, task.completed_impersonation_id), (Some(alice), Some(imp)));
    assert_eq!(
        app.activity_in_group("tasks")
            .await
            .iter()
            .filter(|r| r.actor_kind == "staff"
                && r.actor_staff_id == Some(alice)
                && r.subject_client_id == Some(JANE)
                && r.impersonation_id == Some(imp)
                && ["Commented on a task", "Marked a task done"].contains(&r.action.as_str()))
            .count(),
        2
    );
    let portal = admin.get(&format!("/tasks/{mine}")).await;
    assert!(portal.text_of("comments").unwrap().contains("You (by Alice Admin on your behalf)"));

    admin.return_to_admin().await;
    let staff_view = admin.get(&format!("/admin/tasks/{mine}")).await;
    assert!(
        staff_view.body.contains("Jane Smith<span class=\"actor\"> (by Alice Admin via Login as Client)"),
        "{}",
        staff_view.body
    );
    assert!(staff_view.text_of("task-completed").unwrap().contains("Jane Smith (by Alice Admin via Login as Client)"));
    let log = admin.get("/admin/activity?group=tasks").await;
    assert!(log.body.contains("Jane Smith (by Alice Admin via Login as Client)"));

    let mut jane = app.client("jane@example.com").await;
    let own = jane.get(&format!("/tasks/{mine}")).await;
    assert!(!own.has("impersonation-banner"));
    assert!(own.text_of("comments").unwrap().contains("You (by Alice Admin on your behalf)"));
    assert!(own.text_of("task-completed").unwrap().contains("by you (by Alice Admin on your behalf)"));
}

#[tokio::test]
async fn read_only_hidden_module_and_other_clients_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mine = task_where(&app, JANE, |t| t.client_can_complete == 1).await;
    let other = app.tasks().await.iter().find(|t| t.client_id != JANE).expect("another client's task").id;
    let comments = app.count(Table::TaskComments).await;

    let mut manager = app.staff("manager@example.com").await;
    assert_eq!(manager.impersonate(JANE, &[("reason", "Checking the tasks")]).await.status, StatusCode::SEE_OTHER);
    let entries = app.activity_count().await;
    let c = manager.portal_post(&format!("/tasks/{mine}/comments"), &[("body", "hello")]).await;
    assert_eq!(c.status, StatusCode::FORBIDDEN);
    assert!(c.body.contains("read-only"));
    let d = manager.portal_post(&format!("/tasks/{mine}/done"), &[]).await;
    assert_eq!(d.status, StatusCode::FORBIDDEN);
    assert_eq!(app.activity_count().await, entries);
    assert_eq!(app.count(Table::TaskComments).await, comments);
    assert_eq!(app.task(mine).await.status, "open");

    let mut jane = app.client("jane@example.com").await;
    assert_eq!(jane.get(&format!("/tasks/{other}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        jane.portal_post(&format!("/tasks/{other}/comments"), &[("body", "sneaky")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(jane.portal_post(&format!("/tasks/{other}/done"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count(Table::TaskComments).await, comments);

    app.hide_modules(JANE, "tasks").await;
    for path in ["/tasks".to_string(), format!("/tasks/{mine}")] {
        assert_eq!(jane.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(manager.get(&path).await.status, StatusCode::NOT_FOUND, "staff see what the client sees: {path}");
    }
    assert_eq!(
        jane.portal_post(&format!("/tasks/{mine}/comments"), &[("body", "hi")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(jane.portal_post(&format!("/tasks/{mine}/done"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.task(mine).await.status, "open");
    assert_eq!(app.count(Table::TaskComments).await, comments);
}

#[tokio::test]
async fn bad_input_answers_4xx_with_a_message_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let mine = task_where(&app, JANE, |t| t.client_can_complete == 1).await;
    let comments = app.count(Table::TaskComments).await;
    let mut jane = app.client("jane@example.com").await;
    let path = format!("/tasks/{mine}/comments");
    let empty = jane.portal_post(&path, &[("body", "   ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Write a comment of 1 to 5000 characters."));
    let missing = jane.portal_post(&path, &[]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long = format!("typed-{}", "x".repeat(5000));
    let too_long = jane.portal_post(&path, &[("body", &long)]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body.contains(&long), "the typed comment is kept");
    assert!(!too_long.has("impersonation-banner"));
    assert_eq!(app.count(Table::TaskComments).await, comments);
    for bad in ["abc", "0", "-7", "184467440737095516160", "%20"] {
        assert_eq!(jane.get(&format!("/tasks/{bad}")).await.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(jane.portal_post(&format!("/tasks/{bad}/done"), &[]).await.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(jane.get("/tasks/9223372036854775807").await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.get("/tasks?page=-1").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(jane.get("/tasks?page=99999999999999999999").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn staff_create_comment_complete_and_reopen_tasks_with_validation() {
    let app = TestApp::spawn().await;
    let tasks = app.count(Table::Tasks).await;
    let mut admin = app.staff("admin@example.com").await;
    let from = format!("/admin/clients/{JANE}/tasks");
    let list = admin.get(&from).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has("new-task") && list.text_of("tasks").unwrap().contains("Redesign the home page"));

    for (fields, msg) in [
        (vec![("title", "  "), ("due", "")], "The title must have 1 to 200 characters."),
        (vec![("title", "Typed title"), ("due", "2030-02-30")], "The due date must be a real date"),
        (vec![("title", "Typed title"), ("due", "31/01/2030")], "The due date must be a real date"),
    ] {
        let p = admin.post_from(&from, &from, &fields).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(p.body.contains(msg), "{}", p.body);
        if fields[0].1 == "Typed title" {
            assert!(p.body.contains("value=\"Typed title\"") && p.body.contains(fields[1].1), "typed values kept");
        }
    }
    let long_title = "t".repeat(201);
    assert_eq!(admin.post_from(&from, &from, &[("title", &long_title)]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long_desc = "d".repeat(5001);
    assert_eq!(
        admin.post_from(&from, &from, &[("title", "ok"), ("description", &long_desc)]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.count(Table::Tasks).await, tasks, "nothing created");

    let made = admin
        .post_from(
            &from,
            &from,
            &[
                ("title", "Approve the new menu"),
                ("description", "Two options"),
                ("due", "2030-01-31"),
                ("client_can_complete", "1"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let task = app.tasks().await.pop().expect("a task");
    let id = task.id;
    assert_eq!(made.location(), Some(format!("/admin/tasks/{id}").as_str()));
    assert_eq!((task.client_id, task.status.as_str(), task.client_can_complete), (JANE, "open", 1));
    assert_eq!(task.due_at, Some(1896048000));
    assert!(task.created_by_staff_id.is_some(), "the staff member who created it is kept");
    assert_eq!(app.activity_rows("Created a task").await.iter().filter(|r| r.group == "tasks").count(), 1);

    let page = format!("/admin/tasks/{id}");
    assert_eq!(
        admin.post_from(&page, &format!("{page}/comments"), &[("body", "Please pick one")]).await.status,
        StatusCode::SEE_OTHER
    );
    let empty = admin.post_from(&page, &format!("{page}/comments"), &[("body", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = admin.get(&page).await;
    assert!(shown.text_of("comments").unwrap().contains("Alice Admin (staff)"));
    assert_eq!(admin.post_from(&page, &format!("{page}/done"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.post_from(&page, &format!("{page}/done"), &[]).await.status, StatusCode::CONFLICT);
    assert!(admin.get(&page).await.text_of("task-completed").unwrap().contains("Alice Admin (staff)"));
    assert_eq!(admin.post_from(&page, &format!("{page}/reopen"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.post_from(&page, &format!("{page}/reopen"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(app.task(id).await.status, "open");

    // Jane sees the staff comment with the staff name, and the due date.
    let mut jane = app.client("jane@example.com").await;
    let own = jane.get(&format!("/tasks/{id}")).await;
    assert!(own.text_of("comments").unwrap().contains("Alice Admin (agency)"));
    assert_eq!(own.text_of("task-due").as_deref(), Some("2030-01-31"));

    // Support may look but not write.
    let mut support = app.staff("support@example.com").await;
    let view = support.get(&page).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(!view.has("staff-mark-done"));
    let before = (app.count(Table::Tasks).await, app.count(Table::TaskComments).await);
    assert_eq!(support.post_from(&from, &from, &[("title", "Nope")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        support.post_from(&page, &format!("{page}/comments"), &[("body", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(support.post_from(&page, &format!("{page}/done"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(before, (app.count(Table::Tasks).await, app.count(Table::TaskComments).await));
    assert_eq!(admin.get("/admin/tasks/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/admin/clients/999999/tasks").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn task_lists_page_through_thousands_of_tasks() {
    let app = TestApp::spawn().await;
    app.add_bulk_tasks(JANE, 3000).await;
    let mut jane = app.client("jane@example.com").await;
    let first = jane.get("/tasks").await;
    assert!(first.body.contains("Page 1 of 151"), "3004 tasks at 20 a page");
    assert!(first.text_of("tasks").unwrap().contains("Bulk task 3000"));
    assert_eq!(first.body.matches("<tr data-id=").count(), 20);
    let last = jane.get("/tasks?page=151").await;
    assert_eq!(last.body.matches("<tr data-id=").count(), 4);
    assert!(last.text_of("tasks").unwrap().contains("Send us your logo files"));
    let mut admin = app.staff("admin@example.com").await;
    let staff = admin.get(&format!("/admin/clients/{JANE}/tasks?page=2")).await;
    assert!(staff.body.contains("Page 2 of 121"));
}
