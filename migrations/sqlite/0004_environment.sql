-- The client's whole environment: per-client module visibility, each store's catalogue, carts,
-- orders with lines and notes, payments through a provider, subscriptions, files and tasks.
-- Every write made while impersonating keeps actor_staff_id and impersonation_id beside the client.

-- Portal modules the client does not see, as a comma-separated list ('' = every module shown).
ALTER TABLE clients ADD COLUMN hidden_modules TEXT NOT NULL DEFAULT '';
-- The store a client's own portal session is browsing (a Login as Client session uses the
-- impersonation's store instead). NULL means the client's first store.
ALTER TABLE sessions ADD COLUMN store_id BIGINT;

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    store_id BIGINT NOT NULL REFERENCES stores(id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_cents BIGINT NOT NULL,
    -- '' for a one-off product, 'monthly' or 'yearly' for one that starts a subscription.
    billing_interval TEXT NOT NULL DEFAULT '',
    active BIGINT NOT NULL DEFAULT 1,
    UNIQUE (store_id, sku)
);
CREATE INDEX products_store ON products(store_id, id);

CREATE TABLE cart_items (
    client_id BIGINT NOT NULL REFERENCES clients(id),
    store_id BIGINT NOT NULL REFERENCES stores(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    quantity BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, product_id)
);
CREATE INDEX cart_items_client_store ON cart_items(client_id, store_id);

ALTER TABLE orders ADD COLUMN store_id BIGINT REFERENCES stores(id);
ALTER TABLE orders ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE orders ADD COLUMN invoice_id BIGINT REFERENCES invoices(id);
-- Shown to the client ("Placed by support staff on your behalf").
ALTER TABLE orders ADD COLUMN client_note TEXT NOT NULL DEFAULT '';
-- Staff only ("Placed by STAFF NAME using Login as Client"); never rendered in the portal.
ALTER TABLE orders ADD COLUMN internal_note TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN actor_staff_id BIGINT REFERENCES staff(id);
ALTER TABLE orders ADD COLUMN impersonation_id BIGINT;
-- A checkout form carries a one-time key, so a double submit or a retry makes one order.
ALTER TABLE orders ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX orders_idempotency ON orders(client_id, idempotency_key);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    product_id BIGINT REFERENCES products(id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_cents BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines(order_id, id);

ALTER TABLE invoices ADD COLUMN store_id BIGINT REFERENCES stores(id);
ALTER TABLE invoices ADD COLUMN paid_at BIGINT;

-- Saved payment methods: managed by the client only, never through Login as Client.
CREATE TABLE payment_methods (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    provider TEXT NOT NULL,
    label TEXT NOT NULL,
    last4 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX payment_methods_client ON payment_methods(client_id, id);

-- One row per charge attempt, declined ones included.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    invoice_id BIGINT NOT NULL REFERENCES invoices(id),
    provider TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_reference TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL,
    actor_staff_id BIGINT REFERENCES staff(id),
    impersonation_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payments_idempotency ON payments(client_id, idempotency_key);
CREATE INDEX payments_invoice ON payments(invoice_id, id);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    store_id BIGINT REFERENCES stores(id),
    product_id BIGINT REFERENCES products(id),
    name TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    currency TEXT NOT NULL DEFAULT 'USD',
    billing_interval TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    current_period_end BIGINT NOT NULL,
    cancel_at_period_end BIGINT NOT NULL DEFAULT 0,
    cancelled_at BIGINT,
    cancelled_by_staff_id BIGINT REFERENCES staff(id),
    cancel_impersonation_id BIGINT
);
CREATE INDEX subscriptions_client ON subscriptions(client_id, id);

-- Files live on disk under a random storage key; the row is written only once the bytes are.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    -- 'to_client' (shared by staff) or 'from_client' (shared by the client with staff).
    direction TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    uploaded_by_staff_id BIGINT REFERENCES staff(id),
    actor_staff_id BIGINT REFERENCES staff(id),
    impersonation_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX files_client ON files(client_id, id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    client_can_complete BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT,
    created_by_staff_id BIGINT REFERENCES staff(id),
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    completed_by_kind TEXT,
    completed_by_staff_id BIGINT REFERENCES staff(id),
    completed_impersonation_id BIGINT
);
CREATE INDEX tasks_client ON tasks(client_id, id);

-- Like ticket replies: author_kind 'client' (with actor_staff_id when staff acted as the client)
-- or 'staff' (written from the admin side).
CREATE TABLE task_comments (
    id INTEGER PRIMARY KEY,
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    author_kind TEXT NOT NULL,
    author_staff_id BIGINT REFERENCES staff(id),
    actor_staff_id BIGINT REFERENCES staff(id),
    impersonation_id BIGINT,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX task_comments_task ON task_comments(task_id, id);
