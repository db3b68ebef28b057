//! Lists as people read them: every client list and both logs newest first (by date, ties by
//! id), demo numbers that rise with dates, and the dashboard's counts linking to filtered lists.

use crate::support::*;
use reqwest::StatusCode;

/// The ids in `body` right after each `prefix` (`href="/invoices/`), in page order, once each.
fn ids_after(body: &str, prefix: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for part in body.split(prefix).skip(1) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(id) = digits.parse() {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// A dated list: its table and date column, and where the portal and the admin show it with
/// the text before each row's id.
struct List {
    table: &'static str,
    date: &'static str,
    portal: (&'static str, &'static str),
    admin: (&'static str, &'static str),
}

const LISTS: &[List] = &[
    List {
        table: "invoices",
        date: "issued_at",
        portal: ("/invoices", "href=\"/invoices/"),
        admin: ("/admin/clients/1", "href=\"/admin/invoices/"),
    },
    List {
        table: "orders",
        date: "created_at",
        portal: ("/orders", "href=\"/orders/"),
        admin: ("/admin/clients/1", "href=\"/admin/orders/"),
    },
    List {
        table: "tickets",
        date: "updated_at",
        portal: ("/tickets", "href=\"/tickets/"),
        admin: ("/admin/clients/1", "href=\"/admin/tickets/"),
    },
    List {
        table: "tasks",
        date: "created_at",
        portal: ("/tasks", "href=\"/tasks/"),
        admin: ("/admin/clients/1/tasks", "href=\"/admin/tasks/"),
    },
    List {
        table: "files",
        date: "created_at",
        portal: ("/files", "href=\"/files/"),
        admin: ("/admin/clients/1/files", "href=\"/admin/files/"),
    },
    List {
        table: "subscriptions",
        date: "started_at",
        portal: ("/subscriptions", "href=\"/subscriptions/"),
        admin: ("/admin/clients/1/subscriptions", "id=\"subscription-"),
    },
];

#[tokio::test]
async fn every_list_shows_the_newest_row_first_in_the_portal_and_the_admin() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let mut staff = app.staff("superadmin@example.com").await;
    let soon = 4_000_000_000;
    for list in LISTS {
        // Dates that disagree with ids: the oldest row becomes the newest; with three or more,
        // the next two share one date (the higher id comes first) and the newest becomes the
        // oldest.
        let rows = app.dated_rows(list.table, list.date, JANE).await;
        assert!(rows.len() >= 2, "Jane has {} {}", rows.len(), list.table);
        let lowest = rows[0].0;
        app.set_row_date(list.table, list.date, lowest, soon + 1).await;
        if let [_, second, third, .., newest] = rows[..] {
            app.set_row_date(list.table, list.date, second.0, soon).await;
            app.set_row_date(list.table, list.date, third.0, soon).await;
            app.set_row_date(list.table, list.date, newest.0, 1).await;
        }
        let mut expected = app.dated_rows(list.table, list.date, JANE).await;
        expected.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        let expected: Vec<i64> = expected.into_iter().map(|(id, _)| id).collect();
        assert_eq!(expected[0], lowest);
        if rows.len() >= 4 {
            assert_eq!(expected[1..3], [rows[2].0, rows[1].0], "ties break by id, newest first");
        }
        for (who, (path, prefix)) in [("portal", list.portal), ("admin", list.admin)] {
            let page = if who == "portal" { jane.get(path).await } else { staff.get(path).await };
            assert_eq!(page.status, StatusCode::OK, "{path}");
            let shown = ids_after(&page.body, prefix);
            assert!(shown.len() >= 2, "{who} {path} shows {shown:?}");
            assert_eq!(shown, expected[..shown.len()], "{who} {path} lists {} newest first", list.table);
        }
    }
}

#[tokio::test]
async fn both_logs_show_the_newest_entry_first() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    for _ in 0..2 {
        admin.impersonate(JANE, &[("mode", "read_only")]).await;
        admin.get("/dashboard").await;
        admin.return_to_admin().await;
    }
    let newest = app.latest_impersonation().await.id;
    let log = admin.get("/admin/impersonations").await;
    let shown = ids_after(&log.body, "<tr><td>");
    assert_eq!(shown.first(), Some(&newest), "{shown:?}");
    assert!(shown.windows(2).all(|w| w[0] > w[1]), "{shown:?}");
    let activity = admin.get("/admin/activity").await;
    let entries = ids_after(&activity.body, "<tr><td>");
    assert_eq!(entries.first(), app.activity().await.iter().map(|a| a.id).max().as_ref(), "{entries:?}");
    assert!(entries.windows(2).all(|w| w[0] > w[1]), "{entries:?}");
}

/// The number in `INV-1001` or `ORD-5001`.
fn number_of(text: &str) -> i64 {
    text.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no number in {text}"))
}

#[tokio::test]
async fn demo_invoice_and_order_numbers_rise_with_dates() {
    let app = TestApp::spawn().await;
    for (table, date) in [("invoices", "issued_at"), ("orders", "created_at")] {
        let rows = app.numbers_by_date(table, date).await;
        assert!(rows.len() > 3, "{table}: {}", rows.len());
        let numbers: Vec<i64> = rows.iter().map(|(_, n)| number_of(n)).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{table} numbers by date: {rows:?}");
    }
    // Jane's first page opens with her newest invoice, the unpaid one, with her highest number.
    let mut jane = app.client("jane@example.com").await;
    let page = jane.get("/invoices").await;
    let first = ids_after(&page.body, "href=\"/invoices/")[0];
    assert_eq!(app.invoice(first).await.status, "unpaid");
    let numbers: Vec<i64> = page.body.split(">INV-").skip(1).map(|p| number_of(&format!("INV-{}", &p[..4]))).collect();
    assert_eq!(numbers.len(), 20);
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "{numbers:?}");
}

#[tokio::test]
async fn the_dashboard_counts_link_to_lists_of_just_those_rows() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let dash = jane.get("/dashboard").await;
    assert_eq!(dash.text_of("unpaid-invoices").as_deref(), Some("1"));
    assert_eq!(dash.text_of("unpaid-invoices-link").as_deref(), Some("unpaid invoice"));
    assert!(dash.body.contains("href=\"/invoices?status=unpaid\""));
    assert!(dash.body.contains("href=\"/tickets?status=open\""));
    let open: i64 = dash.text_of("open-tickets").unwrap().parse().unwrap();
    assert_eq!(
        dash.text_of("open-tickets-link").as_deref(),
        Some(if open == 1 { "open ticket" } else { "open tickets" })
    );

    let unpaid = jane.get("/invoices?status=unpaid").await;
    assert_eq!(unpaid.status, StatusCode::OK);
    let ids = ids_after(&unpaid.body, "href=\"/invoices/");
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.invoice(ids[0]).await.status, "unpaid");
    let paid = ids_after(&jane.get("/invoices?status=paid").await.body, "href=\"/invoices/");
    assert!(!paid.is_empty());
    for id in paid {
        assert_eq!(app.invoice(id).await.status, "paid");
    }

    let tickets = jane.get("/tickets?status=open").await;
    let shown = ids_after(&tickets.body, "href=\"/tickets/");
    assert_eq!(shown.len() as i64, open);
    assert!(tickets.text_of("tickets").unwrap().lines().all(|l| !l.contains("closed")));
    let closed = jane.get("/tickets?status=closed").await;
    assert_eq!(ids_after(&closed.body, "href=\"/tickets/").len() as i64, app.ticket_count_of(JANE).await - open);

    // A second unpaid invoice: the count says it in the plural.
    app.mark_invoice_unpaid(app.first_invoice_of(JANE, "paid").await).await;
    let dash = jane.get("/dashboard").await;
    assert_eq!(dash.text_of("unpaid-invoices").as_deref(), Some("2"));
    assert_eq!(dash.text_of("unpaid-invoices-link").as_deref(), Some("unpaid invoices"));
    assert_eq!(ids_after(&jane.get("/invoices?status=unpaid").await.body, "href=\"/invoices/").len(), 2);
}

#[tokio::test]
async fn an_empty_filtered_list_says_so_and_an_unknown_status_is_refused() {
    let app = TestApp::spawn().await;
    let mut bob = app.client("bob@example.com").await;
    let mut jane = app.client("jane@example.com").await;
    let cancelled = jane.get("/invoices?status=cancelled").await;
    assert_eq!(ids_after(&cancelled.body, "href=\"/invoices/").len(), 1);
    let none = bob.get("/tickets?status=closed").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.text_of("no-tickets").as_deref(), Some("You have no closed tickets."));
    assert!(!none.has("tickets"));
    for path in ["/invoices?status=overdue", "/tickets?status=pending"] {
        let refused = jane.get(path).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(refused.body.contains("use one of:"), "{path}: {}", refused.body);
    }
    // An empty status is no filter at all.
    let all = jane.get("/invoices?status=").await;
    assert_eq!(ids_after(&all.body, "href=\"/invoices/").len(), 20);
}
