-- The API key a token exchange was made with, so revoking the key ends the Login as Client
-- sessions it started (NULL for the button's sessions).
ALTER TABLE impersonations ADD COLUMN api_key_id BIGINT REFERENCES api_keys(id);
CREATE INDEX impersonations_api_key ON impersonations(api_key_id) WHERE api_key_id IS NOT NULL AND ended_at IS NULL;
