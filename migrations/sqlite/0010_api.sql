-- The JSON API: staff API keys (only their SHA-256 is kept), and which channel started each
-- Login as Client session: 'page' (the button) or 'api' (token exchange at /oauth/token).

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    -- The first characters of the key, shown in the list so its owner can tell keys apart.
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT
);
CREATE INDEX api_keys_staff ON api_keys(staff_id, id);

ALTER TABLE impersonations ADD COLUMN channel TEXT NOT NULL DEFAULT 'page';
