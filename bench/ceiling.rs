//! The bench's ceiling: the fastest any Behalf page could be on this machine. An axum server
//! that reads the session cookie and answers a fixed page of the dashboard's size, with no
//! database, no templates and no middleware. `bench/run.sh` measures it first and last in every
//! run and reports each Behalf scenario as a fraction of it, because absolute figures on this
//! machine drift by up to 3× from day to day while the ratio does not.
//!
//! ```sh
//! cargo build --release --example ceiling
//! target/release/examples/ceiling --bind 127.0.0.1:18081 --bytes 12000
//! ```

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The cookie Behalf's portal reads; the ceiling reads the same one.
const COOKIE: &str = "behalf_client";

/// A complete HTML page of exactly `bytes` bytes (or the bare frame, if that is longer).
fn page_of(bytes: usize) -> String {
    let head =
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ceiling</title></head><body><main><p>";
    let tail = "</p></main></body></html>";
    let filler = bytes.saturating_sub(head.len() + tail.len());
    let mut page = String::with_capacity(bytes.max(head.len() + tail.len()));
    page.push_str(head);
    page.extend(std::iter::repeat_n('x', filler));
    page.push_str(tail);
    page
}

/// The value of the session cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn usage() -> ! {
    eprintln!("usage: ceiling --bind ADDR:PORT --bytes N");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (mut bind, mut bytes) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--bind", Some(v)) => bind = Some(v),
            ("--bytes", Some(v)) => bytes = Some(v.parse::<usize>().unwrap_or_else(|_| usage())),
            _ => usage(),
        }
    }
    let (Some(bind), Some(bytes)) = (bind, bytes) else { usage() };
    let page: &'static str = Box::leak(page_of(bytes).into_boxed_str());
    let app = Router::new().route("/healthz", get(|| async { "ok" })).route(
        "/",
        get(move |headers: HeaderMap| async move {
            match session_cookie(&headers) {
                Some(token) if !token.is_empty() => Html(page).into_response(),
                _ => Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header(header::LOCATION, "/login")
                    .body(axum::body::Body::empty())
                    .unwrap_or_default(),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("ceiling: {bytes}-byte page on http://{bind}/");
    axum::serve(listener, app).await
}
