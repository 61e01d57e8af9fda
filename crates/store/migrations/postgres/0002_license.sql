-- The license service's identities (R12): a user token per customer and product, a persistent identifier per
-- customer and seller, and derived key pairs for desktop products.

CREATE TABLE user_tokens (
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, product_id)
);

CREATE TABLE persistent_identifiers (
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    seller_id TEXT NOT NULL REFERENCES sellers (id),
    pid TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, seller_id)
);

-- The secret is kept twice: hashed, to authenticate requests fast, and encrypted with the server's secret key,
-- because the metered storage service will verify request signatures made with it.
CREATE TABLE derived_keys (
    access_key_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    secret_hash TEXT NOT NULL,
    secret_encrypted TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The current subscription of a customer to a product is looked up at every license check.
CREATE INDEX subscriptions_customer_product ON subscriptions (customer_id, product_id, created_at);
