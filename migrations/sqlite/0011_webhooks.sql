-- Signed webhooks for security teams: the endpoints staff register, and the deliveries written
-- in the same transaction as each event (a transactional outbox), tried with backoff for a day.

CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    -- The Standard Webhooks signing secret (whsec_...): kept to sign, shown once when made.
    secret TEXT NOT NULL,
    -- The event types it wants, comma-separated.
    events TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints(id),
    -- The webhook-id header: one per event and endpoint, the same on every retry.
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    delivered_at BIGINT,
    -- Set when a day of retries passed without success.
    gave_up_at BIGINT,
    last_status BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at, id) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
