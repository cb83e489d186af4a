-- Passkeys (WebAuthn credentials). The credential is webauthn-rs's record of it (public key,
-- counter, flags) as JSON; the user handle is the random id the authenticator keeps with a
-- discoverable credential, the same for all of an account's passkeys.
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE INDEX passkeys_handle ON passkeys (user_handle);

-- A ceremony under way: the challenge's state between the options and the browser's answer.
-- Taken once (deleted as it is read), so an answer cannot be replayed.
CREATE TABLE passkey_ceremonies (
    id_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    detail TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
