-- The catalog as imported: each change to `catalog.toml` or to a service's definition is a new
-- version, kept for ever, so an application pins the version it started on and an officer
-- sees the form as it was. The body is the definition as JSON; the digest tells whether an
-- import changes anything.
CREATE TABLE catalog_versions (
    version BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE TABLE service_versions (
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (code, version)
);
