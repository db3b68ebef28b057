//! Delivers the webhook outbox: each due delivery is claimed (so several nodes share the work),
//! signed as Standard Webhooks says and POSTed on its own task with a timeout, so a receiver that
//! hangs holds up nothing else; failures are tried again with backoff for a day.

use crate::config::WebhookConfig;
use crate::domain::webhooks::{retry_delay, signature, RETRY_FOR_SECONDS};
use crate::store::webhooks::Delivery;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Deliveries in flight at once per node.
const IN_FLIGHT: usize = 16;

/// Starts the delivery loop.
pub fn spawn(store: Store, config: WebhookConfig) {
    let client = match reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Behalf-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the webhook client could not be built; webhooks stay queued");
            return;
        }
    };
    // A claim outlives the longest attempt, so no other node takes a delivery still being sent.
    let lease = config.timeout.as_secs() as i64 + 30;
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let free = permits.available_permits() as i64;
            if free == 0 {
                continue;
            }
            let due = match store.webhooks_due().await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the webhook outbox failed");
                    continue;
                }
            };
            if !due {
                continue;
            }
            let batch = match store.claim_deliveries(free, lease).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed");
                    continue;
                }
            };
            for d in batch {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let (store, client, base) = (store.clone(), client.clone(), config.retry_base_seconds);
                tokio::spawn(async move {
                    deliver(&store, &client, base, d).await;
                    drop(permit);
                });
            }
        }
    });
}

/// One attempt at one delivery, recorded whatever happens.
async fn deliver(store: &Store, client: &reqwest::Client, retry_base: i64, d: Delivery) {
    let timestamp = crate::domain::now();
    let sent = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature(&d.secret, &d.message_id, timestamp, &d.payload))
        .body(d.payload.clone())
        .send()
        .await;
    let (status, error) = match sent {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => (Some(r.status().as_u16()), Some(format!("the endpoint answered {}", r.status()))),
        Err(e) if e.is_timeout() => (None, Some("no answer before the timeout".to_string())),
        Err(e) if e.is_connect() => (None, Some("could not connect to the endpoint".to_string())),
        Err(e) => (None, Some(format!("the request failed: {}", e.without_url()))),
    };
    let retry_at = error.as_ref().map(|_| crate::domain::now() + retry_delay(d.attempts + 1, retry_base));
    // Past a day of retries a delivery is given up (and stays in the log).
    let retry_at = retry_at.filter(|at| *at <= d.created_at + RETRY_FOR_SECONDS);
    let result = if error.is_none() { "delivered" } else { "failed" };
    metrics::counter!("behalf_webhook_deliveries_total", "result" => result).increment(1);
    if let Some(e) = &error {
        tracing::warn!(delivery = d.id, error = %e, "a webhook delivery failed");
    }
    if let Err(e) = store.delivery_attempted(d.id, status, error.as_deref(), retry_at).await {
        tracing::warn!(delivery = d.id, error = %e, "recording a webhook attempt failed; it is tried again");
    }
}
