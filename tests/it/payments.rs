//! Paying invoices through the test provider (approved, declined, idempotent even when two
//! submits race, the actor recorded through Login as Client) and saved payment methods, which
//! only the client may change.

use crate::shop::field;
use crate::support::*;
use reqwest::StatusCode;

async fn unpaid_invoice(app: &TestApp, client: i64) -> i64 {
    app.first_invoice_of(client, "unpaid").await
}

/// The id of Bob's saved card (he has none in the demo data).
async fn bobs_card(app: &TestApp) -> i64 {
    app.payment_methods().await.iter().find(|m| m.client_id == BOB).expect("Bob's card").id
}

/// Submits the pay form of the invoice page with extra fields.
async fn pay(b: &mut Browser, invoice: i64, extra: &[(&str, &str)]) -> Page {
    let page = b.get(&format!("/invoices/{invoice}")).await;
    let key = field(&page.body, "idempotency_key");
    let mut form = vec![("idempotency_key", key.as_str())];
    form.extend_from_slice(extra);
    b.post_from(&format!("/invoices/{invoice}"), &format!("/invoices/{invoice}/pay"), &form).await
}

#[tokio::test]
async fn client_pays_an_invoice_once() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let inv = unpaid_invoice(&app, JANE).await;
    let page = jane.get(&format!("/invoices/{inv}")).await;
    assert!(page.has("pay-form"));
    assert!(page.body.contains("Visa ending 4242"), "the saved demo card is offered");
    let paid = pay(&mut jane, inv, &[]).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    assert_eq!(paid.location(), Some(format!("/invoices/{inv}?paid=1").as_str()));
    let invoice = app.invoice(inv).await;
    assert_eq!(invoice.status, "paid");
    assert!(invoice.paid_at.is_some(), "the payment time is kept");
    let payments = app.payments_of_invoice(inv).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].status, "succeeded");
    assert_eq!(payments[0].provider, "test");
    assert_eq!((payments[0].actor_staff_id, payments[0].impersonation_id), (None, None), "Jane paid herself");
    let target = format!("invoice #{inv}");
    assert_eq!(
        app.activity_rows("Paid an invoice")
            .await
            .iter()
            .filter(|r| r.group == "billing" && r.target == target && r.actor_kind == "client")
            .count(),
        1
    );
    let after = jane.get(&format!("/invoices/{inv}?paid=1")).await;
    assert!(after.has("payment-notice"));
    assert!(!after.has("pay-form"), "a paid invoice has no pay form");
    assert!(after.text_of("payments").unwrap().contains("succeeded"));
    // Paying it again with a fresh key is a conflict with a message, and charges nothing.
    let again = jane
        .post_from(&format!("/invoices/{inv}"), &format!("/invoices/{inv}/pay"), &[("idempotency_key", "fresh-key")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already paid"));
    assert_eq!(app.payments_of_invoice(inv).await.len(), 1);
}

#[tokio::test]
async fn a_declined_card_leaves_the_invoice_unpaid() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let saved = jane
        .post_from(
            "/account/payment-methods",
            "/account/payment-methods",
            &[("label", "Old card"), ("card_number", "4000 0000 0000 0002")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let card = app.payment_methods().await.iter().rev().find(|m| m.last4 == "0002").expect("the card was saved").id;
    let inv = unpaid_invoice(&app, JANE).await;
    let declined = pay(&mut jane, inv, &[("payment_method_id", &card.to_string())]).await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    assert!(declined.body.contains("Your card was declined"));
    assert!(declined.has("pay-form"), "the client can try again");
    let invoice = app.invoice(inv).await;
    assert_eq!((invoice.status.as_str(), invoice.paid_at), ("unpaid", None));
    assert_eq!(app.payments_of_invoice(inv).await.first().map(|p| p.status.as_str()), Some("declined"));
    assert_eq!(app.activity_count_of("Payment declined").await, 1);
    // Another card then goes through.
    assert_eq!(pay(&mut jane, inv, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.invoice(inv).await.status, "paid");
    assert_eq!(app.payments_of_invoice(inv).await.len(), 2);
}

#[tokio::test]
async fn the_same_payment_twice_charges_once_even_concurrently() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let inv = unpaid_invoice(&app, JANE).await;
    let page = jane.get(&format!("/invoices/{inv}")).await;
    let key = field(&page.body, "idempotency_key");
    let csrf = page.csrf().unwrap();
    let form = [("csrf_token", csrf.as_str()), ("idempotency_key", key.as_str())];
    let url = format!("{}/invoices/{inv}/pay", jane.base);
    let (a, b) = tokio::join!(jane.http.post(&url).form(&form).send(), jane.http.post(&url).form(&form).send());
    assert_eq!(a.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(b.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(app.payments_of_invoice(inv).await.len(), 1);
    assert_eq!(app.payments().await.iter().filter(|p| p.status == "succeeded").count(), 1);
    assert_eq!(app.activity_count_of("Paid an invoice").await, 1);
    // Two different forms racing on one invoice: one charge, one conflict.
    let inv2 = app
        .invoices_of(JANE)
        .await
        .iter()
        .rev()
        .find(|i| i.status == "paid" && i.id != inv)
        .expect("another paid invoice")
        .id;
    app.mark_invoice_unpaid(inv2).await;
    let url2 = format!("{}/invoices/{inv2}/pay", jane.base);
    let f1 = [("csrf_token", csrf.as_str()), ("idempotency_key", "race-1")];
    let f2 = [("csrf_token", csrf.as_str()), ("idempotency_key", "race-2")];
    let (a, b) = tokio::join!(jane.http.post(&url2).form(&f1).send(), jane.http.post(&url2).form(&f2).send());
    let mut statuses = [a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::CONFLICT]);
    assert_eq!(app.payments_of_invoice(inv2).await.len(), 1);
}

#[tokio::test]
async fn login_as_client_payment_records_the_actor_on_both_sides() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full"), ("reason", "Paying on the phone")]).await;
    let imp = app.latest_impersonation().await.id;
    let alice = app.staff_id("admin@example.com").await;
    let inv = unpaid_invoice(&app, JANE).await;
    let paid = pay(&mut admin, inv, &[]).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    let payment = app.payments_of_invoice(inv).await.into_iter().next().expect("a payment");
    assert_eq!(payment.client_id, JANE);
    assert_eq!(payment.actor_staff_id, Some(alice));
    assert_eq!(payment.impersonation_id, Some(imp));
    assert_eq!(
        app.activity_rows("Paid an invoice")
            .await
            .iter()
            .filter(|r| r.subject_client_id == Some(JANE)
                && r.actor_staff_id == Some(alice)
                && r.impersonation_id == Some(imp))
            .count(),
        1
    );
    let portal = admin.get(&format!("/invoices/{inv}")).await;
    assert!(portal.text_of("payments").unwrap().contains("by Alice Admin on your behalf"));
    admin.return_to_admin().await;
    let page = admin.get(&format!("/admin/invoices/{inv}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Jane Smith<span class=\"actor\"> (by Alice Admin via Login as Client)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("login-as-client") && page.body.contains(&format!("value=\"/invoices/{inv}\"")));
    let mut jane = app.client("jane@example.com").await;
    let own = jane.get(&format!("/invoices/{inv}")).await;
    assert!(own.text_of("payments").unwrap().contains("You (by Alice Admin on your behalf)"));
    // The admin invoice page needs billing.manage.
    assert_eq!(
        app.staff("support@example.com").await.get(&format!("/admin/invoices/{inv}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.staff("billing@example.com").await.get(&format!("/admin/invoices/{inv}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn read_only_login_as_client_cannot_pay() {
    let app = TestApp::spawn().await;
    let mut manager = app.staff("manager@example.com").await;
    manager.impersonate(JANE, &[]).await;
    let inv = unpaid_invoice(&app, JANE).await;
    let p = pay(&mut manager, inv, &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("read-only"));
    assert_eq!(app.count(Table::Payments).await, 0);
    assert_eq!(app.invoice(inv).await.status, "unpaid");
}

#[tokio::test]
async fn paying_refuses_other_clients_hidden_modules_and_bad_input() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let inv = unpaid_invoice(&app, JANE).await;
    let from = format!("/invoices/{inv}");
    let bob_inv = unpaid_invoice(&app, BOB).await;
    let p = jane.post_from(&from, &format!("/invoices/{bob_inv}/pay"), &[("idempotency_key", "k1")]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    for path in ["/invoices/abc/pay", "/invoices/0/pay", "/invoices/99999999999999999999/pay"] {
        assert_eq!(
            jane.post_from(&from, path, &[("idempotency_key", "k2")]).await.status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    let pay_path = format!("/invoices/{inv}/pay");
    let missing = jane.post_from(&from, &pay_path, &[]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("incomplete"));
    let long = "k".repeat(5000);
    assert_eq!(
        jane.post_from(&from, &pay_path, &[("idempotency_key", &long)]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let bad_card = jane.post_from(&from, &pay_path, &[("idempotency_key", "k3"), ("payment_method_id", "abc")]).await;
    assert_eq!(bad_card.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_card.body.contains("saved cards"));
    // Bob's saved card cannot be used on Jane's invoice.
    app.add_payment_method(BOB, "Bob card", "4242").await;
    let bob_card = bobs_card(&app).await.to_string();
    let p = jane.post_from(&from, &pay_path, &[("idempotency_key", "k4"), ("payment_method_id", &bob_card)]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    // A cancelled invoice cannot be paid.
    let cancelled = app.first_invoice_of(JANE, "cancelled").await;
    let p = jane.post_from(&from, &format!("/invoices/{cancelled}/pay"), &[("idempotency_key", "k5")]).await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("cannot be paid"));
    assert_eq!(app.count(Table::Payments).await, 0);
    // Hidden invoices module: 404.
    app.hide_modules(JANE, "invoices").await;
    let p = jane.portal_post(&pay_path, &[("idempotency_key", "k6")]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.get(&from).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count(Table::Payments).await, 0);
    assert_eq!(app.invoice(inv).await.status, "unpaid");
}

#[tokio::test]
async fn client_manages_saved_cards_keeping_only_the_last_four_digits() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let page = jane.get("/account/payment-methods").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text_of("payment-methods").unwrap().contains("Visa ending 4242"));
    let saved = jane
        .post_from(
            "/account/payment-methods",
            "/account/payment-methods",
            &[("label", "Work card"), ("card_number", "5555-5555-5555-4444")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let methods = app.payment_methods().await;
    assert_eq!(methods.iter().find(|m| m.label == "Work card").map(|m| m.last4.as_str()), Some("4444"));
    assert_eq!(methods.iter().filter(|m| m.last4.contains("5555") || m.label.contains("5555")).count(), 0);
    let saved = app.activity_rows("Saved a payment method").await;
    assert_eq!(saved.iter().filter(|r| !r.detail.contains("5555")).count(), 1);
    assert!(jane.get("/account/payment-methods").await.body.contains("Work card ending 4444"));
    let count = app.count(Table::PaymentMethods).await;
    for (label, number, msg) in [
        ("Card", "4242 4242 4242 4241", "not valid"),
        ("Card", "1234", "12 to 19 digits"),
        ("Card", "abcd", "only digits"),
        ("Card", "", "12 to 19 digits"),
        ("", "4242424242424242", "1 to 60 characters"),
        (&"L".repeat(61), "4242424242424242", "1 to 60 characters"),
        ("Card", &"4".repeat(100_000), "12 to 19 digits"),
    ] {
        let p = jane
            .post_from(
                "/account/payment-methods",
                "/account/payment-methods",
                &[("label", label), ("card_number", number)],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{label} {number}");
        assert!(p.body.contains(msg), "{msg}: {}", p.body);
        if !label.is_empty() && label.len() < 60 {
            assert!(p.body.contains(&format!("value=\"{label}\"")), "the label is kept");
        }
        assert!(number.len() < 5 || !p.body.contains(number), "the card number is never echoed");
    }
    let missing = jane.post_from("/account/payment-methods", "/account/payment-methods", &[]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count(Table::PaymentMethods).await, count);
    // Removing: own card yes, someone else's or unknown no.
    let work = app.payment_methods().await.iter().find(|m| m.label == "Work card").expect("the work card").id;
    let del = jane.post_from("/account/payment-methods", &format!("/account/payment-methods/{work}/delete"), &[]).await;
    assert_eq!(del.status, StatusCode::SEE_OTHER);
    assert_eq!(app.payment_methods().await.iter().filter(|m| m.label == "Work card").count(), 0);
    app.add_payment_method(BOB, "Bob card", "4242").await;
    let bob_card = bobs_card(&app).await;
    let p =
        jane.post_from("/account/payment-methods", &format!("/account/payment-methods/{bob_card}/delete"), &[]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = jane.post_from("/account/payment-methods", "/account/payment-methods/abc/delete", &[]).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.payment_methods().await.iter().filter(|m| m.client_id == BOB).count(), 1);
}

#[tokio::test]
async fn saved_cards_are_never_changed_through_login_as_client() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    let before = app.count(Table::PaymentMethods).await;
    let activity = app.activity_count().await;
    let page = admin.get("/account/payment-methods").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has("impersonation-banner"));
    assert!(page.text_of("payment-methods").unwrap().contains("Visa ending 4242"), "listed read-only");
    assert!(page.body.contains("Only the client can add or remove"));
    let forms = page.write_forms();
    assert!(forms.iter().any(|(a, _)| a == "/account/payment-methods"), "the add form is shown");
    assert!(forms.iter().any(|(a, _)| a.ends_with("/delete")), "so are the remove buttons");
    for (action, f) in forms {
        assert!(f.disabled, "{action} is disabled");
        assert_eq!(f.note.as_deref(), Some("Only Jane can change this"), "{action}");
    }
    let card = app.payment_methods().await.iter().find(|m| m.client_id == JANE).expect("Jane's demo card").id;
    let add = admin
        .portal_post("/account/payment-methods", &[("label", "Staff card"), ("card_number", "4242424242424242")])
        .await;
    assert_eq!(add.status, StatusCode::FORBIDDEN);
    assert!(add.body.contains("only available to the client"));
    let del = admin.portal_post(&format!("/account/payment-methods/{card}/delete"), &[]).await;
    assert_eq!(del.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count(Table::PaymentMethods).await, before);
    assert_eq!(app.activity_count().await, activity);
}
