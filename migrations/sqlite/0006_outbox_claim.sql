-- Several nodes deliver the outbox: a node claims a batch for a while before sending it, so no
-- message goes out twice.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
