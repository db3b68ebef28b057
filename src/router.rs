//! THE route table and the middleware stack: every URL of Behalf is listed here.

use crate::error::AppError;
use crate::state::AppState;
use crate::web::login::{self, ClientSide, StaffSide};
use crate::web::{admin, api, ops, portal};
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
    let trusted = std::sync::Arc::new(state.config.trusted_proxies.clone());
    let body_timeout = state.config.limits.body_timeout;
    let request_timeout = state.config.limits.request_timeout;
    Router::new()
        // Staff side
        .route("/admin/login", get(login::page::<StaffSide>).post(login::submit::<StaffSide>))
        .route("/admin/logout", post(admin::session::logout))
        .route("/admin/login/2fa", get(admin::two_factor_sign_in::code_page).post(admin::two_factor_sign_in::code))
        .route("/admin/login/2fa/cancel", post(admin::two_factor_sign_in::cancel))
        .route("/admin/2fa/setup", get(admin::two_factor::setup_page).post(admin::two_factor::setup))
        .route("/admin", get(admin::dashboard::dashboard))
        .route("/admin/account/api-keys", get(admin::api_keys::list).post(admin::api_keys::create))
        .route("/admin/account/api-keys/{id}/revoke", post(admin::api_keys::revoke))
        .route("/admin/clients", get(admin::clients::clients))
        .route("/admin/clients/{id}", get(admin::clients::client))
        .route("/admin/clients/{id}/impersonate", post(admin::impersonations::impersonate))
        .route("/admin/clients/{id}/consent", post(admin::clients::set_consent))
        .route("/admin/clients/{id}/modules", post(admin::clients::set_modules))
        .route("/admin/clients/{id}/stores", post(admin::stores::set_client_stores))
        .route("/admin/stores", get(admin::stores::list))
        .route("/admin/impersonations", get(admin::impersonations::list))
        .route("/admin/impersonations.csv", get(admin::impersonations::csv))
        .route("/admin/impersonations/{id}/end", post(admin::impersonations::end))
        .route("/admin/activity", get(admin::activity::activity))
        .route("/admin/roles", get(admin::roles::roles).post(admin::roles::save_roles))
        .route("/admin/roles/new", post(admin::roles::add_role))
        .route("/admin/staff", get(admin::staff::list).post(admin::staff::add))
        .route("/admin/staff/{id}/role", post(admin::staff::set_role))
        .route("/admin/staff/{id}/disable", post(admin::staff::disable))
        .route("/admin/settings", get(admin::settings::show).post(admin::settings::save))
        .route("/admin/outbox", get(admin::outbox::list))
        .route("/admin/outbox/{id}/retry", post(admin::outbox::retry))
        .route("/admin/webhooks", get(admin::webhooks::list).post(admin::webhooks::add))
        .route("/admin/webhooks/{id}/test", post(admin::webhooks::test))
        .route("/admin/webhooks/{id}/delete", post(admin::webhooks::delete))
        .route("/admin/tickets/{id}", get(admin::tickets::ticket))
        .route("/admin/orders/{id}", get(admin::billing::order))
        .route("/admin/invoices/{id}", get(admin::billing::invoice))
        // Client portal
        .route("/", get(portal::session::home))
        .route("/login", get(login::page::<ClientSide>).post(login::submit::<ClientSide>))
        .route("/logout", post(portal::session::logout))
        .route("/dashboard", get(portal::dashboard::dashboard))
        .route("/services", get(portal::dashboard::services))
        .route("/invoices", get(portal::dashboard::invoices))
        .route("/invoices/{id}", get(portal::billing::invoice))
        .route("/tickets", get(portal::tickets::tickets).post(portal::tickets::create_ticket))
        .route("/tickets/{id}", get(portal::tickets::ticket))
        .route("/tickets/{id}/replies", post(portal::tickets::reply))
        .route("/orders", get(portal::orders::orders))
        .route("/account", get(portal::account::account).post(portal::account::save_profile))
        .route("/account/access", get(portal::access::access))
        .route("/account/access/seen", post(portal::access::access_seen))
        .route("/account/password", post(portal::account::change_password))
        .route("/account/email", post(portal::account::change_email))
        .route("/account/consent", post(portal::access::set_consent))
        .route("/account/end-support-access", post(portal::access::end_support_access))
        .route("/account/delete", post(portal::account::delete_account))
        .route("/account/payment-methods", get(portal::billing::payment_methods).post(portal::billing::save_payment_method))
        .route("/impersonation/return", post(portal::session::return_to_admin))
        // Portal: shop, cart, checkout, orders and payments
        .route("/shop", get(portal::shop::shop))
        .route("/shop/store", post(portal::shop::choose_store))
        .route("/cart", get(portal::shop::cart))
        .route("/cart/items", post(portal::shop::add_to_cart))
        .route("/cart/items/{product_id}", post(portal::shop::set_quantity))
        .route("/cart/items/{product_id}/remove", post(portal::shop::remove_from_cart))
        .route("/checkout", post(portal::orders::checkout))
        .route("/orders/{id}", get(portal::orders::order))
        .route("/invoices/{id}/pay", post(portal::billing::pay))
        .route("/account/payment-methods/{id}/delete", post(portal::billing::delete_payment_method))
        // Portal: files
        .route(
            "/files",
            get(portal::files::list)
                .post(portal::files::upload)
                .layer(DefaultBodyLimit::max(crate::web::uploads::UPLOAD_BODY_LIMIT)),
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
                .layer(DefaultBodyLimit::max(crate::web::uploads::UPLOAD_BODY_LIMIT)),
        )
        .route("/admin/files/{id}/download", get(admin::files::download))
        .route("/admin/files/{id}/delete", post(admin::files::delete))
        // Admin: subscriptions and tasks
        .route("/admin/clients/{id}/subscriptions", get(admin::subscriptions::client_subscriptions))
        .route("/admin/clients/{id}/tasks", get(admin::tasks::client_tasks).post(admin::tasks::create_task))
        .route("/admin/tasks/{id}", get(admin::tasks::task))
        .route("/admin/tasks/{id}/comments", post(admin::tasks::comment))
        .route("/admin/tasks/{id}/done", post(admin::tasks::mark_done))
        .route("/admin/tasks/{id}/reopen", post(admin::tasks::reopen))
        // API: Login as Client by token exchange, and the client's side with such a token
        .route("/oauth/token", post(api::oauth::token))
        .route("/oauth/revoke", post(api::oauth::revoke))
        .route("/oauth/introspect", post(api::oauth::introspect))
        .route("/.well-known/jwks.json", get(api::oauth::jwks))
        .route("/.well-known/oauth-authorization-server", get(api::oauth::metadata))
        .route("/api/v1/me", get(api::portal::me))
        .route("/api/v1/services", get(api::portal::services))
        .route("/api/v1/invoices", get(api::portal::invoices))
        .route("/api/v1/invoices/{id}", get(api::portal::invoice))
        .route("/api/v1/tickets", get(api::portal::tickets).post(api::portal::create_ticket))
        .route("/api/v1/tickets/{id}", get(api::portal::ticket))
        .route("/api/v1/tickets/{id}/replies", post(api::portal::reply))
        .route("/api/v1/orders", get(api::portal::orders))
        .route("/api/v1/subscriptions", get(api::portal::subscriptions))
        .route("/api/v1/files", get(api::portal::files))
        .route("/api/v1/files/{id}/download", get(api::portal::download))
        .route("/api/v1/tasks", get(api::portal::tasks))
        .route("/api/v1/tasks/{id}", get(api::portal::task))
        .route("/api/v1/tasks/{id}/comments", post(api::portal::comment))
        .route("/api/v1/openapi.json", get(api::docs::openapi_json))
        // `/api/docs`, `/api/docs/` and its files: the Swagger UI page, from inside the binary.
        .merge(api::docs::swagger_ui())
        // API: the staff side, with a staff API key
        .route("/api/v1/admin/clients", get(api::staff::clients))
        .route("/api/v1/admin/clients/{id}", get(api::staff::client))
        .route("/api/v1/admin/impersonations", get(api::staff::impersonations))
        .route("/api/v1/admin/impersonations/{id}/end", post(api::staff::end_impersonation))
        .route("/api/v1/admin/activity", get(api::staff::activity))
        // Operations
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics_on_main_port))
        .route("/static/app.css", get(ops::stylesheet))
        .route("/static/stores.css", get(ops::store_stylesheet))
        .fallback(|| async { AppError::not_found() })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, crate::page::message_page(StatusCode::METHOD_NOT_ALLOWED, "This address does not accept that method."))
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(refuse_nul))
        .layer(middleware::from_fn(same_origin_posts))
        // A body that stops arriving (a slow-loris POST) fails after this long without data.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(body_timeout))
        // ...and one trickled in a byte at a time still ends, as does any request that outstays this.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(middleware::from_fn(move |req, next| crate::auth::peer::attach_peer(trusted.clone(), req, next)))
        .layer(middleware::from_fn(ops::track_requests))
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
/// Sec-Fetch-Site), on top of the per-form CSRF token. The site is the request's host (the
/// `Host` header, or the URI's authority) and, when a trusted proxy says it, its scheme; a request
/// that names an Origin but no host at all is refused.
async fn same_origin_posts(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let h = req.headers();
        let cross_site = h
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site" || v == "same-site");
        let host = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        let https = req.extensions().get::<crate::auth::peer::Peer>().and_then(|p| p.forwarded_https);
        let origin = h.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("null"));
        let origin_mismatch = match origin {
            None => false,
            Some(origin) => !same_site(origin, host.as_deref(), https),
        };
        if cross_site || origin_mismatch {
            return AppError::forbidden("This request came from another site and was refused.").into_response();
        }
    }
    next.run(req).await
}

/// Whether an `Origin` header names this site: the same host and port, and the same scheme when
/// a trusted proxy told us which one the browser used.
fn same_site(origin: &str, host: Option<&str>, https: Option<bool>) -> bool {
    let (Some(host), Ok(url)) = (host, url::Url::parse(origin)) else { return false };
    let Some(origin_host) = url.host_str() else { return false };
    let origin_authority = match url.port() {
        Some(p) => format!("{origin_host}:{p}"),
        None => origin_host.to_string(),
    };
    let scheme_ok = match https {
        Some(true) => url.scheme() == "https",
        Some(false) => url.scheme() == "http",
        None => matches!(url.scheme(), "http" | "https"),
    };
    scheme_ok && origin_authority.eq_ignore_ascii_case(host)
}

/// Refuses a NUL character in the path or the query (raw or `%00`) with a 400; forms are checked
/// by the `Form` extractor with the same rule.
async fn refuse_nul(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    if crate::web::extract::contains_nul(target.as_bytes()) {
        return AppError::bad_request("The address contains a NUL character.").into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::same_site;

    #[test]
    fn origin_must_name_this_host_and_scheme() {
        assert!(same_site("http://127.0.0.1:8080", Some("127.0.0.1:8080"), None));
        assert!(same_site("https://portal.example", Some("portal.example"), Some(true)));
        assert!(!same_site("http://portal.example", Some("portal.example"), Some(true)));
        assert!(!same_site("https://evil.example", Some("portal.example"), None));
        assert!(!same_site("https://portal.example:444", Some("portal.example"), None));
        assert!(!same_site("https://portal.example", None, None), "no host: refused");
        assert!(!same_site("null", Some("portal.example"), None));
        assert!(!same_site("ftp://portal.example", Some("portal.example"), None));
    }
}
