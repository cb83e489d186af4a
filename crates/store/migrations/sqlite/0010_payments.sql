-- Payments. An order is what an application owes (written once, at submission); every fact
-- about its money is an event appended to `payment_events` and never changed, and the order's
-- state is derived from them. The few columns that do change (`paid_by`, `closed_at`) are
-- claimed once by a conditional update: the first payment to arrive claims the order (a later
-- one is a duplicate, refunded), and an attempt or refund is closed once, so that the sweeps
-- find the open ones without reading every event. Orders keep no foreign key to the
-- application: money records outlive an erased account.
CREATE TABLE payment_orders (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    currency TEXT NOT NULL,
    online_amount BIGINT NOT NULL,
    centre_amount BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    paid_by TEXT,
    paid_at BIGINT
);
CREATE UNIQUE INDEX payment_orders_application ON payment_orders (application_id);
CREATE INDEX payment_orders_owner ON payment_orders (owner_id, created_at);
-- One try at paying: a gateway payment (card, net banking), a challan, or a payment at the
-- centre. `reference` is the gateway's payment id or the challan's reference; `hold_id` the
-- appointment hold the payment books when it succeeds.
CREATE TABLE payment_attempts (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES payment_orders (id),
    channel TEXT NOT NULL,
    gateway TEXT NOT NULL,
    reference TEXT,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    payable_from BIGINT,
    valid_until BIGINT,
    closed_at BIGINT,
    hold_id TEXT
);
CREATE UNIQUE INDEX payment_attempts_reference ON payment_attempts (gateway, reference);
CREATE INDEX payment_attempts_order ON payment_attempts (order_id, created_at);
CREATE INDEX payment_attempts_open ON payment_attempts (closed_at, created_at);
-- The ledger. A fact is recorded once per subject (an attempt, a refund, the order): the same
-- notification arriving twice appends nothing the second time.
CREATE TABLE payment_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL REFERENCES payment_orders (id),
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT,
    at BIGINT NOT NULL,
    actor_id TEXT,
    note TEXT
);
CREATE UNIQUE INDEX payment_events_once ON payment_events (subject, kind);
CREATE INDEX payment_events_order ON payment_events (order_id, seq);
CREATE INDEX payment_events_at ON payment_events (at);
-- Notifications already handled, by the gateway's event id.
CREATE TABLE payment_notices (
    gateway TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (gateway, event_id)
);
-- Money going back: through the gateway that took it, or (challans) in a file for the treasury.
CREATE TABLE payment_refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES payment_orders (id),
    attempt_id TEXT NOT NULL REFERENCES payment_attempts (id),
    route TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE UNIQUE INDEX payment_refunds_attempt ON payment_refunds (attempt_id);
CREATE INDEX payment_refunds_open ON payment_refunds (route, closed_at, created_at);
