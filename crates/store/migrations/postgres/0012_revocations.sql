-- Revocations as rules over self-contained access tokens (see the domain's `revocation`):
-- every node reads the new ones in order of `seq` (woken by NOTIFY ekdwar_revocations) and
-- keeps those of the last access-token lifetime in memory.
CREATE TABLE token_revocations (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX token_revocations_at ON token_revocations(at);
