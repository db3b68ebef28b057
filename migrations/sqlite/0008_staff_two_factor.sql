-- Staff two-factor (TOTP, RFC 6238) with one-time recovery codes, and when each staff session
-- last checked a password or code (the step-up before Login as Client reads it).

-- The confirmed secret (NULL: no two-factor), the one shown on the setup page and not yet
-- confirmed, and the last accepted time step, so a code is never accepted twice.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_pending TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT;
ALTER TABLE staff ADD COLUMN totp_enabled_at BIGINT;

-- NULL means the session's creation (its password check).
ALTER TABLE sessions ADD COLUMN verified_at BIGINT;

CREATE TABLE staff_recovery_codes (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    code_hash TEXT NOT NULL,
    used_at BIGINT
);
CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes(staff_id);
