//! Operations endpoints and static files: health, Prometheus metrics (and the request metrics
//! middleware that feeds them), the stylesheets.

use crate::auth::peer::Peer;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets, in seconds: from a cached page to a slow write.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. One process holds one recorder,
/// so several servers in one process (the tests) share it.
pub fn prometheus() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed (a test harness) only means ours is not global.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        // Histogram samples wait in the recorder until they are folded into their buckets; do that
        // every few seconds, so memory stays flat when nobody scrapes.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            upkeep.run_upkeep();
        });
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("behalf_http_requests_total", "HTTP requests answered, by route template and status class.");
    describe_histogram!(
        "behalf_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a request, by route template."
    );
    describe_counter!("behalf_impersonation_starts_total", "Login as Client sessions started.");
    describe_counter!("behalf_impersonation_refusals_total", "Login as Client starts refused, by reason.");
    describe_counter!("behalf_impersonation_ends_total", "Login as Client sessions ended, by reason.");
    describe_gauge!("behalf_impersonations_live", "Login as Client sessions live now.");
    describe_gauge!("behalf_outbox_backlog", "E-mails not yet sent.");
    describe_gauge!("behalf_outbox_failing", "Unsent e-mails whose last delivery attempt failed.");
    describe_gauge!("behalf_activity_log_entries", "Entries in the hash-chained activity log.");
    describe_gauge!("behalf_db_pool_connections", "Open database connections, by pool.");
    describe_gauge!("behalf_db_pool_idle_connections", "Idle database connections, by pool.");
    describe_gauge!("behalf_db_pool_max_connections", "Most database connections a pool opens.");
    describe_gauge!(
        "behalf_db_pool_acquire_wait_seconds",
        Unit::Seconds,
        "Time the scrape waited for a database connection, by pool."
    );
    describe_counter!("behalf_connections_shed_total", "Connections answered 503 at once because the server was full.");
    describe_gauge!("behalf_connections_open", "Client connections open now.");
}

/// Middleware: counts every request by its route template (never the raw path, so ids do not
/// multiply the series) and status class, and times it.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".into());
    let class = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("behalf_http_requests_total", "route" => route.clone(), "status" => class).increment(1);
    metrics::histogram!("behalf_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// `GET /metrics` on the main port. With `--metrics-bind` it is served there instead and this
/// answers 404; without it, only a caller on this machine that came through no proxy gets it,
/// so a public port never shows it.
pub async fn metrics_on_main_port(State(state): State<AppState>, req: Request) -> Response {
    let peer = req.extensions().get::<Peer>().copied();
    let local = peer.is_some_and(|p| p.ip.is_loopback() && !p.via_proxy);
    let forwarded = req.headers().contains_key(header::FORWARDED) || req.headers().contains_key("x-forwarded-for");
    if state.config.metrics_bind.is_some() || !local || forwarded {
        return crate::error::AppError::not_found().into_response();
    }
    metrics(State(state)).await.into_response()
}

/// The Prometheus text: the counters and histograms kept as requests run, and the gauges read
/// now from the database and the pools.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let handle = prometheus();
    match state.store.ops_counts().await {
        Ok(c) => {
            metrics::gauge!("behalf_impersonations_live").set(c.live_impersonations as f64);
            metrics::gauge!("behalf_activity_log_entries").set(c.activity_entries as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the database did not answer"),
    }
    match state.store.outbox_counts().await {
        Ok(c) => {
            metrics::gauge!("behalf_outbox_backlog").set(c.backlog as f64);
            metrics::gauge!("behalf_outbox_failing").set(c.failing as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the outbox could not be counted"),
    }
    for p in state.store.pool_stats().await {
        metrics::gauge!("behalf_db_pool_connections", "pool" => p.name).set(p.size as f64);
        metrics::gauge!("behalf_db_pool_idle_connections", "pool" => p.name).set(p.idle as f64);
        metrics::gauge!("behalf_db_pool_max_connections", "pool" => p.name).set(p.max as f64);
        if let Some(wait) = p.wait {
            metrics::gauge!("behalf_db_pool_acquire_wait_seconds", "pool" => p.name).set(wait.as_secs_f64());
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
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
