-- A seller's price change (docs/rules.md R25-R27). Its new price is a price version with the same id, written when
-- the change is scheduled and deleted if the seller withdraws it, so that every reading of a price at an instant
-- (rating, proration, pages) sees the change from its effective instant on.
CREATE TABLE price_changes (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    effective_at BIGINT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('passive', 'active')),
    pricing TEXT NOT NULL,
    configurations TEXT NOT NULL,
    message TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'effective', 'withdrawn')),
    created_at BIGINT NOT NULL,
    -- When it took effect or was withdrawn.
    closed_at BIGINT
);
-- R25: at most one pending change per product.
CREATE UNIQUE INDEX price_changes_one_pending ON price_changes (product_id) WHERE state = 'pending';
CREATE INDEX price_changes_due ON price_changes (state, effective_at);

-- Customers who accepted an active change (R27), on the billing page or by ordering while it was pending.
CREATE TABLE price_change_acceptances (
    change_id TEXT NOT NULL REFERENCES price_changes (id),
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (change_id, customer_id)
);

-- What a change that took effect mid-month did to each subscription's fee (R26), once per subscription and change:
-- a decrease refunded (or taken off the unpaid bill) at once, an increase owed until the next 1st's bill carries
-- it. `bill_id` is the bill that settled it; NULL while an increase is owed.
CREATE TABLE fee_differences (
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    change_id TEXT NOT NULL REFERENCES price_changes (id),
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    amount_cents BIGINT NOT NULL,
    description TEXT NOT NULL,
    bill_id TEXT REFERENCES bills (id),
    PRIMARY KEY (subscription_id, change_id)
);
CREATE INDEX fee_differences_owed ON fee_differences (customer_id, bill_id);
