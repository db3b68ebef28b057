//! Operations endpoints and static files: health, Prometheus metrics, the stylesheet.

use crate::app::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use std::sync::atomic::{AtomicU64, Ordering};

/// Requests served since start.
pub static REQUESTS: AtomicU64 = AtomicU64::new(0);
/// Login as Client sessions started since start.
pub static IMPERSONATIONS_STARTED: AtomicU64 = AtomicU64::new(0);

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics() -> impl IntoResponse {
    let body = format!(
        "# HELP behalf_http_requests_total HTTP requests served.\n# TYPE behalf_http_requests_total counter\nbehalf_http_requests_total {}\n\
         # HELP behalf_impersonations_started_total Login as Client sessions started.\n# TYPE behalf_impersonations_started_total counter\nbehalf_impersonations_started_total {}\n",
        REQUESTS.load(Ordering::Relaxed),
        IMPERSONATIONS_STARTED.load(Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// `GET /static/stores.css`: each store's colour as a class, so pages can wear their store's
/// colour under a CSP that forbids inline styles. Only `#rrggbb` values are ever written.
pub async fn store_stylesheet(State(state): State<AppState>) -> impl IntoResponse {
    let colors = state.store.store_colors().await.unwrap_or_default();
    let css: String = colors
        .iter()
        .map(|(id, c)| {
            format!(
                "body.portal.store-{id} .topbar {{ border-bottom: 4px solid {c}; }}\n.swatch.store-{id} {{ background: {c}; }}\n"
            )
        })
        .collect();
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=60")], css)
}

/// `GET /static/app.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.css"),
    )
}
