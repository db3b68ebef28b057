//! The accept loop: HTTP/1 over hyper with a header read timeout, a cap on open
//! connections that answers 503 at once beyond it (never a stall), and graceful shutdown.

use crate::config::Limits;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::Service;

/// What a connection over the cap is told before it is closed.
const SHED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 1\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: 45\r\n\r\nThe server is busy. Please try again shortly.";

/// How long serving waits for open requests to finish after it is told to stop.
const DRAIN: Duration = Duration::from_secs(10);

/// The open-files limit of this process (Linux), read without `unsafe` from /proc.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The connection cap actually used: the configured one, lowered so that connections can never
/// take the file descriptors the database and files need (then requests would fail instead of
/// being shed).
pub fn connection_cap(configured: usize) -> usize {
    match open_files_limit() {
        Some(files) => configured.min(files.saturating_sub(files.min(128) / 2).max(1)),
        None => configured,
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let max = connection_cap(limits.max_connections);
    if max < limits.max_connections {
        tracing::info!(max, configured = limits.max_connections, "connection cap lowered to fit the open-files limit");
    }
    let permits = Arc::new(Semaphore::new(max));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // HTTP/1 only: TLS and HTTP/2 end at the reverse proxy. (Guessing the version would wait for
    // an HTTP/2 preface with no timer, so a silent socket could hold its place for ever.)
    let mut builder = http1::Builder::new();
    // A client must finish its headers in time, on every request of a kept-alive connection;
    // hyper then closes the connection (the slow-loris defence for headers). Bodies have their
    // own idle timeout and the whole request a deadline, in the router.
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    crate::error::log_limited(|| tracing::warn!(error = %e, "accepting a connection failed"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("behalf_connections_shed_total").increment(1);
            tokio::spawn(shed(stream));
            continue;
        };
        metrics::gauge!("behalf_connections_open").set((max - permits.available_permits()) as f64);
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(req.map(axum::body::Body::new)).await }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_byte = limits.header_timeout;
        tokio::spawn(async move {
            // hyper's header timer starts with the first byte; a socket that never sends one
            // would otherwise keep its place for ever.
            let mut probe = [0u8; 1];
            if !matches!(tokio::time::timeout(first_byte, stream.peek(&mut probe)).await, Ok(Ok(n)) if n > 0) {
                drop(permit);
                return;
            }
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let _ = watcher.watch(connection).await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("requests still open after the drain time were cut"),
    }
    Ok(())
}

/// Answers 503 on a connection over the cap and closes it. What the client sent is read and
/// dropped for a moment, so closing does not reset the connection before the answer is read.
async fn shed(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(SHED_RESPONSE).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
        std::io::Result::Ok(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::SHED_RESPONSE;

    #[test]
    fn the_shed_response_declares_its_length() {
        let text = std::str::from_utf8(SHED_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
