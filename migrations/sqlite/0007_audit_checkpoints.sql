-- Each activity entry records which hash encoding made its hash, so entries written before
-- version 2 (which binds every column with typed, length-prefixed fields) still verify.
ALTER TABLE activity ADD COLUMN hash_version BIGINT NOT NULL DEFAULT 1;

-- Signed checkpoints of the activity log: the full signed note, and the size and head hash it
-- signs for lookups. Two nodes signing the same head with the same key produce the same note.
CREATE TABLE audit_checkpoints (
    id INTEGER PRIMARY KEY,
    created_at BIGINT NOT NULL,
    size BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    note TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints(size);
