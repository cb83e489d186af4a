-- A second factor for logins: an authenticator app's shared secret (stored wrapped with a
-- keystream from the server key, so a copy of the database alone cannot compute codes) and
-- recovery codes (only their keyed hashes). `last_step` makes every code single-use.
CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    wrap_id TEXT NOT NULL,
    secret_wrapped TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL
);
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
-- Apps' own API scopes, the only ones `client_credentials` may ask for (space-separated).
ALTER TABLE oidc_clients ADD COLUMN api_scopes TEXT NOT NULL DEFAULT '';
