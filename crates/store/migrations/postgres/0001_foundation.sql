-- Tollgate's foundation: accounts, sellers, products, subscriptions, bills, the ledger and the outbox.
-- Instants are Unix milliseconds (BIGINT); money is integer cents (BIGINT); prices are exact decimals as TEXT.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT accounts_email_key UNIQUE (email_normalized)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE login_failures (
    email_normalized TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email_normalized, at);

CREATE TABLE sellers (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    company_name TEXT NOT NULL,
    public_contact TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT sellers_account_key UNIQUE (account_id)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (id),
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_seller ON api_keys (seller_id);

CREATE TABLE dimensions (
    name TEXT PRIMARY KEY,
    unit TEXT NOT NULL
);

-- A base cost applies from its instant on (CONTRACT section 3): history is kept, never rewritten.
CREATE TABLE dimension_costs (
    dimension TEXT NOT NULL REFERENCES dimensions (name),
    effective_at BIGINT NOT NULL,
    base_cost TEXT NOT NULL,
    PRIMARY KEY (dimension, effective_at)
);

INSERT INTO dimensions (name, unit) VALUES
    ('storage.gb_month', 'GB-Month'),
    ('transfer.in_gb', 'GB'),
    ('transfer.out_gb', 'GB'),
    ('requests.put_1k', '1k requests'),
    ('requests.get_10k', '10k requests'),
    ('compute.hours.small', 'hour'),
    ('compute.hours.large', 'hour'),
    ('compute.hours.xlarge', 'hour');
INSERT INTO dimension_costs (dimension, effective_at, base_cost) VALUES
    ('storage.gb_month', 0, '0.15'),
    ('transfer.in_gb', 0, '0.00'),
    ('transfer.out_gb', 0, '0.17'),
    ('requests.put_1k', 0, '0.01'),
    ('requests.get_10k', 0, '0.01'),
    ('compute.hours.small', 0, '0.10'),
    ('compute.hours.large', 0, '0.40'),
    ('compute.hours.xlarge', 0, '0.80');

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (id),
    code TEXT NOT NULL UNIQUE,
    offering_code TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('desktop', 'hosted', 'machine_image')),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    terms_url TEXT,
    support_contact TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_seller ON products (seller_id, created_at);

-- Prices are versioned so that a price change (effective at an instant) never rewrites history.
CREATE TABLE price_versions (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    effective_at BIGINT NOT NULL,
    pricing TEXT NOT NULL,
    configurations TEXT NOT NULL,
    CONSTRAINT price_versions_instant_key UNIQUE (product_id, effective_at)
);

CREATE TABLE payment_methods (
    customer_id TEXT PRIMARY KEY REFERENCES accounts (id),
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    gateway_token TEXT NOT NULL,
    added_at BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'canceled')),
    cancel_reason TEXT CHECK (cancel_reason IN
        ('customer', 'nonpayment', 'unaccepted_price_change', 'unpaid_signup', 'operator')),
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    canceled_at BIGINT
);
-- R11: one pending or active subscription per customer and product.
CREATE UNIQUE INDEX subscriptions_one_open ON subscriptions (customer_id, product_id) WHERE state <> 'canceled';
CREATE INDEX subscriptions_product ON subscriptions (product_id, state);

CREATE TABLE activation_keys (
    key_hash TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX activation_keys_owner ON activation_keys (customer_id, product_id, created_at);

CREATE TABLE bills (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL CHECK (kind IN ('signup', 'monthly', 'refund')),
    period TEXT NOT NULL,
    subscription_id TEXT REFERENCES subscriptions (id),
    event_key TEXT,
    issued_at BIGINT NOT NULL,
    total_cents BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'paid', 'void')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- The attempt under way, if any: at most one gateway call per bill at a time.
    open_attempt BIGINT,
    paid_at BIGINT
);
-- R20: the natural keys that make every bill exactly-once.
CREATE UNIQUE INDEX bills_monthly_once ON bills (customer_id, period) WHERE kind = 'monthly';
CREATE UNIQUE INDEX bills_signup_once ON bills (subscription_id) WHERE kind = 'signup';
CREATE UNIQUE INDEX bills_refund_once ON bills (subscription_id, event_key) WHERE kind = 'refund';
CREATE INDEX bills_customer ON bills (customer_id, issued_at);

CREATE TABLE bill_lines (
    bill_id TEXT NOT NULL REFERENCES bills (id),
    position BIGINT NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    kind TEXT NOT NULL CHECK (kind IN ('signup_fee', 'monthly_fee', 'usage', 'refund')),
    dimension TEXT,
    quantity TEXT,
    amount_cents BIGINT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (bill_id, position)
);

-- R20: a month's fee is charged once per subscription and month, whatever bill carries it.
CREATE TABLE monthly_fees_charged (
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    month TEXT NOT NULL,
    bill_id TEXT NOT NULL REFERENCES bills (id),
    PRIMARY KEY (subscription_id, month)
);

-- One row per gateway call; the gateway's idempotency key is bill id and attempt number (R20).
CREATE TABLE payment_attempts (
    bill_id TEXT NOT NULL REFERENCES bills (id),
    attempt BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    outcome TEXT CHECK (outcome IN ('succeeded', 'declined')),
    gateway_reference TEXT,
    message TEXT,
    PRIMARY KEY (bill_id, attempt)
);

-- The sandbox gateway's own record of charges, so that a repeated idempotency key returns the first answer.
CREATE TABLE sandbox_charges (
    idempotency_key TEXT PRIMARY KEY,
    payment_token TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    reference TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Double-entry ledger: the entries of a transaction sum to zero.
CREATE TABLE ledger_transactions (
    id TEXT PRIMARY KEY,
    unique_key TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('collection', 'refund', 'settlement', 'withdrawal')),
    description TEXT NOT NULL,
    bill_id TEXT REFERENCES bills (id)
);
CREATE INDEX ledger_transactions_at ON ledger_transactions (at);

CREATE TABLE ledger_entries (
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    account TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (transaction_id, account)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);

CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    unique_key TEXT NOT NULL UNIQUE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    template TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX emails_to ON emails (to_address, created_at);
CREATE INDEX emails_due ON emails (state, next_attempt_at);

-- The simulated business clock of the sandbox (R2): one row, shared by every process.
CREATE TABLE sandbox_clock (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    now_ms BIGINT NOT NULL
);
