-- Client transparency: whether the client is told about an impersonation, when the client last
-- acknowledged the notices, and an outbox for the e-mails (sent when SMTP is configured).
ALTER TABLE impersonations ADD COLUMN notify_client BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN access_seen_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    to_email TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_unsent ON outbox(sent_at, id);
