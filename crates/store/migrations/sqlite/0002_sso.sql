-- OpenID Connect provider: departmental apps, signing keys, consents, codes and tokens.
CREATE TABLE oidc_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    is_public INTEGER NOT NULL,
    logo_url TEXT,
    helpdesk_phone TEXT,
    helpdesk_email TEXT,
    officer TEXT,
    subject_type TEXT NOT NULL,
    backchannel_logout_uri TEXT,
    launch_url TEXT,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_wrapped TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);

CREATE TABLE oidc_consents (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_hash TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time INTEGER NOT NULL,
    amr TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    family TEXT NOT NULL
);

CREATE TABLE oidc_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT,
    session_hash TEXT,
    scopes TEXT NOT NULL,
    family TEXT NOT NULL,
    auth_time INTEGER,
    amr TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX oidc_tokens_family ON oidc_tokens(family);
CREATE INDEX oidc_tokens_user_client ON oidc_tokens(user_id, client_id);
CREATE INDEX oidc_tokens_session ON oidc_tokens(session_hash);
