-- Revocations as rules over self-contained access tokens (see the domain's `revocation`):
-- every node reads the new ones in order of `seq` and keeps those of the last access-token
-- lifetime in memory.
CREATE TABLE token_revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX token_revocations_at ON token_revocations(at);
