-- The standard profile and its checks. Personal data is sealed (AEAD) under data keys, and the
-- data keys are wrapped by the server's key, which is never in the database: a copy of the
-- database alone reveals no identifier, document number, date of birth or address.
CREATE TABLE data_keys (
    id TEXT PRIMARY KEY,
    wrapped TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
-- One sealed record of facts per person; `submitted_at` is NULL while it is being filled in.
CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    key_id TEXT NOT NULL REFERENCES data_keys(id),
    sealed TEXT NOT NULL,
    submitted_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX profiles_key ON profiles (key_id);
-- Where the check of each item stands. `fingerprint` is a keyed hash of the facts the check is
-- about: an edit changes it and sends the item back to checking.
CREATE TABLE profile_checks (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    registry TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    request_id TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    detail TEXT,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, item)
);
CREATE INDEX profile_checks_status ON profile_checks (status, updated_at);
-- Confirmed national identifiers by keyed blind index (login by SNILS, recovery by Aadhaar).
CREATE TABLE identifier_index (
    blind TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX identifier_index_user ON identifier_index (user_id);
