-- Core schema: people, portal data, sessions, impersonations and the activity log.
-- Times are Unix seconds (BIGINT), money is integer minor units, flags are 0/1 integers,
-- so the same SQL text serves SQLite and PostgreSQL.

CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    builtin BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE role_permissions (
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES roles(id),
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT
);

CREATE TABLE stores (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL DEFAULT '#2b5797',
    currency TEXT NOT NULL DEFAULT 'USD'
);

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    company TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    consent TEXT NOT NULL DEFAULT 'unset',
    consent_until BIGINT,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT
);
CREATE INDEX clients_name ON clients(name);

CREATE TABLE client_stores (
    client_id BIGINT NOT NULL REFERENCES clients(id),
    store_id BIGINT NOT NULL REFERENCES stores(id),
    PRIMARY KEY (client_id, store_id)
);

CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    name TEXT NOT NULL,
    product TEXT NOT NULL,
    status TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    billing_cycle TEXT NOT NULL,
    next_due_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX services_client ON services(client_id, id);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    currency TEXT NOT NULL DEFAULT 'USD',
    total_cents BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL
);
CREATE INDEX invoices_client ON invoices(client_id, id);
CREATE INDEX invoices_client_status ON invoices(client_id, status);

CREATE TABLE invoice_lines (
    id INTEGER PRIMARY KEY,
    invoice_id BIGINT NOT NULL REFERENCES invoices(id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_cents BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines(invoice_id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX orders_client ON orders(client_id, id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    actor_staff_id BIGINT REFERENCES staff(id),
    impersonation_id BIGINT
);
CREATE INDEX tickets_client ON tickets(client_id, id);
CREATE INDEX tickets_client_status ON tickets(client_id, status);

-- A reply is written by the client (author_kind 'client', possibly with actor_staff_id when
-- staff acted as the client) or by staff answering from the admin side (author_kind 'staff').
CREATE TABLE ticket_replies (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    author_kind TEXT NOT NULL,
    author_staff_id BIGINT REFERENCES staff(id),
    actor_staff_id BIGINT REFERENCES staff(id),
    impersonation_id BIGINT,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_replies_ticket ON ticket_replies(ticket_id, id);

CREATE TABLE impersonations (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    client_id BIGINT NOT NULL REFERENCES clients(id),
    store_id BIGINT REFERENCES stores(id),
    reason TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ends_by BIGINT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT
);
-- At most one live impersonation per staff member, enforced by the database itself.
CREATE UNIQUE INDEX impersonations_one_live ON impersonations(staff_id) WHERE ended_at IS NULL;
CREATE INDEX impersonations_client ON impersonations(client_id, id);
CREATE INDEX impersonations_started ON impersonations(started_at);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    staff_id BIGINT REFERENCES staff(id),
    client_id BIGINT REFERENCES clients(id),
    impersonation_id BIGINT REFERENCES impersonations(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_staff ON sessions(staff_id);
CREATE INDEX sessions_client ON sessions(client_id);
CREATE INDEX sessions_impersonation ON sessions(impersonation_id);

CREATE TABLE activity (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    subject_client_id BIGINT,
    actor_kind TEXT NOT NULL,
    actor_staff_id BIGINT,
    actor_client_id BIGINT,
    impersonation_id BIGINT,
    action_group TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX activity_client ON activity(subject_client_id, id);
CREATE INDEX activity_group ON activity(action_group, id);
CREATE INDEX activity_staff ON activity(actor_staff_id, id);
CREATE INDEX activity_impersonation ON activity(impersonation_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_account_ip ON login_failures(account, ip, at);

-- The head of the activity hash chain: updated in the same transaction as each append, so
-- removing the newest entry is detectable and appends serialise on this one row.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, '');
