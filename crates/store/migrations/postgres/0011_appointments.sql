-- Service centres as imported: the definition as JSON (its zone, hours, quotas live there).
CREATE TABLE centres (
    code TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    body TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
-- Where PIN (postal) codes are, in millionths of a degree, to rank centres by distance.
CREATE TABLE pincodes (
    code TEXT PRIMARY KEY,
    lat_e6 BIGINT NOT NULL,
    lon_e6 BIGINT NOT NULL,
    region TEXT
);
-- Slots, generated ahead from each centre's hours and quotas. `taken` counts holds and
-- bookings; a place is claimed by one conditional update (`taken < capacity`), never by a read
-- and a write.
CREATE TABLE slots (
    id TEXT PRIMARY KEY,
    centre TEXT NOT NULL,
    day TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    quota TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    taken BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX slots_free ON slots (centre, quota, starts_at);
-- Appointments: held for a few minutes while the citizen confirms and pays, then booked; an
-- application has at most one active appointment (the partial unique index). A reschedule
-- closes the old row and opens a new one carrying the count and the first appointment's day.
CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    service TEXT NOT NULL,
    centre TEXT NOT NULL,
    slot_id TEXT NOT NULL REFERENCES slots (id),
    starts_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    held_until BIGINT,
    first_day TEXT NOT NULL,
    reschedules BIGINT NOT NULL DEFAULT 0,
    reminded_at BIGINT,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX appointments_active ON appointments (application_id)
    WHERE state IN ('held', 'booked', 'checked_in');
CREATE INDEX appointments_owner ON appointments (owner_id, state);
CREATE INDEX appointments_state ON appointments (state, held_until);
CREATE INDEX appointments_centre ON appointments (centre, starts_at);
-- The queue in a centre's hall: tokens numbered per centre and day, called to counters.
CREATE TABLE queue_tokens (
    id TEXT PRIMARY KEY,
    centre TEXT NOT NULL,
    day TEXT NOT NULL,
    number BIGINT NOT NULL,
    appointment_id TEXT,
    service TEXT,
    state TEXT NOT NULL,
    counter TEXT,
    issued_at BIGINT NOT NULL,
    called_at BIGINT,
    done_at BIGINT,
    operator_id TEXT,
    UNIQUE (centre, day, number)
);
CREATE INDEX queue_tokens_waiting ON queue_tokens (centre, day, state, number);
CREATE TABLE centre_days (
    centre TEXT NOT NULL,
    day TEXT NOT NULL,
    last_token BIGINT NOT NULL,
    PRIMARY KEY (centre, day)
);
-- Who works at a centre (an account with the officer role, with its second factor): they check
-- citizens in, hand out tokens, call them to counters, and record outcomes and payments there.
CREATE TABLE centre_staff (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    centre TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, centre)
);
