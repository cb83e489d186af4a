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
-- Applications: a draft until submitted, then a reference number (ARN) and a workflow state.
-- It pins the service's version it started on. Department, region and office are copied at
-- submission so that officers' queues filter without reading definitions.
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    arn TEXT UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    version BIGINT NOT NULL,
    department TEXT NOT NULL,
    office TEXT,
    state TEXT NOT NULL,
    answers TEXT NOT NULL,
    birth_date TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT
);
CREATE INDEX applications_user ON applications (user_id, updated_at);
CREATE INDEX applications_queue ON applications (department, state, submitted_at);
-- Every step of an application, appended, never changed: its history.
CREATE TABLE application_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor_id TEXT,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX application_events_application ON application_events (application_id, id);
-- The answers an officer reopened for correction (a JSON list of question ids).
ALTER TABLE applications ADD COLUMN reopened TEXT NOT NULL DEFAULT '[]';
-- What each officer may do where: a role of the workflows, in a department, optionally
-- narrowed to a region (and every region below it) or to one office.
CREATE TABLE staff_assignments (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    department TEXT NOT NULL,
    region TEXT,
    office TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_assignments_user ON staff_assignments (user_id);
