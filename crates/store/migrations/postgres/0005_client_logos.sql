-- Departmental apps' logos, fetched once when an administrator sets them and re-encoded as PNG:
-- pages load them from the portal, never from another site.
ALTER TABLE oidc_clients ADD COLUMN logo_etag TEXT;
CREATE TABLE client_logos (
    client_id TEXT PRIMARY KEY REFERENCES oidc_clients (id) ON DELETE CASCADE,
    png BYTEA NOT NULL,
    etag TEXT NOT NULL
);
