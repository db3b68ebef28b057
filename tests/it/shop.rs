//! Shop, cart, checkout and orders: the client's path, Login as Client with the actor recorded,
//! read-only refusal, hidden modules, other clients' ids, bad input and idempotent checkout.

use crate::support::*;
use reqwest::StatusCode;

/// The value of a hidden form field in a page.
pub fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let i = body.find(&marker).unwrap_or_else(|| panic!("no {name} field in page")) + marker.len();
    body[i..].split('"').next().unwrap().to_string()
}

async fn product(app: &TestApp, sku: &str) -> i64 {
    app.product_id(sku).await
}

async fn cart_rows(app: &TestApp, client: i64) -> usize {
    app.cart(client).await.len()
}

/// Posts the checkout form of the cart page as it is.
async fn checkout(b: &mut Browser) -> Page {
    let cart = b.get("/cart").await;
    let key = field(&cart.body, "idempotency_key");
    b.post_from("/cart", "/checkout", &[("idempotency_key", &key)]).await
}

#[tokio::test]
async fn client_adds_to_cart_and_checks_out_an_order_with_its_invoice() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let shop = jane.get("/shop").await;
    assert_eq!(shop.status, StatusCode::OK);
    assert!(shop.text_of("current-store").unwrap().contains("Behalf Hosting"));
    assert!(shop.body.contains("VPS 2 GB") && shop.body.contains("19.99 USD"));
    assert!(!shop.body.contains("Logo design"), "another store's products are not listed");
    assert!(shop.has("store-switcher"), "Jane shops in two stores");

    // The demo cart holds two items; adding twice to one product makes one line.
    assert_eq!(cart_rows(&app, JANE).await, 2);
    let vps = product(&app, "VPS-2").await;
    let vps_s = vps.to_string();
    let added = jane.portal_post("/cart/items", &[("product_id", &vps_s), ("quantity", "2")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    jane.portal_post("/cart/items", &[("product_id", &vps_s), ("quantity", "1")]).await;
    assert_eq!(app.cart_quantity(JANE, vps).await, Some(3));
    // Quantity change and removal.
    let dom = product(&app, "DOM-COM").await;
    let p = jane.portal_post(&format!("/cart/items/{dom}"), &[("quantity", "2")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let host_m = product(&app, "HOST-M").await;
    assert_eq!(jane.portal_post(&format!("/cart/items/{host_m}/remove"), &[]).await.status, StatusCode::SEE_OTHER);
    let cart = jane.get("/cart").await;
    assert!(!cart.body.contains("Shared Hosting M"));
    // 3 x 19.99 + 2 x 12.99 = 85.95
    assert_eq!(cart.text_of("cart-total").as_deref(), Some("85.95 USD"));
    assert_eq!(
        jane.portal_post(&format!("/cart/items/{dom}"), &[("quantity", "0")]).await.status,
        StatusCode::SEE_OTHER
    );
    jane.portal_post("/cart/items", &[("product_id", &dom.to_string()), ("quantity", "2")]).await;

    let orders_before = app.count(Table::Orders).await;
    let placed = checkout(&mut jane).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let order = app.latest_order().await;
    let id = order.id;
    assert_eq!(placed.location(), Some(format!("/orders/{id}").as_str()));
    assert_eq!(app.count(Table::Orders).await, orders_before + 1);
    assert_eq!(order.status, "pending");
    assert_eq!(order.currency, "USD");
    assert_eq!(order.store_id, Some(1));
    assert_eq!(order.total_cents, 3 * 1999 + 2 * 1299);
    assert!(order.number.starts_with("ORD-"));
    assert_eq!((order.actor_staff_id, order.internal_note.as_str()), (None, ""), "placed by Jane herself");
    let inv = order.invoice_id.expect("the order has its invoice");
    let invoice = app.invoice(inv).await;
    assert_eq!(invoice.status, "unpaid");
    assert_eq!(invoice.total_cents, 3 * 1999 + 2 * 1299);
    assert_eq!(invoice.store_id, Some(1));
    assert_eq!(app.order_lines(id).await.len(), 2);
    assert_eq!(app.invoice_line_count(inv).await, 2);
    assert_eq!(cart_rows(&app, JANE).await, 0, "the cart is emptied");
    let placed = app.activity_rows("Placed an order").await;
    let target = format!("order #{id}");
    assert_eq!(
        placed
            .iter()
            .filter(|r| r.target == target
                && r.group == "shop"
                && r.actor_kind == "client"
                && r.actor_staff_id.is_none())
            .count(),
        1
    );

    let page = jane.get(&format!("/orders/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text_of("order-lines").unwrap().contains("VPS 2 GB (monthly)"));
    assert_eq!(page.text_of("order-total").as_deref(), Some("85.95 USD"));
    assert!(page.body.contains(&format!("href=\"/invoices/{inv}\"")));
    assert!(!page.has("order-client-note"));
    assert!(page.text_of("order-placed-by").unwrap().ends_with("Placed by you"));
    let list = jane.get("/orders").await;
    assert!(list.body.contains(&format!("href=\"/orders/{id}\"")));
    assert!(jane.get(&format!("/invoices/{inv}")).await.has("pay-form"));
}

#[tokio::test]
async fn login_as_client_order_records_the_actor_and_keeps_the_internal_note_off_the_portal() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let start = admin.impersonate(JANE, &[("mode", "full"), ("reason", "Client asked for a VPS")]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let imp = app.latest_impersonation().await.id;
    let alice = app.staff_id("admin@example.com").await;
    let vps = product(&app, "VPS-2").await.to_string();
    assert_eq!(
        admin.portal_post("/cart/items", &[("product_id", &vps), ("quantity", "1")]).await.status,
        StatusCode::SEE_OTHER
    );
    let added = app.activity_rows("Added to cart").await;
    assert_eq!(added.iter().filter(|r| r.actor_staff_id == Some(alice) && r.impersonation_id == Some(imp)).count(), 1);
    let placed = checkout(&mut admin).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let order = app.latest_order().await;
    let id = order.id;
    assert_eq!(order.client_id, JANE);
    assert_eq!(order.actor_staff_id, Some(alice));
    assert_eq!(order.impersonation_id, Some(imp));
    assert_eq!(order.client_note, "Placed by support staff on your behalf");
    assert_eq!(order.internal_note, "Placed by Alice Admin using Login as Client");
    let placed = app.activity_rows("Placed an order").await;
    let target = format!("order #{id}");
    assert_eq!(
        placed
            .iter()
            .filter(|r| r.target == target
                && r.subject_client_id == Some(JANE)
                && r.actor_staff_id == Some(alice)
                && r.impersonation_id == Some(imp))
            .count(),
        1
    );
    let page = admin.get(&format!("/orders/{id}")).await;
    assert!(page.has("impersonation-banner"));
    assert_eq!(page.text_of("order-client-note").as_deref(), Some("Placed by support staff on your behalf"));
    assert!(page.text_of("order-placed-by").unwrap().contains("by Alice Admin on your behalf"));
    assert!(!page.body.contains("using Login as Client"), "the internal note never reaches the portal");

    // Jane on her own sees the same, and never the internal note.
    let mut jane = app.client("jane@example.com").await;
    let own = jane.get(&format!("/orders/{id}")).await;
    assert!(own.text_of("order-placed-by").unwrap().contains("by Alice Admin on your behalf"));
    assert!(!own.body.contains("using Login as Client"));
    assert!(!own.has("impersonation-banner"));

    admin.return_to_admin().await;
    let adm = admin.get(&format!("/admin/orders/{id}")).await;
    assert_eq!(adm.status, StatusCode::OK);
    assert_eq!(adm.text_of("order-internal-note").as_deref(), Some("Placed by Alice Admin using Login as Client"));
    assert_eq!(adm.text_of("order-client-note").as_deref(), Some("Placed by support staff on your behalf"));
    assert!(adm.body.contains("Jane Smith<span class=\"actor\"> (by Alice Admin via Login as Client)"), "{}", adm.body);
    assert!(adm.body.contains("login-as-client") && adm.body.contains(&format!("value=\"/orders/{id}\"")));
    let log = admin.get("/admin/activity?group=shop").await;
    assert!(
        log.body.contains("Placed an order") && log.body.contains("Jane Smith (by Alice Admin via Login as Client)")
    );
    // The admin order page needs orders.manage.
    let mut support = app.staff("support@example.com").await;
    assert_eq!(support.get(&format!("/admin/orders/{id}")).await.status, StatusCode::FORBIDDEN);
    let mut manager = app.staff("manager@example.com").await;
    assert_eq!(manager.get(&format!("/admin/orders/{id}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn read_only_login_as_client_cannot_shop() {
    let app = TestApp::spawn().await;
    let mut manager = app.staff("manager@example.com").await;
    assert_eq!(manager.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(manager.get("/cart").await.status, StatusCode::OK, "looking is allowed");
    let activity = app.activity_count().await;
    let vps = product(&app, "VPS-2").await.to_string();
    let host_m = product(&app, "HOST-M").await;
    let cart = manager.get("/cart").await;
    let key = field(&cart.body, "idempotency_key");
    for (path, form) in [
        ("/cart/items".to_string(), vec![("product_id", vps.as_str()), ("quantity", "1")]),
        (format!("/cart/items/{host_m}"), vec![("quantity", "5")]),
        (format!("/cart/items/{host_m}/remove"), vec![]),
        ("/checkout".to_string(), vec![("idempotency_key", key.as_str())]),
    ] {
        let p = manager.portal_post(&path, &form).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(p.body.contains("read-only"), "{path}");
        assert!(p.has("impersonation-banner"));
    }
    assert_eq!(cart_rows(&app, JANE).await, 2);
    assert_eq!(app.cart_quantity(JANE, host_m).await, Some(1));
    assert_eq!(app.orders().await.iter().filter(|o| o.idempotency_key.is_some()).count(), 0);
    assert_eq!(app.activity_count().await, activity);
}

#[tokio::test]
async fn hidden_modules_answer_404() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let order = app.first_order_of(JANE).await;
    assert_eq!(jane.get(&format!("/orders/{order}")).await.status, StatusCode::OK);
    app.hide_modules(JANE, "shop,orders").await;
    for path in ["/shop", "/cart", "/orders", &format!("/orders/{order}")] {
        assert_eq!(jane.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let vps = product(&app, "VPS-2").await.to_string();
    let p = jane.portal_post("/cart/items", &[("product_id", &vps), ("quantity", "1")]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.portal_post("/checkout", &[("idempotency_key", "k")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(cart_rows(&app, JANE).await, 2);
    // Login as Client sees the same.
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    assert_eq!(admin.get("/shop").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn other_clients_and_stores_ids_are_404() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let bob_order = app.first_order_of(BOB).await;
    assert_eq!(jane.get(&format!("/orders/{bob_order}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.get("/orders/99999999").await.status, StatusCode::NOT_FOUND);
    // Bob's cart line cannot be changed through Jane's session.
    let mut bob = app.client("bob@example.com").await;
    let host_s = product(&app, "HOST-S").await;
    bob.portal_post("/cart/items", &[("product_id", &host_s.to_string()), ("quantity", "1")]).await;
    assert_eq!(
        jane.portal_post(&format!("/cart/items/{host_s}"), &[("quantity", "5")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(jane.portal_post(&format!("/cart/items/{host_s}/remove"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.cart(BOB).await, [CartItem { product_id: host_s, quantity: 1 }]);
    // A product of the other store, or an unknown or inactive one, is not sold here.
    let logo = product(&app, "LOGO").await.to_string();
    assert_eq!(
        jane.portal_post("/cart/items", &[("product_id", &logo), ("quantity", "1")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        jane.portal_post("/cart/items", &[("product_id", "999999"), ("quantity", "1")]).await.status,
        StatusCode::NOT_FOUND
    );
    app.deactivate_product("SETUP").await;
    let setup = product(&app, "SETUP").await.to_string();
    assert_eq!(
        jane.portal_post("/cart/items", &[("product_id", &setup), ("quantity", "1")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!jane.get("/shop").await.body.contains("Setup fee"));
    assert_eq!(cart_rows(&app, JANE).await, 2);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let vps = product(&app, "VPS-2").await.to_string();
    let host_m = product(&app, "HOST-M").await;
    let activity = app.activity_count().await;
    let long = "9".repeat(5000);
    for (qty, msg) in [
        ("abc", "whole number"),
        ("1.5", "whole number"),
        ("", "whole number"),
        ("-1", "from 1 to 1000"),
        ("0", "from 1 to 1000"),
        ("1001", "from 1 to 1000"),
        ("99999999999999999999999", "from 1 to 1000"),
        (long.as_str(), "from 1 to 1000"),
    ] {
        let p = jane.portal_post("/cart/items", &[("product_id", &vps), ("quantity", qty)]).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{qty}");
        assert!(p.body.contains(msg), "{qty}: {}", p.body);
        if qty.len() < 30 {
            assert!(p.body.contains(&format!("value=\"{qty}\"")), "the typed value is kept: {qty}");
        }
    }
    for pid in ["abc", "-3", "", "99999999999999999999999"] {
        let p = jane.portal_post("/cart/items", &[("product_id", pid), ("quantity", "1")]).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{pid}");
        assert!(p.body.contains("Choose a product"));
    }
    let p = jane.portal_post("/cart/items", &[("quantity", "1")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    for qty in ["-5", "1001", "x", ""] {
        let p = jane.portal_post(&format!("/cart/items/{host_m}"), &[("quantity", qty)]).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{qty}");
        assert!(p.body.contains("from 0 to 1000") || p.body.contains("whole number"), "{qty}");
    }
    for path in ["/cart/items/abc", "/cart/items/0", "/cart/items/99999999999999999999999", "/cart/items/-1/remove"] {
        let p = jane.portal_post(path, &[("quantity", "1")]).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{path}");
    }
    // Going past 1000 on one line by adding again is refused.
    jane.portal_post("/cart/items", &[("product_id", &vps), ("quantity", "1000")]).await;
    let p = jane.portal_post("/cart/items", &[("product_id", &vps), ("quantity", "1")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("at most 1000"));
    assert_eq!(app.cart_quantity(JANE, vps.parse().unwrap()).await, Some(1000));
    assert_eq!(app.activity_count().await, activity + 1, "only the valid add was recorded");

    // Checkout without its key, or with an oversized one.
    let orders = app.count(Table::Orders).await;
    let p = jane.portal_post("/checkout", &[]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("incomplete"));
    let huge_key = "k".repeat(10_000);
    assert_eq!(
        jane.portal_post("/checkout", &[("idempotency_key", &huge_key)]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A total that overflows is refused with a message, and the cart stays as it was.
    app.set_product_price("VPS-2", i64::MAX / 10).await;
    let cart = jane.get("/cart").await;
    assert_eq!(cart.text_of("cart-total").as_deref(), Some("too large to order"));
    let p = checkout(&mut jane).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("too large"), "{}", p.body);
    assert_eq!(app.count(Table::Orders).await, orders);
    assert_eq!(cart_rows(&app, JANE).await, 3);
    // An empty cart cannot be ordered.
    let mut bob = app.client("bob@example.com").await;
    bob.portal_post("/cart/items", &[("product_id", &host_m.to_string()), ("quantity", "1")]).await;
    bob.portal_post(&format!("/cart/items/{host_m}/remove"), &[]).await;
    let p = bob.portal_post("/checkout", &[("idempotency_key", "abc")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("cart is empty"));
    assert_eq!(app.count(Table::Orders).await, orders);
}

#[tokio::test]
async fn the_same_checkout_twice_makes_one_order_even_concurrently() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let orders = app.count(Table::Orders).await;
    let invoices = app.count(Table::Invoices).await;
    let cart = jane.get("/cart").await;
    let key = field(&cart.body, "idempotency_key");
    let csrf = cart.csrf().unwrap();
    let form = [("csrf_token", csrf.as_str()), ("idempotency_key", key.as_str())];
    let url = format!("{}/checkout", jane.base);
    let (a, b) = tokio::join!(jane.http.post(&url).form(&form).send(), jane.http.post(&url).form(&form).send());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.status(), StatusCode::SEE_OTHER);
    assert_eq!(a.headers()["location"], b.headers()["location"], "both lead to the one order");
    assert_eq!(app.count(Table::Orders).await, orders + 1);
    assert_eq!(app.count(Table::Invoices).await, invoices + 1);
    assert_eq!(app.activity_count_of("Placed an order").await, 1);
    // A later resubmit (back button) also leads to it, even with a new cart.
    let vps = product(&app, "VPS-2").await.to_string();
    jane.portal_post("/cart/items", &[("product_id", &vps), ("quantity", "1")]).await;
    let again = jane.post_from("/cart", "/checkout", &[("idempotency_key", &key)]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location(), a.headers()["location"].to_str().ok());
    assert_eq!(app.count(Table::Orders).await, orders + 1);
    assert_eq!(cart_rows(&app, JANE).await, 1, "the new cart is untouched");
}

#[tokio::test]
async fn login_as_client_never_carries_another_cart_into_the_clients() {
    let app = TestApp::spawn().await;
    let mut b = app.client("bob@example.com").await;
    let host_s = product(&app, "HOST-S").await.to_string();
    assert_eq!(
        b.portal_post("/cart/items", &[("product_id", &host_s), ("quantity", "4")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(b.get("/cart").await.body.contains("Shared Hosting S"));
    // The same browser signs in to the admin and logs in as Jane.
    b.login_staff("admin@example.com").await;
    assert_eq!(b.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    let cart = b.get("/cart").await;
    assert!(cart.has("impersonation-banner"));
    assert!(cart.body.contains("Shared Hosting M") && cart.body.contains("Domain .com"), "Jane's own items");
    assert!(!cart.body.contains("Shared Hosting S"), "nothing of Bob's cart");
    let placed = checkout(&mut b).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER);
    let order = app.latest_order().await;
    assert_eq!(order.client_id, JANE);
    let host_s: i64 = host_s.parse().unwrap();
    assert_eq!(app.order_lines(order.id).await.iter().filter(|l| l.product_id == Some(host_s)).count(), 0);
    assert_eq!(app.cart(BOB).await, [CartItem { product_id: host_s, quantity: 4 }], "Bob's cart is his");
}

#[tokio::test]
async fn store_switcher_changes_catalogue_and_currency_for_the_clients_own_session_only() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let switched = jane.portal_post("/shop/store", &[("store_id", "2")]).await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let shop = jane.get("/shop").await;
    assert!(shop.text_of("current-store").unwrap().contains("Behalf Studio EU"));
    assert!(shop.body.contains("Logo design") && shop.body.contains("390.00 EUR"));
    assert!(!shop.body.contains("VPS 2 GB"));
    assert!(jane.get("/cart").await.has("cart-empty"), "the other store's cart is separate");
    let logo = product(&app, "LOGO").await.to_string();
    jane.portal_post("/cart/items", &[("product_id", &logo), ("quantity", "1")]).await;
    assert_eq!(checkout(&mut jane).await.status, StatusCode::SEE_OTHER);
    let order = app.latest_order().await;
    assert_eq!(order.currency, "EUR");
    assert_eq!(order.store_id, Some(2));
    assert_eq!(cart_rows(&app, JANE).await, 2, "the first store's cart is kept");
    assert!(jane.get("/orders").await.body.contains("390.00 EUR"));
    for bad in ["abc", "", "-1"] {
        assert_eq!(
            jane.portal_post("/shop/store", &[("store_id", bad)]).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // Bob shops only in the first store.
    let mut bob = app.client("bob@example.com").await;
    let p = bob.portal_post("/shop/store", &[("store_id", "2")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(bob.get("/shop").await.text_of("current-store").unwrap().contains("Behalf Hosting"));
    // A Login as Client session keeps the store it started with.
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full"), ("store", "1")]).await;
    let p = admin.portal_post("/shop/store", &[("store_id", "2")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("cannot be switched"));
    let shop = admin.get("/shop").await;
    assert!(shop.text_of("current-store").unwrap().contains("Behalf Hosting"));
    assert!(shop.has("store-fixed"));
}
