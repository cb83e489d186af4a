-- The document locker. A document's bytes live in the object store, sealed with a key of its
-- own; that key is sealed by a data key of the vault (`key_id` names it), so a copy of the
-- database and the files together opens nothing without the server's key. The description,
-- folder and file name are sealed with it: they say what a person keeps.
CREATE TABLE locker_documents (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    uri TEXT UNIQUE,
    doc_type TEXT,
    issuer_id TEXT,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    thumbnail_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX locker_documents_owner ON locker_documents (owner_id, created_at);

-- Objects whose record is gone (a removed document) or may never come (an upload under way,
-- or cut short by a crash): once `remove_after` has passed, the sweep deletes the object from
-- the object store, then the row. An upload that completes deletes its row with the record's
-- insert, in one transaction.
CREATE TABLE locker_orphans (
    object_key TEXT PRIMARY KEY,
    remove_after INTEGER NOT NULL
);

-- The id an agency knows a person's locker by (DigiLocker's `digilockerid`, a UUID), made on
-- first use; it says nothing of the account.
CREATE TABLE locker_ids (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    locker_id TEXT NOT NULL UNIQUE
);

-- A document shared by a link (and its QR code): the link's token is kept only as its
-- SHA-256; an optional PIN as a keyed hash; it ends at `expires_at`, when revoked, or after
-- five wrong PINs.
CREATE TABLE locker_shares (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL REFERENCES locker_documents(id) ON DELETE CASCADE,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pin_hash TEXT,
    wrong_pins INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX locker_shares_document ON locker_shares (document_id);

-- Every use of a shared link, for its owner to see.
CREATE TABLE locker_share_uses (
    share_id TEXT NOT NULL REFERENCES locker_shares(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    what TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX locker_share_uses_share ON locker_share_uses (share_id, at);
