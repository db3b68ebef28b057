//! THE route table and the middleware stack: every URL of Behalf is listed here.

use crate::app::AppState;
use crate::error::AppError;
use crate::web::{admin, ops, portal};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest request body accepted (forms); larger ones answer 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Builds the router with its middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        // Staff side
        .route("/admin/login", get(admin::login_page).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/login/2fa", get(admin::two_factor::code_page).post(admin::two_factor::code))
        .route("/admin/login/2fa/cancel", post(admin::two_factor::cancel))
        .route("/admin/2fa/setup", get(admin::two_factor::setup_page).post(admin::two_factor::setup))
        .route("/admin", get(admin::dashboard))
        .route("/admin/clients", get(admin::clients))
        .route("/admin/clients/{id}", get(admin::client))
        .route("/admin/clients/{id}/impersonate", post(admin::impersonate))
        .route("/admin/clients/{id}/consent", post(admin::set_consent))
        .route("/admin/clients/{id}/modules", post(admin::set_modules))
        .route("/admin/clients/{id}/stores", post(admin::stores::set_client_stores))
        .route("/admin/stores", get(admin::stores::list))
        .route("/admin/impersonations", get(admin::impersonations::list))
        .route("/admin/impersonations.csv", get(admin::impersonations::csv))
        .route("/admin/impersonations/{id}/end", post(admin::impersonations::end))
        .route("/admin/activity", get(admin::activity))
        .route("/admin/roles", get(admin::staff::roles).post(admin::staff::save_roles))
        .route("/admin/roles/new", post(admin::staff::add_role))
        .route("/admin/staff", get(admin::staff::list).post(admin::staff::add))
        .route("/admin/staff/{id}/role", post(admin::staff::set_role))
        .route("/admin/staff/{id}/disable", post(admin::staff::disable))
        .route("/admin/settings", get(admin::settings::show).post(admin::settings::save))
        .route("/admin/tickets/{id}", get(admin::ticket))
        .route("/admin/orders/{id}", get(admin::billing::order))
        .route("/admin/invoices/{id}", get(admin::billing::invoice))
        // Client portal
        .route("/", get(portal::home))
        .route("/login", get(portal::login_page).post(portal::login))
        .route("/logout", post(portal::logout))
        .route("/dashboard", get(portal::dashboard))
        .route("/services", get(portal::services))
        .route("/invoices", get(portal::invoices))
        .route("/invoices/{id}", get(portal::billing::invoice))
        .route("/tickets", get(portal::tickets).post(portal::create_ticket))
        .route("/tickets/{id}", get(portal::ticket))
        .route("/tickets/{id}/replies", post(portal::reply))
        .route("/orders", get(portal::shop::orders))
        .route("/account", get(portal::account).post(portal::save_profile))
        .route("/account/access", get(portal::access))
        .route("/account/access/seen", post(portal::access_seen))
        .route("/account/password", post(portal::change_password))
        .route("/account/email", post(portal::change_email))
        .route("/account/consent", post(portal::set_consent))
        .route("/account/end-support-access", post(portal::end_support_access))
        .route("/account/delete", post(portal::delete_account))
        .route("/account/payment-methods", get(portal::billing::payment_methods).post(portal::billing::save_payment_method))
        .route("/impersonation/return", post(portal::return_to_admin))
        // Portal: shop, cart, checkout, orders and payments
        .route("/shop", get(portal::shop::shop))
        .route("/shop/store", post(portal::shop::choose_store))
        .route("/cart", get(portal::shop::cart))
        .route("/cart/items", post(portal::shop::add_to_cart))
        .route("/cart/items/{product_id}", post(portal::shop::set_quantity))
        .route("/cart/items/{product_id}/remove", post(portal::shop::remove_from_cart))
        .route("/checkout", post(portal::shop::checkout))
        .route("/orders/{id}", get(portal::shop::order))
        .route("/invoices/{id}/pay", post(portal::billing::pay))
        .route("/account/payment-methods/{id}/delete", post(portal::billing::delete_payment_method))
        // Portal: files
        .route(
            "/files",
            get(portal::files::list)
                .post(portal::files::upload)
                .layer(DefaultBodyLimit::max(portal::files::UPLOAD_BODY_LIMIT)),
        )
        .route("/files/{id}/download", get(portal::files::download))
        .route("/files/{id}/delete", post(portal::files::delete))
        // Portal: subscriptions and tasks
        .route("/subscriptions", get(portal::subscriptions::list))
        .route("/subscriptions/{id}", get(portal::subscriptions::show))
        .route("/subscriptions/{id}/cancel", post(portal::subscriptions::cancel))
        .route("/subscriptions/{id}/resume", post(portal::subscriptions::resume))
        .route("/tasks", get(portal::tasks::list))
        .route("/tasks/{id}", get(portal::tasks::show))
        .route("/tasks/{id}/comments", post(portal::tasks::comment))
        .route("/tasks/{id}/done", post(portal::tasks::done))
        // Admin: shop, orders and billing
        // Admin: files
        .route(
            "/admin/clients/{id}/files",
            get(admin::files::client_files)
                .post(admin::files::upload)
                .layer(DefaultBodyLimit::max(portal::files::UPLOAD_BODY_LIMIT)),
        )
        .route("/admin/files/{id}/download", get(admin::files::download))
        .route("/admin/files/{id}/delete", post(admin::files::delete))
        // Admin: subscriptions and tasks
        .route("/admin/clients/{id}/subscriptions", get(admin::work::client_subscriptions))
        .route("/admin/clients/{id}/tasks", get(admin::work::client_tasks).post(admin::work::create_task))
        .route("/admin/tasks/{id}", get(admin::work::task))
        .route("/admin/tasks/{id}/comments", post(admin::work::comment))
        .route("/admin/tasks/{id}/done", post(admin::work::mark_done))
        .route("/admin/tasks/{id}/reopen", post(admin::work::reopen))
        // Operations
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/static/app.css", get(ops::stylesheet))
        .route("/static/stores.css", get(ops::store_stylesheet))
        .fallback(|| async { AppError::not_found() })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, crate::web::layout::message_page(StatusCode::METHOD_NOT_ALLOWED, "This address does not accept that method."))
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(same_origin_posts))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store, private")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .with_state(state)
}

/// Refuses state-changing requests that a browser says came from another site (Origin or
/// Sec-Fetch-Site), on top of the per-form CSRF token.
async fn same_origin_posts(req: Request, next: Next) -> Response {
    ops::REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let h = req.headers();
        let cross_site = h
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site" || v == "same-site");
        let origin_mismatch = match (
            h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            h.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some("null"), _) => true,
            (Some(origin), Some(host)) => url::Url::parse(origin)
                .ok()
                .map(|u| {
                    let o = match u.port() {
                        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("")),
                        None => u.host_str().unwrap_or("").to_string(),
                    };
                    o != host
                })
                .unwrap_or(true),
            _ => false,
        };
        if cross_site || origin_mismatch {
            return AppError::forbidden("This request came from another site and was refused.").into_response();
        }
    }
    next.run(req).await
}
