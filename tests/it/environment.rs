//! The client's environment as a whole: per-client module visibility, stores and the Login as
//! Client buttons wherever the admin side shows a client.

use crate::support::*;
use reqwest::StatusCode;

/// The portal sidebar's links, as a list of paths.
fn sidebar(body: &str) -> Vec<String> {
    let nav = body.split("<nav aria-label=\"Main\">").nth(1).and_then(|n| n.split("</nav>").next()).unwrap_or("");
    nav.split("href=\"").skip(1).filter_map(|s| s.split('"').next()).map(str::to_string).collect()
}

#[tokio::test]
async fn hidden_modules_leave_the_sidebar_and_answer_404_for_the_client_and_for_staff_alike() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let before = sidebar(&jane.get("/dashboard").await.body);
    assert!(before.contains(&"/tickets".to_string()) && before.contains(&"/services".to_string()), "{before:?}");

    let mut admin = app.staff("admin@example.com").await;
    let record = admin.get(&format!("/admin/clients/{JANE}")).await;
    assert!(record.has("modules-form") && record.has("module-tickets"));
    // Everything but tickets and services stays shown.
    let keep: Vec<(&str, &str)> = ["invoices", "orders", "shop", "subscriptions", "files", "tasks"]
        .iter()
        .map(|k| (Box::leak(format!("module.{k}").into_boxed_str()) as &str, "on"))
        .collect();
    let saved =
        admin.post_from(&format!("/admin/clients/{JANE}"), &format!("/admin/clients/{JANE}/modules"), &keep).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.client_row(JANE).await.hidden_modules, "services,tickets");

    let dash = jane.get("/dashboard").await;
    let own = sidebar(&dash.body);
    assert!(!own.contains(&"/tickets".to_string()) && !own.contains(&"/services".to_string()), "{own:?}");
    assert!(own.contains(&"/invoices".to_string()));
    assert!(!dash.has("open-tickets"), "the dashboard card goes too");
    for path in ["/tickets", "/tickets/1", "/services"] {
        assert_eq!(jane.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let replies = app.count(Table::TicketReplies).await;
    assert_eq!(jane.portal_post("/tickets/1/replies", &[("body", "hello")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count(Table::TicketReplies).await, replies, "nothing stored");

    // Login as Client shows exactly the same sidebar and the same 404s.
    admin.impersonate(JANE, &[("mode", "full"), ("reason", "Checking the sidebar setup")]).await;
    let as_jane = admin.get("/dashboard").await;
    assert!(as_jane.has("impersonation-banner"));
    assert_eq!(sidebar(&as_jane.body), own);
    assert_eq!(admin.get("/tickets/1").await.status, StatusCode::NOT_FOUND);
    admin.return_to_admin().await;

    let log = admin.get(&format!("/admin/activity?client={JANE}")).await;
    assert!(
        log.body.contains("Changed the client&#39;s portal modules")
            || log.body.contains("Changed the client's portal modules")
    );
    assert!(
        log.body.contains("-&gt; invoices, orders, shop, subscriptions, files, tasks"),
        "old and new lists recorded"
    );
}

#[tokio::test]
async fn changing_modules_needs_clients_manage_and_known_names() {
    let app = TestApp::spawn().await;
    let mut support = app.staff("support@example.com").await;
    let record = support.get(&format!("/admin/clients/{JANE}")).await;
    assert!(!record.has("modules-form"), "no form without clients.manage");
    assert!(record.has("client-modules"));
    let csrf = support.get("/admin").await.csrf().unwrap();
    let refused = support
        .post_raw(&format!("/admin/clients/{JANE}/modules"), &[("csrf_token", &csrf), ("module.tickets", "on")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut admin = app.staff("admin@example.com").await;
    let bad = admin
        .post_from(
            &format!("/admin/clients/{JANE}"),
            &format!("/admin/clients/{JANE}/modules"),
            &[("module.admin", "on")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("There is no portal module called"));
    let unknown = admin.post_from(&format!("/admin/clients/{JANE}"), "/admin/clients/999999/modules", &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(app.client_row(JANE).await.hidden_modules, "");
}

#[tokio::test]
async fn store_selection_automatic_or_manual_and_the_banner_names_the_store() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;

    // Automatic: Jane's first store.
    admin.impersonate(JANE, &[("reason", "Checking the store view")]).await;
    let banner = admin.get("/dashboard").await.text_of("impersonation-banner").unwrap();
    assert!(banner.contains("Store: Behalf Hosting"), "{banner}");
    admin.return_to_admin().await;

    // Manual: a store must be chosen, and only one of the client's.
    app.set("impersonation.store_selection", "manual").await;
    let before = app.impersonation_count().await;
    let refused = admin.impersonate(JANE, &[("reason", "Checking the store view")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Choose a store to log in to."));
    assert!(refused.has("store"), "the form offers the client's stores");
    let foreign = admin.impersonate(JANE, &[("reason", "Checking the store view"), ("store", "999")]).await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.impersonation_count().await, before, "refused starts create nothing");

    let second = app.store_id("Behalf Studio EU").await.to_string();
    let ok = admin.impersonate(JANE, &[("reason", "Checking the store view"), ("store", &second)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let banner = admin.get("/dashboard").await.text_of("impersonation-banner").unwrap();
    assert!(banner.contains("Store: Behalf Studio EU"), "{banner}");
    let live = app.live_impersonation().await.expect("a live Login as Client");
    assert_eq!(live.store_id.map(|s| s.to_string()), Some(second));
}

#[tokio::test]
async fn login_as_client_buttons_on_the_list_and_ticket_pages_obey_the_same_rules() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let list = admin.get("/admin/clients?q=example.com").await;
    let jane_button = format!("class=\"login-as-client\" type=\"submit\" data-client=\"{JANE}\">");
    assert!(list.body.contains(&jane_button), "an enabled button on Jane's row");
    let ivan_button = format!("data-client=\"{IVAN}\" disabled title=\"");
    assert!(list.body.contains(&ivan_button), "Ivan is disabled: the button is disabled with the reason");
    app.set("impersonation.consent", "opt_in").await;
    let list = admin.get("/admin/clients?q=example.com").await;
    assert!(list.body.contains(&format!("data-client=\"{BOB}\" disabled title=\"")), "Bob has not allowed access");
    assert!(list.body.contains(&jane_button), "Jane has");
    app.set("impersonation.consent", "not_required").await;

    let mut support = app.staff("support@example.com").await;
    assert!(!support.get("/admin/clients?q=example.com").await.body.contains("login-as-client"));
    assert!(!support.get("/admin/tickets/1").await.body.contains("login-as-client"));

    // The ticket page's button opens the client's own view of that ticket.
    let ticket = admin.get("/admin/tickets/1").await;
    assert!(ticket.body.contains("value=\"/tickets/1\""));
    let start = admin
        .post_from("/admin/tickets/1", &format!("/admin/clients/{JANE}/impersonate"), &[("next", "/tickets/1")])
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.location(), Some("/tickets/1"));
    admin.return_to_admin().await;

    // With a reason required, the quick button leads to the record's full form, keeping `next`.
    app.set("impersonation.require_reason", "true").await;
    let before = app.impersonation_count().await;
    let asked = admin
        .post_from("/admin/tickets/1", &format!("/admin/clients/{JANE}/impersonate"), &[("next", "/tickets/1")])
        .await;
    assert_eq!(asked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(asked.has("reason") && asked.body.contains("name=\"next\" value=\"/tickets/1\""));
    assert_eq!(app.impersonation_count().await, before);
}

#[tokio::test]
async fn stores_with_their_catalogues_and_client_membership() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let stores = admin.get("/admin/stores").await;
    assert_eq!(stores.status, StatusCode::OK);
    let eu = stores.text_of("store-2").expect("the second store");
    assert!(eu.contains("Behalf Studio EU") && eu.contains("EUR") && eu.contains("Logo design"), "{eu}");
    assert!(!stores.text_of("store-1").unwrap().contains("Logo design"), "each store has its own catalogue");

    // The portal wears the store's colour through a stylesheet (no inline styles under the CSP).
    let css = admin.get("/static/stores.css").await;
    assert!(css.body.contains("body.portal.store-2 .topbar { border-bottom: 4px solid #1e7145; }"), "{}", css.body);
    let mut jane = app.client("jane@example.com").await;
    assert!(jane.get("/dashboard").await.body.contains("<body class=\"portal store-1\">"));

    // Bob joins the second store; staff then have to choose under manual selection.
    let record = format!("/admin/clients/{BOB}");
    assert!(admin.get(&record).await.has("stores-form"));
    let saved = admin.post_from(&record, &format!("{record}/stores"), &[("store.1", "on"), ("store.2", "on")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.client_stores(BOB).await.len(), 2);
    app.set("impersonation.store_selection", "manual").await;
    let refused = admin.impersonate(BOB, &[("reason", "Helping with an order")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Choose a store to log in to."));

    // Bad input changes nothing.
    let none = admin.post_from(&record, &format!("{record}/stores"), &[]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = admin.post_from(&record, &format!("{record}/stores"), &[("store.999", "on")]).await;
    assert_eq!(unknown.status, StatusCode::CONFLICT);
    assert!(unknown.body.contains("There is no store #999."));
    let junk = admin.post_from(&record, &format!("{record}/stores"), &[("store.x", "on")]).await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.client_stores(BOB).await.len(), 2);

    let mut support = app.staff("support@example.com").await;
    let record_view = support.get(&record).await;
    assert!(!record_view.has("stores-form"));
    assert!(record_view.text_of("client-stores").unwrap().contains("Behalf Studio EU"));
    let csrf = record_view.csrf().unwrap();
    let refused = support.post_raw(&format!("{record}/stores"), &[("csrf_token", &csrf), ("store.1", "on")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.client_stores(BOB).await.len(), 2);
}

#[tokio::test]
async fn the_amount_due_never_adds_up_different_currencies() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let due = jane.get("/dashboard").await.text_of("amount-due").unwrap();
    let unpaid: Vec<i64> =
        app.invoices_of(JANE).await.iter().filter(|i| i.status == "unpaid").map(|i| i.total_cents).collect();
    assert!(!unpaid.is_empty(), "Jane has something to pay");
    let cents: i64 = unpaid.iter().sum();
    assert_eq!(due, format!("{}.{:02} USD", cents / 100, cents % 100));
    app.add_unpaid_invoice(JANE, "INV-EUR-1", "EUR", 39000, 2).await;
    assert_eq!(jane.get("/dashboard").await.text_of("amount-due").unwrap(), "in 2 currencies");
}
