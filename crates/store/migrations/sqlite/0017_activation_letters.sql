-- Activation letters by post. A letter is asked for by a standard account; its code is made
-- only when the day's batch is exported for printing, and only its keyed hash is kept. The
-- address is read from the sealed profile at export: nothing here reveals it.
CREATE TABLE activation_letters (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    exported_at BIGINT,
    code_hash TEXT,
    expires_at BIGINT,
    attempts BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX activation_letters_user ON activation_letters (user_id, requested_at);
CREATE INDEX activation_letters_pending ON activation_letters (exported_at, requested_at);
