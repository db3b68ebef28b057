-- Failed mail is retried with backoff, forever: each message keeps the time of its next attempt,
-- and the mailer claims only those that are due. (Attempts and the last error are in 0002.)
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE sent_at IS NULL;
