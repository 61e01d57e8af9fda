-- Machine images and their instances (R18), and the usage records that metering and billing share.

-- A product code is attached to an image for good: the image can never be given another.
CREATE TABLE images (
    image_id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    attached_at BIGINT NOT NULL
);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images (image_id),
    product_id TEXT NOT NULL REFERENCES products (id),
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    region TEXT NOT NULL,
    environment TEXT NOT NULL,
    instance_type TEXT NOT NULL,
    launched_at BIGINT NOT NULL,
    terminated_at BIGINT,
    -- Hours 0 .. hours_recorded - 1 are in usage_records; the next to record is hours_recorded.
    hours_recorded BIGINT NOT NULL DEFAULT 0,
    -- Set once no further hour can start (terminated, or the subscription ended).
    closed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX instances_open ON instances (closed, launched_at);

-- One row per metered event; (product, record id) makes each count once, forever (R15).
CREATE TABLE usage_records (
    product_id TEXT NOT NULL REFERENCES products (id),
    record_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    dimension TEXT NOT NULL,
    quantity TEXT NOT NULL,
    -- For instance hours: the configuration whose hourly price applies, as region/environment/instance_type.
    configuration TEXT,
    occurred_at BIGINT NOT NULL,
    month TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (product_id, record_id)
);
CREATE INDEX usage_records_customer_month ON usage_records (customer_id, month, product_id, dimension);
