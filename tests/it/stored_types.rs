//! What the store hands up from the database, on whichever database this half of the suite runs:
//! 0/1 flag columns as `bool`, and role permissions as a typed set that ignores unknown names.

use crate::support::*;
use behalf::domain::acting::StaffActing;
use behalf::domain::permissions::{builtin_roles, Permission};
use reqwest::StatusCode;

#[tokio::test]
async fn flag_columns_read_as_bool_both_ways() {
    let app = TestApp::spawn().await;
    let s = &app.store;
    // Clients: Ivan is the demo's disabled client.
    assert!(s.client(JANE).await.unwrap().active);
    assert!(!s.client(IVAN).await.unwrap().active);
    assert!(!s.client_by_email("ivan@example.com").await.unwrap().unwrap().active);
    let listed = s.search_clients("", 1, 100).await.unwrap().items;
    assert!(listed.iter().any(|c| c.id == JANE && c.active));
    assert!(listed.iter().any(|c| c.id == IVAN && !c.active));

    // Staff, before and after disabling.
    let sue = s.staff_by_email("support@example.com").await.unwrap().unwrap();
    assert!(sue.active);
    s.disable_staff(sue.id, &StaffActing::cli()).await.unwrap();
    assert!(!s.staff_by_id(sue.id).await.unwrap().active);
    assert!(s.list_staff().await.unwrap().iter().all(|x| x.active == (x.id != sue.id)));

    // Catalogue entries, tasks and subscriptions, with one row of each set each way.
    let store_id = app.min_id("stores").await;
    app.exec(&format!(
        "UPDATE products SET active = 0 WHERE id = (SELECT MIN(id) FROM products WHERE store_id = {store_id})"
    ))
    .await;
    let catalogue = s.store_catalogue(store_id).await.unwrap();
    for p in &catalogue {
        let stored = app.stored_flag("products", "active", p.id).await;
        assert_eq!(p.active, stored != 0, "product {}", p.id);
    }
    assert!(catalogue.iter().any(|p| p.active) && catalogue.iter().any(|p| !p.active));

    app.exec(&format!(
        "UPDATE tasks SET client_can_complete = 1 WHERE id = (SELECT MIN(id) FROM tasks WHERE client_id = {JANE})"
    ))
    .await;
    app.exec(&format!(
        "UPDATE tasks SET client_can_complete = 0 WHERE id = (SELECT MAX(id) FROM tasks WHERE client_id = {JANE})"
    ))
    .await;
    let tasks = s.tasks(JANE, 1, 100).await.unwrap().items;
    for t in &tasks {
        let stored = app.stored_flag("tasks", "client_can_complete", t.id).await;
        assert_eq!(t.client_can_complete, stored != 0, "task {}", t.id);
    }
    assert!(tasks.iter().any(|t| t.client_can_complete) && tasks.iter().any(|t| !t.client_can_complete));

    app.exec(&format!(
        "UPDATE subscriptions SET cancel_at_period_end = 1 WHERE id = (SELECT MIN(id) FROM subscriptions WHERE client_id = {JANE})"
    ))
    .await;
    app.exec(&format!(
        "UPDATE subscriptions SET cancel_at_period_end = 0 WHERE id = (SELECT MAX(id) FROM subscriptions WHERE client_id = {JANE})"
    ))
    .await;
    let subs = s.subscriptions(JANE, 1, 100).await.unwrap().items;
    for sub in &subs {
        let stored = app.stored_flag("subscriptions", "cancel_at_period_end", sub.id).await;
        assert_eq!(sub.cancel_at_period_end, stored != 0, "subscription {}", sub.id);
    }
    assert!(subs.iter().any(|x| x.cancel_at_period_end) && subs.iter().any(|x| !x.cancel_at_period_end));
}

#[tokio::test]
async fn stored_permissions_read_as_the_builtin_grants_and_unknown_names_grant_nothing() {
    let app = TestApp::spawn().await;
    let roles = app.store.list_roles().await.unwrap();
    for (name, grants) in builtin_roles() {
        let role = roles.iter().find(|r| r.name == name).unwrap();
        assert_eq!(role.grants, grants, "{name}");
    }

    // A name this build does not know, as a newer build might have stored.
    app.exec(
        "INSERT INTO role_permissions (role_id, permission) SELECT id, 'clients.teleport' FROM roles WHERE name = 'support'",
    )
    .await;
    let support = app.store.list_roles().await.unwrap().into_iter().find(|r| r.name == "support").unwrap();
    assert_eq!(support.grants.iter().collect::<Vec<_>>(), [Permission::ClientsView, Permission::TicketsManage]);
    let mut sue = app.staff("support@example.com").await;
    assert_eq!(sue.get("/admin").await.status, StatusCode::OK);
    assert_eq!(sue.get("/admin/clients").await.status, StatusCode::OK);
    let refused = sue.get("/admin/roles").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("You do not have the staff.manage permission needed here."));
    let mut sam = app.staff("superadmin@example.com").await;
    let matrix = sam.get("/admin/roles").await;
    assert_eq!(matrix.status, StatusCode::OK);
    assert!(matrix.body.contains("clients.impersonate.write"));
    assert!(!matrix.body.contains("clients.teleport"));
}
