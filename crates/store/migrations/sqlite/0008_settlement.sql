-- What each customer × product × month has been charged to its seller so far (R29, R5): every settlement run
-- charges round(due) − charged, cost and fee together, so the totals never drift. `cost_cents` is the base-cost
-- part of `total_cents`, kept so that the ledger can tell base costs from fees.
CREATE TABLE settlement_positions (
    customer_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    month TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    cost_cents BIGINT NOT NULL,
    total_cents BIGINT NOT NULL,
    PRIMARY KEY (customer_id, product_id, month)
);
CREATE INDEX settlement_positions_month ON settlement_positions (month);
