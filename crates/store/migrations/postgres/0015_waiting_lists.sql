-- Waiting lists (the kindergartens'): one row per application and choice while it waits, in
-- the list's order (benefit rank, then time of submission, then id), so that a place is two
-- range counts of one index however long the list. `waiting_lists_built` records the services
-- whose lists were filled from the applications already waiting (done once, by the portal).
CREATE TABLE waiting_entries (
    service TEXT NOT NULL,
    choice TEXT NOT NULL,
    application_id TEXT NOT NULL,
    benefit BIGINT NOT NULL,
    since BIGINT NOT NULL,
    preference BIGINT NOT NULL,
    PRIMARY KEY (application_id, choice)
);
CREATE INDEX waiting_entries_order ON waiting_entries (service, choice, benefit, since, application_id);
CREATE TABLE waiting_lists_built (
    service TEXT PRIMARY KEY,
    built_at BIGINT NOT NULL
);
