-- Apps that cannot verify ES256 may ask for RS256-signed ID tokens.
ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'ES256';
