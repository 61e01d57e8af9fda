-- Usage added up per customer, product, subscription, dimension and day, so that pages, bills and reports read a
-- few rows instead of every record, and so that an ingested batch writes one index entry per customer and day
-- rather than one per record. `late` marks usage received after its month had been billed (R14).
DROP INDEX usage_records_customer_month;

CREATE TABLE usage_daily (
    -- month|day|late|customer|product|subscription|dimension|configuration: sorts a day's totals together.
    key TEXT PRIMARY KEY,
    month TEXT NOT NULL,
    day BIGINT NOT NULL,
    late BOOLEAN NOT NULL,
    customer_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    configuration TEXT,
    -- An exact decimal, as the records' quantities.
    quantity TEXT NOT NULL
);
CREATE INDEX usage_daily_customer ON usage_daily (customer_id, month);
