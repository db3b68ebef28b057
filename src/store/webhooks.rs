//! Webhook endpoints and their deliveries: the transactional outbox of security events. An event
//! is enqueued for every endpoint that wants it inside the transaction of the write it reports
//! (`activity::append` enqueues the events of its entries), so a committed write always has its
//! deliveries and a rolled-back one never does. Registering endpoints is recorded, so it lives
//! with the settings.

use super::{Store, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::webhooks::EventType;
use serde_json::{json, Value};

/// A registered endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub description: String,
    pub created_at: i64,
}
from_row!(Endpoint { id, url, secret, events, description, created_at });

/// A delivery to send: the endpoint's address and secret, and the message.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub message_id: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: i64,
}
from_row!(Delivery { id, url, secret, message_id, payload, attempts, created_at });

/// One row of the delivery log.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub url: String,
    pub event_type: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}
from_row!(DeliveryRow {
    id,
    endpoint_id,
    url,
    event_type,
    created_at,
    attempts,
    next_attempt_at,
    delivered_at,
    gave_up_at,
    last_status,
    last_error,
});

/// An endpoint to register.
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub description: &'a str,
}

/// The payload of an event: `type`, `timestamp` (RFC 3339) and `data`.
fn payload(event: EventType, data: Value) -> String {
    let fmt = time::format_description::well_known::Rfc3339;
    let timestamp = time::OffsetDateTime::now_utc().format(&fmt).unwrap_or_default();
    json!({ "type": event.as_str(), "timestamp": timestamp, "data": data }).to_string()
}

/// The live endpoints that want `event` (all of them for the test event), or only `only`. Asked
/// first, so an event nobody wants costs one small read and nothing more.
pub(crate) async fn endpoints_wanting(
    on: impl Into<crate::db::query::On<'_>>,
    event: EventType,
    only: Option<i64>,
) -> StoreResult<Vec<i64>> {
    let rows = query("SELECT id, events FROM webhook_endpoints WHERE deleted_at IS NULL AND ($1 IS NULL OR id = $1)")
        .bind(only)
        .fetch_all(on)
        .await?;
    let mut ids = Vec::new();
    for r in rows {
        let (id, events): (i64, String) = (r.get(0)?, r.get(1)?);
        if event == EventType::Test || events.split(',').any(|t| t == event.as_str()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Writes one delivery of `event` to each of `endpoints`.
pub(crate) async fn enqueue(tx: &mut Tx, event: EventType, endpoints: &[i64], data: Value) -> StoreResult<()> {
    let now = crate::domain::now();
    let body = payload(event, data);
    for id in endpoints {
        query(
            "INSERT INTO webhook_deliveries (endpoint_id, message_id, event_type, payload, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(*id)
        .bind(format!("msg_{}", crate::domain::token::new_token()))
        .bind(event.as_str())
        .bind(&body)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// `impersonation.refused`: a refused Login as Client start, told to the endpoints that want
    /// it. Only deliveries are written, and with no endpoint wanting it nothing is: the refusal
    /// changes nothing else, and takes no write lock.
    pub async fn enqueue_refusal(&self, data: Value) -> StoreResult<()> {
        let endpoints = endpoints_wanting(&self.db, EventType::ImpersonationRefused, None).await?;
        if endpoints.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        enqueue(&mut tx, EventType::ImpersonationRefused, &endpoints, data).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live endpoints, oldest first.
    pub async fn webhooks(&self) -> StoreResult<Vec<Endpoint>> {
        Ok(query_as(
            "SELECT id, url, secret, events, description, created_at FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.db)
        .await?)
    }

    /// The newest deliveries, for the log.
    pub async fn webhook_deliveries(&self, limit: i64) -> StoreResult<Vec<DeliveryRow>> {
        Ok(query_as(
            "SELECT d.id, d.endpoint_id, e.url, d.event_type, d.created_at, d.attempts, d.next_attempt_at, d.delivered_at,
                    d.gave_up_at, d.last_status, d.last_error
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id ORDER BY d.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.db)
        .await?)
    }

    /// Whether any delivery is due: a read, so an idle outbox costs no write.
    pub async fn webhooks_due(&self) -> StoreResult<bool> {
        Ok(query(
            "SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
               AND (claimed_until IS NULL OR claimed_until < $1) LIMIT 1",
        )
        .bind(crate::domain::now())
        .fetch_optional(&self.db)
        .await?
        .is_some())
    }

    /// Claims up to `limit` due deliveries for `lease` seconds, so another node leaves them alone
    /// while this one sends them.
    pub async fn claim_deliveries(&self, limit: i64, lease: i64) -> StoreResult<Vec<Delivery>> {
        let now = crate::domain::now();
        let free = "delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $2
            AND (claimed_until IS NULL OR claimed_until < $2)";
        let skip_locked = match self.db.backend {
            crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::db::Backend::Sqlite => "",
        };
        let claimed: Vec<(i64,)> = {
            let rows = query(format!(
                "WITH picked AS MATERIALIZED (SELECT id FROM webhook_deliveries WHERE {free} ORDER BY id LIMIT $3{skip_locked})
                 UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN (SELECT id FROM picked) AND {free} RETURNING id"
            ))
            .bind(now + lease)
            .bind(now)
            .bind(limit)
            .fetch_all(self.db.writer())
            .await?;
            rows.iter().map(|r| r.get(0).map(|id| (id,))).collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for (id,) in claimed {
            let d: Option<Delivery> = query_as(
                "SELECT d.id, e.url, e.secret, d.message_id, d.payload, d.attempts, d.created_at
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1 AND e.deleted_at IS NULL",
            )
            .bind(id)
            .fetch_optional(self.db.writer())
            .await?;
            out.extend(d);
        }
        Ok(out)
    }

    /// Notes an attempt: delivered (a 2xx), or failed with the status (if any) and error, to be
    /// tried again at `retry_at`, or given up when that is past the day of retries.
    pub async fn delivery_attempted(
        &self,
        id: i64,
        status: Option<u16>,
        error: Option<&str>,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        let now = crate::domain::now();
        let (delivered, gave_up, next) = match (error, retry_at) {
            (None, _) => (Some(now), None, now),
            (Some(_), Some(at)) => (None, None, at),
            (Some(_), None) => (None, Some(now), now),
        };
        query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = NULL, delivered_at = $1, gave_up_at = $2,
                    next_attempt_at = $3, last_status = $4, last_error = $5 WHERE id = $6",
        )
        .bind(delivered)
        .bind(gave_up)
        .bind(next)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }
}
